/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cache.h - the result cache, shared by catalog reads now and AI results
 * later.
 *
 * Values are LZ4-compressed into Redis with a TTL per type.  Keys carry
 * the tenant's hash tag and, for catalog types (list, search, product),
 * the tenant's catalog version: sy_cache_catalog_bump() after a product
 * write moves the version, so every older list/search entry of that
 * tenant is unreachable at once, in O(1) (they expire on their own).  A
 * get is one Redis round trip (a Lua call reads the version and the entry
 * together; all keys share the tenant's tag).  Hits, misses and bytes are
 * counted per tenant and type for GET /api/v1/cache/stats.
 *
 * Each responder also keeps what it read or stored in a small memory
 * cache (entries live at most SY_CACHE_MEMORY_TTL_MS).  While Redis is
 * up, a catalog entry is served from there only when the request read
 * the tenant's catalog version with its admission pipeline
 * (sy_cache_version_cmd, kept in the request's sy_catver) and the
 * version is the entry's: then a cached read costs no round trip beyond
 * the rate limit's.  When Redis is down,
 * the memory cache answers alone (a write on this responder clears the
 * tenant's entries; other responders' may lag by SY_CACHE_MEMORY_TTL_MS).
 */
#ifndef SYNTHIA_CACHE_H
#define SYNTHIA_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/str.h"

struct json_object;
struct redisReply;
struct sy_redis_cmdv;
struct sy_cache_key;

enum sy_cache_type {
    SY_CACHE_LIST = 0, /* product lists (catalog-versioned) */
    SY_CACHE_SEARCH,   /* product searches (catalog-versioned) */
    SY_CACHE_PRODUCT,  /* single products (catalog-versioned) */
    SY_CACHE_ANALYSIS, /* AI analysis results (later issues) */
    SY_CACHE_TRYON,    /* try-on results (later issues) */
    SY_CACHE__COUNT
};

#define SY_CACHE_MEMORY_TTL_MS 5000
#define SY_CACHE_MEMORY_ENTRIES 256
#define SY_CACHE_MEMORY_BYTES (4u << 20)
#define SY_CACHE_MEMORY_VALUE_MAX (256u << 10)
#define SY_CACHE_OWED_MAX 16 /* catalog bumps remembered while Redis is down */

/* What a request knows of its tenant's catalog version: read by the
 * admission pipeline along with the rate limit, cleared by a product
 * write of the same request.  Zeroed: nothing known (a round trip then
 * reads the version). */
typedef struct sy_catver {
    bool set;
    char tenant[37];
    int64_t version;
} sy_catver;

/* "list", "search", ... <-> enum; -1 / NULL when unknown. */
int sy_cache_type_parse(sy_str name);
const char *sy_cache_type_name(int type);

/* Look up the value cached for (tenant, type, user or NULL, what): `what`
 * is the canonical description of the request (it is hashed).  0 with the
 * value (arena memory), SY_ENOTFOUND on a miss.  Never fails otherwise:
 * a broken Redis is a miss (and the memory fallback is tried). */
int sy_cache_get(sy_arena *a, const sy_catver *cv, const char *tenant,
                 int type, const char *user, sy_str what, sy_str *value);

/* Store a value for the same key (TTL by type; compressed).  Errors are
 * logged and swallowed: a cache that cannot store is just a cache. */
void sy_cache_put(sy_arena *a, const char *tenant, int type,
                  const char *user, sy_str what, sy_str value);

/* Look up n values of a catalog type at once (one MGET at most; none
 * when this responder holds them all at the current version): values[i]
 * gets what is cached for whats[i] (arena memory) or SY_STR_NULL.
 * Returns how many were found; *version gets the catalog version they
 * belong to, to store the missing ones under with sy_cache_put_many (-1
 * when Redis is down: nothing is found or stored then). */
int sy_cache_get_many(sy_arena *a, const sy_catver *cv, const char *tenant,
                      int type, int n, const sy_str *whats, sy_str *values,
                      int64_t *version);

/* Store values[i] (those with a non-NULL p) for whats[i] under version,
 * in one pipeline. */
void sy_cache_put_many(sy_arena *a, const char *tenant, int type,
                       int64_t version, int n, const sy_str *whats,
                       const sy_str *values);

/* A product of the tenant changed: new catalog version.  Call after the
 * write committed. */
void sy_cache_catalog_bump(sy_arena *a, sy_catver *cv, const char *tenant);

/* The tenant's catalog version (for in-memory structures that must
 * follow product writes, like the vector store).  0 with *version, or
 * SY_EREDIS. */
int sy_cache_catalog_version(sy_arena *a, const sy_catver *cv,
                             const char *tenant, int64_t *version);

/* The GET of the tenant's catalog version, for a pipeline the request
 * sends anyway (the rate limit's); hand its reply to
 * sy_cache_version_reply, which makes it this request's version for
 * sy_cache_get and sy_cache_catalog_version.  SY_EINVAL for a bad
 * tenant id. */
int sy_cache_version_cmd(sy_arena *a, const char *tenant,
                         struct sy_redis_cmdv *cmd);
/* epoch: sy_inval_epoch() read before the command was sent; the version
 * is then kept in memory under it for sy_cache_version_known. */
void sy_cache_version_reply(sy_catver *cv, const char *tenant,
                            const struct redisReply *r, uint64_t epoch);

/* The tenant's catalog version from this responder's memory, when the
 * invalidation subscription (inval.h: "cat <tenant> <n>" on each bump)
 * has kept it current since it was read: true with cv set, else false
 * (then ask Redis: sy_cache_version_cmd). */
bool sy_cache_version_known(sy_catver *cv, const char *tenant);

/* Hits, misses and stored bytes counted into the tenants' stats hashes:
 * with batching on (responders) they are added up in memory and sent
 * without awaiting replies at most SY_CACHE_COUNTS_FLUSH_MS after the
 * first: the loop asks sy_cache_counts_due_ms (-1: nothing owed) and
 * calls sy_cache_counts_tick; sy_cache_counts_flush sends them now (at
 * exit; a stats read sends its own responder's first).  The stats of
 * GET /cache/stats may thus lag by up to that long. */
#define SY_CACHE_COUNTS_FLUSH_MS 1000
void sy_cache_counts_batch(bool on);
int64_t sy_cache_counts_due_ms(void);
void sy_cache_counts_tick(void);
void sy_cache_counts_flush(void);
/* Count n of "<k's type>:<field>" in k's stats hash that way (at once,
 * unawaited, when not batching): a hit served from memory makes no
 * Redis command (airesult.c uses it too). */
void sy_cache_count_async(const struct sy_cache_key *k, const char *field,
                          long long n);

/* Stats of one tenant, or of all tenants when tenant is NULL (sysadmin):
 * {hits, misses, hit_ratio, keys, bytes_raw, bytes_stored,
 *  compression_ratio, by_type: {list: {...}, ...}}. */
int sy_cache_stats(sy_arena *a, const char *tenant, struct json_object **out);

/* Invalidate a slice of the tenant's cache: type (-1: all types), user
 * (NULL: all users).  *deleted counts the entries removed.  A slice with
 * catalog types also moves the catalog version, so no responder serves
 * its memory copy of them afterwards; one with AI result types drops
 * every responder's memory copies of those (sy_airesult_forget). */
int sy_cache_delete(sy_arena *a, const char *tenant, int type,
                    const char *user, int64_t *deleted);

/* This responder's memory copies: entries, bytes held (with their
 * headers), and catalog bumps owed to Redis (for health and tests). */
void sy_cache_memory(int *entries, size_t *bytes, int *owed_bumps);

#endif
