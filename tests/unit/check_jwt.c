/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_jwt.c - unit tests of jwt.c: issuing and verifying access tokens
 * with HS256, RS256 and ES256, the attacks every verifier must refuse
 * (expiry past the leeway, bad signatures, wrong secrets, "alg": "none",
 * HS/RS confusion, wrong issuer, unknown kids, garbage), key rotation
 * through auth.jwt_verify_keys, the JWKS document, and key files that
 * must stop start-up.
 *
 * Keys are made once per run with the openssl command in a mkdtemp
 * directory; each test loads its configuration with sy_config_load and
 * the keys with sy_jwt_load.  Attack tokens are built by hand (base64url
 * of a header and a payload) or signed with libjwt directly, bypassing
 * sy_jwt_issue.
 */
#include <check.h>
#include <dirent.h>
#include <json-c/json.h>
#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sycheck.h"
#include "synthia/arena.h"
#include "synthia/clock.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/jwt.h"
#include "synthia/log.h"

#define SECRET "0123456789abcdef0123456789abcdef"
#define OLD_SECRET "fedcba9876543210fedcba9876543210"
#define SUB "6f1c1a52-0e4b-4d4e-9a51-2f1f7b0c9a11"
#define TID "0b7c7f3e-5d5a-4c1b-8f7e-3a2b1c0d9e8f"
#define SID "9d2e4f60-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
#define JTI "1e2d3c4b-5a69-4788-9766-554433221100"

static char dir[64];
static sy_config C;
static sy_arena A;

/* --------------------------------------------------------------- files */

static const char *
path_of(const char *name)
{
    static char paths[8][256];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static void
write_file(const char *name, const char *content)
{
    FILE *f = fopen(path_of(name), "w");
    ck_assert_ptr_nonnull(f);
    fputs(content, f);
    fclose(f);
}

/* The whole file as a NUL-terminated heap string. */
static char *
slurp(const char *name, size_t *len)
{
    FILE *f = fopen(path_of(name), "r");
    ck_assert_ptr_nonnull(f);
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    fclose(f);
    if (len)
        *len = n;
    return buf;
}

/* Made once per run, before the tests fork. */
static int
make_keys(void)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "set -e; cd %s; exec 2>openssl.log; "
             "printf '%%s\\n' " SECRET " > secret; "
             "printf '%%s\\n' " OLD_SECRET " > old-secret; "
             "printf 'too-short-secret\\n' > short-secret; "
             "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
             "-out rsa.pem; openssl pkey -in rsa.pem -pubout -out rsa.pub; "
             "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
             "-out rsa-old.pem; "
             "openssl pkey -in rsa-old.pem -pubout -out rsa-old.pub; "
             "openssl genpkey -algorithm EC -pkeyopt "
             "ec_paramgen_curve:P-256 -out ec.pem; "
             "openssl pkey -in ec.pem -pubout -out ec.pub; "
             "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 "
             "-out rsa1024.pem; "
             "openssl pkey -in rsa1024.pem -pubout -out rsa1024.pub; "
             "openssl genpkey -algorithm EC -pkeyopt "
             "ec_paramgen_curve:P-384 -out ec384.pem; "
             "openssl pkey -in ec384.pem -pubout -out ec384.pub; "
             "openssl genpkey -algorithm EC -pkeyopt "
             "ec_paramgen_curve:P-256 -aes256 -pass pass:sesame "
             "-out ec-encrypted.pem; "
             "head -c 300 rsa.pub > broken.pub",
             dir);
    return system(cmd);
}

/* ---------------------------------------------------------- the config */

/* Load the required keys plus extra [auth] lines and drop loaded keys. */
static int
try_config(const char *auth_extra)
{
    char text[4096], err[512];
    snprintf(text, sizeof(text),
             "[database]\nurl = postgresql://synthia@/synthia\n"
             "[auth]\njwt_secret_file = %s\nissuer = https://id.example\n"
             "access_ttl = 15m\njwt_leeway = 30s\n%s\n",
             path_of("secret"), auth_extra);
    write_file("synthia.conf", text);
    sy_jwt_unload();
    sy_config_free(&C);
    int rc = sy_config_load(&C, path_of("synthia.conf"), err, sizeof(err));
    ck_assert_msg(rc == 0, "config: %s", err);
    sy_conf = &C;
    return sy_jwt_load();
}

static void
use_config(const char *auth_extra)
{
    ck_assert_int_eq(try_config(auth_extra), 0);
}

/* auth lines for an RS256/ES256 signing key file in dir */
static const char *
signing(const char *alg, const char *file, const char *more)
{
    static char buf[2048];
    snprintf(buf, sizeof(buf),
             "jwt_algorithm = %s\njwt_private_key_file = %s\n%s", alg,
             path_of(file), more);
    return buf;
}

static void
setup(void)
{
    sy_arena_init(&A, 4096, 0);
    use_config("jwt_kid = current\n");
}

static void
teardown(void)
{
    sy_jwt_unload();
    sy_config_free(&C);
    sy_conf = NULL;
    sy_arena_cleanup(&A);
}

/* ------------------------------------------------------------- helpers */

static sy_claims
shopper(void)
{
    sy_claims c = {.role = SY_ROLE_SHOPPER};
    memcpy(c.sub, SUB, sizeof(c.sub));
    memcpy(c.tid, TID, sizeof(c.tid));
    memcpy(c.sid, SID, sizeof(c.sid));
    return c;
}

static char *
issue(void)
{
    sy_claims c = shopper();
    char *t = NULL;
    ck_assert_int_eq(sy_jwt_issue(&A, &c, &t), 0);
    return t;
}

