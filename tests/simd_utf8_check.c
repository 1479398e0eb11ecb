/* Stand-alone check of the SIMD UTF-8 kernels of wscodec/simd/utf8_simd.h, without Python:
 * built and run by tests/test_simd.py natively and, where a cross compiler and qemu-user are
 * installed, for AArch64 (the NEON kernel) under emulation.
 *
 * Every kernel the CPU runs is checked against an independent reference validator written
 * from the RFC 3629 §4 table, through the same procedure _utf8_c.pyx uses (kernel, then the
 * scalar check from the last character start at or before the kernel's result):
 *   - every byte pair at many offsets around the 16/32/64/128-byte block edges,
 *   - every lead and tail byte followed by one byte of each class, twice,
 *   - random texts of valid characters with random corruption and truncation.
 * Usage: simd_utf8_check [thousands [offsets]]: random texts to check, in thousands (default
 * 200), and how many of the pair offsets to use (default all 7; emulated runs use fewer).
 * Prints one line per kernel and exits 0 when all agree, 1 at the first disagreement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8_simd.h"

enum { ACCEPT = 0, REJECT = 1, INCOMPLETE = 2 };

/* RFC 3629 §4, byte by byte: the valid second-byte range depends on the lead. */
static int reference(const unsigned char *s, ptrdiff_t n)
{
    ptrdiff_t i = 0;
    while (i < n) {
        unsigned c = s[i], lo = 0x80, hi = 0xBF;
        int need, k;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) need = 1;
        else if (c == 0xE0) { need = 2; lo = 0xA0; }
        else if (c == 0xED) { need = 2; hi = 0x9F; }
        else if (c >= 0xE1 && c <= 0xEF) need = 2;
        else if (c == 0xF0) { need = 3; lo = 0x90; }
        else if (c == 0xF4) { need = 3; hi = 0x8F; }
        else if (c >= 0xF1 && c <= 0xF3) need = 3;
        else return REJECT;
        i++;
        for (k = 0; k < need; k++, i++) {
            unsigned d;
            if (i >= n) return INCOMPLETE;
            d = s[i];
            if (k == 0 ? (d < lo || d > hi) : (d < 0x80 || d > 0xBF)) return REJECT;
        }
    }
    return ACCEPT;
}

static int failures = 0;

/* The kernel, finished as _utf8_c.pyx does; also checks the kernel's contract. */
static int through_kernel(wsc_utf8_fn kernel, const unsigned char *s, ptrdiff_t n)
{
    ptrdiff_t g = kernel(s, n), p = g, j;
    if (g == n) return ACCEPT;
    if (g < 0 || g > n) { printf("result %ld out of 0..%ld\n", (long)g, (long)n); exit(1); }
    if (g > 0) {
        for (j = 1; j <= 4 && g - j >= 0; j++)
            if ((s[g - j] & 0xC0) != 0x80) break;
        if (j > 4 || g - j < 0) return REJECT;
        p = g - j;
        if (reference(s, p) != ACCEPT) {
            printf("contract: text before %ld (kernel result %ld) is not valid\n", (long)p, (long)g);
            exit(1);
        }
    }
    return reference(s + p, n - p);
}

static void expect(const char *name, wsc_utf8_fn kernel, const unsigned char *s, ptrdiff_t n)
{
    int want = reference(s, n), got = through_kernel(kernel, s, n);
    /* A whole-text verdict: INCOMPLETE and ACCEPT must come out exactly too. */
    if (want != got) {
        ptrdiff_t i;
        printf("%s: reference %d, kernel %d, n=%ld:", name, want, got, (long)n);
        for (i = 0; i < n && i < 200; i++) printf(" %02x", s[i]);
        printf("\n");
        failures++;
        exit(1);
    }
}

static unsigned long long rng = 0x9E3779B97F4A7C15ULL;
static unsigned next(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (unsigned)(rng >> 11);
}

