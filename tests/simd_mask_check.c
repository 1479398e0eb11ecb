/* Stand-alone check of the masking kernels of wscodec/simd/mask_simd.h (RFC 6455 §5.3),
 * built and run by tests/test_mask_simd.py, natively and for AArch64 under emulation.
 * Every kernel the CPU runs is compared with the byte-at-a-time definition for lengths
 * 0..300, offsets 0..3, every destination alignment modulo 32 with several source
 * alignments, in place and out of place; bytes around the destination must stay untouched.
 * Prints "<level>: ok" per kernel; exits 1 on the first mismatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mask_simd.h"

#define MAXN 300
#define SLACK 64
#define GUARD 0xA5

static const char *const NAMES[] = {"none", "sse2", "ssse3", "avx2", "neon"};

static int check(int level, const unsigned char *payload)
{
    static unsigned char src[MAXN + 2 * SLACK], dst[MAXN + 2 * SLACK], want[MAXN];
    const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    wsc_mask_fn fn = wsc_mask_kernel(level);
    int n, offset, d, s, i, in_place;
    for (n = 0; n <= MAXN; n++)
        for (offset = 0; offset < 4; offset++) {
            for (i = 0; i < n; i++)
                want[i] = payload[i] ^ key[(offset + i) & 3];
            for (d = 0; d < 32; d++)
                for (in_place = 0; in_place < 2; in_place++)
                    for (s = 0; s < (in_place ? 1 : 32); s += 7) {
                        memset(dst, GUARD, sizeof dst);
                        if (in_place) {
                            memcpy(dst + d, payload, n);
                            fn(dst + d, dst + d, n, key, offset);
                        } else {
                            memcpy(src + s, payload, n);
                            fn(dst + d, src + s, n, key, offset);
                        }
                        for (i = 0; i < (int)sizeof dst; i++) {
                            int inside = i >= d && i < d + n;
                            if (inside ? dst[i] != want[i - d] : dst[i] != GUARD) {
                                printf("%s: FAIL n=%d offset=%d dst=%d src=%d in_place=%d "
                                       "byte %d\n", NAMES[level], n, offset, d, s, in_place,
                                       i - d);
                                return 1;
                            }
                        }
                    }
        }
    printf("%s: ok\n", NAMES[level]);
    return 0;
}

int main(void)
{
    unsigned char payload[MAXN];
    int levels = wsc_cpu_levels(), level, checked = 0;
    unsigned int x = 6455;
    for (level = 0; level < MAXN; level++) {
        x = x * 1103515245u + 12345u;
        payload[level] = (unsigned char)(x >> 16);
    }
    for (level = 0; level < 5; level++) {
        if (!((levels >> level) & 1) || wsc_mask_kernel(level) == NULL)
            continue;
        if (check(level, payload))
            return 1;
        checked++;
    }
    printf("kernels checked: %d\n", checked);
    return 0;
}
