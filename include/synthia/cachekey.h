/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cachekey.h - how the result cache (cache.h) names its entries and
 * stores its values (app/store/cachekey.c).
 *
 * Keys (every one carries the tenant's hash tag {t:<tenant>}, so on
 * Redis Cluster a tenant's entries, its catalog version and its stats
 * hash share one slot):
 *   sy:{t:<tenant>}:catver                       catalog version (INCR)
 *   sy:{t:<tenant>}:c:stats                      counters, "<type>:<field>"
 *   sy:{t:<tenant>}:c:<type>:v<version>:<hash>   list, search, product
 *   sy:{t:<tenant>}:c:<type>:u:<user|->:<hash>   analysis, tryon
 * <hash> is the first 32 hex digits of SHA-256(user "\n" what); the user
 * segment of unversioned types lets DELETE /cache find one user's
 * entries with SCAN MATCH, and is the uuid, "-" for none, or "x" and a
 * hash for anything else, so no caller-chosen byte reaches a key name.
 *
 * Values: a 6-byte header (magic 0xc5, format 1 raw / 2 LZ4, raw length
 * as 4 bytes little-endian) then the payload.  Values under 64 bytes, or
 * that LZ4 cannot shrink, are stored raw; values over 4 MiB are not
 * cached.  Anything that does not decode exactly is refused.
 */
#ifndef SYNTHIA_CACHEKEY_H
#define SYNTHIA_CACHEKEY_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/crypto.h"
#include "synthia/str.h"

#define SY_CACHEKEY_HASH_HEX 32
#define SY_CACHEKEY_MAX 128
#define SY_CACHEVAL_MAGIC 0xc5
#define SY_CACHEVAL_RAW 1
#define SY_CACHEVAL_LZ4 2
#define SY_CACHEVAL_HEADER 6
#define SY_CACHEVAL_RAW_BELOW 64
#define SY_CACHEVAL_MAX (4u << 20)

/* The cache types (enum sy_cache_type of cache.h) and how each is kept. */
typedef struct sy_cache_type_def {
    const char *name;
    bool versioned;     /* keyed by the catalog version */
    const char *ttl_ms; /* in Redis, as a command argument */
    bool ai;            /* AI results (airesult.h): stale, calls saved */
} sy_cache_type_def;
extern const sy_cache_type_def sy_cache_types[];

/* Everything a lookup of (tenant, type, user, what) needs. */
typedef struct sy_cache_key {
    int type;
    char tenant[SY_UUID_LEN + 1]; /* lower case */
    char user[SY_UUID_LEN + 1];   /* key segment: uuid, "-" or "x<hash>" */
    char hash[SY_CACHEKEY_HASH_HEX + 1];
    char prefix[SY_CACHEKEY_MAX]; /* entry key up to the version or hash */
    char catver[SY_CACHEKEY_MAX];
    char stats[SY_CACHEKEY_MAX];
} sy_cache_key;

/* A lower-case copy of a uuid (37 bytes), false when it is not one. */
bool sy_cache_key_uuid(const char *in, char out[SY_UUID_LEN + 1]);

/* The key segment of a user (37 bytes): its uuid, "-" for none, "x" and
 * a hash for anything else. */
void sy_cache_key_user(const char *user, char out[SY_UUID_LEN + 1]);

/* Tenant-level names only (catver, stats): 0 or SY_EINVAL. */
int sy_cache_key_tenant(sy_cache_key *k, const char *tenant);

/* The key of (tenant, type, user, what): 0 or SY_EINVAL for a tenant
 * that is not a uuid or an unknown type. */
int sy_cache_key_make(sy_cache_key *k, const char *tenant, int type,
                      const char *user, sy_str what);

/* A value as stored (header and payload, arena memory): 0, SY_ETOOBIG
 * over SY_CACHEVAL_MAX, SY_ENOMEM. */
int sy_cache_value_encode(sy_arena *a, sy_str value, sy_str *out);

/* The value in stored (a NUL-terminated arena copy): 0, SY_EINVAL when
 * it is not one of ours or is damaged, SY_ENOMEM. */
int sy_cache_value_decode(sy_arena *a, sy_str stored, sy_str *out);

#endif
