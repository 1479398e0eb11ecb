/* Masking kernels (RFC 6455 §5.3), chosen at run time by wscodec/_mask_c.pyx.
 *
 * Contract of every kernel
 *   void k(unsigned char *dst, const unsigned char *src, ptrdiff_t n,
 *          const unsigned char *key, ptrdiff_t offset)
 *   dst[i] = src[i] ^ key[(offset + i) & 3] for 0 <= i < n.  dst == src (in place) or the two
 *   ranges do not overlap at all; any alignment; any n >= 0.  Only src[0:n] is read and only
 *   dst[0:n] written.
 *
 * The vector kernels (SSE2, AVX2, NEON) work the same way, with V the vector width (16 or 32):
 *   - the key is a 32-bit word broadcast to every lane; the vector for payload position j
 *     holds it rotated by j & 3 bytes (V is a multiple of 4, so that is the same for all
 *     of its words);
 *   - the first and the last V bytes of src are loaded (and XORed) before anything is
 *     stored; the body then runs from the first position where dst is V-aligned (aligned
 *     stores never straddle a cache line), and the first and last vectors are stored last.
 *     They overlap bytes the body wrote, with the same values: in place, they were computed
 *     from the original bytes, loaded before the body stored anything.
 *   So no byte is XORed twice and nothing outside [0, n) is touched; n < V goes to a
 *   narrower kernel.
 *
 * The x86-64 baseline includes SSE2, so that kernel needs no target attribute (and builds
 * with MSVC too); AVX2 is compiled with a function attribute (cpu.h) and only called when
 * wsc_cpu_levels() reports it.  AArch64 always has NEON.
 */
#ifndef WSCODEC_SIMD_MASK_H
#define WSCODEC_SIMD_MASK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cpu.h"

typedef void (*wsc_mask_fn)(unsigned char *dst, const unsigned char *src, ptrdiff_t n,
                            const unsigned char *key, ptrdiff_t offset);

/* The 4 key bytes rotated so that byte 0 (in memory order) is key[offset & 3], as a 32-bit
 * word.  One 4-byte load and a shift: building the word from single bytes in memory would
 * make the CPU wait for the byte stores to reach the wider load (a store-forwarding stall,
 * more than the whole kernel costs on a short payload).  The key doubled in 64 bits reads
 * k0 k1 k2 k3 k0 k1 k2 k3 in memory on either byte order, so the rotation is a shift of it:
 * right on little-endian (byte 0 is the low byte), left on big-endian. */
static uint32_t wsc_mask_key32(const unsigned char *key, ptrdiff_t offset)
{
    uint32_t k32;
    uint64_t k64;
    unsigned r = (unsigned)(offset & 3) * 8;
    const union { uint16_t u; unsigned char c[2]; } probe = {1};
    memcpy(&k32, key, 4);
    k64 = ((uint64_t)k32 << 32) | k32;
    return probe.c[0] ? (uint32_t)(k64 >> r) : (uint32_t)(k64 >> (32 - r));
}

/* Scalar kernel: 64-bit words, moved with memcpy (no alignment or aliasing assumption;
 * compilers emit plain unaligned loads and stores).  Each step loads before it stores, so
 * dst == src is fine. */
static void wsc_mask_scalar(unsigned char *dst, const unsigned char *src, ptrdiff_t n,
                            const unsigned char *key, ptrdiff_t offset)
{
    uint32_t k32 = wsc_mask_key32(key, offset), v;
    uint64_t k64 = ((uint64_t)k32 << 32) | k32, w0, w1, w2, w3;
    /* For the last 1-3 bytes (read now: key may even lie in dst). */
    unsigned char t[3];
    ptrdiff_t i = 0;
    int j;
    t[0] = key[offset & 3];
    t[1] = key[(offset + 1) & 3];
    t[2] = key[(offset + 2) & 3];
    for (; i + 32 <= n; i += 32) {
        memcpy(&w0, src + i, 8);
        memcpy(&w1, src + i + 8, 8);
        memcpy(&w2, src + i + 16, 8);
        memcpy(&w3, src + i + 24, 8);
        w0 ^= k64;
        w1 ^= k64;
        w2 ^= k64;
        w3 ^= k64;
        memcpy(dst + i, &w0, 8);
        memcpy(dst + i + 8, &w1, 8);
        memcpy(dst + i + 16, &w2, 8);
        memcpy(dst + i + 24, &w3, 8);
    }
    for (; i + 8 <= n; i += 8) {
        memcpy(&w0, src + i, 8);
        w0 ^= k64;
        memcpy(dst + i, &w0, 8);
    }
    if (i + 4 <= n) {
        memcpy(&v, src + i, 4);
        v ^= k32;
        memcpy(dst + i, &v, 4);
        i += 4;
    }
    /* i is a multiple of 4 here: the last bytes take t[0], t[1], t[2]. */
    for (j = 0; i < n; i++, j++)
        dst[i] = src[i] ^ t[j];
}

