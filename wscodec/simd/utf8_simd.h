/* SIMD UTF-8 validation kernels (RFC 3629 §4), chosen at run time by wscodec/_utf8_c.pyx.
 *
 * The method is the lookup-table validator of J. Keiser and D. Lemire, "Validating UTF-8 in
 * less than one instruction per byte", Software: Practice and Experience 51(5), 2021,
 * written here from the paper's description.  Every error a UTF-8 text can hold shows in
 * two consecutive bytes (b1, b2), except the rule on third and fourth bytes:
 *
 *   - three nibbles, the high and low nibble of b1 and the high nibble of b2, each index a
 *     16-entry table whose entries are bit sets of error classes; a pair is wrong in class k
 *     when all three lookups have bit k (one byte shuffle per table and block);
 *   - a continuation byte after a continuation byte (class TWO_CONTS) is right exactly when
 *     the byte two back is E0..FF or the byte three back is F0..FF (it is then the third or
 *     fourth byte of a character); XOR-ing that condition into the TWO_CONTS bit turns "two
 *     continuations in a row" into an error exactly where no lead byte allows it, and also
 *     flags a non-continuation byte where a third or fourth byte was due.
 *
 * The error classes (one bit each; the tables below are the only place they are encoded):
 *
 *   bit  class         b1 (high, low nibble)       b2 high nibble   RFC 3629 §4 rule
 *   0x01 TOO_SHORT     lead C..F, any             0..7, C..F       a lead needs a tail
 *   0x02 TOO_LONG      ASCII 0..7, any            8..B             tail with no lead
 *   0x04 OVERLONG_3    E, 0                       8..9             E0 needs A0..BF
 *   0x08 TOO_LARGE     F, 4..F                    9..B             F4 needs 80..8F; F5..FF
 *   0x10 SURROGATE     E, D                       A..B             ED needs 80..9F
 *   0x20 OVERLONG_2    C, 0..1                    8..B             C0, C1 never appear
 *   0x40 OVERLONG_4    F, 0 and 5..F              8                F0 needs 90..BF; F5..FF
 *   0x80 TWO_CONTS     tail 8..B, any             8..B             (resolved as above)
 *
 * OVERLONG_4 also carries "F5..FF then 80..8F": the two share the high-nibble entries, so
 * sharing the bit adds no pair that is not an error.  A byte F5..FF, C0 or C1 is caught by
 * whatever follows it: a tail (OVERLONG_2 / OVERLONG_4 / TOO_LARGE) or not (TOO_SHORT).
 *
 * Contract of each kernel  ptrdiff_t k(const unsigned char *s, ptrdiff_t n):
 *   s[0:n] is checked as text that starts on a character boundary.  The result is n when
 *   s[0:n] is valid UTF-8 ending on a character boundary.  Otherwise it is a position g < n
 *   (a multiple of the kernel's block, possibly 0) before which no pair or triple of bytes
 *   showed an error.  Then, if p is the last byte in s[g-4:g] that is not a continuation
 *   byte (p = 0 when g = 0), s[0:p] is valid UTF-8 ending on a character boundary: a
 *   character cut short before p would have shown as an error at s[p].  (No such p means
 *   four continuation bytes in a row: invalid.)  The caller finishes exactly with the
 *   scalar DFA from the boundary state over s[p:n].  Bytes outside s[0:n] are never read.
 */
#ifndef WSCODEC_SIMD_UTF8_H
#define WSCODEC_SIMD_UTF8_H

#include <stddef.h>
#include <string.h>

#include "cpu.h"

typedef ptrdiff_t (*wsc_utf8_fn)(const unsigned char *s, ptrdiff_t n);

#define WSC_U8_TOO_SHORT 0x01
#define WSC_U8_TOO_LONG 0x02
#define WSC_U8_OVERLONG_3 0x04
#define WSC_U8_TOO_LARGE 0x08
#define WSC_U8_SURROGATE 0x10
#define WSC_U8_OVERLONG_2 0x20
#define WSC_U8_OVERLONG_4 0x40
#define WSC_U8_TWO_CONTS 0x80
/* The classes whose b1 low-nibble entry is "any". */
#define WSC_U8_ANY_LOW (WSC_U8_TOO_SHORT | WSC_U8_TOO_LONG | WSC_U8_TWO_CONTS)

#if defined(WSC_X86_TARGETS) || defined(WSC_NEON)

