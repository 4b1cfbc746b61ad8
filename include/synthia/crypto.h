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

/* Cryptographically secure random bytes; aborts if the kernel cannot
 * provide them (never returns weak randomness). */
void sy_random_bytes(void *out, size_t n);
/* Lower-case hex of n bytes into out (2n+1 bytes with the NUL). */
void sy_hex(char *out, const void *in, size_t n);
void sy_sha256(const void *in, size_t n, unsigned char out[SY_SHA256_LEN]);
/* Random (version 4) UUID in canonical form, 37 bytes with the NUL. */
void sy_uuid_v4(char out[37]);
/* Canonical 8-4-4-4-12 hex UUID syntax check. */
bool sy_uuid_valid(const char *p, size_t n);
/* Constant-time equality of two equal-length buffers. */
bool sy_ct_eq(const void *a, const void *b, size_t n);

#endif
