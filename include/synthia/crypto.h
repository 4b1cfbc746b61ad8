/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * crypto.h - randomness, hashing, hex, UUIDs and constant-time compare,
 * all on OpenSSL's libcrypto and getrandom(2).
 */
#ifndef SYNTHIA_CRYPTO_H
#define SYNTHIA_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SY_SHA256_LEN 32
#define SY_UUID_LEN 36 /* canonical text form, without the NUL */

/* Cryptographically secure random bytes; aborts if the kernel cannot
 * provide them (never returns weak randomness). */
void sy_random_bytes(void *out, size_t n);

/* A uniform draw in [0, n) (0 when n is 0), for jitter. */
uint64_t sy_random_below(uint64_t n);
/* Lower-case hex of n bytes into out (2n+1 bytes with the NUL). */
void sy_hex(char *out, const void *in, size_t n);
/* Decode hex (either case) into out: 0 with *outlen, or SY_EINVAL for
 * an odd length, a non-hex character or an output over outcap. */
int sy_unhex(unsigned char *out, size_t outcap, const char *in,
             size_t *outlen);
void sy_sha256(const void *in, size_t n, unsigned char out[SY_SHA256_LEN]);
/* Random (version 4) UUID in canonical form, 37 bytes with the NUL. */
void sy_uuid_v4(char out[37]);
/* Canonical 8-4-4-4-12 hex UUID syntax check. */
bool sy_uuid_valid(const char *p, size_t n);
/* Constant-time equality of two equal-length buffers. */
bool sy_ct_eq(const void *a, const void *b, size_t n);

/* Unpadded base64url (RFC 4648, section 5), as in JWTs and our tokens.
 * SY_B64URL_LEN(n) characters for n bytes; the buffer needs one more for
 * the NUL. */
#define SY_B64URL_LEN(n) (((n) * 4 + 2) / 3)
/* Encode n bytes into out (SY_B64URL_LEN(n) + 1 bytes); returns the
 * length. */
size_t sy_b64url_encode(char *out, const void *in, size_t n);
/* Strict decode of n characters into out (room for n * 3 / 4 bytes):
 * 0 with *outlen, or SY_EINVAL for a character outside the alphabet,
 * padding, an impossible length, or an output larger than outcap. */
int sy_b64url_decode(unsigned char *out, size_t outcap, const char *in,
                     size_t n, size_t *outlen);

#endif