/* Indexed by the high nibble of the previous byte b1. */
static const unsigned char wsc_u8_b1_high[16] = {
    /* 0..7: ASCII */
    WSC_U8_TOO_LONG, WSC_U8_TOO_LONG, WSC_U8_TOO_LONG, WSC_U8_TOO_LONG,
    WSC_U8_TOO_LONG, WSC_U8_TOO_LONG, WSC_U8_TOO_LONG, WSC_U8_TOO_LONG,
    /* 8..B: continuation */
    WSC_U8_TWO_CONTS, WSC_U8_TWO_CONTS, WSC_U8_TWO_CONTS, WSC_U8_TWO_CONTS,
    /* C: two-byte lead (C0, C1 overlong) */
    WSC_U8_TOO_SHORT | WSC_U8_OVERLONG_2,
    /* D: two-byte lead */
    WSC_U8_TOO_SHORT,
    /* E: three-byte lead */
    WSC_U8_TOO_SHORT | WSC_U8_OVERLONG_3 | WSC_U8_SURROGATE,
    /* F: four-byte lead, or F5..FF */
    WSC_U8_TOO_SHORT | WSC_U8_TOO_LARGE | WSC_U8_OVERLONG_4,
};

/* Indexed by the low nibble of b1. */
static const unsigned char wsc_u8_b1_low[16] = {
    /* 0: C0, E0, F0 */
    WSC_U8_ANY_LOW | WSC_U8_OVERLONG_2 | WSC_U8_OVERLONG_3 | WSC_U8_OVERLONG_4,
    /* 1: C1 */
    WSC_U8_ANY_LOW | WSC_U8_OVERLONG_2,
    WSC_U8_ANY_LOW,
    WSC_U8_ANY_LOW,
    /* 4: F4 */
    WSC_U8_ANY_LOW | WSC_U8_TOO_LARGE,
    /* 5..F: F5..FF (and ED at D) */
    WSC_U8_ANY_LOW | WSC_U8_TOO_LARGE | WSC_U8_OVERLONG_4,
    WSC_U8_ANY_LOW | WSC_U8_TOO_LARGE | WSC_U8_OVERLONG_4,
    WSC_U8_ANY_LOW | WSC_U8_TOO_LARGE | WSC_U8_OVERLONG_4,
    WSC_U8_ANY_LOW | WSC_U8_TOO_LARGE | WSC_U8_OVERLONG_4,
    WSC_U8_ANY_LOW | WSC_U8_TOO_LARGE | WSC_U8_OVERLONG_4,
    WSC_U8_ANY_LOW | WSC_U8_TOO_LARGE | WSC_U8_OVERLONG_4,
    WSC_U8_ANY_LOW | WSC_U8_TOO_LARGE | WSC_U8_OVERLONG_4,
    WSC_U8_ANY_LOW | WSC_U8_TOO_LARGE | WSC_U8_OVERLONG_4,
    WSC_U8_ANY_LOW | WSC_U8_TOO_LARGE | WSC_U8_OVERLONG_4 | WSC_U8_SURROGATE,
    WSC_U8_ANY_LOW | WSC_U8_TOO_LARGE | WSC_U8_OVERLONG_4,
    WSC_U8_ANY_LOW | WSC_U8_TOO_LARGE | WSC_U8_OVERLONG_4,
};

/* Indexed by the high nibble of the current byte b2. */
static const unsigned char wsc_u8_b2_high[16] = {
    /* 0..7: ASCII */
    WSC_U8_TOO_SHORT, WSC_U8_TOO_SHORT, WSC_U8_TOO_SHORT, WSC_U8_TOO_SHORT,
    WSC_U8_TOO_SHORT, WSC_U8_TOO_SHORT, WSC_U8_TOO_SHORT, WSC_U8_TOO_SHORT,
    /* 8: 80..8F */
    WSC_U8_TOO_LONG | WSC_U8_OVERLONG_2 | WSC_U8_TWO_CONTS | WSC_U8_OVERLONG_3
        | WSC_U8_OVERLONG_4,
    /* 9: 90..9F */
    WSC_U8_TOO_LONG | WSC_U8_OVERLONG_2 | WSC_U8_TWO_CONTS | WSC_U8_OVERLONG_3
        | WSC_U8_TOO_LARGE,
    /* A..B: A0..BF */
    WSC_U8_TOO_LONG | WSC_U8_OVERLONG_2 | WSC_U8_TWO_CONTS | WSC_U8_SURROGATE
        | WSC_U8_TOO_LARGE,
    WSC_U8_TOO_LONG | WSC_U8_OVERLONG_2 | WSC_U8_TWO_CONTS | WSC_U8_SURROGATE
        | WSC_U8_TOO_LARGE,
    /* C..F: leads */
    WSC_U8_TOO_SHORT, WSC_U8_TOO_SHORT, WSC_U8_TOO_SHORT, WSC_U8_TOO_SHORT,
};

