/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * crypto.c - randomness from getrandom(2), hashing and base64url with
 * libcrypto.
 */
#include "synthia/crypto.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "synthia/error.h"
#include "synthia/str.h"

void
sy_random_bytes(void *out, size_t n)
{
    unsigned char *p = out;
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            abort(); /* never fall back to weak randomness */
        }
        p += r;
        n -= (size_t)r;
    }
}

uint64_t
sy_random_below(uint64_t n)
{
    uint64_t r;
    if (n == 0)
        return 0;
    sy_random_bytes(&r, sizeof(r));
    return r % n; /* the bias is below n / 2^64: nothing for jitter */
}

void
sy_hex(char *out, const void *in, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = in;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[s[i] >> 4];
        out[2 * i + 1] = hex[s[i] & 15];
    }
    out[2 * n] = 0;
}

void
sy_sha256(const void *in, size_t n, unsigned char out[SY_SHA256_LEN])
{
    unsigned int len = 0;
    if (!EVP_Digest(in, n, out, &len, EVP_sha256(), NULL))
        abort();
}

void
sy_uuid_v4(char out[37])
{
    unsigned char b[16];
    char hex[33];
    sy_random_bytes(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    sy_hex(hex, b, sizeof(b));
    memcpy(out, hex, 8);
    out[8] = '-';
    memcpy(out + 9, hex + 8, 4);
    out[13] = '-';
    memcpy(out + 14, hex + 12, 4);
    out[18] = '-';
    memcpy(out + 19, hex + 16, 4);
    out[23] = '-';
    memcpy(out + 24, hex + 20, 12);
    out[36] = 0;
}

bool
sy_uuid_valid(const char *p, size_t n)
{
    if (n != 36)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-'
                 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                     (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

bool
sy_ct_eq(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

/* base64url through OpenSSL's base64 (EVP_EncodeBlock/EVP_DecodeBlock),
 * 48 bytes / 64 characters at a time: only the alphabet's last two
 * characters and the padding differ. */
#define B64_CHUNK_BYTES 48
#define B64_CHUNK_CHARS 64

static bool
b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* c, with from[0] and from[1] turned into to[0] and to[1]. */
static char
translate(char c, const char *from, const char *to)
{
    if (c == from[0])
        return to[0];
    if (c == from[1])
        return to[1];
    return c;
}

size_t
sy_b64url_encode(char *out, const void *in, size_t n)
{
    const unsigned char *p = in;
    unsigned char tmp[B64_CHUNK_CHARS + 1];
    size_t o = 0;
    for (size_t i = 0; i < n; i += B64_CHUNK_BYTES) {
        size_t k = n - i < B64_CHUNK_BYTES ? n - i : B64_CHUNK_BYTES;
        int len = EVP_EncodeBlock(tmp, p + i, (int)k);
        for (int j = 0; j < len && tmp[j] != '='; j++)
            out[o++] = translate((char)tmp[j], "+/", "-_");
    }
    out[o] = 0;
    return o;
}

int
sy_b64url_decode(unsigned char *out, size_t outcap, const char *in, size_t n,
                 size_t *outlen)
{
    size_t want = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    if (n % 4 == 1 || want > outcap)
        return SY_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!b64url_char(in[i]))
            return SY_EINVAL;
    unsigned char tmp[B64_CHUNK_CHARS], dec[B64_CHUNK_BYTES];
    size_t o = 0;
    for (size_t i = 0; i < n; i += B64_CHUNK_CHARS) {
        size_t k = n - i < B64_CHUNK_CHARS ? n - i : B64_CHUNK_CHARS;
        size_t pad = (4 - k % 4) % 4;
        for (size_t j = 0; j < k; j++)
            tmp[j] = (unsigned char)translate(in[i + j], "-_", "+/");
        memset(tmp + k, '=', pad);
        int len = EVP_DecodeBlock(dec, tmp, (int)(k + pad));
        if (len < 0 || (size_t)len < pad)
            return SY_EINVAL;
        memcpy(out + o, dec, (size_t)len - pad);
        o += (size_t)len - pad;
    }
    *outlen = o;
    return 0;
}

int
sy_unhex(unsigned char *out, size_t outcap, const char *in, size_t *outlen)
{
    size_t n = in ? strlen(in) : 1;
    if (n % 2 || n / 2 > outcap)
        return SY_EINVAL;
    for (size_t i = 0; i < n; i += 2) {
        int hi = sy_hex_digit(in[i]), lo = sy_hex_digit(in[i + 1]);
        if (hi < 0 || lo < 0)
            return SY_EINVAL;
        out[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    *outlen = n / 2;
    return 0;
}
