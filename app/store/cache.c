/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cache.c - the result cache (cache.h): LZ4 values in Redis with a TTL
 * per type, catalog-versioned keys, per-tenant counters, and a small
 * per-responder memory cache for when Redis is down.
 *
 * Key names and the stored form of values are cachekey.h's.
 *
 * A get is one EVALSHA: the script reads the catalog version, builds the
 * entry key, GETs it and counts the hit or miss.  A put is one EVALSHA
 * too, and stores under the version its get saw (remembered per process):
 * when a write bumped the version in between, the put is dropped rather
 * than filing data read before the write under the new version.  The
 * put is sent without awaiting its reply (sy_redis_eval_send).  The
 * counters are cumulative: "keys" counts puts, bytes_raw/bytes_stored sum
 * what was put (not what is resident).
 *
 * This responder's memory (256 entries, 4 MiB, 256 KiB each,
 * SY_CACHE_MEMORY_TTL_MS, raw values, least recently used out first)
 * keeps what it read or stored.  While Redis is up, a catalog entry is
 * answered from there only at the version this request read with its
 * rate limit (local_get); many-key lookups (sy_cache_get_many, product
 * JSON for searches) use it at the version they read.  When Redis is
 * down, gets and puts use it alone.  A catalog bump that cannot reach
 * Redis is remembered (up to 16 tenants) and sent when Redis answers
 * again, so entries cached before an outage do not outlive a write made
 * during it.
 */
#include "synthia/cache.h"
#include "synthia/cachekey.h"

#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/airesult.h"
#include "synthia/clock.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/inval.h"
#include "synthia/log.h"
#include "synthia/memcache.h"
#include "synthia/redis.h"

#define SCAN_COUNT "1000"
#define SCAN_ROUNDS_MAX 10000 /* x COUNT: 10M keys looked at, at most */
#define TENANTS_MAX 10000
#define STATS_BATCH 100

/* F_STALE and F_SAVED are the AI result cache's (airesult.h), shown for
 * the types that keep AI results only. */
enum {
    F_HITS,
    F_MISSES,
    F_KEYS,
    F_BYTES_RAW,
    F_BYTES_STORED,
    F_STALE,
    F_SAVED,
    F__COUNT
};

static const char *const field_names[F__COUNT] = {
    "hits",         "misses", "keys",          "bytes_raw",
    "bytes_stored", "stale",  "ai_calls_saved"};

/* ARGV: type, prefix, hash, versioned ("1"/"0").  The entry key is built
 * here rather than declared in KEYS: it has the tenant's hash tag like
 * KEYS[1] and KEYS[2], so it lives in their cluster slot.  Returns
 * {version, value or nil}. */
static sy_redis_script get_script = {
    "cache_get",
    "local v = '0'\n"
    "local key = ARGV[2] .. ARGV[3]\n"
    "if ARGV[4] == '1' then\n"
    "  v = redis.call('GET', KEYS[1]) or '0'\n"
    "  key = ARGV[2] .. 'v' .. v .. ':' .. ARGV[3]\n"
    "end\n"
    "local val = redis.call('GET', key)\n"
    "local f = val and ':hits' or ':misses'\n"
    "redis.call('HINCRBY', KEYS[2], ARGV[1] .. f, 1)\n"
    "return {tonumber(v), val}\n",
    ""};

/* ARGV: type, prefix, hash, versioned, version seen by the get ("-":
 * none), value, ttl ms, raw length.  Same slot argument as get_script.
 * Returns 1 when stored, 0 when the version moved on. */
static sy_redis_script put_script = {
    "cache_put",
    "local key = ARGV[2] .. ARGV[3]\n"
    "if ARGV[4] == '1' then\n"
    "  local v = redis.call('GET', KEYS[1]) or '0'\n"
    "  if ARGV[5] ~= '-' and ARGV[5] ~= v then return 0 end\n"
    "  key = ARGV[2] .. 'v' .. v .. ':' .. ARGV[3]\n"
    "end\n"
    "redis.call('SET', key, ARGV[6], 'PX', ARGV[7])\n"
    "redis.call('HINCRBY', KEYS[2], ARGV[1] .. ':keys', 1)\n"
    "redis.call('HINCRBY', KEYS[2], ARGV[1] .. ':bytes_raw', ARGV[8])\n"
    "redis.call('HINCRBY', KEYS[2], ARGV[1] .. ':bytes_stored', #ARGV[6])\n"
    "return 1\n",
    ""};

/* The version the last get of this process saw, for its put. */
static struct {
    bool set;
    int type;
    char tenant[SY_UUID_LEN + 1];
    char hash[SY_CACHEKEY_HASH_HEX + 1];
    char version[24];
    int64_t v;
} last_get;

/* What a memory entry holds before the value: enough to drop it by
 * tenant, type and user, and the catalog version it was read under. */