/* b - 0x60 (saturating) has its top bit set exactly when b >= E0; b - 0x70 when b >= F0. */
#define WSC_U8_THIRD_BIAS 0x60
#define WSC_U8_FOURTH_BIAS 0x70

/* Nonzero bytes where a character starting in the last three bytes of a block is cut off by
 * the block's end: the last byte is a lead (C0..), the second-last E0.., the third-last
 * F0..  (The tables end at the last byte of a 32- or 16-byte block.) */
static const unsigned char wsc_u8_incomplete_max[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xEF, 0xDF, 0xBF,
};

#endif


/* Each kernel has the same shape:
 *   1. groups of four blocks: skipped with one test when all ASCII (right unless the block
 *      before ended inside a character), else every block checked against the one before;
 *   2. single blocks, the same way;
 *   3. the last block: the text's final block-width bytes, overlapping the blocks checked,
 *      with the bytes one, two and three back read directly; it also must not end inside a
 *      character.  Texts too short to have three bytes before that block copy their rest
 *      into a zeroed block instead (a zero after a character cut short is an error).
 * Rechecking bytes is harmless: every error found is a real one. */

/* ---- x86-64: SSSE3 (16-byte blocks) and AVX2 (32-byte blocks) ----------------------- */
#if defined(WSC_X86_TARGETS)
#include <immintrin.h>

WSC_TARGET_SSSE3 static inline __m128i
wsc_u8_check_ssse3(__m128i in, __m128i p1, __m128i p2, __m128i p3,
                   __m128i t1h, __m128i t1l, __m128i t2h)
{
    /* p1, p2, p3: the bytes one, two and three places before each byte of ``in``. */
    const __m128i nib = _mm_set1_epi8(0x0F);
    __m128i h1 = _mm_shuffle_epi8(t1h, _mm_and_si128(_mm_srli_epi16(p1, 4), nib));
    __m128i l1 = _mm_shuffle_epi8(t1l, _mm_and_si128(p1, nib));
    __m128i h2 = _mm_shuffle_epi8(t2h, _mm_and_si128(_mm_srli_epi16(in, 4), nib));
    __m128i special = _mm_and_si128(_mm_and_si128(h1, l1), h2);
    __m128i third = _mm_subs_epu8(p2, _mm_set1_epi8(WSC_U8_THIRD_BIAS));
    __m128i fourth = _mm_subs_epu8(p3, _mm_set1_epi8(WSC_U8_FOURTH_BIAS));
    __m128i must = _mm_and_si128(_mm_or_si128(third, fourth), _mm_set1_epi8((char)0x80));
    return _mm_xor_si128(special, must);
}

WSC_TARGET_SSSE3 static inline __m128i
wsc_u8_block_ssse3(__m128i in, __m128i prev, __m128i t1h, __m128i t1l, __m128i t2h)
{
    /* The bytes before each byte, reaching into the previous block. */
    return wsc_u8_check_ssse3(in, _mm_alignr_epi8(in, prev, 15), _mm_alignr_epi8(in, prev, 14),
                              _mm_alignr_epi8(in, prev, 13), t1h, t1l, t2h);
}

WSC_TARGET_SSSE3 static inline int wsc_u8_nonzero_sse(__m128i v)
{
    return _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())) != 0xFFFF;
}