static void check_kernel(const char *name, wsc_utf8_fn kernel, int thousands, size_t offsets_used)
{
    static const char *pieces[] = {
        "a", " ", "\xc3\xa9", "\xdf\xbf", "\xe0\xa0\x80", "\xe4\xb8\xad", "\xed\x9f\xbf",
        "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf",
    };
    /* The pair's first byte ends a block of 16, 32, 64 or 128 bytes, or starts one
     * (the most telling first). */
    static const int offsets[] = {0, 15, 127, 31, 63, 16, 128};
    /* One byte of each class a third or fourth byte can meet (ASCII, each tail range, each
     * kind of lead, the bytes that never appear). */
    static const unsigned char third[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0,
                                          0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5,
                                          0xFF};
    static const unsigned char fourth[] = {0x41, 0x80, 0x8F, 0x90, 0xA0, 0xBF, 0xC2, 0xE4, 0xF0};
    unsigned char buf[600];
    long checks = 0;
    size_t o;
    int b1, b2, b3, b4, it;
    for (o = 0; o < sizeof offsets / sizeof offsets[0] && o < offsets_used; o++) {
        int pre = offsets[o];
        for (b1 = 0; b1 < 256; b1++)
            for (b2 = 0; b2 < 256; b2++) {
                memset(buf, 'x', (size_t)pre);
                buf[pre] = (unsigned char)b1;
                buf[pre + 1] = (unsigned char)b2;
                memset(buf + pre + 2, 'y', 40);
                expect(name, kernel, buf, pre + 2);       /* the pair ends the text */
                expect(name, kernel, buf, pre + 2 + 40);  /* ASCII follows */
                checks += 2;
            }
    }
    for (b1 = 0xC0; b1 < 256; b1++)
        for (b2 = 0x80; b2 < 0xC0; b2++)
            for (b3 = 0; b3 < (int)sizeof third; b3++)
                for (b4 = 0; b4 < (int)sizeof fourth; b4++) {
                    int pre = (b3 & 3) * 10 + 12 + (b4 & 1) * 16;
                    memset(buf, 'x', (size_t)pre);
                    buf[pre] = (unsigned char)b1;
                    buf[pre + 1] = (unsigned char)b2;
                    buf[pre + 2] = third[b3];
                    buf[pre + 3] = fourth[b4];
                    memset(buf + pre + 4, 'z', 20);
                    expect(name, kernel, buf, pre + 4);
                    expect(name, kernel, buf, pre + 24);
                    checks += 2;
                }
    for (it = 0; it < 1000 * thousands; it++) {
        int n = 0, target = (int)(next() % 580), m, j;
        while (n < target) {
            const char *p = pieces[next() % (sizeof pieces / sizeof pieces[0])];
            int l = (int)strlen(p);
            if (n + l > 580) break;
            memcpy(buf + n, p, (size_t)l);
            n += l;
        }
        m = (int)(next() % 4);
        for (j = 0; j < m && n > 0; j++) buf[next() % (unsigned)n] = (unsigned char)next();
        if (next() % 2 && n > 0) n = (int)(next() % (unsigned)(n + 1));
        expect(name, kernel, buf, n);
        checks++;
    }
    printf("%s: %ld checks agree\n", name, checks);
}

int main(int argc, char **argv)
{
    static const struct { int level; const char *name; } all[] = {
        {WSC_LEVEL_SSSE3, "ssse3"}, {WSC_LEVEL_AVX2, "avx2"}, {WSC_LEVEL_NEON, "neon"},
    };
    int thousands = argc > 1 ? atoi(argv[1]) : 200;
    size_t offsets_used = argc > 2 ? (size_t)atoi(argv[2]) : 7;
    int levels = wsc_cpu_levels(), ran = 0;
    size_t k;
    for (k = 0; k < sizeof all / sizeof all[0]; k++) {
        wsc_utf8_fn kernel = wsc_utf8_kernel(all[k].level);
        if (!((levels >> all[k].level) & 1) || kernel == NULL) continue;
        check_kernel(all[k].name, kernel, thousands, offsets_used);
        ran++;
    }
    printf("kernels checked: %d\n", ran);
    return failures ? 1 : 0;
}
