/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jwt.c - access tokens: the keys, signing, verification and the JWKS.
 *
 * The keys are loaded once per process from sy_conf: the signing key
 * (HS256 secret, or an RS256/ES256 private key) and the older keys of
 * auth.jwt_verify_keys, each under its kid.  libjwt signs and checks
 * signatures; everything it would otherwise decide from the token is
 * decided here first.  Verification reads the header itself, looks up the
 * kid and demands exactly that key's algorithm before libjwt sees the
 * token with that one key, so "alg": "none", an HS256 token "signed" with
 * an RSA public key, and unknown kids never reach a signature check.  The
 * claims are then read from the payload with json-c, strictly typed (a
 * string where a number belongs is a defect, not a zero).
 */
#include "synthia/jwt.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "synthia/clock.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/log.h"

#define MAX_KEYS 16
#define KID_MAX 64
#define TOKEN_MAX 8192
#define KEY_FILE_MAX 65536
#define HS_SECRET_MIN 32
#define TIME_MAX (1LL << 40) /* seconds: year 36812 */

typedef struct jwt_key {
    char kid[KID_MAX + 1];
    jwt_alg_t alg;
    unsigned char *key; /* what jwt_decode takes: secret or public PEM */
    size_t key_len;
    EVP_PKEY *pkey; /* RS256/ES256: the public key, for the JWKS */
} jwt_key;

static struct {
    int state;               /* 0 not tried, 1 loaded, <0 failed (rc) */
    jwt_alg_t alg;           /* of the signing key */
    unsigned char *sign_key; /* HS256 secret or private key PEM */
    size_t sign_key_len;
    jwt_key keys[MAX_KEYS]; /* [0] is the signing key's public side */
    int nkeys;
    char *jwks;
} K;

static const char *const role_names[] = {
    [SY_ROLE_SHOPPER] = "shopper",
    [SY_ROLE_STAFF] = "staff",
    [SY_ROLE_OWNER] = "owner",
    [SY_ROLE_SYSADMIN] = "sysadmin",
};

int
sy_role_parse(sy_str s)
{
    for (int r = SY_ROLE_SHOPPER; r <= SY_ROLE_SYSADMIN; r++)
        if (sy_str_eqc(s, role_names[r]))
            return r;
    return SY_ROLE_NONE;
}

const char *
sy_role_name(int role)
{
    if (role < SY_ROLE_SHOPPER || role > SY_ROLE_SYSADMIN)
        return NULL;
    return role_names[role];
}

/* ------------------------------------------------------------- loading */

static int
config_error(const char *key, const char *kid, const char *why)
{
    sy_logline *l = sy_log_begin(SY_LOG_ERROR, "jwt_keys");
    sy_log_cstr(l, "key", key);
    if (kid)
        sy_log_cstr(l, "kid", kid);
    sy_log_cstr(l, "msg", why);
    sy_log_end(l);
    return SY_ECONFIG;
}

static void
wipe_free(unsigned char *p, size_t n)
{
    if (p) {
        explicit_bzero(p, n);
        free(p);
    }
}

static unsigned char *
copy_bytes(const void *p, size_t n)
{
    unsigned char *c = malloc(n + 1);
    if (!c)
        abort();
    memcpy(c, p, n);
    c[n] = 0;
    return c;
}

/* Read a whole key file (at most KEY_FILE_MAX bytes) into malloc'd
 * memory with a NUL after it. */
static int
read_key_file(const char *path, unsigned char **out, size_t *outlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return SY_EIO;
    unsigned char *buf = malloc(KEY_FILE_MAX + 1);
    if (!buf)
        abort();
    size_t n = 0;
    bool failed = false;
    while (n <= KEY_FILE_MAX) {
        ssize_t r = read(fd, buf + n, KEY_FILE_MAX + 1 - n);
        if (r == 0)
            break;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            failed = true;
            break;
        }
        n += (size_t)r;
    }
    close(fd);
    if (failed || n > KEY_FILE_MAX) {
        wipe_free(buf, n);
        return SY_EIO;
    }
    buf[n] = 0;
    *out = buf;
    *outlen = n;
    return 0;
}

