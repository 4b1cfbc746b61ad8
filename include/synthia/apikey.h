/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * apikey.h - API keys: generation, hashing, lookup with a cache, revocation.
 *
 * A key is "pk_" or "sk_" followed by 32 base62 characters (190 bits of
 * randomness).  Only its SHA-256 is stored; `prefix` (kind and first 8
 * characters) names it in lists.  Lookup (key -> tenant, plan limits,
 * scopes, origins) is cached in Redis for auth.api_key_cache_ttl so a
 * request does not cost a database round trip; revocation and rotation
 * rewrite the cache entry in the same request, so they take effect at
 * once on every responder.  Each responder also keeps the records it read
 * in memory, confirmed on every request by a GET sent in the same round
 * trip as the rate-limit call: a keyed request costs one Redis round
 * trip.  last_used_at is remembered per responder and written to
 * PostgreSQL at most once a minute (one UPDATE for all keys used since),
 * never a write per request: it has one-minute resolution.
 */
#ifndef SYNTHIA_APIKEY_H
#define SYNTHIA_APIKEY_H

#include "synthia/arena.h"
#include "synthia/redis.h"
#include "synthia/request.h"
#include "synthia/str.h"

#define SY_APIKEY_LEN 35     /* "pk_" + 32 */
#define SY_APIKEY_PREFIX_LEN 11 /* "pk_" + 8 */

/* A new random key of kind (enum sy_key_kind) into key (SY_APIKEY_LEN+1),
 * its prefix (SY_APIKEY_PREFIX_LEN+1) and its SHA-256. */
void sy_apikey_generate(int kind, char *key, char *prefix,
                        unsigned char hash[32]);

/* Resolve a presented key into who (kind SY_WHO_KEY, tenant, key id and
 * kind, scopes, plan and limits, origins).  SY_EUNAUTH for malformed,
 * unknown, revoked or expired keys and inactive tenants; SY_EDB when the
 * key is not cached and PostgreSQL is unreachable. */
int sy_apikey_resolve(sy_arena *a, sy_str key, sy_principal *who);

/* Keys resolved from the responder's own memory (who->key_record set)
 * must be confirmed against the Redis record, which revocation and plan
 * changes rewrite.  The rate limiter sends sy_apikey_confirm_cmd in the
 * same round trip as its own call and checks the reply with
 * sy_apikey_confirm_reply; routes without a limit call sy_apikey_confirm.
 * Each returns 0 when the record is unchanged, SY_ESTALE when it changed
 * (the memory entry is dropped: admit the request again), or SY_EREDIS. */
void sy_apikey_confirm_cmd(const sy_principal *who, sy_redis_cmdv *out);
int sy_apikey_confirm_reply(const sy_principal *who,
                            const struct redisReply *r);
int sy_apikey_confirm(sy_arena *a, const sy_principal *who);

/* Drop the cached lookup of a key (by its hash) on revocation/rotation,
 * after the change has committed.  0, or SY_EREDIS (then the old answer
 * may be served until auth.api_key_cache_ttl runs out). */
int sy_apikey_forget(sy_arena *a, const unsigned char hash[32]);

/* Drop the cached lookups of every key of a tenant (plan, origins or
 * active flag changed).  Call after the change has committed. */
int sy_apikey_forget_tenant(sy_arena *a, const char *tenant_id);

/* Write the pending last_used_at updates now (a responder about to
 * exit calls this so the keys it served since its last flush count). */
void sy_apikey_flush_used(sy_arena *a);

#endif