WSC_TARGET_SSSE3 static ptrdiff_t wsc_utf8_ssse3(const unsigned char *s, ptrdiff_t n)
{
    const __m128i t1h = _mm_loadu_si128((const __m128i *)wsc_u8_b1_high);
    const __m128i t1l = _mm_loadu_si128((const __m128i *)wsc_u8_b1_low);
    const __m128i t2h = _mm_loadu_si128((const __m128i *)wsc_u8_b2_high);
    const __m128i maxv = _mm_loadu_si128((const __m128i *)(wsc_u8_incomplete_max + 16));
    __m128i prev = _mm_setzero_si128();
    __m128i incomplete = _mm_setzero_si128();
    __m128i err;
    ptrdiff_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(s + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(s + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(s + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(s + i + 48));
        if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))) == 0) {
            if (wsc_u8_nonzero_sse(incomplete))
                return i;
            prev = d;
            continue;
        }
        err = _mm_or_si128(
            _mm_or_si128(wsc_u8_block_ssse3(a, prev, t1h, t1l, t2h),
                         wsc_u8_block_ssse3(b, a, t1h, t1l, t2h)),
            _mm_or_si128(wsc_u8_block_ssse3(c, b, t1h, t1l, t2h),
                         wsc_u8_block_ssse3(d, c, t1h, t1l, t2h)));
        if (wsc_u8_nonzero_sse(err))
            return i;
        prev = d;
        incomplete = _mm_subs_epu8(d, maxv);
    }
    for (; i + 16 <= n; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(s + i));
        if (_mm_movemask_epi8(a) == 0) {
            if (wsc_u8_nonzero_sse(incomplete))
                return i;
        } else {
            if (wsc_u8_nonzero_sse(wsc_u8_block_ssse3(a, prev, t1h, t1l, t2h)))
                return i;
            incomplete = _mm_subs_epu8(a, maxv);
        }
        prev = a;
    }
    if (n >= 16 + 3) {
        const unsigned char *e = s + n - 16;
        __m128i last = _mm_loadu_si128((const __m128i *)e);
        err = _mm_or_si128(
            wsc_u8_check_ssse3(last, _mm_loadu_si128((const __m128i *)(e - 1)),
                               _mm_loadu_si128((const __m128i *)(e - 2)),
                               _mm_loadu_si128((const __m128i *)(e - 3)), t1h, t1l, t2h),
            _mm_subs_epu8(last, maxv));
    } else {
        unsigned char tail[16];
        memset(tail, 0, sizeof tail);
        memcpy(tail, s + i, (size_t)(n - i));
        err = wsc_u8_block_ssse3(_mm_loadu_si128((const __m128i *)tail), prev, t1h, t1l, t2h);
    }
    if (wsc_u8_nonzero_sse(err))
        return i < n ? i : i - 16;  /* the result must be < n: step back one clean block */
    return n;
}

WSC_TARGET_AVX2 static inline __m256i
wsc_u8_check_avx2(__m256i in, __m256i p1, __m256i p2, __m256i p3,
                  __m256i t1h, __m256i t1l, __m256i t2h)
{
    const __m256i nib = _mm256_set1_epi8(0x0F);
    __m256i h1 = _mm256_shuffle_epi8(t1h, _mm256_and_si256(_mm256_srli_epi16(p1, 4), nib));
    __m256i l1 = _mm256_shuffle_epi8(t1l, _mm256_and_si256(p1, nib));
    __m256i h2 = _mm256_shuffle_epi8(t2h, _mm256_and_si256(_mm256_srli_epi16(in, 4), nib));
    __m256i special = _mm256_and_si256(_mm256_and_si256(h1, l1), h2);
    __m256i third = _mm256_subs_epu8(p2, _mm256_set1_epi8(WSC_U8_THIRD_BIAS));
    __m256i fourth = _mm256_subs_epu8(p3, _mm256_set1_epi8(WSC_U8_FOURTH_BIAS));
    __m256i must = _mm256_and_si256(_mm256_or_si256(third, fourth),
                                    _mm256_set1_epi8((char)0x80));
    return _mm256_xor_si256(special, must);
}

WSC_TARGET_AVX2 static inline __m256i
wsc_u8_block_avx2(__m256i in, __m256i prev, __m256i t1h, __m256i t1l, __m256i t2h)
{
    /* alignr works within 128-bit lanes: give each lane the 16 bytes before it. */
    __m256i before = _mm256_permute2x128_si256(prev, in, 0x21);
    return wsc_u8_check_avx2(in, _mm256_alignr_epi8(in, before, 15),
                             _mm256_alignr_epi8(in, before, 14),
                             _mm256_alignr_epi8(in, before, 13), t1h, t1l, t2h);
}

WSC_TARGET_AVX2 static inline __m256i wsc_u8_table_avx2(const unsigned char *t)
{
    /* The same 16 entries in both lanes (vpshufb looks up within each lane). */
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)t));
}