static int
verify(const char *token)
{
    sy_claims c;
    return sy_jwt_verify(&A, sy_str_c(token), &c);
}

static char *
b64(const char *s)
{
    char *out = sy_arena_alloc(&A, SY_B64URL_LEN(strlen(s)) + 1);
    sy_b64url_encode(out, s, strlen(s));
    return out;
}

/* header.payload.signature from raw JSON texts. */
static char *
hand_token(const char *header, const char *payload, const char *sig)
{
    char *t = sy_arena_alloc(&A, 8192);
    snprintf(t, 8192, "%s.%s.%s", b64(header), b64(payload), sig);
    return t;
}

/* The payload of a valid shopper token with these times. */
static char *
payload_json(const char *iss, long iat, long exp)
{
    char *p = sy_arena_alloc(&A, 1024);
    snprintf(p, 1024,
             "{\"iss\":\"%s\",\"sub\":\"" SUB "\",\"tid\":\"" TID "\","
             "\"role\":\"shopper\",\"sid\":\"" SID "\",\"jti\":\"" JTI "\","
             "\"iat\":%ld,\"exp\":%ld}",
             iss, iat, exp);
    return p;
}

/* Sign grants (JSON) with libjwt directly: alg, key, kid of our choice. */
static char *
signed_token(jwt_alg_t alg, const void *key, size_t keylen, const char *kid,
             const char *grants)
{
    jwt_t *j = NULL;
    ck_assert_int_eq(jwt_new(&j), 0);
    ck_assert_int_eq(jwt_add_header(j, "kid", kid), 0);
    ck_assert_int_eq(jwt_add_grants_json(j, grants), 0);
    ck_assert_int_eq(jwt_set_alg(j, alg, key, (int)keylen), 0);
    char *s = jwt_encode_str(j);
    ck_assert_ptr_nonnull(s);
    char *t = sy_arena_strndup(&A, s, strlen(s));
    free(s);
    jwt_free(j);
    return t;
}

static char *
hs_token(const char *secret, const char *kid, const char *grants)
{
    return signed_token(JWT_ALG_HS256, secret, strlen(secret), kid, grants);
}

/* The clock sy_jwt_issue reads (time(2) may lag it by a tick). */
static long
now_s(void)
{
    return (long)(sy_wall_ms() / 1000);
}

/* A string field of a token's header. */
static const char *
header_field(const char *token, const char *name)
{
    const char *dot = strchr(token, '.');
    unsigned char buf[512];
    size_t n;
    ck_assert_int_eq(sy_b64url_decode(buf, sizeof(buf) - 1, token,
                                      (size_t)(dot - token), &n),
                     0);
    buf[n] = 0;
    json_object *h = json_tokener_parse((const char *)buf), *v;
    ck_assert(json_object_object_get_ex(h, name, &v));
    const char *s = json_object_get_string(v);
    char *out = sy_arena_strndup(&A, s, strlen(s));
    json_object_put(h);
    return out;
}

static const char *
header_kid(const char *token)
{
    return header_field(token, "kid");
}

/* ---------------------------------------------------------- round trips */

START_TEST(test_hs256_round_trip_keeps_every_claim)
{
    sy_claims in = shopper(), out;
    char *t = NULL;
    long before = now_s();
    ck_assert_int_eq(sy_jwt_issue(&A, &in, &t), 0);
    ck_assert_int_eq(sy_jwt_verify(&A, sy_str_c(t), &out), 0);
    ck_assert_str_eq(out.sub, SUB);
    ck_assert_str_eq(out.tid, TID);
    ck_assert_str_eq(out.sid, SID);
    ck_assert_int_eq(out.role, SY_ROLE_SHOPPER);
    ck_assert(sy_uuid_valid(out.jti, strlen(out.jti)));
    ck_assert_str_eq(out.jti, in.jti); /* issue filled it in */
    ck_assert_int_ge(out.iat, before);
    ck_assert_int_le(out.iat, now_s());
    ck_assert_int_eq(out.exp - out.iat, 15 * 60);
    ck_assert_int_eq(out.iat, in.iat);
    ck_assert_int_eq(out.exp, in.exp);
    ck_assert_str_eq(header_kid(t), "current");
}
END_TEST

START_TEST(test_each_token_gets_a_fresh_jti)
{
    sy_claims a = shopper(), b = shopper();
    char *ta, *tb;
    ck_assert_int_eq(sy_jwt_issue(&A, &a, &ta), 0);
    ck_assert_int_eq(sy_jwt_issue(&A, &b, &tb), 0);
    ck_assert_str_ne(a.jti, b.jti);
}
END_TEST

START_TEST(test_sysadmin_tokens_carry_no_tenant)
{
    sy_claims in = shopper(), out;
    in.role = SY_ROLE_SYSADMIN;
    char *t;
    ck_assert_int_eq(sy_jwt_issue(&A, &in, &t), 0);
    ck_assert_int_eq(sy_jwt_verify(&A, sy_str_c(t), &out), 0);
    ck_assert_int_eq(out.role, SY_ROLE_SYSADMIN);
    ck_assert_str_eq(out.tid, "");
    const char *payload = strchr(t, '.') + 1;
    unsigned char buf[2048];
    size_t n;
    ck_assert_int_eq(sy_b64url_decode(buf, sizeof(buf) - 1, payload,
                                      (size_t)(strchr(payload, '.') - payload),
                                      &n),
                     0);
    buf[n] = 0;
    ck_assert_ptr_null(strstr((char *)buf, "\"tid\""));
}
END_TEST

