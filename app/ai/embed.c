/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * embed.c - the built-in local embedder (embed.h).
 *
 * Text is folded (ASCII lower case; Latin-1 and Latin Extended-A letters
 * to their base letter: á→a, ñ→n, ß→ss) and cut into tokens of letters
 * and digits.  Each token adds its word (weight 1) and the character
 * 3-grams of " token " (weight 0.5) into SY_EMBED_DIMS buckets by a fixed
 * 64-bit hash, with a sign from the hash so that collisions cancel out on
 * average instead of piling up.  The sum is L2-normalised.  Nothing
 * depends on the locale, the host or a random seed: a vector stored today
 * compares with a query embedded anywhere tomorrow.
 */
#include "synthia/embed.h"

#include <stdint.h>
#include <string.h>

#define TOK_CHARS 64 /* characters kept of one token */
#define TOK_BYTES (TOK_CHARS * 4)
#define WORD_WEIGHT 1.0f
#define GRAM_WEIGHT 0.5f
#define FNV_BASIS 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

/* U+00C0..U+00FF folded; NULL for the two symbols (× ÷) among them. */
static const char *const latin1[64] = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i",
    "i", "i", "i", "d", "n", "o", "o", "o", "o", "o", NULL, "o", "u",
    "u", "u", "u", "y", "th", "ss", "a", "a", "a", "a", "a", "a", "ae",
    "c", "e", "e", "e", "e", "i", "i", "i", "i", "d", "n", "o", "o",
    "o", "o", "o", NULL, "o", "u", "u", "u", "u", "y", "th", "y"};

/* U+0100..U+017F (Latin Extended-A): base letter of each code point. */
static const char latin_ext_a[129] =
    "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkkk"
    "llllllllllnnnnnnnnnoooooooorrrrrrssssssssttttttuuuuuuuuuuuu"
    "wwyyyzzzzzzs";

typedef struct token {
    char b[TOK_BYTES + 2]; /* room for the padding spaces */
    uint16_t off[TOK_CHARS + 3];
    int nchars;
} token;

/* Decode one UTF-8 code point at p (n > 0 bytes left); *len gets its
 * length.  Malformed input gives -1 for one byte. */
static int32_t
utf8_next(const unsigned char *p, size_t n, int *len)
{
    int need = p[0] < 0x80                   ? 1
               : p[0] >= 0xf0 && p[0] < 0xf5 ? 4
               : p[0] >= 0xe0                ? 3
               : p[0] >= 0xc2                ? 2
                                             : 0;
    *len = 1;
    if (need == 0 || (size_t)need > n)
        return -1;
    int32_t cp = need == 1 ? p[0] : p[0] & (0x3f >> (need - 1));
    for (int i = 1; i < need; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return -1;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    /* Overlong forms would let other bytes pass for ASCII letters. */
    static const int32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[need] || cp > 0x10ffff)
        return -1;
    *len = need;
    return cp;
}

enum { SEPARATOR, SKIP, FOLDED, KEPT };

/* How a code point takes part in a token: a separator, ignored
 * (combining accents of decomposed text), folded to ASCII (written to
 * fold, NUL-terminated), or kept as it is (letters of other scripts). */