/* The key word for payload position offset + j: rotated by j more bytes. */
#define WSC_MASK_AT(k64, j) ((uint32_t)((k64) >> (8 * ((j) & 3))))

/* Out of place, from this many bytes on, the x86-64 kernels write dst with streaming
 * (non-temporal) stores: a destination this large would not stay in the caches anyway, and
 * a plain store first reads every cache line of dst from memory, so streaming moves a third
 * less data.  Measured on a 2-core Zen 3 VM (32 MiB L3), streaming over plain stores, the
 * same buffers again and again: 4 MiB 1.59x the time, 8 MiB 1.00x, 12 MiB 0.71x, 16 MiB
 * 0.61x, 64 MiB 0.62x; so the switch sits between 8 and 12 MiB.  In place, dst is already
 * cached by the loads, so plain stores stay. */
#ifndef WSC_MASK_STREAM_MIN
#define WSC_MASK_STREAM_MIN (10 * 1024 * 1024)
#endif

#if defined(WSC_X86_64)
#include <emmintrin.h>

static void wsc_mask_sse2(unsigned char *dst, const unsigned char *src, ptrdiff_t n,
                          const unsigned char *key, ptrdiff_t offset)
{
    uint32_t k32;
    uint64_t k64;
    __m128i kb, head, tail, a, b, c, d;
    ptrdiff_t i;
    if (n < 16) {
        wsc_mask_scalar(dst, src, n, key, offset);
        return;
    }
    /* x86 is little-endian: lane byte 0 of a broadcast word is its low byte. */
    k32 = wsc_mask_key32(key, offset);
    k64 = ((uint64_t)k32 << 32) | k32;
    head = _mm_xor_si128(_mm_loadu_si128((const __m128i *)src), _mm_set1_epi32((int)k32));
    tail = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + n - 16)),
                         _mm_set1_epi32((int)WSC_MASK_AT(k64, n)));
    /* First position where dst is 16-aligned (0..15; the head covers the bytes before). */
    i = (ptrdiff_t)((16 - ((uintptr_t)dst & 15)) & 15);
    kb = _mm_set1_epi32((int)WSC_MASK_AT(k64, i));
    if (n >= WSC_MASK_STREAM_MIN && dst != src) {
        for (; i + 64 <= n; i += 64) {
            a = _mm_loadu_si128((const __m128i *)(src + i));
            b = _mm_loadu_si128((const __m128i *)(src + i + 16));
            c = _mm_loadu_si128((const __m128i *)(src + i + 32));
            d = _mm_loadu_si128((const __m128i *)(src + i + 48));
            _mm_stream_si128((__m128i *)(dst + i), _mm_xor_si128(a, kb));
            _mm_stream_si128((__m128i *)(dst + i + 16), _mm_xor_si128(b, kb));
            _mm_stream_si128((__m128i *)(dst + i + 32), _mm_xor_si128(c, kb));
            _mm_stream_si128((__m128i *)(dst + i + 48), _mm_xor_si128(d, kb));
        }
        /* Streaming stores are weakly ordered: make them visible before returning. */
        _mm_sfence();
    }
    for (; i + 64 <= n; i += 64) {
        a = _mm_loadu_si128((const __m128i *)(src + i));
        b = _mm_loadu_si128((const __m128i *)(src + i + 16));
        c = _mm_loadu_si128((const __m128i *)(src + i + 32));
        d = _mm_loadu_si128((const __m128i *)(src + i + 48));
        _mm_store_si128((__m128i *)(dst + i), _mm_xor_si128(a, kb));
        _mm_store_si128((__m128i *)(dst + i + 16), _mm_xor_si128(b, kb));
        _mm_store_si128((__m128i *)(dst + i + 32), _mm_xor_si128(c, kb));
        _mm_store_si128((__m128i *)(dst + i + 48), _mm_xor_si128(d, kb));
    }
    for (; i + 16 <= n; i += 16)
        _mm_store_si128((__m128i *)(dst + i),
                        _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + i)), kb));
    _mm_storeu_si128((__m128i *)dst, head);
    _mm_storeu_si128((__m128i *)(dst + n - 16), tail);
}
#endif /* WSC_X86_64 */