START_TEST(test_rs256_round_trip)
{
    use_config(signing("RS256", "rsa.pem", ""));
    sy_claims out;
    char *t = issue();
    ck_assert_str_eq(header_field(t, "alg"), "RS256");
    ck_assert_str_eq(header_field(t, "typ"), "JWT");
    ck_assert_int_eq(sy_jwt_verify(&A, sy_str_c(t), &out), 0);
    ck_assert_str_eq(out.sub, SUB);
    /* an independent check of the signature: libjwt with the .pub file */
    size_t n;
    char *pub = slurp("rsa.pub", &n);
    jwt_t *j = NULL;
    ck_assert_int_eq(jwt_decode(&j, t, (unsigned char *)pub, (int)n), 0);
    ck_assert_int_eq(jwt_get_alg(j), JWT_ALG_RS256);
    jwt_free(j);
    free(pub);
}
END_TEST

START_TEST(test_es256_round_trip)
{
    use_config(signing("ES256", "ec.pem", ""));
    sy_claims out;
    char *t = issue();
    ck_assert_str_eq(header_field(t, "alg"), "ES256");
    ck_assert_int_eq(sy_jwt_verify(&A, sy_str_c(t), &out), 0);
    ck_assert_str_eq(out.sid, SID);
    /* JOSE signatures are r||s, 64 bytes: 86 base64url characters */
    ck_assert_int_eq(strlen(strrchr(t, '.') + 1), 86);
    size_t n;
    char *pub = slurp("ec.pub", &n);
    jwt_t *j = NULL;
    ck_assert_int_eq(jwt_decode(&j, t, (unsigned char *)pub, (int)n), 0);
    jwt_free(j);
    free(pub);
}
END_TEST

START_TEST(test_derived_kid_is_the_sha256_prefix_of_the_key)
{
    use_config("");
    unsigned char h[SY_SHA256_LEN];
    char want[17];
    sy_sha256(SECRET, 32, h);
    sy_hex(want, h, 8);
    ck_assert_str_eq(header_kid(issue()), want);
}
END_TEST

START_TEST(test_issue_refuses_claims_it_cannot_vouch_for)
{
    sy_claims c = shopper();
    char *t = NULL;
    c.role = 0;
    ck_assert_int_eq(sy_jwt_issue(&A, &c, &t), SY_EINVAL);
    c = shopper();
    memcpy(c.sub, "not-a-uuid", 11);
    ck_assert_int_eq(sy_jwt_issue(&A, &c, &t), SY_EINVAL);
    c = shopper();
    c.tid[0] = 0; /* a shopper needs a tenant */
    ck_assert_int_eq(sy_jwt_issue(&A, &c, &t), SY_EINVAL);
    ck_assert_ptr_null(t);
}
END_TEST

/* -------------------------------------------------------------- expiry */

START_TEST(test_expired_beyond_the_leeway_is_refused)
{
    long now = now_s();
    char *t = hs_token(SECRET, "current",
                       payload_json("https://id.example", now - 1000,
                                    now - 31));
    ck_assert_int_eq(verify(t), SY_EUNAUTH);
}
END_TEST

START_TEST(test_expired_within_the_leeway_is_accepted)
{
    long now = now_s();
    char *t = hs_token(SECRET, "current",
                       payload_json("https://id.example", now - 900,
                                    now - 20));
    ck_assert_int_eq(verify(t), 0);
}
END_TEST

START_TEST(test_issued_in_the_future_beyond_the_leeway_is_refused)
{
    long now = now_s();
    char *t = hs_token(SECRET, "current",
                       payload_json("https://id.example", now + 60,
                                    now + 900));
    ck_assert_int_eq(verify(t), SY_EUNAUTH);
    t = hs_token(SECRET, "current",
                 payload_json("https://id.example", now + 10, now + 900));
    ck_assert_int_eq(verify(t), 0);
}
END_TEST

/* A valid shopper token, now, with "nbf": nbf (JSON text). */
static char *
nbf_token(const char *nbf)
{
    long now = now_s();
    char g[1024];
    snprintf(g, sizeof(g),
             "{\"iss\":\"https://id.example\",\"sub\":\"" SUB "\",\"tid\":\"" TID
             "\",\"role\":\"shopper\",\"sid\":\"" SID "\",\"jti\":\"" JTI
             "\",\"iat\":%ld,\"exp\":%ld,\"nbf\":%s}",
             now - 60, now + 900, nbf);
    return hs_token(SECRET, "current", g);
}

START_TEST(test_not_before_beyond_the_leeway_is_refused)
{
    char nbf[32];
    /* the leeway is 30 s (auth.jwt_leeway) */
    snprintf(nbf, sizeof(nbf), "%ld", now_s() + 60);
    ck_assert_int_eq(verify(nbf_token(nbf)), SY_EUNAUTH);
    snprintf(nbf, sizeof(nbf), "%ld", now_s() + 3600);
    ck_assert_int_eq(verify(nbf_token(nbf)), SY_EUNAUTH);
    /* within the leeway, now, or in the past */
    snprintf(nbf, sizeof(nbf), "%ld", now_s() + 10);
    ck_assert_int_eq(verify(nbf_token(nbf)), 0);
    snprintf(nbf, sizeof(nbf), "%ld", now_s());
    ck_assert_int_eq(verify(nbf_token(nbf)), 0);
    snprintf(nbf, sizeof(nbf), "%ld", now_s() - 60);
    ck_assert_int_eq(verify(nbf_token(nbf)), 0);
}
END_TEST

START_TEST(test_not_before_of_the_wrong_shape_is_refused)
{
    static const char *const bad[] = {"\"0\"", "1.5", "null", "-1", "true",
                                      "1099511627777", "[0]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(verify(nbf_token(bad[i])) == SY_EUNAUTH, "nbf %s",
                      bad[i]);
}
END_TEST