static int
classify(int32_t cp, char fold[3])
{
    const char *f = NULL;
    fold[1] = fold[2] = '\0';
    if (cp < 0x80) {
        if (cp >= 'A' && cp <= 'Z')
            cp += 'a' - 'A';
        if (!((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')))
            return SEPARATOR;
        fold[0] = (char)cp;
        return FOLDED;
    }
    if (cp >= 0x100 && cp <= 0x17f) {
        fold[0] = latin_ext_a[cp - 0x100];
        return FOLDED;
    }
    if (cp >= 0xc0 && cp <= 0xff && (f = latin1[cp - 0xc0]) != NULL) {
        memcpy(fold, f, strlen(f));
        return FOLDED;
    }
    if (cp >= 0x300 && cp <= 0x36f)
        return SKIP;
    /* Latin-1 punctuation and symbols, general punctuation and symbols,
     * CJK punctuation, specials and emoji separate words. */
    if (cp <= 0xff || (cp >= 0x2000 && cp <= 0x2bff) ||
        (cp >= 0x3000 && cp <= 0x303f) || cp >= 0xfff0)
        return SEPARATOR;
    return KEPT;
}

/* Fixed 64-bit hash: FNV-1a over a kind byte and the bytes, then a
 * finaliser (MurmurHash3's fmix64) so that the low bits (the bucket) and
 * the top bit (the sign) are both well mixed. */
static uint64_t
feature_hash(char kind, const char *p, size_t n)
{
    uint64_t h = FNV_BASIS;
    h = (h ^ (unsigned char)kind) * FNV_PRIME;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * FNV_PRIME;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static void
add_feature(float *out, char kind, const char *p, size_t n, float w)
{
    uint64_t h = feature_hash(kind, p, n);
    out[h % SY_EMBED_DIMS] += (h >> 63) ? -w : w;
}

/* The token's word, then its 3-grams of " token " (offsets shifted by
 * one for the leading space). */
static void
add_token(float *out, token *t)
{
    if (t->nchars == 0)
        return;
    int nbytes = t->off[t->nchars];
    add_feature(out, 'w', t->b + 1, (size_t)nbytes - 1, WORD_WEIGHT);
    t->b[nbytes] = ' ';
    t->off[t->nchars + 1] = (uint16_t)(nbytes + 1);
    for (int i = 0; i < t->nchars; i++) {
        int from = i == 0 ? 0 : t->off[i - 1];
        int to = t->off[i + 2];
        add_feature(out, 'g', t->b + from, (size_t)(to - from), GRAM_WEIGHT);
    }
    t->nchars = 0;
}

/* Append one character (n bytes) to the token; characters past
 * TOK_CHARS are dropped. */
static void
token_push(token *t, const char *p, size_t n)
{
    if (t->nchars == TOK_CHARS)
        return;
    int at = t->nchars == 0 ? 1 : t->off[t->nchars];
    if (t->nchars == 0) {
        t->b[0] = ' ';
        t->off[0] = 1;
    }
    memcpy(t->b + at, p, n);
    t->nchars++;
    t->off[t->nchars] = (uint16_t)(at + n);
}

/* Square root of s > 0 by Newton's method from above (it decreases to
 * the root and stops there): keeps libm out of the link. */
static double
root(double s)
{
    double x = s > 1 ? s : 1;
    for (;;) {
        double y = 0.5 * (x + s / x);
        if (y >= x)
            return x;
        x = y;
    }
}

static void
normalise(float *v)
{
    double sum = 0;
    for (int i = 0; i < SY_EMBED_DIMS; i++)
        sum += (double)v[i] * v[i];
    if (sum == 0)
        return;
    float inv = (float)(1.0 / root(sum));
    for (int i = 0; i < SY_EMBED_DIMS; i++)
        v[i] *= inv;
}

void
sy_embed_local(sy_str text, float out[SY_EMBED_DIMS])
{
    token t = {.nchars = 0};
    const unsigned char *p = (const unsigned char *)text.p;
    size_t left = text.p ? text.len : 0;

    memset(out, 0, SY_EMBED_DIMS * sizeof(float));
    while (left > 0) {
        int len;
        char fold[3];
        int32_t cp = utf8_next(p, left, &len);
        int kind = cp < 0 ? SEPARATOR : classify(cp, fold);
        if (kind == SEPARATOR)
            add_token(out, &t);
        else if (kind == KEPT)
            token_push(&t, (const char *)p, (size_t)len);
        else if (kind == FOLDED)
            for (const char *c = fold; *c; c++)
                token_push(&t, c, 1);
        p += len;
        left -= (size_t)len;
    }
    add_token(out, &t);
    normalise(out);
}

float
sy_embed_similarity(const float *a, const float *b, int dims)
{
    double dot = 0;
    for (int i = 0; i < dims; i++)
        dot += (double)a[i] * b[i];
    return dot <= 0 ? 0.0f : dot >= 1 ? 1.0f : (float)dot;
}