WSC_TARGET_AVX2 static inline int wsc_u8_nonzero_avx2(__m256i v)
{
    return !_mm256_testz_si256(v, v);
}

WSC_TARGET_AVX2 static ptrdiff_t wsc_utf8_avx2(const unsigned char *s, ptrdiff_t n)
{
    const __m256i t1h = wsc_u8_table_avx2(wsc_u8_b1_high);
    const __m256i t1l = wsc_u8_table_avx2(wsc_u8_b1_low);
    const __m256i t2h = wsc_u8_table_avx2(wsc_u8_b2_high);
    const __m256i maxv = _mm256_loadu_si256((const __m256i *)wsc_u8_incomplete_max);
    __m256i prev = _mm256_setzero_si256();
    __m256i incomplete = _mm256_setzero_si256();
    __m256i err;
    ptrdiff_t i = 0;
    for (; i + 128 <= n; i += 128) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(s + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(s + i + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(s + i + 64));
        __m256i d = _mm256_loadu_si256((const __m256i *)(s + i + 96));
        if (_mm256_movemask_epi8(_mm256_or_si256(_mm256_or_si256(a, b),
                                                 _mm256_or_si256(c, d))) == 0) {
            if (wsc_u8_nonzero_avx2(incomplete))
                return i;
            prev = d;
            continue;
        }
        err = _mm256_or_si256(
            _mm256_or_si256(wsc_u8_block_avx2(a, prev, t1h, t1l, t2h),
                            wsc_u8_block_avx2(b, a, t1h, t1l, t2h)),
            _mm256_or_si256(wsc_u8_block_avx2(c, b, t1h, t1l, t2h),
                            wsc_u8_block_avx2(d, c, t1h, t1l, t2h)));
        if (wsc_u8_nonzero_avx2(err))
            return i;
        prev = d;
        incomplete = _mm256_subs_epu8(d, maxv);
    }
    for (; i + 32 <= n; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(s + i));
        if (_mm256_movemask_epi8(a) == 0) {
            if (wsc_u8_nonzero_avx2(incomplete))
                return i;
        } else {
            if (wsc_u8_nonzero_avx2(wsc_u8_block_avx2(a, prev, t1h, t1l, t2h)))
                return i;
            incomplete = _mm256_subs_epu8(a, maxv);
        }
        prev = a;
    }
    if (n >= 32 + 3) {
        const unsigned char *e = s + n - 32;
        __m256i last = _mm256_loadu_si256((const __m256i *)e);
        err = _mm256_or_si256(
            wsc_u8_check_avx2(last, _mm256_loadu_si256((const __m256i *)(e - 1)),
                              _mm256_loadu_si256((const __m256i *)(e - 2)),
                              _mm256_loadu_si256((const __m256i *)(e - 3)), t1h, t1l, t2h),
            _mm256_subs_epu8(last, maxv));
    } else {
        unsigned char tail[32];
        memset(tail, 0, sizeof tail);
        memcpy(tail, s + i, (size_t)(n - i));
        err = wsc_u8_block_avx2(_mm256_loadu_si256((const __m256i *)tail), prev, t1h, t1l, t2h);
    }
    if (wsc_u8_nonzero_avx2(err))
        return i < n ? i : i - 32;  /* the result must be < n: step back one clean block */
    return n;
}
#endif /* WSC_X86_TARGETS */

/* ---- AArch64: NEON (16-byte blocks) -------------------------------------------------- */
#if defined(WSC_NEON)
#include <arm_neon.h>

static inline uint8x16_t
wsc_u8_check_neon(uint8x16_t in, uint8x16_t p1, uint8x16_t p2, uint8x16_t p3,
                  uint8x16_t t1h, uint8x16_t t1l, uint8x16_t t2h)
{
    uint8x16_t h1 = vqtbl1q_u8(t1h, vshrq_n_u8(p1, 4));
    uint8x16_t l1 = vqtbl1q_u8(t1l, vandq_u8(p1, vdupq_n_u8(0x0F)));
    uint8x16_t h2 = vqtbl1q_u8(t2h, vshrq_n_u8(in, 4));
    uint8x16_t special = vandq_u8(vandq_u8(h1, l1), h2);
    uint8x16_t third = vqsubq_u8(p2, vdupq_n_u8(WSC_U8_THIRD_BIAS));
    uint8x16_t fourth = vqsubq_u8(p3, vdupq_n_u8(WSC_U8_FOURTH_BIAS));
    uint8x16_t must = vandq_u8(vorrq_u8(third, fourth), vdupq_n_u8(0x80));
    return veorq_u8(special, must);
}