/* ----------------------------------------------------------- signatures */

START_TEST(test_a_flipped_signature_byte_is_refused)
{
    char *t = issue();
    ck_assert_int_eq(verify(t), 0);
    char *sig = strrchr(t, '.') + 1;
    sig[5] = sig[5] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(verify(t), SY_EUNAUTH);
}
END_TEST

START_TEST(test_a_changed_payload_is_refused)
{
    use_config(signing("ES256", "ec.pem", "jwt_kid = ec\n"));
    char *t = issue();
    /* the signature over other payloads: new times, or an owner */
    char *sig = strrchr(t, '.');
    long now = now_s();
    char *forged = hand_token(
        "{\"alg\":\"ES256\",\"kid\":\"ec\",\"typ\":\"JWT\"}",
        payload_json("https://id.example", now, now + 900), sig + 1);
    ck_assert_int_eq(verify(forged), SY_EUNAUTH);
    char *owner = sy_arena_alloc(&A, 1024);
    snprintf(owner, 1024,
             "{\"iss\":\"https://id.example\",\"sub\":\"" SUB "\",\"tid\":\""
             TID "\",\"role\":\"owner\",\"sid\":\"" SID "\",\"jti\":\"" JTI
             "\",\"iat\":%ld,\"exp\":%ld}", now, now + 900);
    forged = hand_token(
        "{\"alg\":\"ES256\",\"kid\":\"ec\",\"typ\":\"JWT\"}", owner,
        sig + 1);
    ck_assert_int_eq(verify(forged), SY_EUNAUTH);
    ck_assert_int_eq(verify(t), 0);
}
END_TEST

START_TEST(test_a_token_signed_with_another_secret_is_refused)
{
    long now = now_s();
    char *t = hs_token(OLD_SECRET, "current",
                       payload_json("https://id.example", now, now + 900));
    ck_assert_int_eq(verify(t), SY_EUNAUTH);
}
END_TEST

START_TEST(test_alg_none_is_refused)
{
    long now = now_s();
    const char *p = payload_json("https://id.example", now, now + 900);
    ck_assert_int_eq(
        verify(hand_token("{\"alg\":\"none\",\"kid\":\"current\"}", p, "")),
        SY_EUNAUTH);
    ck_assert_int_eq(verify(hand_token("{\"alg\":\"none\",\"kid\":\"current\","
                                       "\"typ\":\"JWT\"}",
                                       p, "AAAA")),
                     SY_EUNAUTH);
    ck_assert_int_eq(verify(hand_token("{\"alg\":\"NONE\",\"kid\":\"current\","
                                       "\"typ\":\"JWT\"}",
                                       p, "AAAA")),
                     SY_EUNAUTH);
}
END_TEST

START_TEST(test_hs256_signed_with_the_rsa_public_key_is_refused)
{
    use_config(signing("RS256", "rsa.pem", "jwt_kid = rsa\n"));
    size_t n;
    char *pub = slurp("rsa.pub", &n);
    long now = now_s();
    char *t = signed_token(JWT_ALG_HS256, pub, n, "rsa",
                           payload_json("https://id.example", now, now + 900));
    /* libjwt alone would take it: the attack is real ... */
    jwt_t *j = NULL;
    ck_assert_int_eq(jwt_decode(&j, t, (unsigned char *)pub, (int)n), 0);
    jwt_free(j);
    /* ... and the header check stops it */
    ck_assert_int_eq(verify(t), SY_EUNAUTH);
    free(pub);
}
END_TEST

START_TEST(test_an_alg_other_than_the_kids_is_refused)
{
    use_config(signing("ES256", "ec.pem", "jwt_kid = ec\n"));
    char *t = issue();
    ck_assert_int_eq(verify(t), 0);
    /* the same token with its header claiming RS256 or HS256 */
    const char *rest = strchr(t, '.');
    char *forged = sy_arena_alloc(&A, 4096);
    snprintf(forged, 4096, "%s%s",
             b64("{\"alg\":\"RS256\",\"kid\":\"ec\",\"typ\":\"JWT\"}"), rest);
    ck_assert_int_eq(verify(forged), SY_EUNAUTH);
    snprintf(forged, 4096, "%s%s",
             b64("{\"alg\":\"HS256\",\"kid\":\"ec\",\"typ\":\"JWT\"}"), rest);
    ck_assert_int_eq(verify(forged), SY_EUNAUTH);
}
END_TEST

START_TEST(test_a_duplicate_alg_in_the_header_is_refused)
{
    use_config(signing("RS256", "rsa.pem", "jwt_kid = rsa\n"));
    size_t n;
    char *pub = slurp("rsa.pub", &n);
    long now = now_s();
    /* whichever "alg" a parser keeps, HMAC with the public key must fail */
    const char *p = payload_json("https://id.example", now, now + 900);
    const char *heads[] = {
        "{\"alg\":\"HS256\",\"alg\":\"RS256\",\"kid\":\"rsa\",\"typ\":\"JWT\"}",
        "{\"alg\":\"RS256\",\"alg\":\"HS256\",\"kid\":\"rsa\",\"typ\":\"JWT\"}",
    };
    for (int i = 0; i < 2; i++) {
        char *signing_input = sy_arena_alloc(&A, 4096);
        snprintf(signing_input, 4096, "%s.%s", b64(heads[i]), b64(p));
        unsigned char mac[32];
        unsigned int len = 0;
        ck_assert_ptr_nonnull(HMAC(EVP_sha256(), pub, (int)n,
                                   (unsigned char *)signing_input,
                                   strlen(signing_input), mac, &len));
        ck_assert_int_eq(len, 32);
        char sig[64];
        sy_b64url_encode(sig, mac, 32);
        char *t = sy_arena_alloc(&A, 4096);
        snprintf(t, 4096, "%s.%s", signing_input, sig);
        ck_assert_int_eq(verify(t), SY_EUNAUTH);
    }
    free(pub);
}
END_TEST