static bool
is_pem(const unsigned char *p, size_t n)
{
    return n >= 10 && memcmp(p, "-----BEGIN", 10) == 0;
}

static bool
kid_valid(const char *s, size_t n)
{
    if (n == 0 || n > KID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' ||
              s[i] == '-'))
            return false;
    return true;
}

/* kid = hex of the first 8 bytes of SHA-256 of what identifies the key. */
static void
derive_kid(const void *p, size_t n, char kid[KID_MAX + 1])
{
    unsigned char h[SY_SHA256_LEN];
    sy_sha256(p, n, h);
    sy_hex(kid, h, 8);
}

static bool
ec_p256(EVP_PKEY *pk)
{
    char group[64];
    size_t n = 0;
    if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                        sizeof(group), &n))
        return false;
    return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

/* The JWT algorithm a key is for; SY_ECONFIG and *why when it is fit
 * for none. */
static int
pkey_alg(EVP_PKEY *pk, jwt_alg_t *alg, const char **why)
{
    if (EVP_PKEY_is_a(pk, "RSA")) {
        if (EVP_PKEY_get_bits(pk) < 2048) {
            *why = "RSA keys must have at least 2048 bits";
            return SY_ECONFIG;
        }
        *alg = JWT_ALG_RS256;
        return 0;
    }
    if (EVP_PKEY_is_a(pk, "EC") && ec_p256(pk)) {
        *alg = JWT_ALG_ES256;
        return 0;
    }
    *why = "not an RSA key or an EC key on P-256";
    return SY_ECONFIG;
}

/* PEM (SubjectPublicKeyInfo) of pk's public key, malloc'd. */
static int
public_pem(EVP_PKEY *pk, unsigned char **out, size_t *outlen)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p;
    if (!b || !PEM_write_bio_PUBKEY(b, pk)) {
        BIO_free(b);
        return SY_EINTERNAL;
    }
    long n = BIO_get_mem_data(b, &p);
    *out = copy_bytes(p, (size_t)n);
    *outlen = (size_t)n;
    BIO_free(b);
    return 0;
}

/* kid derived from the DER of pk's public key. */
static int
pkey_kid(EVP_PKEY *pk, char kid[KID_MAX + 1])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(pk, &der);
    if (n <= 0)
        return SY_EINTERNAL;
    derive_kid(der, (size_t)n, kid);
    OPENSSL_free(der);
    return 0;
}

/* Fill k (alg, public PEM, pkey) from a parsed public or private key. */
static int
set_public(jwt_key *k, EVP_PKEY *pk, const char **why)
{
    int rc = pkey_alg(pk, &k->alg, why);
    if (rc == 0 && public_pem(pk, &k->key, &k->key_len) < 0) {
        *why = "cannot encode the public key";
        rc = SY_ECONFIG;
    }
    if (rc < 0)
        return rc;
    k->pkey = pk;
    return 0;
}

static int
add_key(const char *cfgkey, const jwt_key *k)
{
    if (K.nkeys == MAX_KEYS)
        return config_error(cfgkey, k->kid, "too many keys");
    for (int i = 0; i < K.nkeys; i++)
        if (strcmp(K.keys[i].kid, k->kid) == 0)
            return config_error(cfgkey, k->kid, "kid used twice");
    K.keys[K.nkeys++] = *k;
    return 0;
}

static int
set_kid(jwt_key *k, const char *configured)
{
    if (!configured || !*configured)
        return 0; /* already derived */
    if (!kid_valid(configured, strlen(configured)))
        return config_error("auth.jwt_kid", NULL,
                            "kid must be 1-64 characters of A-Z a-z 0-9 . _ -");
    memcpy(k->kid, configured, strlen(configured) + 1);
    return 0;
}

static int
load_hs_signing(void)
{
    jwt_key k = {.alg = JWT_ALG_HS256};
    K.alg = JWT_ALG_HS256;
    K.sign_key = copy_bytes(sy_conf->jwt_secret, sy_conf->jwt_secret_len);
    K.sign_key_len = sy_conf->jwt_secret_len;
    k.key = copy_bytes(sy_conf->jwt_secret, sy_conf->jwt_secret_len);
    k.key_len = sy_conf->jwt_secret_len;
    derive_kid(k.key, k.key_len, k.kid);
    int rc = set_kid(&k, sy_conf->jwt_kid);
    if (rc == 0)
        rc = add_key("auth.jwt_secret_file", &k);
    if (rc < 0)
        wipe_free(k.key, k.key_len);
    return rc;
}