typedef struct mem_head {
    int type;
    char tenant[SY_UUID_LEN + 1];
    char user[SY_UUID_LEN + 1];
    int64_t version; /* -1: none */
} mem_head;

static sy_memcache mem =
    SY_MEMCACHE("results", SY_CACHE_MEMORY_ENTRIES, SY_CACHE_MEMORY_BYTES, SY_CACHE_MEMORY_TTL_MS);
SY_MEMCACHE_REGISTER(mem)

static char pending[SY_CACHE_OWED_MAX][SY_UUID_LEN + 1]; /* bumps owed to Redis */
static int npending;

static void
register_scripts(void)
{
    static bool done;
    if (!done) {
        sy_redis_register(&get_script);
        sy_redis_register(&put_script);
        done = true;
    }
}

/* --------------------------------------------------------- type names */

/* --------------------------------------------------------------- memory */

/* The memory key of k: type, tenant and hash. */
static size_t
mem_key(const sy_cache_key *k, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%d:%s:%s", k->type, k->tenant, k->hash);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* The entry for k (of catalog version `version`; -1: any) into arena
 * memory. */
static int
mem_get(sy_arena *a, const sy_cache_key *k, int64_t version, sy_str *value)
{
    char key[SY_CACHEKEY_MAX];
    size_t klen = mem_key(k, key, sizeof(key)), n = 0;
    const mem_head *h = klen ? sy_memcache_get(&mem, key, klen, &n) : NULL;
    if (!h || (version >= 0 && h->version != version))
        return SY_ENOTFOUND;
    char *copy = sy_arena_strndup(a, (const char *)(h + 1), n - sizeof(*h));
    if (!copy)
        return SY_ENOMEM;
    *value = (sy_str){copy, n - sizeof(*h)};
    return 0;
}

static void
mem_put(const sy_cache_key *k, int64_t version, sy_str value)
{
    char key[SY_CACHEKEY_MAX];
    size_t klen = mem_key(k, key, sizeof(key));
    if (value.len > SY_CACHE_MEMORY_VALUE_MAX || !klen)
        return;
    size_t n = sizeof(mem_head) + value.len;
    mem_head *h = malloc(n);
    if (!h)
        abort(); /* as the arena does */
    memset(h, 0, sizeof(*h));
    h->type = k->type;
    memcpy(h->tenant, k->tenant, sizeof(h->tenant));
    memcpy(h->user, k->user, sizeof(h->user));
    h->version = version;
    if (value.len)
        memcpy(h + 1, value.p, value.len);
    sy_memcache_put(&mem, key, klen, h, n);
    free(h);
}

typedef struct mem_slice {
    const char *tenant;
    int type;         /* -1: catalog types, -2: all */
    const char *user; /* NULL: any */
} mem_slice;

static bool
in_slice(const void *key, size_t klen, const void *val, size_t vlen, void *ud)
{
    const mem_head *h = val;
    const mem_slice *s = ud;
    (void)key;
    (void)klen;
    (void)vlen;
    bool of_type = s->type == -2 || h->type == s->type ||
                   (s->type == -1 && sy_cache_types[h->type].versioned);
    return of_type && !strcmp(h->tenant, s->tenant) &&
           (!s->user || !strcmp(h->user, s->user));
}

/* Drop the tenant's entries of type (-1: catalog types, -2: all) and
 * user segment (NULL: any). */
static void
mem_drop(const char *tenant, int type, const char *user)
{
    mem_slice s = {tenant, type, user};
    sy_memcache_drop_if(&mem, in_slice, &s);
}

void
sy_cache_memory(int *entries, size_t *bytes, int *owed_bumps)
{
    *entries = mem.used;
    *bytes = mem.bytes;
    *owed_bumps = npending;
}

/* ------------------------------------------------------ pending bumps */

static void
pending_add(const char *tenant)
{
    for (int i = 0; i < npending; i++)
        if (!strcmp(pending[i], tenant))
            return;
    if (npending == SY_CACHE_OWED_MAX) {
        sy_log(SY_LOG_WARN, "cache_bump_lost",
               "Redis down: more than %d tenants changed; their cached "
               "lists may be stale until they expire",
               SY_CACHE_OWED_MAX);
        return;
    }
    memcpy(pending[npending++], tenant, SY_UUID_LEN + 1);
}

/* ------------------------------------------- catalog versions in memory */

/* Each tenant's catalog version as this responder last read it, with
 * the invalidation epoch it was read under (inval.h): trusted while the
 * subscription has been confirmed since, as every bump publishes "cat
 * <tenant> <n>" and that drops the entry. */
typedef struct version_entry {
    int64_t version;
    uint64_t epoch;
} version_entry;

static sy_memcache versions = SY_MEMCACHE("catalog_versions", 256,
                                          256 * (64 + 16), 0);
SY_MEMCACHE_REGISTER(versions)

static void
publish_version(const char *tenant, long long v)
{
    char arg[SY_UUID_LEN + 24];
    sy_memcache_drop(&versions, tenant, strlen(tenant));
    snprintf(arg, sizeof(arg), "%s %lld", tenant, v);
    sy_inval_publish("cat", arg); /* before the answer */
}

/* "cat <tenant> <n>": the tenant's catalog changed. */
static void
on_cat(sy_str arg)
{
    char tenant[SY_UUID_LEN + 1];
    int64_t v;
    if (sy_inval_parse_cat(arg, tenant, &v) == 0)
        sy_memcache_drop(&versions, tenant, SY_UUID_LEN);
}
SY_INVAL_HANDLER("cat", on_cat)

bool
sy_cache_version_known(sy_catver *cv, const char *tenant)
{
    const version_entry *e;
    if (!sy_cache_key_uuid(tenant, cv->tenant) ||
        !(e = sy_memcache_get(&versions, cv->tenant, strlen(cv->tenant),
                              NULL)) ||
        !sy_inval_trusted(e->epoch))
        return false;
    cv->version = e->version;
    cv->set = true;
    return true;
}

/* Send the bumps owed, in one round trip, when Redis is back. */
static void
pending_flush(sy_arena *a)
{
    if (npending == 0 || sy_redis_down())
        return;
    sy_redis_cmdv cmds[SY_CACHE_OWED_MAX];
    redisReply *rep[SY_CACHE_OWED_MAX];
    char keys[SY_CACHE_OWED_MAX][SY_CACHEKEY_MAX];
    const char *argv[SY_CACHE_OWED_MAX][2];
    for (int i = 0; i < npending; i++) {
        snprintf(keys[i], SY_CACHEKEY_MAX, "sy:{t:%.36s}:catver", pending[i]);
        argv[i][0] = "INCR";
        argv[i][1] = keys[i];
        cmds[i] = (sy_redis_cmdv){2, argv[i], NULL};
    }
    if (sy_redis_pipeline(a, npending, cmds, rep) < 0)
        return;
    for (int i = 0; i < npending; i++)
        if (rep[i]->type == REDIS_REPLY_INTEGER)
            publish_version(pending[i], rep[i]->integer);
    npending = 0;
}

/* ---------------------------------------------------------------- Redis */

static void
remember_version(const sy_cache_key *k, long long version)
{
    last_get.set = true;
    last_get.type = k->type;
    memcpy(last_get.tenant, k->tenant, sizeof(last_get.tenant));
    memcpy(last_get.hash, k->hash, sizeof(last_get.hash));
    snprintf(last_get.version, sizeof(last_get.version), "%lld", version);
    last_get.v = version;
}

/* 0 with the value, SY_ENOTFOUND, or SY_EREDIS when Redis is down. */
static int
redis_get(sy_arena *a, const sy_cache_key *k, sy_str *value)
{
    const char *argv[] = {
        k->catver, k->stats, sy_cache_types[k->type].name,
        k->prefix, k->hash,  sy_cache_types[k->type].versioned ? "1" : "0"};
    redisReply *r;
    int rc = sy_redis_eval(a, &get_script, 2, 4, argv, NULL, &r);
    if (rc < 0)
        return rc == SY_EREDIS ? rc : SY_ENOTFOUND;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
        sy_log(SY_LOG_ERROR, "cache_get", "unexpected reply: %s",
               r->type == REDIS_REPLY_ERROR ? r->str : "not {version, value}");
        return SY_ENOTFOUND;
    }
    remember_version(k, r->element[0]->integer);
    redisReply *v = r->element[1];
    if (v->type != REDIS_REPLY_STRING)
        return SY_ENOTFOUND;
    rc = sy_cache_value_decode(a, (sy_str){v->str, v->len}, value);
    if (rc == SY_EINVAL)
        sy_log(SY_LOG_WARN, "cache_corrupt", "%s entry %s: not a cache value",
               sy_cache_types[k->type].name, k->hash);
    return rc < 0 ? SY_ENOTFOUND : 0;
}

