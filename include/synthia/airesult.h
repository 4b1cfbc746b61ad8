/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * airesult.h - the AI result cache in Redis (app/store/airesult.c):
 * what an analyser or provider answered for one canonical request,
 * kept so that the same request does not call it again.
 *
 * An entry lives beside the result cache's own (cachekey.h), under the
 * tenant's hash tag and the user's segment, so nothing is shared across
 * tenants and DELETE /cache?type=analysis&user_id= (SCAN MATCH
 * sy:{t:<tenant>}:c:analysis:u:<user>:*) reaches every key below:
 *
 *   <entry>        sy:{t:<tenant>}:c:<type>:u:<user>:<hash>
 *                  the fresh result, for ai.cache_ttl (X-Cache: HIT)
 *   <entry>:stale  the last good result, for ai.cache_ttl +
 *                  ai.cache_stale_ttl (X-Cache: STALE when every
 *                  provider fails)
 *   <entry>:neg    a provider's refusal of the input (its 4xx), for
 *                  ai.cache_negative_ttl
 *   <entry>:lock   single flight: the token of the request computing the
 *                  entry (SET NX PX), for at most the provider timeout
 *
 * <hash> is cachekey.h's: SHA-256 of the user and the canonical request.
 * Values are stored as cachekey.h says (LZ4 above 64 bytes).  Lookups
 * count hits, misses, stale answers and AI calls saved in the tenant's
 * stats hash (GET /cache/stats) and in /metrics
 * (synthia_ai_cache_requests_total{type,result}).
 *
 * A responder keeps a copy of each fresh or negative entry it read
 * (keyed by the entry and the guard: the input upload) in its memory
 * (memcache.h, "ai_results"), for no longer than the entry's and the
 * upload's remaining PTTL as that lookup read them, and serves it with
 * no Redis command while the invalidation subscription (inval.h) has
 * been up since: its hit counters are then batched like the result
 * cache's (sy_cache_count_async).  What removes an entry or its upload
 * before its TTL publishes once they are gone from Redis, before its
 * request answers: DELETE /cache and erasure
 * ("aicache <tenant> <user segment|*>", sy_airesult_forget), a user's
 * or tenant's change ("user <id>", "tenant <id>").  While the
 * subscription is down every lookup is the script, as before.
 *
 * Waiting for another request's result polls the entry (one EVALSHA a
 * step; 5 ms doubling to 50 ms between steps) rather than a blocking
 * BLPOP: a blocking command would outlast redis.timeout, and a responder
 * blocks while it waits either way until parked requests exist.
 */
#ifndef SYNTHIA_AIRESULT_H
#define SYNTHIA_AIRESULT_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/cachekey.h"
#include "synthia/str.h"

typedef struct sy_airesult_key {
    sy_cache_key k;
    char entry[2 * SY_CACHEKEY_MAX];
    char stale[2 * SY_CACHEKEY_MAX + 8];
    char neg[2 * SY_CACHEKEY_MAX + 8];
    char lock[2 * SY_CACHEKEY_MAX + 8];
    char guard[128]; /* "" or a key that must exist (the input upload) */
} sy_airesult_key;

enum sy_airesult_found {
    SY_AIRESULT_MISS = 0,
    SY_AIRESULT_HIT,      /* a fresh result */
    SY_AIRESULT_NEGATIVE, /* a refusal kept by the negative cache */
    SY_AIRESULT_GONE,     /* the guard key does not exist (nothing counted) */
};

/* The keys of (tenant, cache type, user or NULL, canonical request):
 * 0 or SY_EINVAL (tenant not a uuid, unknown type). */
int sy_airesult_key_make(sy_airesult_key *k, const char *tenant, int type,
                         const char *user, sy_str what);

/* One look: *found is HIT or NEGATIVE with *value (arena memory; both
 * counted as a hit and an AI call saved), or MISS (nothing counted), or
 * GONE when k->guard is set and that key does not exist (the input was
 * deleted: checked in the same round trip).
 * 0, or SY_EREDIS (Redis down: the caller goes without the cache). */
int sy_airesult_get(sy_arena *a, const sy_airesult_key *k, int *found,
                    sy_str *value);

/* Try to become the one request that computes the entry: 1 when this
 * token now holds the lock for ttl_ms, 0 when another does, SY_EREDIS. */
int sy_airesult_lock(sy_arena *a, const sy_airesult_key *k,
                     const char *token, int64_t ttl_ms);

/* Wait for the lock holder's result until deadline_us (sy_mono_us):
 * 0 with *found (HIT or NEGATIVE, counted) and *value; SY_ENOTFOUND when
 * the lock went away without a result (its holder failed or died: try
 * to take the lock); SY_ETIMEOUT; SY_EREDIS. */
int sy_airesult_wait(sy_arena *a, const sy_airesult_key *k,
                     int64_t deadline_us, int *found, sy_str *value);

/* Store a result (fresh for ttl_ms, and as the last good one for ttl_ms
 * + stale_ms) or, negative, a refusal for neg_ms (0: not stored); then
 * release the lock if token still holds it.  Errors are logged and
 * swallowed. */
void sy_airesult_put(sy_arena *a, const sy_airesult_key *k,
                     const char *token, sy_str value, bool negative,
                     int64_t ttl_ms, int64_t stale_ms, int64_t neg_ms);

/* Release the lock if token still holds it (the computation failed). */
void sy_airesult_unlock(sy_arena *a, const sy_airesult_key *k,
                        const char *token);

/* The last good result, counted as a stale answer and an AI call saved:
 * 0 and *value, SY_ENOTFOUND, SY_EREDIS. */
int sy_airesult_stale(sy_arena *a, const sy_airesult_key *k, sy_str *value);

/* Count a miss: the request calls the analyser or provider. */
void sy_airesult_miss(const sy_airesult_key *k);

/* Drop the memory copies of the tenant's AI results of user segment
 * useg (cachekey.h's: a uuid, "-" or "x<hash>"; NULL: every user's)
 * here, and on every other responder by publishing "aicache <tenant>
 * <useg|*>".  Call once the entries are deleted from Redis (a responder
 * reading one in between would keep it under the current epoch) and
 * before the caller's request answers. */
void sy_airesult_forget(const char *tenant, const char *useg);

#endif