/* Encrypted keys are refused rather than prompted for on a terminal. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return 0;
}

static EVP_PKEY *
parse_private(const unsigned char *pem, size_t n)
{
    BIO *b = BIO_new_mem_buf(pem, (int)n);
    EVP_PKEY *pk =
        b ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
    BIO_free(b);
    return pk;
}

static int
load_pem_signing(jwt_alg_t want)
{
    const char *cfgkey = "auth.jwt_private_key_file", *why = NULL;
    unsigned char *pem;
    size_t n;
    if (read_key_file(sy_conf->jwt_private_key_file, &pem, &n) < 0)
        return config_error(cfgkey, NULL, "cannot read the key file");
    K.alg = want;
    K.sign_key = pem;
    K.sign_key_len = n;
    EVP_PKEY *pk = parse_private(pem, n);
    if (!pk)
        return config_error(cfgkey, NULL, "not a PEM private key");
    jwt_key k = {.alg = JWT_ALG_NONE};
    if (set_public(&k, pk, &why) < 0) {
        EVP_PKEY_free(pk);
        return config_error(cfgkey, NULL, why);
    }
    int rc = 0;
    if (k.alg != want)
        rc = config_error(cfgkey, NULL,
                          "the key does not match auth.jwt_algorithm");
    if (rc == 0 && pkey_kid(pk, k.kid) < 0)
        rc = config_error(cfgkey, NULL, "cannot encode the public key");
    if (rc == 0)
        rc = set_kid(&k, sy_conf->jwt_kid);
    if (rc == 0)
        rc = add_key(cfgkey, &k);
    if (rc < 0) {
        EVP_PKEY_free(pk);
        free(k.key);
    }
    return rc;
}

/* An older key: a PEM public key, or an HS256 secret (one trailing
 * newline ignored, as for auth.jwt_secret_file). */
static int
load_verify_key(const char *kid, const char *path)
{
    const char *cfgkey = "auth.jwt_verify_keys", *why = NULL;
    jwt_key k = {.alg = JWT_ALG_HS256};
    memcpy(k.kid, kid, strlen(kid) + 1);
    unsigned char *buf;
    size_t n;
    if (read_key_file(path, &buf, &n) < 0)
        return config_error(cfgkey, kid, "cannot read the key file");
    if (!is_pem(buf, n)) {
        if (n > 0 && buf[n - 1] == '\n')
            n--;
        if (n > 0 && buf[n - 1] == '\r')
            n--;
        if (n < HS_SECRET_MIN) {
            wipe_free(buf, n);
            return config_error(cfgkey, kid,
                                "an HS256 secret needs at least 32 bytes");
        }
        k.key = buf;
        k.key_len = n;
        int rc = add_key(cfgkey, &k);
        if (rc < 0)
            wipe_free(buf, n);
        return rc;
    }
    BIO *b = BIO_new_mem_buf(buf, (int)n);
    EVP_PKEY *pk = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    wipe_free(buf, n);
    if (!pk)
        return config_error(cfgkey, kid,
                            "not a PEM public key (a private key's public "
                            "half: openssl pkey -pubout)");
    if (set_public(&k, pk, &why) < 0) {
        EVP_PKEY_free(pk);
        return config_error(cfgkey, kid, why);
    }
    int rc = add_key(cfgkey, &k);
    if (rc < 0) {
        EVP_PKEY_free(pk);
        free(k.key);
    }
    return rc;
}