/* The version this put should be filed under: the one its get saw. */
static bool
get_matches(const sy_cache_key *k)
{
    return last_get.set && last_get.type == k->type &&
           !strcmp(last_get.hash, k->hash) &&
           !strcmp(last_get.tenant, k->tenant);
}

static const char *
version_seen(const sy_cache_key *k)
{
    return get_matches(k) ? last_get.version : "-";
}

static int
redis_put(sy_arena *a, const sy_cache_key *k, sy_str stored, size_t raw)
{
    char rawlen[24];
    snprintf(rawlen, sizeof(rawlen), "%zu", raw);
    const char *argv[] = {k->catver,
                          k->stats,
                          sy_cache_types[k->type].name,
                          k->prefix,
                          k->hash,
                          sy_cache_types[k->type].versioned ? "1" : "0",
                          version_seen(k),
                          stored.p,
                          sy_cache_types[k->type].ttl_ms,
                          rawlen};
    size_t lens[10];
    for (int i = 0; i < 10; i++)
        lens[i] = i == 7 ? stored.len : strlen(argv[i]);
    /* nothing reads the outcome: a put refused because the version
     * moved on is what should happen, and an error reply is logged when
     * it is dropped (redis.h) */
    return sy_redis_eval_send(a, &put_script, 2, 8, argv, lens);
}