/* -------------------------------------------------------------- claims */

START_TEST(test_a_wrong_issuer_is_refused)
{
    long now = now_s();
    ck_assert_int_eq(verify(hs_token(SECRET, "current",
                                     payload_json("https://evil.example",
                                                  now, now + 900))),
                     SY_EUNAUTH);
    ck_assert_int_eq(verify(hs_token(SECRET, "current",
                                     payload_json("", now, now + 900))),
                     SY_EUNAUTH);
    char *t = issue();
    use_config("jwt_kid = current\nissuer = another\n");
    ck_assert_int_eq(verify(t), SY_EUNAUTH);
}
END_TEST

/* A token whose payload is fields (no braces) followed by iat and exp
 * written by times: 0 as integers, 1 iat as a string, 2 exp as a
 * fraction. */
static char *
shaped_token(const char *fields, int times)
{
    long now = now_s();
    char g[1024];
    if (times == 1)
        snprintf(g, sizeof(g), "{%s,\"iat\":\"%ld\",\"exp\":%ld}", fields,
                 now, now + 900);
    else if (times == 2)
        snprintf(g, sizeof(g), "{%s,\"iat\":%ld,\"exp\":%ld.5}", fields, now,
                 now + 900);
    else
        snprintf(g, sizeof(g), "{%s,\"iat\":%ld,\"exp\":%ld}", fields, now,
                 now + 900);
    return hs_token(SECRET, "current", g);
}

#define ISS "\"iss\":\"https://id.example\""
#define IDS "\"sub\":\"" SUB "\",\"sid\":\"" SID "\",\"jti\":\"" JTI "\""