/* "kid=path kid2=path2" (spaces, tabs or commas between pairs). */
static int
load_verify_keys(void)
{
    const char *s = sy_conf->jwt_verify_keys ? sy_conf->jwt_verify_keys : "";
    char kid[KID_MAX + 1], path[4096];
    while (*s) {
        s += strspn(s, " \t,");
        size_t n = strcspn(s, " \t,");
        if (n == 0)
            break;
        const char *eq = memchr(s, '=', n);
        size_t klen = eq ? (size_t)(eq - s) : 0, plen = eq ? n - klen - 1 : 0;
        if (!eq || !kid_valid(s, klen) || plen == 0 || plen >= sizeof(path))
            return config_error("auth.jwt_verify_keys", NULL,
                                "expected kid=path pairs (kid: 1-64 of "
                                "A-Z a-z 0-9 . _ -)");
        memcpy(kid, s, klen);
        kid[klen] = 0;
        memcpy(path, eq + 1, plen);
        path[plen] = 0;
        int rc = load_verify_key(kid, path);
        if (rc < 0)
            return rc;
        s += n;
    }
    return 0;
}

/* ---------------------------------------------------------------- JWKS */

static void
add_b64(json_object *o, const char *name, const unsigned char *p, size_t n)
{
    char s[SY_B64URL_LEN(1024) + 1];
    if (n > 1024)
        return;
    sy_b64url_encode(s, p, n);
    json_object_object_add(o, name, json_object_new_string(s));
}

/* A big number as base64url of its big-endian bytes, left-padded to pad
 * bytes (0: minimal). */
static int
add_bn(json_object *o, const char *name, EVP_PKEY *pk, const char *param,
       int pad)
{
    BIGNUM *bn = NULL;
    unsigned char buf[1024];
    if (!EVP_PKEY_get_bn_param(pk, param, &bn))
        return SY_EINTERNAL;
    int n = BN_num_bytes(bn);
    if (pad > n)
        n = pad;
    if (n > (int)sizeof(buf) || BN_bn2binpad(bn, buf, n) != n) {
        BN_free(bn);
        return SY_EINTERNAL;
    }
    BN_free(bn);
    add_b64(o, name, buf, (size_t)n);
    return 0;
}

static int
jwk_fill(json_object *o, const jwt_key *k)
{
    if (k->alg == JWT_ALG_RS256) {
        json_object_object_add(o, "kty", json_object_new_string("RSA"));
        if (add_bn(o, "n", k->pkey, OSSL_PKEY_PARAM_RSA_N, 0) < 0 ||
            add_bn(o, "e", k->pkey, OSSL_PKEY_PARAM_RSA_E, 0) < 0)
            return SY_EINTERNAL;
    } else {
        json_object_object_add(o, "kty", json_object_new_string("EC"));
        json_object_object_add(o, "crv", json_object_new_string("P-256"));
        if (add_bn(o, "x", k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32) < 0 ||
            add_bn(o, "y", k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32) < 0)
            return SY_EINTERNAL;
    }
    json_object_object_add(o, "kid", json_object_new_string(k->kid));
    json_object_object_add(o, "alg",
                           json_object_new_string(jwt_alg_str(k->alg)));
    json_object_object_add(o, "use", json_object_new_string("sig"));
    return 0;
}

