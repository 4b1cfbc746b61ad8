/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target_jwt.c - access tokens: sy_jwt_verify (three base64url segments,
 * the header read before any signature check, the kid and its algorithm,
 * libjwt's signature check, then the typed claims and times).
 *
 * The keys: the HS256 signing secret under kid "fuzz", an older HS256
 * secret under "old" and an ES256 public key under "ec" (both through
 * auth.jwt_verify_keys), loaded once from a minimal sy_conf built here.
 *
 * Input: either a token as sent after "Bearer ", or "sign:" / "sign-old:"
 * then the header JSON, a newline and the payload JSON: the target
 * encodes both and signs them with the current / old secret, so that the
 * fuzzer reaches the claim checks behind the signature.
 */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/jwt.h"
#include "synthia/request.h"

#define SECRET "fuzz-secret-0123456789abcdef-0123456789"
#define OLD_SECRET "fuzz-old-secret-fedcba9876543210-fedcba"
#define SEGMENT_MAX 8192

const char fz_target_name[] = "jwt";

static sy_config conf;
static char verify_keys[600], issuer[] = "synthia", alg[] = "HS256",
                              kid[] = "fuzz", secret[] = SECRET;

static int
write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* An EC P-256 public key in PEM at path. */
static int
write_ec_key(const char *path)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    FILE *f = fopen(path, "wb");
    int ok = pk && f && PEM_write_PUBKEY(f, pk);
    if (f && fclose(f) != 0)
        ok = 0;
    EVP_PKEY_free(pk);
    return ok ? 0 : -1;
}

int
fz_init(void)
{
    char dir[] = "/tmp/synthia-fuzz-jwt.XXXXXX", old[64], ec[64];
    if (!mkdtemp(dir))
        return -1;
    snprintf(old, sizeof(old), "%s/old", dir);
    snprintf(ec, sizeof(ec), "%s/ec.pub", dir);
    snprintf(verify_keys, sizeof(verify_keys), "old=%s ec=%s", old, ec);
    int rc = write_file(old, OLD_SECRET, strlen(OLD_SECRET)) == 0 &&
                     write_ec_key(ec) == 0
                 ? 0
                 : -1;
    conf.jwt_secret = (unsigned char *)secret;
    conf.jwt_secret_len = strlen(secret);
    conf.issuer = issuer;
    conf.jwt_algorithm = alg;
    conf.jwt_kid = kid;
    conf.jwt_verify_keys = verify_keys;
    conf.jwt_leeway_ms = 30000;
    conf.access_ttl_ms = 900000;
    sy_conf = &conf;
    if (rc == 0 && sy_jwt_load() < 0)
        rc = -1;
    /* the keys are in memory now */
    unlink(old);
    unlink(ec);
    rmdir(dir);
    return rc;
}

/* "<b64url(header)>.<b64url(payload)>.<b64url(HMAC)>", malloc'd. */
static char *
sign(sy_str header, sy_str payload, const char *key)
{
    if (header.len > SEGMENT_MAX)
        header.len = SEGMENT_MAX;
    if (payload.len > SEGMENT_MAX)
        payload.len = SEGMENT_MAX;
    size_t hn = SY_B64URL_LEN(header.len), pn = SY_B64URL_LEN(payload.len);
    char *tok = malloc(hn + pn + SY_B64URL_LEN(32) + 3);
    if (!tok)
        abort();
    size_t n = sy_b64url_encode(tok, header.p, header.len);
    tok[n++] = '.';
    n += sy_b64url_encode(tok + n, payload.p, payload.len);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (!HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)tok,
              n, mac, &maclen))
        abort();
    tok[n++] = '.';
    n += sy_b64url_encode(tok + n, mac, maclen);
    tok[n] = 0;
    return tok;
}

void
fz_run(const uint8_t *data, size_t size, sy_buf *t)
{
    sy_str in = {(const char *)data, size}, head, payload;
    char *signed_tok = NULL;
    sy_str token = in;
    if (sy_str_starts(in, "sign:") || sy_str_starts(in, "sign-old:")) {
        bool old = in.p[4] == '-';
        size_t skip = old ? 9 : 5;
        fz_split((sy_str){in.p + skip, in.len - skip}, '\n', &head, &payload);
        signed_tok = sign(head, payload, old ? OLD_SECRET : SECRET);
        token = sy_str_c(signed_tok);
    }

    sy_arena a;
    sy_arena_init(&a, 4096, 1 << 20);
    sy_claims c;
    memset(&c, 0x55, sizeof(c));
    int rc = sy_jwt_verify(&a, token, &c);
    fz_puti(t, "verify", rc, 0);
    if (rc == 0) {
        if (!memchr(c.sub, 0, sizeof(c.sub)) ||
            !memchr(c.tid, 0, sizeof(c.tid)) ||
            !memchr(c.sid, 0, sizeof(c.sid)) ||
            !memchr(c.jti, 0, sizeof(c.jti)))
            fz_fail("claims not NUL-terminated");
        if (!sy_role_name(c.role))
            fz_fail("role %d accepted", c.role);
        fz_putc(t, "sub", 0, c.sub);
        fz_putc(t, "tid", 0, c.tid);
        fz_putc(t, "role", 0, sy_role_name(c.role));
        fz_putc(t, "sid", 0, c.sid);
        fz_putc(t, "jti", 0, c.jti);
        fz_puti(t, "iat", 0, c.iat);
        fz_puti(t, "exp", 0, c.exp);
    } else if (rc != SY_EUNAUTH && rc != SY_ENOMEM) {
        fz_fail("sy_jwt_verify returned %d", rc);
    } else {
        unsigned char *p = (unsigned char *)&c;
        for (size_t i = 0; i < sizeof(c); i++)
            if (p[i] != 0x55)
                fz_fail("sy_jwt_verify wrote claims and failed");
    }
    sy_arena_cleanup(&a);
    free(signed_tok);
}