START_TEST(test_claims_of_the_wrong_shape_are_refused)
{
    static const struct {
        const char *fields;
        int times;
    } bad[] = {
        {ISS "," IDS ",\"tid\":\"" TID "\",\"role\":\"shopper\"", 1},
        {ISS "," IDS ",\"tid\":\"" TID "\",\"role\":\"shopper\"", 2},
        {ISS "," IDS ",\"role\":\"shopper\"", 0},          /* no tid */
        {ISS "," IDS ",\"tid\":\"" TID "\",\"role\":\"sysadmin\"", 0},
        {ISS "," IDS ",\"tid\":\"" TID "\",\"role\":\"root\"", 0},
        {ISS "," IDS ",\"tid\":\"" TID "\"", 0},           /* no role */
        {ISS "," IDS ",\"tid\":\"x\",\"role\":\"staff\"", 0},
        {ISS ",\"sub\":\"42\",\"sid\":\"" SID "\",\"jti\":\"" JTI
             "\",\"tid\":\"" TID "\",\"role\":\"staff\"", 0},
        {ISS ",\"sub\":\"" SUB "\",\"jti\":\"" JTI "\",\"tid\":\"" TID
             "\",\"role\":\"staff\"", 0},                  /* no sid */
        {IDS ",\"tid\":\"" TID "\",\"role\":\"staff\"", 0}, /* no iss */
        {"\"iss\":7," IDS ",\"tid\":\"" TID "\",\"role\":\"staff\"", 0},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(verify(shaped_token(bad[i].fields, bad[i].times)) ==
                          SY_EUNAUTH,
                      "accepted case %zu", i);
    /* the shapes that are right */
    ck_assert_int_eq(verify(shaped_token(ISS "," IDS ",\"role\":\"sysadmin\"",
                                         0)),
                     0);
    ck_assert_int_eq(verify(shaped_token(ISS "," IDS ",\"tid\":\"" TID
                                             "\",\"role\":\"staff\"",
                                         0)),
                     0);
}
END_TEST

START_TEST(test_a_crit_header_is_refused)
{
    long now = now_s();
    jwt_t *j = NULL;
    ck_assert_int_eq(jwt_new(&j), 0);
    ck_assert_int_eq(jwt_add_header(j, "kid", "current"), 0);
    ck_assert_int_eq(jwt_add_headers_json(j, "{\"crit\":[\"acme\"],"
                                             "\"acme\":true}"),
                     0);
    ck_assert_int_eq(
        jwt_add_grants_json(j, payload_json("https://id.example", now,
                                            now + 900)),
        0);
    ck_assert_int_eq(jwt_set_alg(j, JWT_ALG_HS256,
                                 (const unsigned char *)SECRET, 32),
                     0);
    char *t = jwt_encode_str(j);
    jwt_free(j);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(verify(t), SY_EUNAUTH);
    free(t);
}
END_TEST

/* ------------------------------------------------------------- garbage */

START_TEST(test_garbage_is_refused)
{
    long now = now_s();
    const char *p = payload_json("https://id.example", now, now + 900);
    const char *junk[] = {
        "", ".", "..", "...", "abc", "a.b", "a.b.c", "a.b.c.d",
        "%%%.%%%.%%%", "eyJhbGciOiJIUzI1NiJ9", "Bearer x.y.z",
        "eyJ.eyJ.eyJ",
    };
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        ck_assert_msg(verify(junk[i]) == SY_EUNAUTH, "accepted '%s'",
                      junk[i]);
    /* headers that are not what a JWT header is */
    const char *heads[] = {
        "[]", "\"x\"", "null", "{", "{\"alg\":\"HS256\"}",
        "{\"kid\":\"current\"}", "{\"alg\":1,\"kid\":\"current\"}",
        "{\"alg\":\"HS256\",\"kid\":[\"current\"]}",
        "{\"alg\":\"HS256\",\"kid\":\"current\",\"typ\":\"JWT\","
        "\"crit\":[\"exp\"]}",
    };
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
        ck_assert_msg(verify(hand_token(heads[i], p, "AAAA")) == SY_EUNAUTH,
                      "accepted header %s", heads[i]);
    /* a payload that is not JSON, with a valid signature */
    ck_assert_int_eq(
        verify(hand_token("{\"alg\":\"HS256\",\"kid\":\"current\"}", "nope",
                          "AAAA")),
        SY_EUNAUTH);
    sy_claims c;
    ck_assert_int_eq(sy_jwt_verify(&A, SY_STR_NULL, &c), SY_EUNAUTH);
}
END_TEST

START_TEST(test_tokens_over_8_kib_are_refused)
{
    long now = now_s();
    char *g = sy_arena_alloc(&A, 16384);
    char *pad = sy_arena_alloc(&A, 9000);
    memset(pad, 'x', 8999);
    pad[8999] = 0;
    snprintf(g, 16384,
             "{\"iss\":\"https://id.example\",\"sub\":\"" SUB "\",\"tid\":\""
             TID "\",\"role\":\"shopper\",\"sid\":\"" SID "\",\"jti\":\""
             JTI "\",\"iat\":%ld,\"exp\":%ld,\"pad\":\"%s\"}",
             now, now + 900, pad);
    char *t = hs_token(SECRET, "current", g);
    ck_assert_int_gt(strlen(t), 8192);
    ck_assert_int_eq(verify(t), SY_EUNAUTH);
}
END_TEST

/* ------------------------------------------------------------ rotation */

START_TEST(test_an_unknown_kid_is_refused)
{
    long now = now_s();
    ck_assert_int_eq(verify(hs_token(SECRET, "someone-else",
                                     payload_json("https://id.example", now,
                                                  now + 900))),
                     SY_EUNAUTH);
}
END_TEST

START_TEST(test_rotation_keeps_tokens_of_a_listed_old_key)
{
    char extra[512];
    /* before: the old secret signs */
    write_file("secret", OLD_SECRET "\n");
    use_config("jwt_kid = 2023\n");
    char *old = issue();
    write_file("secret", SECRET "\n");

    /* after: a new secret signs, the old one is still accepted */
    snprintf(extra, sizeof(extra), "jwt_kid = 2024\njwt_verify_keys = "
             "2023=%s\n", path_of("old-secret"));
    use_config(extra);
    ck_assert_int_eq(verify(old), 0);
    char *fresh = issue();
    ck_assert_str_eq(header_kid(fresh), "2024");
    ck_assert_int_eq(verify(fresh), 0);

    /* the old key retired: its tokens stop */
    use_config("jwt_kid = 2024\n");
    ck_assert_int_eq(verify(old), SY_EUNAUTH);
    ck_assert_int_eq(verify(fresh), 0);
}
END_TEST

START_TEST(test_rotation_from_rs256_to_es256_keeps_rs256_tokens)
{
    char extra[512];
    use_config(signing("RS256", "rsa-old.pem", "jwt_kid = rsa-2023\n"));
    char *old = issue();
    snprintf(extra, sizeof(extra), "jwt_kid = ec-2024\njwt_verify_keys = "
             "rsa-2023=%s\n", path_of("rsa-old.pub"));
    use_config(signing("ES256", "ec.pem", extra));
    ck_assert_int_eq(verify(old), 0);
    ck_assert_int_eq(verify(issue()), 0);
    use_config(signing("ES256", "ec.pem", "jwt_kid = ec-2024\n"));
    ck_assert_int_eq(verify(old), SY_EUNAUTH);
}
END_TEST

START_TEST(test_a_listed_key_accepts_only_its_own_algorithm)
{
    char extra[512];
    /* rsa-2023 is an RSA public key: an HS256 token under that kid,
     * HMAC'd with the file's bytes, must not pass */
    snprintf(extra, sizeof(extra), "jwt_kid = current\njwt_verify_keys = "
             "rsa-2023=%s\n", path_of("rsa-old.pub"));
    use_config(extra);
    size_t n;
    char *pub = slurp("rsa-old.pub", &n);
    long now = now_s();
    ck_assert_int_eq(verify(signed_token(JWT_ALG_HS256, pub, n, "rsa-2023",
                                         payload_json("https://id.example",
                                                      now, now + 900))),
                     SY_EUNAUTH);
    free(pub);
}
END_TEST

/* ---------------------------------------------------------------- JWKS */

static json_object *
jwks(void)
{
    sy_buf b;
    sy_buf_init(&b, &A, 65536);
    ck_assert_int_eq(sy_jwt_jwks(&b), 0);
    json_object *o = json_tokener_parse(sy_buf_cstr(&b));
    ck_assert_ptr_nonnull(o);
    return o;
}

static json_object *
jwk_by_kid(json_object *doc, const char *kid)
{
    json_object *keys, *k, *v;
    ck_assert(json_object_object_get_ex(doc, "keys", &keys));
    for (size_t i = 0; i < json_object_array_length(keys); i++) {
        k = json_object_array_get_idx(keys, i);
        if (json_object_object_get_ex(k, "kid", &v) &&
            strcmp(json_object_get_string(v), kid) == 0)
            return k;
    }
    return NULL;
}

static const char *
field(json_object *o, const char *name)
{
    json_object *v;
    ck_assert_msg(json_object_object_get_ex(o, name, &v), "no %s", name);
    return json_object_get_string(v);
}

/* A big-number parameter of the public key in file, base64url. */
static char *
key_param(const char *file, const char *param, int pad)
{
    FILE *f = fopen(path_of(file), "r");
    EVP_PKEY *pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(pk);
    BIGNUM *bn = NULL;
    ck_assert(EVP_PKEY_get_bn_param(pk, param, &bn));
    unsigned char buf[512];
    int n = BN_num_bytes(bn) > pad ? BN_num_bytes(bn) : pad;
    ck_assert_int_eq(BN_bn2binpad(bn, buf, n), n);
    char *out = sy_arena_alloc(&A, SY_B64URL_LEN((size_t)n) + 1);
    sy_b64url_encode(out, buf, (size_t)n);
    BN_free(bn);
    EVP_PKEY_free(pk);
    return out;
}

START_TEST(test_jwks_publishes_rsa_and_ec_keys_but_never_secrets)
{
    char extra[1024];
    snprintf(extra, sizeof(extra),
             "jwt_kid = rsa-now\njwt_verify_keys = ec-old=%s hs-old=%s\n",
             path_of("ec.pub"), path_of("old-secret"));
    use_config(signing("RS256", "rsa.pem", extra));
    json_object *doc = jwks();
    json_object *keys;
    ck_assert(json_object_object_get_ex(doc, "keys", &keys));
    ck_assert_int_eq(json_object_array_length(keys), 2);

    json_object *rsa = jwk_by_kid(doc, "rsa-now");
    ck_assert_ptr_nonnull(rsa);
    ck_assert_str_eq(field(rsa, "kty"), "RSA");
    ck_assert_str_eq(field(rsa, "alg"), "RS256");
    ck_assert_str_eq(field(rsa, "use"), "sig");
    ck_assert_str_eq(field(rsa, "e"), "AQAB");
    ck_assert_str_eq(field(rsa, "n"),
                     key_param("rsa.pub", OSSL_PKEY_PARAM_RSA_N, 0));
    ck_assert_int_eq(strlen(field(rsa, "n")), SY_B64URL_LEN(256));

    json_object *ec = jwk_by_kid(doc, "ec-old");
    ck_assert_ptr_nonnull(ec);
    ck_assert_str_eq(field(ec, "kty"), "EC");
    ck_assert_str_eq(field(ec, "crv"), "P-256");
    ck_assert_str_eq(field(ec, "alg"), "ES256");
    ck_assert_str_eq(field(ec, "use"), "sig");
    ck_assert_str_eq(field(ec, "x"),
                     key_param("ec.pub", OSSL_PKEY_PARAM_EC_PUB_X, 32));
    ck_assert_str_eq(field(ec, "y"),
                     key_param("ec.pub", OSSL_PKEY_PARAM_EC_PUB_Y, 32));

    ck_assert_ptr_null(jwk_by_kid(doc, "hs-old"));
    json_object_put(doc);
}
END_TEST

START_TEST(test_jwks_is_empty_with_hs256_alone)
{
    sy_buf b;
    sy_buf_init(&b, &A, 65536);
    ck_assert_int_eq(sy_jwt_jwks(&b), 0);
    ck_assert_str_eq(sy_buf_cstr(&b), "{\"keys\":[]}");
}
END_TEST

/* ------------------------------------------------------- key problems */

static void
load_fails(const char *auth_extra)
{
    ck_assert_int_eq(try_config(auth_extra), SY_ECONFIG);
    /* and nothing is signed or accepted with a half-loaded key set */
    sy_claims c = shopper();
    char *t = NULL;
    ck_assert_int_eq(sy_jwt_issue(&A, &c, &t), SY_ECONFIG);
    ck_assert_int_eq(sy_jwt_verify(&A, SY_STR("a.b.c"), &c), SY_EUNAUTH);
}

START_TEST(test_weak_or_wrong_signing_keys_stop_loading)
{
    load_fails(signing("RS256", "rsa1024.pem", ""));
    load_fails(signing("ES256", "ec384.pem", ""));
    load_fails(signing("RS256", "ec.pem", ""));
    load_fails(signing("ES256", "rsa.pem", ""));
    load_fails(signing("RS256", "rsa.pub", "")); /* not a private key */
    load_fails(signing("ES256", "ec-encrypted.pem", "")); /* no prompt */
    load_fails(signing("RS256", "missing.pem", ""));
    load_fails("jwt_kid = has space\n");
}
END_TEST

START_TEST(test_bad_verify_keys_stop_loading)
{
    char extra[1024];
    const char *cases[][2] = {
        {"short", "short-secret"}, /* under 32 bytes */
        {"weak", "rsa1024.pub"},
        {"p384", "ec384.pub"},
        {"broken", "broken.pub"}, /* a PEM, not taken as a secret */
        {"private", "rsa.pem"},
        {"missing", "no-such-file"},
        {"current", "old-secret"}, /* kid of the signing key again */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(extra, sizeof(extra),
                 "jwt_kid = current\njwt_verify_keys = %s=%s\n", cases[i][0],
                 path_of(cases[i][1]));
        load_fails(extra);
    }
    load_fails("jwt_verify_keys = no-equals-sign\n");
    load_fails("jwt_verify_keys = =path\n");
    load_fails("jwt_verify_keys = kid=\n");
}
END_TEST

START_TEST(test_role_names_round_trip)
{
    for (int r = SY_ROLE_SHOPPER; r <= SY_ROLE_SYSADMIN; r++)
        ck_assert_int_eq(sy_role_parse(sy_str_c(sy_role_name(r))), r);
    ck_assert_str_eq(sy_role_name(SY_ROLE_OWNER), "owner");
    ck_assert_int_eq(sy_role_parse(SY_STR("root")), SY_ROLE_NONE);
    ck_assert_int_eq(sy_role_parse(SY_STR("Owner")), SY_ROLE_NONE);
    ck_assert_int_eq(sy_role_parse(SY_STR_NULL), SY_ROLE_NONE);
    ck_assert_ptr_null(sy_role_name(0));
    ck_assert_ptr_null(sy_role_name(5));
}
END_TEST

/* ----------------------------------------------------------- base64url */

static const char *
enc(const char *s, size_t n)
{
    char *out = sy_arena_alloc(&A, SY_B64URL_LEN(n) + 1);
    ck_assert_int_eq(sy_b64url_encode(out, s, n), SY_B64URL_LEN(n));
    return out;
}

START_TEST(test_base64url_matches_rfc4648_vectors)
{
    /* RFC 4648, section 10, without the padding */
    static const char *const plain[] = {"", "f", "fo", "foo", "foob",
                                        "fooba", "foobar"};
    static const char *const coded[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg",
                                        "Zm9vYmE", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++)
        ck_assert_str_eq(enc(plain[i], strlen(plain[i])), coded[i]);
    /* the URL alphabet: 62 and 63 are - and _ */
    ck_assert_str_eq(enc("\xfb\xff\xbf", 3), "-_-_");
}
END_TEST

START_TEST(test_base64url_round_trips_every_length)
{
    unsigned char in[200], back[200];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (unsigned char)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof(in); n++) {
        const char *e = enc((const char *)in, n);
        size_t m = 0;
        ck_assert_int_eq(sy_b64url_decode(back, n, e, strlen(e), &m), 0);
        ck_assert_uint_eq(m, n);
        ck_assert(memcmp(in, back, n) == 0);
    }
}
END_TEST