/* The JWKS of every RS256/ES256 key, made once at load. */
static int
build_jwks(void)
{
    json_object *doc = json_object_new_object();
    json_object *arr = json_object_new_array();
    json_object_object_add(doc, "keys", arr);
    int rc = 0;
    for (int i = 0; rc == 0 && i < K.nkeys; i++) {
        if (!K.keys[i].pkey)
            continue; /* secrets are never published */
        json_object *jwk = json_object_new_object();
        json_object_array_add(arr, jwk);
        rc = jwk_fill(jwk, &K.keys[i]);
    }
    if (rc == 0) {
        const char *s = json_object_to_json_string_ext(
            doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        K.jwks = (char *)copy_bytes(s, strlen(s));
    }
    json_object_put(doc);
    if (rc < 0)
        return config_error("auth.jwt_verify_keys", NULL,
                            "cannot encode the public keys");
    return 0;
}

static void
log_keys(void)
{
    char kids[MAX_KEYS * (KID_MAX + 1) + 1] = "";
    size_t o = 0;
    for (int i = 1; i < K.nkeys; i++) {
        size_t n = strlen(K.keys[i].kid);
        if (o)
            kids[o++] = ' ';
        memcpy(kids + o, K.keys[i].kid, n + 1);
        o += n;
    }
    /* once per process and key set: the master loads the keys twice at
     * start (before and after it takes its own copy of the config) and
     * again on every SIGHUP; only a change is news */
    static char last[sizeof(kids) + 2 * (KID_MAX + 1)];
    char now[sizeof(last)];
    snprintf(now, sizeof(now), "%s %s %s", jwt_alg_str(K.alg),
             K.keys[0].kid, kids);
    if (strcmp(now, last) == 0)
        return;
    memcpy(last, now, sizeof(last));
    sy_logline *l = sy_log_begin(SY_LOG_INFO, "jwt_keys");
    sy_log_cstr(l, "alg", jwt_alg_str(K.alg));
    sy_log_cstr(l, "kid", K.keys[0].kid);
    sy_log_cstr(l, "verify_kids", kids);
    sy_log_end(l);
}

static jwt_alg_t
configured_alg(void)
{
    const char *a = sy_conf->jwt_algorithm ? sy_conf->jwt_algorithm : "";
    if (strcmp(a, "RS256") == 0)
        return JWT_ALG_RS256;
    if (strcmp(a, "ES256") == 0)
        return JWT_ALG_ES256;
    return strcmp(a, "HS256") == 0 ? JWT_ALG_HS256 : JWT_ALG_INVAL;
}

int
sy_jwt_load(void)
{
    if (K.state)
        return K.state > 0 ? 0 : K.state;
    if (!sy_conf || !sy_conf->jwt_secret || !sy_conf->issuer)
        return SY_ECONFIG; /* not remembered: a config may come later */
    jwt_alg_t alg = configured_alg();
    int rc;
    if (alg == JWT_ALG_HS256)
        rc = load_hs_signing();
    else if (alg == JWT_ALG_INVAL)
        rc = config_error("auth.jwt_algorithm", NULL,
                          "must be HS256, RS256 or ES256");
    else
        rc = load_pem_signing(alg);
    if (rc == 0)
        rc = load_verify_keys();
    if (rc == 0)
        rc = build_jwks();
    if (rc < 0) {
        sy_jwt_unload();
        K.state = rc;
        return rc;
    }
    K.state = 1;
    log_keys();
    return 0;
}

void
sy_jwt_unload(void)
{
    for (int i = 0; i < K.nkeys; i++) {
        wipe_free(K.keys[i].key, K.keys[i].key_len);
        EVP_PKEY_free(K.keys[i].pkey);
    }
    wipe_free(K.sign_key, K.sign_key_len);
    free(K.jwks);
    memset(&K, 0, sizeof(K));
}

int
sy_jwt_jwks(sy_buf *out)
{
    int rc = sy_jwt_load();
    if (rc < 0)
        return rc;
    return sy_buf_puts(out, K.jwks);
}

/* ------------------------------------------------------------- issuing */

static int
add_claims(jwt_t *j, const sy_claims *c, const char *kid)
{
    int e = jwt_add_header(j, "kid", kid);
    e = e ? e : jwt_add_header(j, "typ", "JWT");
    e = e ? e : jwt_add_grant(j, "iss", sy_conf->issuer);
    e = e ? e : jwt_add_grant(j, "sub", c->sub);
    if (c->role != SY_ROLE_SYSADMIN)
        e = e ? e : jwt_add_grant(j, "tid", c->tid);
    e = e ? e : jwt_add_grant(j, "role", sy_role_name(c->role));
    e = e ? e : jwt_add_grant(j, "sid", c->sid);
    e = e ? e : jwt_add_grant(j, "jti", c->jti);
    e = e ? e : jwt_add_grant_int(j, "iat", (long)c->iat);
    e = e ? e : jwt_add_grant_int(j, "exp", (long)c->exp);
    return e ? SY_EINTERNAL : 0;
}

static bool
uuid_ok(const char *s)
{
    return sy_uuid_valid(s, strlen(s));
}

int
sy_jwt_issue(sy_arena *a, sy_claims *c, char **token)
{
    int rc = sy_jwt_load();
    if (rc < 0)
        return rc;
    if (!sy_role_name(c->role) || !uuid_ok(c->sub) || !uuid_ok(c->sid) ||
        (c->role != SY_ROLE_SYSADMIN && !uuid_ok(c->tid)))
        return SY_EINVAL;
    sy_claims n = *c;
    n.iat = sy_wall_ms() / 1000;
    n.exp = n.iat + sy_conf->access_ttl_ms / 1000;
    sy_uuid_v4(n.jti);
    if (n.role == SY_ROLE_SYSADMIN)
        n.tid[0] = 0;
    jwt_t *j = NULL;
    if (jwt_new(&j) != 0)
        return SY_EINTERNAL;
    rc = add_claims(j, &n, K.keys[0].kid);
    if (rc == 0 && jwt_set_alg(j, K.alg, K.sign_key, (int)K.sign_key_len))
        rc = SY_EINTERNAL;
    char *s = rc == 0 ? jwt_encode_str(j) : NULL;
    jwt_free(j);
    if (!s)
        return SY_EINTERNAL;
    *token = sy_arena_strndup(a, s, strlen(s));
    free(s);
    if (!*token)
        return SY_ENOMEM;
    *c = n;
    return 0;
}

/* ----------------------------------------------------------- verifying */

/* Refuse with the reason in the debug log (never the token). */
static int
refuse(const char *why)
{
    sy_log(SY_LOG_DEBUG, "jwt_refused", "%s", why);
    return SY_EUNAUTH;
}

typedef struct segments {
    sy_str head, payload, sig;
} segments;

static int
split(sy_str t, segments *s)
{
    const char *d1 = memchr(t.p, '.', t.len);
    const char *end = t.p + t.len;
    const char *d2 = d1 ? memchr(d1 + 1, '.', (size_t)(end - d1 - 1)) : NULL;
    if (!d2 || memchr(d2 + 1, '.', (size_t)(end - d2 - 1)))
        return SY_EINVAL;
    s->head = (sy_str){t.p, (size_t)(d1 - t.p)};
    s->payload = (sy_str){d1 + 1, (size_t)(d2 - d1 - 1)};
    s->sig = (sy_str){d2 + 1, (size_t)(end - d2 - 1)};
    return s->head.len && s->payload.len && s->sig.len ? 0 : SY_EINVAL;
}

/* A base64url segment holding a JSON object (owned by the arena). */
static int
segment_json(sy_arena *a, sy_str seg, json_object **out)
{
    unsigned char *buf = sy_arena_alloc(a, seg.len);
    size_t n;
    if (!buf)
        return SY_ENOMEM;
    if (sy_b64url_decode(buf, seg.len, seg.p, seg.len, &n) < 0 ||
        sy_json_parse(a, (sy_str){(const char *)buf, n}, NULL, out) < 0)
        return SY_EINVAL;
    return 0;
}

static const char *
json_str(json_object *o, const char *name)
{
    json_object *v;
    if (!json_object_object_get_ex(o, name, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* An integer time in seconds, within a range that cannot overflow when
 * turned into milliseconds. */
static bool
json_time(json_object *o, const char *name, int64_t *out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, name, &v) ||
        !json_object_is_type(v, json_type_int))
        return false;
    int64_t t = json_object_get_int64(v);
    if (t < 0 || t > TIME_MAX)
        return false;
    *out = t;
    return true;
}

/* The key the header names, if the header asks for exactly its
 * algorithm. */
static int
header_key(sy_arena *a, sy_str head, const jwt_key **out)
{
    json_object *h;
    if (segment_json(a, head, &h) < 0)
        return refuse("header is not a base64url JSON object");
    const char *alg = json_str(h, "alg"), *kid = json_str(h, "kid");
    if (!alg || !kid)
        return refuse("header lacks alg or kid");
    if (json_object_object_get_ex(h, "crit", NULL))
        return refuse("header has crit");
    for (int i = 0; i < K.nkeys; i++) {
        if (strcmp(K.keys[i].kid, kid) != 0)
            continue;
        if (strcmp(alg, jwt_alg_str(K.keys[i].alg)) != 0)
            return refuse("alg is not the algorithm of the kid's key");
        *out = &K.keys[i];
        return 0;
    }
    return refuse("unknown kid");
}

/* libjwt checks the signature with that one key; its own reading of the
 * header must agree on the algorithm too (no parser differential). */
static int
check_signature(const char *token, const jwt_key *k)
{
    jwt_t *j = NULL;
    int e = jwt_decode(&j, token, k->key, (int)k->key_len);
    bool ok = e == 0 && j && jwt_get_alg(j) == k->alg;
    jwt_free(j);
    return ok ? 0 : refuse("signature check failed");
}

static bool
copy_uuid(json_object *p, const char *name, char out[SY_UUID_LEN + 1])
{
    const char *s = json_str(p, name);
    if (!s || !uuid_ok(s))
        return false;
    memcpy(out, s, SY_UUID_LEN + 1);
    return true;
}

/* Sysadmins have no tenant; everyone else has one. */
static bool
tid_fits_role(json_object *p, sy_claims *c)
{
    if (c->role == SY_ROLE_SYSADMIN)
        return !json_object_object_get_ex(p, "tid", NULL);
    return copy_uuid(p, "tid", c->tid);
}

/* exp, iat and nbf (optional: our tokens carry none, but a token that
 * names one is not valid before it), each with the configured leeway. */
static int
check_times(const sy_claims *c, bool has_nbf, int64_t nbf)
{
    int64_t now_ms = sy_wall_ms(), leeway = sy_conf->jwt_leeway_ms;
    if (c->exp * 1000 + leeway <= now_ms)
        return refuse("expired");
    if (c->iat * 1000 > now_ms + leeway)
        return refuse("issued in the future");
    if (has_nbf && nbf * 1000 > now_ms + leeway)
        return refuse("not valid yet (nbf)");
    if (c->exp < c->iat)
        return refuse("exp before iat");
    return 0;
}

static int
read_claims(sy_arena *a, sy_str payload, sy_claims *c)
{
    json_object *p;
    if (segment_json(a, payload, &p) < 0)
        return refuse("payload is not a base64url JSON object");
    const char *iss = json_str(p, "iss"), *role = json_str(p, "role");
    if (!iss || strcmp(iss, sy_conf->issuer) != 0)
        return refuse("wrong issuer");
    memset(c, 0, sizeof(*c));
    c->role = role ? sy_role_parse(sy_str_c(role)) : SY_ROLE_NONE;
    if (c->role == SY_ROLE_NONE)
        return refuse("bad role");
    if (!copy_uuid(p, "sub", c->sub) || !copy_uuid(p, "sid", c->sid) ||
        !copy_uuid(p, "jti", c->jti))
        return refuse("sub, sid or jti is not a uuid");
    if (!tid_fits_role(p, c))
        return refuse("tid does not fit the role");
    if (!json_time(p, "iat", &c->iat) || !json_time(p, "exp", &c->exp))
        return refuse("iat or exp is not an integer");
    int64_t nbf = 0;
    bool has_nbf = json_object_object_get_ex(p, "nbf", NULL);
    if (has_nbf && !json_time(p, "nbf", &nbf))
        return refuse("nbf is not an integer");
    return check_times(c, has_nbf, nbf);
}

static bool
b64url_str(sy_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        char ch = s.p[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
            return false;
    }
    return true;
}

int
sy_jwt_verify(sy_arena *a, sy_str token, sy_claims *out)
{
    segments s;
    const jwt_key *k;
    sy_claims c;
    if (sy_jwt_load() < 0)
        return refuse("keys not loaded");
    if (!token.p || token.len == 0 || token.len > TOKEN_MAX)
        return refuse("empty or too long");
    if (split(token, &s) < 0 || !b64url_str(s.head) || !b64url_str(s.payload) ||
        !b64url_str(s.sig))
        return refuse("not three base64url segments");
    int rc = header_key(a, s.head, &k);
    if (rc < 0)
        return rc;
    char *z = sy_arena_strndup(a, token.p, token.len);
    if (!z)
        return SY_ENOMEM;
    rc = check_signature(z, k);
    if (rc == 0)
        rc = read_claims(a, s.payload, &c);
    if (rc < 0)
        return rc;
    *out = c;
    return 0;
}
