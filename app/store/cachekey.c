/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cachekey.c - names and stored form of the result cache's entries
 * (cachekey.h).
 */
#include "synthia/cachekey.h"

#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/cache.h"
#include "synthia/error.h"

const sy_cache_type_def sy_cache_types[SY_CACHE__COUNT] = {
    [SY_CACHE_LIST] = {"list", true, "300000", false},
    [SY_CACHE_SEARCH] = {"search", true, "120000", false},
    [SY_CACHE_PRODUCT] = {"product", true, "300000", false},
    [SY_CACHE_ANALYSIS] = {"analysis", false, "86400000", true},
    [SY_CACHE_TRYON] = {"tryon", false, "86400000", true},
};

int
sy_cache_type_parse(sy_str name)
{
    for (int i = 0; i < SY_CACHE__COUNT; i++)
        if (sy_str_eqc(name, sy_cache_types[i].name))
            return i;
    return -1;
}

const char *
sy_cache_type_name(int type)
{
    return type >= 0 && type < SY_CACHE__COUNT ? sy_cache_types[type].name
                                               : NULL;
}

/* ----------------------------------------------------------------- keys */

bool
sy_cache_key_uuid(const char *in, char out[SY_UUID_LEN + 1])
{
    if (!in || !sy_uuid_valid(in, strlen(in)))
        return false;
    for (int i = 0; i <= SY_UUID_LEN; i++)
        out[i] = in[i] >= 'A' && in[i] <= 'F' ? (char)(in[i] + 32) : in[i];
    return true;
}

/* The user's key segment: its uuid, "-" for none, and for anything else
 * "x" and a hash, so no caller-chosen byte reaches a key name or a SCAN
 * pattern. */
void
sy_cache_key_user(const char *user, char out[SY_UUID_LEN + 1])
{
    if (!user || !user[0]) {
        memcpy(out, "-", 2);
    } else if (!sy_cache_key_uuid(user, out)) {
        unsigned char d[SY_SHA256_LEN];
        char hex[2 * SY_SHA256_LEN + 1];
        sy_sha256(user, strlen(user), d);
        sy_hex(hex, d, sizeof(d));
        out[0] = 'x';
        memcpy(out + 1, hex, SY_CACHEKEY_HASH_HEX);
        out[SY_CACHEKEY_HASH_HEX + 1] = '\0';
    }
}

/* SHA-256 of user "\n" what, first SY_CACHEKEY_HASH_HEX hex digits. */
static void
what_hash(const char *user, sy_str what, char out[SY_CACHEKEY_HASH_HEX + 1])
{
    size_t ulen = user ? strlen(user) : 0;
    unsigned char d[SY_SHA256_LEN];
    char hex[2 * SY_SHA256_LEN + 1];
    char *buf = malloc(ulen + 1 + what.len + 1);
    if (!buf)
        abort();
    if (ulen)
        memcpy(buf, user, ulen);
    buf[ulen] = '\n';
    if (what.len)
        memcpy(buf + ulen + 1, what.p, what.len);
    sy_sha256(buf, ulen + 1 + what.len, d);
    free(buf);
    sy_hex(hex, d, sizeof(d));
    memcpy(out, hex, SY_CACHEKEY_HASH_HEX);
    out[SY_CACHEKEY_HASH_HEX] = '\0';
}

/* Tenant-level key names only (no type, user or hash). */
int
sy_cache_key_tenant(sy_cache_key *k, const char *tenant)
{
    if (!sy_cache_key_uuid(tenant, k->tenant))
        return SY_EINVAL;
    snprintf(k->catver, sizeof(k->catver), "sy:{t:%s}:catver", k->tenant);
    snprintf(k->stats, sizeof(k->stats), "sy:{t:%s}:c:stats", k->tenant);
    return 0;
}

int
sy_cache_key_make(sy_cache_key *k, const char *tenant, int type,
                  const char *user, sy_str what)
{
    if (type < 0 || type >= SY_CACHE__COUNT ||
        sy_cache_key_tenant(k, tenant) < 0)
        return SY_EINVAL;
    k->type = type;
    sy_cache_key_user(user, k->user);
    what_hash(user, what, k->hash);
    if (sy_cache_types[type].versioned)
        snprintf(k->prefix, sizeof(k->prefix), "sy:{t:%s}:c:%s:", k->tenant,
                 sy_cache_types[type].name);
    else
        snprintf(k->prefix, sizeof(k->prefix),
                 "sy:{t:%s}:c:%s:u:%s:", k->tenant, sy_cache_types[type].name,
                 k->user);
    return 0;
}

/* --------------------------------------------------------------- values */

static void
put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t
get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Header and payload of value into arena memory: 0, SY_ETOOBIG over
 * SY_CACHEVAL_MAX, SY_ENOMEM. */
int
sy_cache_value_encode(sy_arena *a, sy_str value, sy_str *out)
{
    if (value.len > SY_CACHEVAL_MAX)
        return SY_ETOOBIG;
    int bound = LZ4_compressBound((int)value.len);
    size_t cap = SY_CACHEVAL_HEADER + (size_t)bound + value.len;
    unsigned char *buf = sy_arena_alloc(a, cap);
    if (!buf)
        return SY_ENOMEM;
    int n = 0;
    if (value.len >= SY_CACHEVAL_RAW_BELOW)
        n = LZ4_compress_default(value.p, (char *)buf + SY_CACHEVAL_HEADER,
                                 (int)value.len, bound);
    buf[0] = SY_CACHEVAL_MAGIC;
    put_u32(buf + 2, (uint32_t)value.len);
    if (n > 0 && (size_t)n < value.len) {
        buf[1] = SY_CACHEVAL_LZ4;
    } else {
        buf[1] = SY_CACHEVAL_RAW;
        n = (int)value.len;
        if (value.len)
            memcpy(buf + SY_CACHEVAL_HEADER, value.p, value.len);
    }
    *out = (sy_str){(const char *)buf, SY_CACHEVAL_HEADER + (size_t)n};
    return 0;
}

/* The value in stored (NUL-terminated arena copy): 0, SY_EINVAL when it
 * is not one of ours or is damaged, SY_ENOMEM. */
int
sy_cache_value_decode(sy_arena *a, sy_str stored, sy_str *out)
{
    const unsigned char *p = (const unsigned char *)stored.p;
    if (stored.len < SY_CACHEVAL_HEADER || p[0] != SY_CACHEVAL_MAGIC)
        return SY_EINVAL;
    uint32_t raw = get_u32(p + 2);
    size_t plen = stored.len - SY_CACHEVAL_HEADER;
    if (raw > SY_CACHEVAL_MAX || (p[1] == SY_CACHEVAL_RAW && plen != raw) ||
        (p[1] != SY_CACHEVAL_RAW && p[1] != SY_CACHEVAL_LZ4))
        return SY_EINVAL;
    char *buf = sy_arena_alloc(a, (size_t)raw + 1);
    if (!buf)
        return SY_ENOMEM;
    if (p[1] == SY_CACHEVAL_RAW) {
        if (raw)
            memcpy(buf, p + SY_CACHEVAL_HEADER, raw);
    } else if (LZ4_decompress_safe((const char *)p + SY_CACHEVAL_HEADER, buf,
                                   (int)plen, (int)raw) != (int)raw) {
        return SY_EINVAL;
    }
    buf[raw] = '\0';
    *out = (sy_str){buf, raw};
    return 0;
}