#if defined(WSC_X86_TARGETS)
#include <immintrin.h>

/* A 32-byte load made of two 16-byte loads joined in a register (vmovdqu xmm + vinserti128).
 * Out of place and beyond the first-level cache, this beats whole 32-byte loads whatever the
 * alignment: measured on Zen 3 with two 16-byte aligned buffers (as the data of two bytes
 * objects is), whole loads took 1.07-1.10x the time at 256 KiB to 4 MiB (L2 and L3), and the
 * same at 64 KiB; below 32 KiB whole loads are faster (1.3x at 16 KiB).  In place, whole
 * aligned loads are faster at every size (1.15x at 1 MiB), so they stay there. */
#ifndef WSC_MASK_HALVES_MIN
#define WSC_MASK_HALVES_MIN (32 * 1024)
#endif
#define WSC_LOAD_HALVES(p) \
    _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(p))), \
                            _mm_loadu_si128((const __m128i *)(p) + 1), 1)

/* The body of wsc_mask_avx2 from i on, with dst + i 32-byte aligned: 128 bytes a step, then
 * 32.  LOAD reads 32 bytes of src; STORE writes 32 aligned bytes of dst. */
#define WSC_MASK_AVX2_BODY(LOAD, STORE)                                                   \
    do {                                                                                   \
        for (; i + 128 <= n; i += 128) {                                                   \
            a = LOAD(src + i);                                                             \
            b = LOAD(src + i + 32);                                                        \
            c = LOAD(src + i + 64);                                                        \
            d = LOAD(src + i + 96);                                                        \
            STORE((__m256i *)(dst + i), _mm256_xor_si256(a, kb));                          \
            STORE((__m256i *)(dst + i + 32), _mm256_xor_si256(b, kb));                     \
            STORE((__m256i *)(dst + i + 64), _mm256_xor_si256(c, kb));                     \
            STORE((__m256i *)(dst + i + 96), _mm256_xor_si256(d, kb));                     \
        }                                                                                  \
    } while (0)

#define WSC_LOAD_WHOLE(p) _mm256_loadu_si256((const __m256i *)(p))

WSC_TARGET_AVX2 static void wsc_mask_avx2(unsigned char *dst, const unsigned char *src,
                                          ptrdiff_t n, const unsigned char *key,
                                          ptrdiff_t offset)
{
    uint32_t k32;
    uint64_t k64;
    __m256i kb, head, tail, a, b, c, d;
    ptrdiff_t i;
    int stream, whole;
    if (n < 32) {
        wsc_mask_sse2(dst, src, n, key, offset);
        return;
    }
    k32 = wsc_mask_key32(key, offset);
    k64 = ((uint64_t)k32 << 32) | k32;
    head = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)src),
                            _mm256_set1_epi32((int)k32));
    tail = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + n - 32)),
                            _mm256_set1_epi32((int)WSC_MASK_AT(k64, n)));
    i = (ptrdiff_t)((32 - ((uintptr_t)dst & 31)) & 31);
    kb = _mm256_set1_epi32((int)WSC_MASK_AT(k64, i));
    stream = n >= WSC_MASK_STREAM_MIN && dst != src;
    /* In place, src + i is as aligned as dst + i: whole loads.  See WSC_LOAD_HALVES. */
    whole = dst == src || n < WSC_MASK_HALVES_MIN;
    /* (Streaming implies out of place and large: never whole loads.) */
    if (stream)
        WSC_MASK_AVX2_BODY(WSC_LOAD_HALVES, _mm256_stream_si256);
    else if (whole)
        WSC_MASK_AVX2_BODY(WSC_LOAD_WHOLE, _mm256_store_si256);
    else
        WSC_MASK_AVX2_BODY(WSC_LOAD_HALVES, _mm256_store_si256);
    /* Streaming stores are weakly ordered: make them visible before returning. */
    if (stream)
        _mm_sfence();
    for (; i + 32 <= n; i += 32)
        _mm256_store_si256((__m256i *)(dst + i),
                           _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + i)), kb));
    _mm256_storeu_si256((__m256i *)dst, head);
    _mm256_storeu_si256((__m256i *)(dst + n - 32), tail);
}
#endif /* WSC_X86_TARGETS */