START_TEST(test_base64url_decoding_is_strict)
{
    unsigned char out[64];
    size_t n;
    const char *bad[] = {"Zg==", "Zm9v+A", "Zm9v/A", "Zm 9v", "Z", "Zm9vY",
                         "Zm9v\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(sy_b64url_decode(out, sizeof(out), bad[i],
                                       strlen(bad[i]), &n) == SY_EINVAL,
                      "accepted '%s'", bad[i]);
    /* no room: refused, not truncated */
    ck_assert_int_eq(sy_b64url_decode(out, 5, "Zm9vYmFy", 8, &n), SY_EINVAL);
    ck_assert_int_eq(sy_b64url_decode(out, 6, "Zm9vYmFy", 8, &n), 0);
    ck_assert_uint_eq(n, 6);
}
END_TEST

/* --------------------------------------------------------------- suite */

static Suite *
jwt_suite(void)
{
    Suite *s = suite_create("jwt");
    const TTest *const round_trips_tests[] = {
        test_hs256_round_trip_keeps_every_claim,
        test_each_token_gets_a_fresh_jti,
        test_sysadmin_tokens_carry_no_tenant, test_rs256_round_trip,
        test_es256_round_trip,
        test_derived_kid_is_the_sha256_prefix_of_the_key,
        test_issue_refuses_claims_it_cannot_vouch_for,
        test_role_names_round_trip, NULL};
    sy_check_tcase(s, "round trips", setup, teardown, round_trips_tests);
    const TTest *const attacks_tests[] = {
        test_expired_beyond_the_leeway_is_refused,
        test_expired_within_the_leeway_is_accepted,
        test_issued_in_the_future_beyond_the_leeway_is_refused,
        test_not_before_beyond_the_leeway_is_refused,
        test_not_before_of_the_wrong_shape_is_refused,
        test_a_flipped_signature_byte_is_refused,
        test_a_changed_payload_is_refused,
        test_a_token_signed_with_another_secret_is_refused,
        test_alg_none_is_refused,
        test_hs256_signed_with_the_rsa_public_key_is_refused,
        test_an_alg_other_than_the_kids_is_refused,
        test_a_duplicate_alg_in_the_header_is_refused,
        test_a_wrong_issuer_is_refused,
        test_claims_of_the_wrong_shape_are_refused,
        test_a_crit_header_is_refused, test_garbage_is_refused,
        test_tokens_over_8_kib_are_refused, test_an_unknown_kid_is_refused,
        NULL};
    sy_check_tcase(s, "attacks", setup, teardown, attacks_tests);
    const TTest *const base64url_tests[] = {
        test_base64url_matches_rfc4648_vectors,
        test_base64url_round_trips_every_length,
        test_base64url_decoding_is_strict, NULL};
    sy_check_tcase(s, "base64url", setup, teardown, base64url_tests);
    const TTest *const keys_tests[] = {
        test_rotation_keeps_tokens_of_a_listed_old_key,
        test_rotation_from_rs256_to_es256_keeps_rs256_tokens,
        test_a_listed_key_accepts_only_its_own_algorithm,
        test_jwks_publishes_rsa_and_ec_keys_but_never_secrets,
        test_jwks_is_empty_with_hs256_alone,
        test_weak_or_wrong_signing_keys_stop_loading,
        test_bad_verify_keys_stop_loading, NULL};
    sy_check_tcase(s, "keys", setup, teardown, keys_tests);
    return s;
}

int
main(void)
{
    sy_check_tmpdir(dir);
    if (make_keys() != 0) {
        fprintf(stderr, "cannot make test keys with openssl (see %s)\n",
                path_of("openssl.log"));
        return EXIT_FAILURE;
    }
    sy_check_clean_env();
    sy_log_set_level(SY_LOG_ERROR + 1); /* key errors are expected here */
    return sy_check_run_in(jwt_suite(), dir);
}
