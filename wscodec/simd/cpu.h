/* Run-time CPU detection for the SIMD kernels, shared by every compiled module.
 *
 * The extension modules are compiled for the baseline of their architecture (no -march
 * flag: x86-64 wheels must run on any x86-64 CPU).  A kernel for a newer instruction set is
 * compiled through a GCC/clang function attribute (WSC_TARGET_SSSE3, WSC_TARGET_AVX2) and
 * only called after wsc_cpu_levels() said the CPU and the operating system support it.
 *
 * Levels (bit numbers of the mask wsc_cpu_levels() returns; the names are what
 * WSCODEC_SIMD and wscodec.SIMD use):
 *   WSC_LEVEL_NONE   "none"   scalar C, always available
 *   WSC_LEVEL_SSE2   "sse2"   x86-64 baseline (every x86-64 CPU has it)
 *   WSC_LEVEL_SSSE3  "ssse3"  pshufb / palignr
 *   WSC_LEVEL_AVX2   "avx2"   256-bit integer vectors, and the OS saves the YMM registers
 *   WSC_LEVEL_NEON   "neon"   AArch64 Advanced SIMD (part of the ARMv8-A baseline)
 *
 * Where the compiler cannot target x86 extensions per function (MSVC) or the architecture
 * is another one, only the levels that need nothing extra are reported and the scalar
 * kernels run.
 */
#ifndef WSCODEC_SIMD_CPU_H
#define WSCODEC_SIMD_CPU_H

enum {
    WSC_LEVEL_NONE = 0,
    WSC_LEVEL_SSE2 = 1,
    WSC_LEVEL_SSSE3 = 2,
    WSC_LEVEL_AVX2 = 3,
    WSC_LEVEL_NEON = 4
};

#if (defined(__x86_64__) || defined(_M_X64)) && !defined(_M_ARM64EC)
#  define WSC_X86_64 1
#endif

/* x86-64 kernels beyond SSE2 need per-function target attributes (GCC >= 4.9, clang). */
#if defined(WSC_X86_64) && (defined(__GNUC__) || defined(__clang__)) && !defined(_MSC_VER)
#  define WSC_X86_TARGETS 1
#  define WSC_TARGET_SSSE3 __attribute__((target("ssse3")))
#  define WSC_TARGET_AVX2 __attribute__((target("avx2")))
#  include <cpuid.h>
#endif

/* AArch64 always has Advanced SIMD; arm_neon.h needs no target attribute there. */
#if defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#  define WSC_NEON 1
#endif

#if defined(WSC_X86_TARGETS)
static unsigned long long wsc_xgetbv0(void)
{
    unsigned int lo, hi;
    /* xgetbv with ECX = 0 reads XCR0: which register states the OS saves on a switch. */
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
#endif

/* Bit mask of the WSC_LEVEL_* this CPU, this OS and this build can run. */
static int wsc_cpu_levels(void)
{
    int levels = 1 << WSC_LEVEL_NONE;
#if defined(WSC_X86_64)
    levels |= 1 << WSC_LEVEL_SSE2;
#endif
#if defined(WSC_X86_TARGETS)
    {
        unsigned int a, b, c, d, max_leaf;
        max_leaf = __get_cpuid_max(0, 0);
        if (max_leaf >= 1) {
            __cpuid(1, a, b, c, d);
            if (c & (1u << 9))                          /* CPUID.1:ECX.SSSE3 */
                levels |= 1 << WSC_LEVEL_SSSE3;
            /* AVX2 needs the CPU (CPUID.7.0:EBX.AVX2, CPUID.1:ECX.AVX) and the OS: OSXSAVE
             * set, and XCR0 showing that XMM (bit 1) and YMM (bit 2) state are saved. */
            if ((c & (1u << 27)) && (c & (1u << 28)) && max_leaf >= 7
                    && (wsc_xgetbv0() & 6) == 6) {
                unsigned int a7, b7, c7, d7;
                __cpuid_count(7, 0, a7, b7, c7, d7);
                if (b7 & (1u << 5))
                    levels |= 1 << WSC_LEVEL_AVX2;
            }
        }
    }
#endif
#if defined(WSC_NEON)
    levels |= 1 << WSC_LEVEL_NEON;
#endif
    return levels;
}

#endif /* WSCODEC_SIMD_CPU_H */