static inline uint8x16_t
wsc_u8_block_neon(uint8x16_t in, uint8x16_t prev, uint8x16_t t1h, uint8x16_t t1l,
                  uint8x16_t t2h)
{
    /* vext(prev, in, 16 - k): the bytes k places back, reaching into the previous block. */
    return wsc_u8_check_neon(in, vextq_u8(prev, in, 15), vextq_u8(prev, in, 14),
                             vextq_u8(prev, in, 13), t1h, t1l, t2h);
}

static ptrdiff_t wsc_utf8_neon(const unsigned char *s, ptrdiff_t n)
{
    const uint8x16_t t1h = vld1q_u8(wsc_u8_b1_high);
    const uint8x16_t t1l = vld1q_u8(wsc_u8_b1_low);
    const uint8x16_t t2h = vld1q_u8(wsc_u8_b2_high);
    const uint8x16_t maxv = vld1q_u8(wsc_u8_incomplete_max + 16);
    uint8x16_t prev = vdupq_n_u8(0);
    uint8x16_t incomplete = vdupq_n_u8(0);
    uint8x16_t err;
    ptrdiff_t i = 0;
    for (; i + 64 <= n; i += 64) {
        uint8x16_t a = vld1q_u8(s + i);
        uint8x16_t b = vld1q_u8(s + i + 16);
        uint8x16_t c = vld1q_u8(s + i + 32);
        uint8x16_t d = vld1q_u8(s + i + 48);
        if (vmaxvq_u8(vorrq_u8(vorrq_u8(a, b), vorrq_u8(c, d))) < 0x80) {
            if (vmaxvq_u8(incomplete) != 0)
                return i;
            prev = d;
            continue;
        }
        err = vorrq_u8(vorrq_u8(wsc_u8_block_neon(a, prev, t1h, t1l, t2h),
                                wsc_u8_block_neon(b, a, t1h, t1l, t2h)),
                       vorrq_u8(wsc_u8_block_neon(c, b, t1h, t1l, t2h),
                                wsc_u8_block_neon(d, c, t1h, t1l, t2h)));
        if (vmaxvq_u8(err) != 0)
            return i;
        prev = d;
        incomplete = vqsubq_u8(d, maxv);
    }
    for (; i + 16 <= n; i += 16) {
        uint8x16_t a = vld1q_u8(s + i);
        if (vmaxvq_u8(a) < 0x80) {
            if (vmaxvq_u8(incomplete) != 0)
                return i;
        } else {
            if (vmaxvq_u8(wsc_u8_block_neon(a, prev, t1h, t1l, t2h)) != 0)
                return i;
            incomplete = vqsubq_u8(a, maxv);
        }
        prev = a;
    }
    if (n >= 16 + 3) {
        const unsigned char *e = s + n - 16;
        uint8x16_t last = vld1q_u8(e);
        err = vorrq_u8(wsc_u8_check_neon(last, vld1q_u8(e - 1), vld1q_u8(e - 2),
                                         vld1q_u8(e - 3), t1h, t1l, t2h),
                       vqsubq_u8(last, maxv));
    } else {
        unsigned char tail[16];
        memset(tail, 0, sizeof tail);
        memcpy(tail, s + i, (size_t)(n - i));
        err = wsc_u8_block_neon(vld1q_u8(tail), prev, t1h, t1l, t2h);
    }
    if (vmaxvq_u8(err) != 0)
        return i < n ? i : i - 16;  /* the result must be < n: step back one clean block */
    return n;
}
#endif /* WSC_NEON */

/* The kernel for a WSC_LEVEL_*, or NULL where this build has none (scalar is used). */
static wsc_utf8_fn wsc_utf8_kernel(int level)
{
    switch (level) {
#if defined(WSC_X86_TARGETS)
    case WSC_LEVEL_SSSE3:
        return wsc_utf8_ssse3;
    case WSC_LEVEL_AVX2:
        return wsc_utf8_avx2;
#endif
#if defined(WSC_NEON)
    case WSC_LEVEL_NEON:
        return wsc_utf8_neon;
#endif
    default:
        (void)level;
        return NULL;
    }
}

#endif /* WSCODEC_SIMD_UTF8_H */
