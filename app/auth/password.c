/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * password.c - password hashing with argon2id (libargon2), the
 * equal-time check for unknown accounts, and the length policy.
 *
 * Hashes are PHC strings with a 16-byte salt and a 32-byte hash.  The
 * cost parameters come from sy_conf at every call, and a stored hash is
 * reported for rehashing when any of its parameters is below the config's
 * (or it uses another argon2 version), so raising the cost upgrades
 * accounts as they log in.
 */
#include "synthia/password.h"

#include <argon2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/log.h"

#define SALT_LEN 16
#define HASH_LEN 32

typedef struct cost {
    uint32_t m_kib;
    uint32_t t;
    uint32_t p;
} cost;

static cost
config_cost(void)
{
    return (cost){
        .m_kib = (uint32_t)(sy_conf->argon2_memory / 1024),
        .t = (uint32_t)sy_conf->argon2_iterations,
        .p = (uint32_t)sy_conf->argon2_parallelism,
    };
}

/* Hash with the given cost; 0 or SY_EINTERNAL. */
static int
hash_with(cost c, sy_str pw, char *out, size_t outlen)
{
    unsigned char salt[SALT_LEN];
    sy_random_bytes(salt, sizeof(salt));
    int rc = argon2id_hash_encoded(c.t, c.m_kib, c.p, pw.p, pw.len, salt,
                                   sizeof(salt), HASH_LEN, out, outlen);
    if (rc != ARGON2_OK) {
        sy_log(SY_LOG_ERROR, "password_hash", "argon2id: %s",
               argon2_error_message(rc));
        return SY_EINTERNAL;
    }
    return 0;
}

int
sy_password_hash(sy_str pw, char *out, size_t outlen)
{
    return hash_with(config_cost(), pw, out, outlen);
}

/* Value of "<key>=<digits>" at *p, advancing past it and one ','. */
static int
phc_param(const char **p, char key, uint32_t *out)
{
    const char *s = *p;
    if (s[0] != key || s[1] != '=')
        return SY_EINVAL;
    s += 2;
    size_t n = strspn(s, "0123456789");
    int64_t v;
    if (sy_parse_i64((sy_str){s, n}, 1, UINT32_MAX, &v) < 0)
        return SY_EINVAL;
    s += n;
    if (*s == ',')
        s++;
    *p = s;
    *out = (uint32_t)v;
    return 0;
}

/* Is encoded ("$argon2id$v=19$m=..,t=..,p=..$...") weaker than the
 * config?  A string we cannot read counts as weaker. */
static bool
weaker_than_config(const char *encoded)
{
    static const char prefix[] = "$argon2id$v=19$";
    if (strncmp(encoded, prefix, sizeof(prefix) - 1) != 0)
        return true;
    const char *p = encoded + sizeof(prefix) - 1;
    cost have, want = config_cost();
    if (phc_param(&p, 'm', &have.m_kib) < 0 ||
        phc_param(&p, 't', &have.t) < 0 || phc_param(&p, 'p', &have.p) < 0)
        return true;
    return have.m_kib < want.m_kib || have.t < want.t || have.p < want.p;
}

int
sy_password_verify(const char *encoded, sy_str pw, bool *needs_rehash)
{
    if (!encoded || strncmp(encoded, "$argon2id$", 10) != 0)
        return SY_EUNAUTH;
    int rc = argon2id_verify(encoded, pw.p, pw.len);
    if (rc != ARGON2_OK) {
        if (rc != ARGON2_VERIFY_MISMATCH)
            sy_log(SY_LOG_WARN, "password_verify", "stored hash unusable: %s",
                   argon2_error_message(rc));
        return SY_EUNAUTH;
    }
    if (needs_rehash)
        *needs_rehash = weaker_than_config(encoded);
    return 0;
}

/* The dummy hash is made once per process (and again should the cost
 * change), with a random password nobody knows. */
void
sy_password_burn(sy_str pw)
{
    static char dummy[SY_PASSWORD_HASH_MAX];
    static cost made;
    cost c = config_cost();
    if (!dummy[0] || memcmp(&made, &c, sizeof(c)) != 0) {
        unsigned char secret[32];
        sy_random_bytes(secret, sizeof(secret));
        int rc = hash_with(c, (sy_str){(const char *)secret, sizeof(secret)},
                           dummy, sizeof(dummy));
        if (rc < 0) {
            dummy[0] = 0;
            return;
        }
        made = c;
    }
    (void)argon2id_verify(dummy, pw.p, pw.len);
}

/* Lead bytes of multi-byte UTF-8 sequences: range, payload bits, length
 * and the smallest code point that needs that length (overlong forms are
 * refused). */
static const struct utf8_lead {
    unsigned char lo, hi, mask;
    size_t len;
    uint32_t min;
} leads[] = {
    {0xc2, 0xdf, 0x1f, 2, 0x80},
    {0xe0, 0xef, 0x0f, 3, 0x800},
    {0xf0, 0xf4, 0x07, 4, 0x10000},
};

/* Length of the UTF-8 sequence starting at s (at most n bytes), or 0
 * when it is invalid: overlong forms, surrogates and code points above
 * U+10FFFF are refused. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    const struct utf8_lead *l = NULL;
    for (size_t i = 0; i < sizeof(leads) / sizeof(leads[0]); i++)
        if (s[0] >= leads[i].lo && s[0] <= leads[i].hi)
            l = &leads[i];
    if (!l || l->len > n)
        return 0;
    uint32_t cp = s[0] & l->mask;
    for (size_t i = 1; i < l->len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < l->min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return l->len;
}

int
sy_password_policy(sy_str pw, const char **why)
{
    static char reason[64];
    const unsigned char *s = (const unsigned char *)pw.p;
    int64_t chars = 0;
    for (size_t i = 0; i < pw.len; chars++) {
        if (s[i] == 0) {
            *why = "must not contain NUL characters";
            return SY_EVALIDATION;
        }
        size_t n = utf8_seq(s + i, pw.len - i);
        if (n == 0) {
            *why = "must be valid UTF-8";
            return SY_EVALIDATION;
        }
        i += n;
    }
    if (chars < sy_conf->password_min_length) {
        snprintf(reason, sizeof(reason), "must be at least %lld characters",
                 (long long)sy_conf->password_min_length);
        *why = reason;
        return SY_EVALIDATION;
    }
    if (chars > sy_conf->password_max_length) {
        snprintf(reason, sizeof(reason), "must be at most %lld characters",
                 (long long)sy_conf->password_max_length);
        *why = reason;
        return SY_EVALIDATION;
    }
    return 0;
}