/* The NEON kernel broadcasts key words, which assumes little-endian lanes (AArch64 as every
 * mainstream OS runs it); a big-endian build keeps the scalar kernel. */
#if defined(WSC_NEON) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define WSC_MASK_NEON 1
#endif

#if defined(WSC_MASK_NEON)
#include <arm_neon.h>

static void wsc_mask_neon(unsigned char *dst, const unsigned char *src, ptrdiff_t n,
                          const unsigned char *key, ptrdiff_t offset)
{
    uint32_t k32;
    uint64_t k64;
    uint8x16_t kb, head, tail, a, b, c, d;
    ptrdiff_t i;
    if (n < 16) {
        wsc_mask_scalar(dst, src, n, key, offset);
        return;
    }
    /* Little-endian only (WSC_MASK_NEON): lane byte 0 of a broadcast word is its low byte. */
    k32 = wsc_mask_key32(key, offset);
    k64 = ((uint64_t)k32 << 32) | k32;
    head = veorq_u8(vld1q_u8(src), vreinterpretq_u8_u32(vdupq_n_u32(k32)));
    tail = veorq_u8(vld1q_u8(src + n - 16),
                    vreinterpretq_u8_u32(vdupq_n_u32(WSC_MASK_AT(k64, n))));
    i = (ptrdiff_t)((16 - ((uintptr_t)dst & 15)) & 15);
    kb = vreinterpretq_u8_u32(vdupq_n_u32(WSC_MASK_AT(k64, i)));
    for (; i + 64 <= n; i += 64) {
        a = vld1q_u8(src + i);
        b = vld1q_u8(src + i + 16);
        c = vld1q_u8(src + i + 32);
        d = vld1q_u8(src + i + 48);
        vst1q_u8(dst + i, veorq_u8(a, kb));
        vst1q_u8(dst + i + 16, veorq_u8(b, kb));
        vst1q_u8(dst + i + 32, veorq_u8(c, kb));
        vst1q_u8(dst + i + 48, veorq_u8(d, kb));
    }
    for (; i + 16 <= n; i += 16)
        vst1q_u8(dst + i, veorq_u8(vld1q_u8(src + i), kb));
    vst1q_u8(dst, head);
    vst1q_u8(dst + n - 16, tail);
}
#endif /* WSC_MASK_NEON */

/* The kernel for a WSC_LEVEL_* level, or NULL when this build has none for it (the caller
 * has checked wsc_cpu_levels()).  WSC_LEVEL_NONE is the scalar kernel. */
static wsc_mask_fn wsc_mask_kernel(int level)
{
    switch (level) {
    case WSC_LEVEL_NONE:
        return wsc_mask_scalar;
#if defined(WSC_X86_64)
    case WSC_LEVEL_SSE2:
        return wsc_mask_sse2;
#endif
#if defined(WSC_X86_TARGETS)
    case WSC_LEVEL_AVX2:
        return wsc_mask_avx2;
#endif
#if defined(WSC_MASK_NEON)
    case WSC_LEVEL_NEON:
        return wsc_mask_neon;
#endif
    default:
        return NULL;
    }
}

#endif /* WSCODEC_SIMD_MASK_H */