/* ------------------------------------------------------- local copies */

/* Counts owed to the tenants' stats hashes.  A responder (batching on)
 * adds them up here and sends them, without awaiting the replies, at most
 * SY_CACHE_COUNTS_FLUSH_MS after the first (its loop's timer), so that a
 * read served from memory makes no Redis command at all; other processes
 * send each count at once. */
#define OWED_MAX 32

typedef struct owed_count {
    char stats[SY_CACHEKEY_MAX];
    char field[32];
    long long n;
} owed_count;

static owed_count owed[OWED_MAX];
static int nowed;
static int64_t owed_since_us;
static bool batching;

static void
send_count(const char *stats, const char *field, long long n)
{
    char by[24];
    snprintf(by, sizeof(by), "%lld", n);
    sy_redis_send(4, (const char *[]){"HINCRBY", stats, field, by}, NULL);
}

void
sy_cache_counts_batch(bool on)
{
    batching = on;
}

void
sy_cache_counts_flush(void)
{
    for (int i = 0; i < nowed; i++)
        send_count(owed[i].stats, owed[i].field, owed[i].n);
    nowed = 0;
    owed_since_us = 0;
}

int64_t
sy_cache_counts_due_ms(void)
{
    if (!nowed)
        return -1;
    int64_t left =
        owed_since_us + SY_CACHE_COUNTS_FLUSH_MS * 1000 - sy_mono_us();
    return left <= 0 ? 0 : (left + 999) / 1000;
}

void
sy_cache_counts_tick(void)
{
    if (nowed && sy_cache_counts_due_ms() == 0)
        sy_cache_counts_flush();
}

/* Count n of field for k's type without awaiting the reply. */
void
sy_cache_count_async(const sy_cache_key *k, const char *field, long long n)
{
    char f[32];
    if (n <= 0)
        return;
    snprintf(f, sizeof(f), "%s:%s", sy_cache_types[k->type].name, field);
    if (!batching) {
        send_count(k->stats, f, n);
        return;
    }
    for (int i = 0; i < nowed; i++)
        if (!strcmp(owed[i].stats, k->stats) && !strcmp(owed[i].field, f)) {
            owed[i].n += n;
            return;
        }
    if (nowed == OWED_MAX)
        sy_cache_counts_flush();
    owed_count *o = &owed[nowed++];
    snprintf(o->stats, sizeof(o->stats), "%s", k->stats);
    memcpy(o->field, f, sizeof(f));
    o->n = n;
    if (!owed_since_us)
        owed_since_us = sy_mono_us();
}

/* While Redis is up, a versioned entry this responder read or wrote is
 * kept in memory too (SY_CACHE_MEMORY_TTL_MS at most) and served from
 * there when this request's rate-limit call read the tenant's catalog
 * version and it is still the entry's: no round trip at all.  The hit is
 * counted with a command whose reply is not awaited. */
static int
local_get(sy_arena *a, const sy_catver *cv, const sy_cache_key *k,
          sy_str *value)
{
    if (!sy_cache_types[k->type].versioned || !cv || !cv->set ||
        strcmp(cv->tenant, k->tenant) != 0 ||
        mem_get(a, k, cv->version, value) < 0)
        return SY_ENOTFOUND;
    sy_cache_count_async(k, "hits", 1);
    remember_version(k, cv->version);
    return 0;
}

/* ------------------------------------------------------------ get, put */

int
sy_cache_get(sy_arena *a, const sy_catver *cv, const char *tenant, int type,
             const char *user, sy_str what, sy_str *value)
{
    sy_cache_key k;
    if (sy_cache_key_make(&k, tenant, type, user, what) < 0)
        return SY_ENOTFOUND;
    register_scripts();
    pending_flush(a);
    if (!sy_redis_down()) {
        if (local_get(a, cv, &k, value) == 0)
            return 0;
        int rc = redis_get(a, &k, value);
        if (rc == 0 && sy_cache_types[type].versioned && get_matches(&k))
            mem_put(&k, last_get.v, *value);
        if (rc != SY_EREDIS)
            return rc;
    }
    return mem_get(a, &k, -1, value);
}

void
sy_cache_put(sy_arena *a, const char *tenant, int type, const char *user,
             sy_str what, sy_str value)
{
    sy_cache_key k;
    sy_str stored;
    if (sy_cache_key_make(&k, tenant, type, user, what) < 0 ||
        value.len > SY_CACHEVAL_MAX)
        return;
    register_scripts();
    pending_flush(a);
    if (!sy_redis_down()) {
        if (sy_cache_value_encode(a, value, &stored) < 0)
            return;
        /* The memory copy does not wait for Redis's word: it is filed
         * under the version the get saw and served only to a request
         * that read that same version (local_get), so when a write moved
         * the version on (and the script refused the put) it is never
         * served. */
        int rc = redis_put(a, &k, stored, value.len);
        if (rc == 0 && sy_cache_types[type].versioned && get_matches(&k))
            mem_put(&k, last_get.v, value);
        if (rc != SY_EREDIS)
            return;
    }
    mem_put(&k, -1, value);
}

/* ---------------------------------------------------------- many keys */

/* The entry key of k at version v, in arena memory. */
static char *
entry_key(sy_arena *a, const sy_cache_key *k, int64_t v)
{
    size_t cap = sizeof(k->prefix) + 24 + sizeof(k->hash);
    char *key = sy_arena_alloc(a, cap);
    if (key)
        snprintf(key, cap, "%sv%lld:%s", k->prefix, (long long)v, k->hash);
    return key;
}

/* Fill values[i] of the keys ks[i] that were found, from one MGET. */
static int
mget(sy_arena *a, sy_cache_key *ks, int64_t v, const int *idx, int m,
     sy_str *values)
{
    const char **argv = sy_arena_alloc(a, (size_t)(m + 1) * sizeof(*argv));
    redisReply *r;
    int found = 0;
    if (!argv)
        return 0;
    argv[0] = "MGET";
    for (int j = 0; j < m; j++)
        if (!(argv[j + 1] = entry_key(a, &ks[idx[j]], v)))
            return 0;
    if (sy_redis_argv(a, m + 1, argv, NULL, &r) < 0 ||
        r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)m)
        return 0;
    for (int j = 0; j < m; j++) {
        redisReply *e = r->element[j];
        sy_str *out = &values[idx[j]];
        if (e->type != REDIS_REPLY_STRING ||
            sy_cache_value_decode(a, (sy_str){e->str, e->len}, out) < 0) {
            *out = SY_STR_NULL;
            continue;
        }
        mem_put(&ks[idx[j]], v, *out);
        found++;
    }
    return found;
}

int
sy_cache_get_many(sy_arena *a, const sy_catver *cv, const char *tenant,
                  int type, int n, const sy_str *whats, sy_str *values,
                  int64_t *version)
{
    int64_t v;
    sy_cache_key *ks;
    int *idx, m = 0, found = 0;
    for (int i = 0; i < n; i++)
        values[i] = SY_STR_NULL;
    *version = -1;
    if (type < 0 || type >= SY_CACHE__COUNT ||
        !sy_cache_types[type].versioned || n <= 0 || sy_redis_down() ||
        sy_cache_catalog_version(a, cv, tenant, &v) < 0 ||
        !(ks = sy_arena_alloc(a, (size_t)n * sizeof(*ks))) ||
        !(idx = sy_arena_alloc(a, (size_t)n * sizeof(*idx))))
        return 0;
    for (int i = 0; i < n; i++) {
        if (sy_cache_key_make(&ks[i], tenant, type, NULL, whats[i]) < 0)
            return 0;
        if (mem_get(a, &ks[i], v, &values[i]) == 0)
            found++;
        else
            idx[m++] = i;
    }
    if (m > 0)
        found += mget(a, ks, v, idx, m, values);
    sy_cache_count_async(&ks[0], "hits", found);
    sy_cache_count_async(&ks[0], "misses", n - found);
    *version = v;
    return found;
}

void
sy_cache_put_many(sy_arena *a, const char *tenant, int type, int64_t version,
                  int n, const sy_str *whats, const sy_str *values)
{
    long long raw = 0, stored_total = 0;
    int m = 0;
    sy_cache_key k;
    if (version < 0 || n <= 0 || type < 0 || type >= SY_CACHE__COUNT ||
        !sy_cache_types[type].versioned || sy_redis_down())
        return;
    sy_redis_cmdv *cmds = sy_arena_alloc(a, (size_t)n * sizeof(*cmds));
    if (!cmds)
        return;
    for (int i = 0; i < n; i++) {
        sy_str stored;
        const char **argv = sy_arena_alloc(a, 5 * sizeof(*argv));
        size_t *lens = sy_arena_alloc(a, 5 * sizeof(*lens));
        if (!argv || !lens || !values[i].p ||
            sy_cache_key_make(&k, tenant, type, NULL, whats[i]) < 0 ||
            sy_cache_value_encode(a, values[i], &stored) < 0 ||
            !(argv[1] = entry_key(a, &k, version)))
            continue;
        argv[0] = "SET";
        argv[2] = stored.p;
        argv[3] = "PX";
        argv[4] = sy_cache_types[type].ttl_ms;
        for (int j = 0; j < 5; j++)
            lens[j] = j == 2 ? stored.len : strlen(argv[j]);
        cmds[m++] = (sy_redis_cmdv){5, argv, lens};
        mem_put(&k, version, values[i]);
        raw += (long long)values[i].len;
        stored_total += (long long)stored.len;
    }
    /* nothing reads the SETs' replies: one write, no wait */
    if (m == 0 || sy_redis_send_many(m, cmds) < 0)
        return;
    sy_cache_count_async(&k, "keys", m);
    sy_cache_count_async(&k, "bytes_raw", raw);
    sy_cache_count_async(&k, "bytes_stored", stored_total);
}

/* ------------------------------------------------------ catalog version */

void
sy_cache_catalog_bump(sy_arena *a, sy_catver *cv, const char *tenant)
{
    sy_cache_key k;
    if (sy_cache_key_tenant(&k, tenant) < 0)
        return;
    mem_drop(k.tenant, -1, NULL);
    if (cv)
        cv->set = false;
    pending_flush(a);
    redisReply *r;
    if (sy_redis_down() ||
        sy_redis_argv(a, 2, (const char *[]){"INCR", k.catver}, NULL, &r) < 0)
        pending_add(k.tenant);
    else if (r->type == REDIS_REPLY_INTEGER)
        publish_version(k.tenant, r->integer);
}

int
sy_cache_catalog_version(sy_arena *a, const sy_catver *cv, const char *tenant,
                         int64_t *version)
{
    sy_cache_key k;
    if (sy_cache_key_tenant(&k, tenant) < 0)
        return SY_EINVAL;
    if (cv && cv->set && strcmp(cv->tenant, k.tenant) == 0) {
        *version = cv->version;
        return 0;
    }
    pending_flush(a);
    if (sy_redis_down())
        return SY_EREDIS;
    redisReply *r;
    int rc = sy_redis_argv(a, 2, (const char *[]){"GET", k.catver}, NULL, &r);
    if (rc < 0)
        return rc;
    int64_t v = 0;
    if (r->type == REDIS_REPLY_STRING &&
        sy_parse_i64((sy_str){r->str, r->len}, 0, INT64_MAX, &v) < 0)
        return SY_EREDIS;
    *version = v;
    return 0;
}

int
sy_cache_version_cmd(sy_arena *a, const char *tenant, sy_redis_cmdv *cmd)
{
    sy_cache_key k;
    const char **argv = sy_arena_alloc(a, 2 * sizeof(*argv));
    if (sy_cache_key_tenant(&k, tenant) < 0 || !argv ||
        !(argv[1] = sy_arena_strndup(a, k.catver, strlen(k.catver))))
        return SY_EINVAL;
    argv[0] = "GET";
    *cmd = (sy_redis_cmdv){2, argv, NULL};
    return 0;
}

void
sy_cache_version_reply(sy_catver *cv, const char *tenant,
                       const struct redisReply *r, uint64_t epoch)
{
    int64_t v = 0;
    cv->set = false;
    if (!sy_cache_key_uuid(tenant, cv->tenant) ||
        (r->type != REDIS_REPLY_NIL && r->type != REDIS_REPLY_STRING) ||
        (r->type == REDIS_REPLY_STRING &&
         sy_parse_i64((sy_str){r->str, r->len}, 0, INT64_MAX, &v) < 0))
        return;
    cv->version = v;
    cv->set = true;
    if (epoch) {
        version_entry e = {v, epoch};
        sy_memcache_put(&versions, cv->tenant, strlen(cv->tenant), &e,
                        sizeof(e));
    }
}

/* ---------------------------------------------------------------- stats */

typedef struct totals {
    int64_t n[SY_CACHE__COUNT][F__COUNT];
    int64_t tenants;
    bool partial;
} totals;

/* Add one HGETALL reply of a stats hash ("<type>:<field>" -> count). */
static void
add_hash(totals *t, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *f = r->element[i], *v = r->element[i + 1];
        const char *colon = memchr(f->str, ':', f->len);
        int64_t n;
        if (!colon || sy_parse_i64((sy_str){v->str, v->len}, INT64_MIN,
                                   INT64_MAX, &n) < 0)
            continue;
        int type =
            sy_cache_type_parse((sy_str){f->str, (size_t)(colon - f->str)});
        sy_str field = {colon + 1, f->len - (size_t)(colon + 1 - f->str)};
        for (int j = 0; type >= 0 && j < F__COUNT; j++)
            if (sy_str_eqc(field, field_names[j]))
                t->n[type][j] += n;
    }
}

static json_object *
ratio(int64_t num, int64_t den)
{
    double r = den > 0 ? (double)num / (double)den : 0.0;
    char s[32];
    snprintf(s, sizeof(s), "%.4f", r);
    return json_object_new_double_s(r, s);
}

/* {hits, misses, hit_ratio, keys, bytes_raw, bytes_stored,
 * compression_ratio} (and stale, ai_calls_saved when ai): compression_ratio is raw / stored (3.0: stored
 * values take a third of the raw size), 0 before any put. */
static json_object *
counts_json(const int64_t n[F__COUNT], bool ai)
{
    json_object *o = json_object_new_object();
    for (int j = 0; j < (ai ? F__COUNT : F_STALE); j++) {
        json_object_object_add(o, field_names[j], json_object_new_int64(n[j]));
        if (j == F_MISSES)
            json_object_object_add(o, "hit_ratio",
                                   ratio(n[F_HITS], n[F_HITS] + n[F_MISSES]));
    }
    json_object_object_add(o, "compression_ratio",
                           ratio(n[F_BYTES_RAW], n[F_BYTES_STORED]));
    return o;
}

static json_object *
totals_json(const totals *t, bool global)
{
    int64_t sum[F__COUNT] = {0};
    json_object *by_type = json_object_new_object();
    for (int i = 0; i < SY_CACHE__COUNT; i++) {
        for (int j = 0; j < F__COUNT; j++)
            sum[j] += t->n[i][j];
        json_object_object_add(by_type, sy_cache_types[i].name,
                               counts_json(t->n[i], sy_cache_types[i].ai));
    }
    json_object *o = counts_json(sum, true);
    json_object_object_add(o, "by_type", by_type);
    if (global) {
        json_object_object_add(o, "tenants", json_object_new_int64(t->tenants));
        json_object_object_add(o, "partial",
                               json_object_new_boolean(t->partial));
    }
    return o;
}

/* Called with each SCAN batch (an array reply of key names) and a
 * scratch arena emptied after the call.  Returns 0 to go on, 1 to stop,
 * or an error. */
typedef int (*scan_fn)(void *ctx, sy_arena *scratch, const redisReply *keys);

/* SCAN MATCH pattern, COUNT SCAN_COUNT a step, at most SCAN_ROUNDS_MAX
 * steps (then *partial).  Each step's replies are freed before the
 * next, so a large keyspace costs time, not memory. */
static int
scan_each(const char *pattern, scan_fn fn, void *ctx, bool *partial)
{
    sy_arena scratch;
    sy_arena_init(&scratch, 16384, 0);
    char cursor[32] = "0";
    int rc = 0, round = 0;
    do {
        const char *argv[] = {"SCAN",  cursor,  "MATCH",
                              pattern, "COUNT", SCAN_COUNT};
        redisReply *r;
        rc = sy_redis_argv(&scratch, 6, argv, NULL, &r);
        if (rc == 0 && (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                        r->element[0]->type != REDIS_REPLY_STRING ||
                        r->element[0]->len >= sizeof(cursor) ||
                        r->element[1]->type != REDIS_REPLY_ARRAY))
            rc = SY_EREDIS;
        if (rc == 0) {
            snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
            rc = fn(ctx, &scratch, r->element[1]);
        }
        sy_arena_reset(&scratch);
    } while (rc == 0 && strcmp(cursor, "0") && ++round < SCAN_ROUNDS_MAX);
    sy_arena_cleanup(&scratch);
    if (rc == 0 && strcmp(cursor, "0")) {
        sy_log(SY_LOG_WARN, "cache_scan", "%s: stopped after %d steps", pattern,
               SCAN_ROUNDS_MAX);
        if (partial)
            *partial = true;
    }
    return rc < 0 ? rc : 0;
}

typedef struct key_list {
    char (*keys)[SY_CACHEKEY_MAX];
    size_t n;
    bool full;
} key_list;

static int
collect_keys(void *ctx, sy_arena *scratch, const redisReply *found)
{
    key_list *l = ctx;
    (void)scratch;
    for (size_t i = 0; i < found->elements; i++) {
        const redisReply *e = found->element[i];
        if (l->n == TENANTS_MAX) {
            l->full = true;
            return 1;
        }
        if (e->type == REDIS_REPLY_STRING && e->len < SY_CACHEKEY_MAX)
            snprintf(l->keys[l->n++], SY_CACHEKEY_MAX, "%.*s", (int)e->len,
                     e->str);
    }
    return 0;
}

static int
cmp_key(const void *x, const void *y)
{
    return strcmp(x, y);
}

/* Names of every tenant's stats hash (at most TENANTS_MAX), sorted and
 * without the duplicates SCAN may return.  Caller frees l->keys. */
static int
stats_keys(key_list *l, bool *partial)
{
    l->keys = calloc(TENANTS_MAX, SY_CACHEKEY_MAX);
    if (!l->keys)
        abort();
    int rc = scan_each("sy:{t:*}:c:stats", collect_keys, l, partial);
    if (l->full)
        *partial = true;
    qsort(l->keys, l->n, SY_CACHEKEY_MAX, cmp_key);
    size_t u = 0;
    for (size_t i = 0; i < l->n; i++)
        if (u == 0 || strcmp(l->keys[u - 1], l->keys[i]))
            memmove(l->keys[u++], l->keys[i], SY_CACHEKEY_MAX);
    l->n = u;
    return rc;
}

/* Sum every tenant's stats hash, STATS_BATCH HGETALLs per round trip;
 * each batch's replies are freed with its scratch arena. */
static int
global_totals(totals *t)
{
    key_list l = {0};
    int rc = stats_keys(&l, &t->partial);
    sy_arena scratch;
    sy_arena_init(&scratch, 16384, 0);
    for (size_t i = 0; rc == 0 && i < l.n; i += STATS_BATCH) {
        int m = (int)(l.n - i < STATS_BATCH ? l.n - i : STATS_BATCH);
        sy_redis_cmdv cmds[STATS_BATCH];
        redisReply *rep[STATS_BATCH];
        const char *argv[STATS_BATCH][2];
        for (int j = 0; j < m; j++) {
            argv[j][0] = "HGETALL";
            argv[j][1] = l.keys[i + (size_t)j];
            cmds[j] = (sy_redis_cmdv){2, argv[j], NULL};
        }
        rc = sy_redis_pipeline(&scratch, m, cmds, rep);
        for (int j = 0; rc == 0 && j < m; j++)
            add_hash(t, rep[j]);
        sy_arena_reset(&scratch);
    }
    sy_arena_cleanup(&scratch);
    free(l.keys);
    t->tenants = (int64_t)l.n;
    return rc;
}

int
sy_cache_stats(sy_arena *a, const char *tenant, struct json_object **out)
{
    totals t = {0};
    sy_cache_key k;
    int rc;
    if (tenant && sy_cache_key_tenant(&k, tenant) < 0)
        return SY_EINVAL;
    pending_flush(a);
    sy_cache_counts_flush(); /* this responder's own, before the read */
    if (sy_redis_down())
        return SY_EREDIS;
    if (tenant) {
        redisReply *r;
        rc =
            sy_redis_argv(a, 2, (const char *[]){"HGETALL", k.stats}, NULL, &r);
        if (rc == 0)
            add_hash(&t, r);
    } else {
        rc = global_totals(&t);
    }
    if (rc < 0)
        return rc;
    *out = totals_json(&t, tenant == NULL);
    return 0;
}

/* --------------------------------------------------------------- delete */

/* UNLINK one SCAN batch; ctx is the running count. */
static int
unlink_keys(void *ctx, sy_arena *scratch, const redisReply *found)
{
    size_t n = found->elements;
    if (n == 0)
        return 0;
    const char **argv = sy_arena_alloc(scratch, (n + 1) * sizeof(*argv));
    size_t *lens = sy_arena_alloc(scratch, (n + 1) * sizeof(*lens));
    if (!argv || !lens)
        return SY_ENOMEM;
    argv[0] = "UNLINK";
    lens[0] = 6;
    for (size_t i = 0; i < n; i++) {
        if (found->element[i]->type != REDIS_REPLY_STRING)
            return SY_EREDIS;
        argv[i + 1] = found->element[i]->str;
        lens[i + 1] = found->element[i]->len;
    }
    redisReply *r;
    int rc = sy_redis_argv(scratch, (int)n + 1, argv, lens, &r);
    if (rc == 0 && r->type == REDIS_REPLY_INTEGER)
        *(int64_t *)ctx += r->integer;
    return rc;
}

int
sy_cache_delete(sy_arena *a, const char *tenant, int type, const char *user,
                int64_t *deleted)
{
    sy_cache_key k;
    char useg[SY_UUID_LEN + 1];
    if (sy_cache_key_tenant(&k, tenant) < 0 || type < -1 ||
        type >= SY_CACHE__COUNT)
        return SY_EINVAL;
    if (user)
        sy_cache_key_user(user, useg);
    mem_drop(k.tenant, type < 0 ? -2 : type, user ? useg : NULL);
    pending_flush(a);
    int rc = sy_redis_down() ? SY_EREDIS : 0;
    *deleted = 0;
    for (int t = 0; rc == 0 && t < SY_CACHE__COUNT; t++) {
        if ((type >= 0 && t != type) || (user && sy_cache_types[t].versioned))
            continue;
        char pattern[SY_CACHEKEY_MAX];
        if (user)
            snprintf(pattern, sizeof(pattern), "sy:{t:%s}:c:%s:u:%s:*",
                     k.tenant, sy_cache_types[t].name, useg);
        else
            snprintf(pattern, sizeof(pattern), "sy:{t:%s}:c:%s:*", k.tenant,
                     sy_cache_types[t].name);
        rc = scan_each(pattern, unlink_keys, deleted, NULL);
    }
    /* Only once the entries are gone (or some, on an error): a responder
     * that drops its copies on the message and then reads the entry again
     * through Redis must not find it and keep it under the same epoch. */
    if (type < 0 || !sy_cache_types[type].versioned)
        sy_airesult_forget(k.tenant, user ? useg : NULL); /* everywhere */
    if (rc < 0)
        return rc;
    if (!user && (type < 0 || sy_cache_types[type].versioned))
        sy_cache_catalog_bump(a, NULL, k.tenant);
    return 0;
}
