/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * apikey.c - API keys: generation, lookup through a Redis cache,
 * invalidation, and last_used_at bookkeeping (apikey.h).
 *
 * A lookup hashes the presented key (SHA-256) and reads
 * sy:{k:<first 16 hex of the hash>}:info, a one-line record of what the
 * request needs (key and tenant ids, kind, scopes, plan and limits,
 * origins, expiry).  On a miss it asks PostgreSQL and caches the answer
 * for auth.api_key_cache_ttl, or a "no such key" answer for a few
 * seconds so a flood of made-up keys does not reach PostgreSQL.  A new
 * key can never be hidden by such an entry: keys are 190 random bits, so
 * a negative entry exists only for a key someone guessed before it was
 * created.  Expiry is checked against the clock on every hit.  Without
 * Redis every lookup goes to PostgreSQL (slower, still correct).
 *
 * Invalidation writes a short-lived "stale" marker instead of deleting:
 * a request that read PostgreSQL just before a revocation committed
 * would otherwise put the old answer back right after the delete.  Fills
 * use SET NX, so they never replace a marker, and a fill that took longer
 * than half the marker's life gives up caching.  For a tenant, the cached
 * entries are listed in the set sy:{t:<tenant>}:keyhashes; forgetting the
 * tenant marks each one, and a tenant marker stops fills in flight.
 * Keys with different hash tags are written by separate commands, so all
 * of this works on Redis Cluster.
 *
 * last_used_at has one-minute resolution: each responder remembers the
 * keys it served and writes them all with one UPDATE at most once a
 * minute, on the back of a request, never once per request.
 */
#include "synthia/apikey.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "synthia/clock.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/inval.h"
#include "synthia/log.h"
#include "synthia/memcache.h"
#include "synthia/redis.h"
#include "synthia/tenants.h"
#include "synthia/router.h"

#define BODY_LEN (SY_APIKEY_LEN - 3)
#define HEX_LEN (2 * SY_SHA256_LEN)
#define INFO_KEY_MAX 64
#define NEGATIVE_TTL_MS 5000
#define STALE_TTL_MS 10000
#define FILL_MAX_US (STALE_TTL_MS * 1000 / 2)
#define TENANT_SET_MARGIN_MS 60000
#define FLUSH_EVERY_US (60 * 1000000LL)
#define FLUSH_FULL_US 1000000LL
#define MAX_USED 128
#define RECORD_VERSION "1"
#define RECORD_FIELDS 11 /* before the origins, which come last */

static const char base62[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* What a key resolves to; the cached record holds the same fields. */
typedef struct key_info {
    char hash_hex[HEX_LEN + 1];
    char key_id[SY_UUID_LEN + 1];
    char tenant_id[SY_UUID_LEN + 1];
    int kind;
    uint32_t scopes;
    char plan[sizeof(((sy_principal *)0)->plan)];
    int64_t limits[4];  /* by enum sy_rate_class */
    int64_t expires_ms; /* 0: never */
    const char *origins;
} key_info;

enum cache_state {
    CACHE_HIT,
    CACHE_NEGATIVE,
    CACHE_MISS,   /* absent: ask PostgreSQL, then fill */
    CACHE_BYPASS, /* Redis down, marked stale, or unreadable: no fill */
};

/* ----------------------------------------------------------- generation */

void
sy_apikey_generate(int kind, char *key, char *prefix, unsigned char hash[32])
{
    unsigned char buf[64];
    size_t n = 0;
    memcpy(key, kind == SY_KEY_SECRET ? "sk_" : "pk_", 3);
    while (n < BODY_LEN) {
        sy_random_bytes(buf, sizeof(buf));
        /* 248 = 4 * 62: bytes above it are dropped, so every character
         * is equally likely (no modulo bias). */
        for (size_t i = 0; i < sizeof(buf) && n < BODY_LEN; i++)
            if (buf[i] < 248)
                key[3 + n++] = base62[buf[i] % 62];
    }
    key[SY_APIKEY_LEN] = '\0';
    memcpy(prefix, key, SY_APIKEY_PREFIX_LEN);
    prefix[SY_APIKEY_PREFIX_LEN] = '\0';
    sy_sha256(key, SY_APIKEY_LEN, hash);
    explicit_bzero(buf, sizeof(buf));
}

static bool
is_base62(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
           (c >= 'a' && c <= 'z');
}

static bool
well_formed(sy_str k)
{
    if (k.len != SY_APIKEY_LEN ||
        (!sy_str_starts(k, "pk_") && !sy_str_starts(k, "sk_")))
        return false;
    for (size_t i = 3; i < k.len; i++)
        if (!is_base62(k.p[i]))
            return false;
    return true;
}

static void
info_key(char out[INFO_KEY_MAX], const char *hash_hex)
{
    snprintf(out, INFO_KEY_MAX, "sy:{k:%.16s}:info", hash_hex);
}

static int64_t
ttl_ms(void)
{
    return sy_conf ? sy_conf->api_key_cache_ttl_ms : 0;
}

/* ---------------------------------------------------- the cached record */

/* "1 \t hash \t key id \t tenant \t p|s \t scopes \t plan \t read \t
 * write \t ai \t expires_ms \t origins" (origins last: free text). */
static const char *
record_format(sy_arena *a, const key_info *k, size_t *len)
{
    sy_buf b;
    sy_buf_init(&b, a, 4096 + strlen(k->origins));
    sy_buf_printf(&b, RECORD_VERSION "\t%s\t%s\t%s\t%c\t%u\t%s", k->hash_hex,
                  k->key_id, k->tenant_id, k->kind == SY_KEY_SECRET ? 's' : 'p',
                  k->scopes, k->plan);
    sy_buf_printf(
        &b, "\t%lld\t%lld\t%lld\t%lld\t%s", (long long)k->limits[SY_RATE_READ],
        (long long)k->limits[SY_RATE_WRITE], (long long)k->limits[SY_RATE_AI],
        (long long)k->expires_ms, k->origins);
    *len = b.len;
    return b.failed ? NULL : sy_buf_cstr(&b);
}

static int
copy_field(char *dst, size_t cap, sy_str f)
{
    if (f.len == 0 || f.len >= cap)
        return SY_EINVAL;
    memcpy(dst, f.p, f.len);
    dst[f.len] = '\0';
    return 0;
}

static int
parse_kind(sy_str f, int *kind)
{
    if (sy_str_eqc(f, "s"))
        *kind = SY_KEY_SECRET;
    else if (sy_str_eqc(f, "p"))
        *kind = SY_KEY_PUBLISHABLE;
    else
        return SY_EINVAL;
    return 0;
}

/* The fields of a record; f[RECORD_FIELDS] holds the origins. */
static int
record_split(sy_str r, sy_str f[RECORD_FIELDS + 1])
{
    const char *p = r.p, *end = r.p + r.len;
    for (int i = 0; i < RECORD_FIELDS; i++) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));
        if (!tab)
            return SY_EINVAL;
        f[i] = (sy_str){p, (size_t)(tab - p)};
        p = tab + 1;
    }
    f[RECORD_FIELDS] = (sy_str){p, (size_t)(end - p)};
    return 0;
}

static int
record_parse(sy_arena *a, sy_str r, key_info *k)
{
    sy_str f[RECORD_FIELDS + 1];
    int64_t scopes;
    if (record_split(r, f) < 0 || !sy_str_eqc(f[0], RECORD_VERSION) ||
        copy_field(k->hash_hex, sizeof(k->hash_hex), f[1]) < 0 ||
        copy_field(k->key_id, sizeof(k->key_id), f[2]) < 0 ||
        copy_field(k->tenant_id, sizeof(k->tenant_id), f[3]) < 0 ||
        parse_kind(f[4], &k->kind) < 0 ||
        sy_parse_i64(f[5], 0, UINT32_MAX, &scopes) < 0 ||
        copy_field(k->plan, sizeof(k->plan), f[6]) < 0 ||
        sy_parse_i64(f[7], 0, INT32_MAX, &k->limits[SY_RATE_READ]) < 0 ||
        sy_parse_i64(f[8], 0, INT32_MAX, &k->limits[SY_RATE_WRITE]) < 0 ||
        sy_parse_i64(f[9], 0, INT32_MAX, &k->limits[SY_RATE_AI]) < 0 ||
        sy_parse_i64(f[10], 0, INT64_MAX, &k->expires_ms) < 0)
        return SY_EINVAL;
    k->scopes = (uint32_t)scopes;
    k->origins = sy_str_dup(a, f[RECORD_FIELDS]);
    return k->origins ? 0 : SY_ENOMEM;
}

/* ------------------------------------------------------ memory cache */

/* Records this responder read from Redis, kept so that a request with a
 * known key needs no GET of its own.  While the invalidation
 * subscription is up and confirmed since the record was read (its epoch,
 * inval.h), a change of the key is pushed ("key <16 hex>", "keys
 * <tenant>") and drops the entry: the record is served as it is, with no
 * command.  Otherwise the GET that confirms the record travels in the
 * same round trip as the rate-limit call, and a confirmed record takes
 * the epoch read before the GET.  Small, fixed, least recently used
 * first; a record that fails confirmation is dropped. */
static sy_memcache mem = SY_MEMCACHE("apikey", 64, 64 * 2048, 0);
SY_MEMCACHE_REGISTER(mem)

/* A memory entry: the epoch it was read or confirmed under, then the
 * record. */
typedef struct mem_entry {
    uint64_t epoch;
    char rec[];
} mem_entry;

/* The record cached for a key, as an arena copy (SY_STR_NULL: none);
 * *epoch the entry's. */
static sy_str
mem_find(sy_arena *a, const char *hash_hex, uint64_t *epoch)
{
    size_t n = 0;
    const mem_entry *e = sy_memcache_get(&mem, hash_hex, HEX_LEN, &n);
    if (!e || n < sizeof(*e))
        return SY_STR_NULL;
    n -= sizeof(*e);
    *epoch = e->epoch;
    return (sy_str){sy_arena_strndup(a, e->rec, n), n};
}

static void
mem_put(sy_arena *a, const char *hash_hex, sy_str record, uint64_t epoch)
{
    mem_entry *e = sy_arena_alloc(a, sizeof(*e) + record.len);
    if (!e)
        return;
    e->epoch = epoch;
    memcpy(e->rec, record.p, record.len);
    sy_memcache_put(&mem, hash_hex, HEX_LEN, e, sizeof(*e) + record.len);
}

/* A record confirmed against Redis: trusted from now on under epoch (the
 * one read before the confirming GET), if the entry is still there. */
static void
mem_stamp(const char *hash_hex, uint64_t epoch)
{
    size_t n = 0;
    mem_entry *e = sy_memcache_get(&mem, hash_hex, HEX_LEN, &n);
    if (e && n >= sizeof(*e))
        e->epoch = epoch;
}

/* The entry under Redis name ikey (its hash's first 16 hex digits). */
static bool
under_ikey(const void *key, size_t klen, const void *val, size_t vlen,
           void *ud)
{
    char k[INFO_KEY_MAX];
    char hash_hex[HEX_LEN + 1];
    (void)val;
    (void)vlen;
    if (klen != HEX_LEN)
        return false;
    memcpy(hash_hex, key, HEX_LEN);
    hash_hex[HEX_LEN] = '\0';
    info_key(k, hash_hex);
    return strcmp(k, ud) == 0;
}

static void
mem_drop(const char *ikey)
{
    sy_memcache_drop_if(&mem, under_ikey, (void *)(uintptr_t)ikey);
}

void
sy_apikey_confirm_cmd(const sy_principal *who, sy_redis_cmdv *out)
{
    static const char *argv[2];
    argv[0] = "GET";
    argv[1] = who->key_ikey;
    *out = (sy_redis_cmdv){2, argv, NULL};
}

int
sy_apikey_confirm_reply(const sy_principal *who, const struct redisReply *r)
{
    if (r->type == REDIS_REPLY_STRING && r->len == who->key_record_len &&
        memcmp(r->str, who->key_record, r->len) == 0) {
        if (who->key_epoch)
            mem_stamp(who->key_hash, who->key_epoch);
        return 0;
    }
    mem_drop(who->key_ikey);
    return SY_ESTALE;
}

int
sy_apikey_confirm(sy_arena *a, const sy_principal *who)
{
    sy_redis_cmdv cmd;
    redisReply *r;
    sy_apikey_confirm_cmd(who, &cmd);
    int rc = sy_redis_pipeline(a, 1, &cmd, &r);
    if (rc < 0) {
        mem_drop(who->key_ikey);
        return rc;
    }
    return sy_apikey_confirm_reply(who, r);
}

/* ------------------------------------------------------------ the cache */

/* GET the record.  A record for another key with the same 64-bit name
 * (astronomically unlikely) is treated as unreadable. */
static int
cache_get(sy_arena *a, const char *ikey, const char *hash_hex, key_info *k)
{
    redisReply *r;
    uint64_t epoch = sy_inval_epoch(); /* before the GET */
    if (sy_redis_down() || sy_redis_cmd(a, &r, "GET %s", ikey) < 0)
        return CACHE_BYPASS;
    if (r->type == REDIS_REPLY_NIL)
        return CACHE_MISS;
    if (r->type != REDIS_REPLY_STRING)
        return CACHE_BYPASS;
    sy_str v = {r->str, r->len};
    if (sy_str_eqc(v, "-"))
        return CACHE_NEGATIVE;
    if (record_parse(a, v, k) < 0 || strcmp(k->hash_hex, hash_hex) != 0)
        return CACHE_BYPASS; /* "!" (stale) lands here too */
    mem_put(a, hash_hex, v, epoch);
    return CACHE_HIT;
}

static void
cache_put(sy_arena *a, const char *ikey, const char *val, size_t len,
          int64_t px)
{
    redisReply *r;
    char pxs[24];
    snprintf(pxs, sizeof(pxs), "%lld", (long long)px);
    const char *argv[6] = {"SET", ikey, val, "PX", pxs, "NX"};
    size_t lens[6] = {3, strlen(ikey), len, 2, strlen(pxs), 2};
    sy_redis_argv(a, 6, argv, lens, &r);
}

/* Record ikey in its tenant's set and say whether the tenant was
 * forgotten moments ago (then the answer in hand may be stale). */
static sy_redis_script fill_tenant = {
    "apikey_fill_tenant",
    "redis.call('SADD', KEYS[1], ARGV[1])\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "return redis.call('EXISTS', KEYS[2])\n",
    ""};

/* SMEMBERS and DEL of the tenant's set, and its "forgotten" marker, in
 * one step; returns the members. */
static sy_redis_script forget_tenant = {
    "apikey_forget_tenant",
    "redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])\n"
    "local m = redis.call('SMEMBERS', KEYS[1])\n"
    "redis.call('DEL', KEYS[1])\n"
    "return m\n",
    ""};

static void
tenant_keys(const char *tenant, char *set, char *marker, size_t cap)
{
    snprintf(set, cap, "sy:{t:%s}:keyhashes", tenant);
    snprintf(marker, cap, "sy:{t:%s}:keysforgotten", tenant);
}

/* May this key's answer be cached?  Registers the entry with its tenant
 * first, so a forget_tenant from now on finds it. */
static bool
tenant_allows_fill(sy_arena *a, const char *tenant, const char *ikey)
{
    char set[80], marker[80], px[24];
    redisReply *r;
    sy_redis_register(&fill_tenant);
    tenant_keys(tenant, set, marker, sizeof(set));
    snprintf(px, sizeof(px), "%lld",
             (long long)(ttl_ms() + TENANT_SET_MARGIN_MS));
    const char *argv[4] = {set, marker, ikey, px};
    if (sy_redis_eval(a, &fill_tenant, 2, 2, argv, NULL, &r) < 0)
        return false;
    return r->type == REDIS_REPLY_INTEGER && r->integer == 0;
}

/* Is an answer read from PostgreSQL at started_us young enough to cache?
 * A stale marker written after that read still exists until the SET. */
static bool
fresh(int64_t started_us)
{
    return sy_mono_us() - started_us <= FILL_MAX_US;
}

static void
fill(sy_arena *a, const char *ikey, const key_info *k, int64_t started_us)
{
    int64_t ttl = ttl_ms();
    if (ttl <= 0 || !fresh(started_us))
        return;
    if (!k) {
        int64_t neg = ttl < NEGATIVE_TTL_MS ? ttl : NEGATIVE_TTL_MS;
        cache_put(a, ikey, "-", 1, neg);
        return;
    }
    if (k->expires_ms) {
        int64_t left = k->expires_ms - sy_wall_ms();
        if (left <= 0)
            return;
        ttl = left < ttl ? left : ttl;
    }
    size_t len;
    const char *rec = record_format(a, k, &len);
    if (rec && tenant_allows_fill(a, k->tenant_id, ikey) && fresh(started_us))
        cache_put(a, ikey, rec, len, ttl);
}

/* ----------------------------------------------------------- PostgreSQL */

static uint32_t
scopes_parse(const char *list)
{
    uint32_t bits = 0;
    sy_str s = sy_str_c(list);
    size_t i = 0;
    while (i < s.len) {
        size_t j = i;
        while (j < s.len && s.p[j] != ' ')
            j++;
        bits |= sy_scope_parse((sy_str){s.p + i, j - i});
        i = j + 1;
    }
    return bits;
}

/* A looked-up key into k. */
static int
row_parse(sy_arena *a, const sy_key_auth *r, key_info *k)
{
    sy_str plan = sy_str_c(r->plan);
    if (plan.len >= sizeof(k->plan))
        plan.len = sizeof(k->plan) - 1;
    if (copy_field(k->key_id, sizeof(k->key_id), sy_str_c(r->id)) < 0 ||
        copy_field(k->tenant_id, sizeof(k->tenant_id),
                   sy_str_c(r->tenant_id)) < 0 ||
        copy_field(k->plan, sizeof(k->plan), plan) < 0)
        return SY_EDB;
    k->limits[SY_RATE_READ] = r->limits[0];
    k->limits[SY_RATE_WRITE] = r->limits[1];
    k->limits[SY_RATE_AI] = r->limits[2];
    k->expires_ms = r->expires_ms;
    k->kind = r->kind && strcmp(r->kind, "secret") == 0 ? SY_KEY_SECRET
                                                        : SY_KEY_PUBLISHABLE;
    k->scopes = scopes_parse(r->scopes ? r->scopes : "");
    k->origins = sy_str_dup(a, sy_str_c(r->origins));
    return k->origins ? 0 : SY_ENOMEM;
}

/* 0 with k, SY_EUNAUTH when there is no usable key, SY_EDB. */
static int
db_lookup(sy_arena *a, const char *hash_hex, key_info *k)
{
    sy_key_auth r;
    int rc = sy_keys_lookup(a, hash_hex, &r);
    if (rc == SY_ENOTFOUND)
        return SY_EUNAUTH;
    if (rc < 0)
        return rc;
    memcpy(k->hash_hex, hash_hex, sizeof(k->hash_hex));
    return row_parse(a, &r, k);
}

/* -------------------------------------------------------- last_used_at */

static char used[MAX_USED][SY_UUID_LEN + 1];
static int nused;
static bool flushed_once;
static int64_t last_flush_us;

/* One UPDATE for every key used since the last flush. */
static void
flush_used(sy_arena *a)
{
    sy_buf b;
    sy_buf_init(&b, a, (size_t)MAX_USED * (SY_UUID_LEN + 1) + 8);
    sy_buf_putc(&b, '{');
    for (int i = 0; i < nused; i++) {
        if (i)
            sy_buf_putc(&b, ',');
        sy_buf_puts(&b, used[i]);
    }
    sy_buf_putc(&b, '}');
    const char *ids = sy_buf_cstr(&b);
    flushed_once = true;
    last_flush_us = sy_mono_us();
    if (!ids || sy_keys_touch(a, ids) < 0)
        return; /* kept for the next flush */
    nused = 0;
}

static bool
flush_due(int64_t now)
{
    if (!flushed_once)
        return true;
    if (nused == MAX_USED)
        return now - last_flush_us >= FLUSH_FULL_US;
    return now - last_flush_us >= FLUSH_EVERY_US;
}

static void
note_used(sy_arena *a, const char *key_id)
{
    int i = 0;
    while (i < nused && strcmp(used[i], key_id) != 0)
        i++;
    if (i == nused && nused < MAX_USED)
        memcpy(used[nused++], key_id, SY_UUID_LEN + 1);
    if (nused && flush_due(sy_mono_us()))
        flush_used(a);
}

void
sy_apikey_flush_used(sy_arena *a)
{
    if (nused)
        flush_used(a);
}

/* ------------------------------------------------------------- resolve */

static void
fill_principal(const key_info *k, sy_principal *who)
{
    memset(who, 0, sizeof(*who));
    who->kind = SY_WHO_KEY;
    memcpy(who->tenant_id, k->tenant_id, sizeof(who->tenant_id));
    memcpy(who->key_id, k->key_id, sizeof(who->key_id));
    who->key_kind = k->kind;
    who->scopes = k->scopes & SY_SCOPES_ALL;
    if (k->kind == SY_KEY_PUBLISHABLE)
        who->scopes &= SY_SCOPES_PUBLISHABLE;
    memcpy(who->plan, k->plan, sizeof(who->plan));
    memcpy(who->limits, k->limits, sizeof(who->limits));
    who->origins = k->origins;
}

/* The key's record: from the cache, else from PostgreSQL (and cached). */
static int
lookup(sy_arena *a, const char *hash_hex, key_info *k)
{
    char ikey[INFO_KEY_MAX];
    info_key(ikey, hash_hex);
    int state = cache_get(a, ikey, hash_hex, k);
    if (state == CACHE_HIT)
        return 0;
    if (state == CACHE_NEGATIVE)
        return SY_EUNAUTH;
    memset(k, 0, sizeof(*k));
    int64_t t0 = sy_mono_us();
    int rc = db_lookup(a, hash_hex, k);
    if (state == CACHE_MISS && (rc == 0 || rc == SY_EUNAUTH))
        fill(a, ikey, rc == 0 ? k : NULL, t0);
    return rc;
}

int
sy_apikey_resolve(sy_arena *a, sy_str key, sy_principal *who)
{
    unsigned char hash[SY_SHA256_LEN];
    char hash_hex[HEX_LEN + 1];
    key_info k;
    if (!well_formed(key))
        return SY_EUNAUTH;
    sy_sha256(key.p, key.len, hash);
    sy_hex(hash_hex, hash, sizeof(hash));
    uint64_t epoch = 0, now_epoch = sy_inval_epoch();
    sy_str rec = sy_redis_down() ? SY_STR_NULL : mem_find(a, hash_hex, &epoch);
    int rc = rec.p ? record_parse(a, rec, &k) : lookup(a, hash_hex, &k);
    if (rc < 0)
        return rc;
    if (k.expires_ms && k.expires_ms <= sy_wall_ms())
        return SY_EUNAUTH;
    fill_principal(&k, who);
    if (rec.p) {
        who->key_record = rec.p;
        who->key_record_len = rec.len;
        info_key(who->key_ikey, hash_hex);
        memcpy(who->key_hash, hash_hex, sizeof(who->key_hash));
        who->key_epoch = now_epoch;
        who->key_trusted = now_epoch != 0 && epoch == now_epoch;
    }
    note_used(a, k.key_id);
    return 0;
}

/* -------------------------------------------------------- invalidation */

static int
mark_stale(sy_arena *a, const char *ikey)
{
    redisReply *r;
    return sy_redis_cmd(a, &r, "SET %s ! PX %d", ikey, STALE_TTL_MS);
}

int
sy_apikey_forget(sy_arena *a, const unsigned char hash[32])
{
    char hash_hex[HEX_LEN + 1], ikey[INFO_KEY_MAX];
    sy_hex(hash_hex, hash, SY_SHA256_LEN);
    info_key(ikey, hash_hex);
    int rc = mark_stale(a, ikey);
    mem_drop(ikey);
    hash_hex[16] = '\0';
    if (rc == 0)
        sy_inval_publish("key", hash_hex); /* before the answer */
    return rc;
}

/* Only names this module wrote may come out of a tenant's set. */
static bool
is_info_key(const redisReply *m)
{
    static const char head[] = "sy:{k:", tail[] = "}:info";
    size_t hl = sizeof(head) - 1, tl = sizeof(tail) - 1;
    return m->type == REDIS_REPLY_STRING && m->len == hl + 16 + tl &&
           memcmp(m->str, head, hl) == 0 &&
           memcmp(m->str + hl + 16, tail, tl) == 0;
}

int
sy_apikey_forget_tenant(sy_arena *a, const char *tenant_id)
{
    char set[80], marker[80], px[24];
    redisReply *r;
    if (!sy_uuid_valid(tenant_id, strlen(tenant_id)))
        return SY_EINVAL;
    sy_redis_register(&forget_tenant);
    tenant_keys(tenant_id, set, marker, sizeof(set));
    snprintf(px, sizeof(px), "%d", STALE_TTL_MS);
    const char *argv[3] = {set, marker, px};
    int rc = sy_redis_eval(a, &forget_tenant, 2, 1, argv, NULL, &r);
    if (rc < 0)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY)
        return SY_EREDIS;
    /* Each entry has its own hash tag: one command per key. */
    for (size_t i = 0; i < r->elements && rc == 0; i++)
        if (is_info_key(r->element[i]))
            rc = mark_stale(a, r->element[i]->str);
    if (rc == 0)
        sy_inval_publish("keys", tenant_id); /* before the answer */
    return rc;
}

/* --------------------------------------------------- pushed changes */

static bool
hex16(sy_str s)
{
    if (s.len != 16)
        return false;
    for (size_t i = 0; i < 16; i++)
        if (!((s.p[i] >= '0' && s.p[i] <= '9') ||
              (s.p[i] >= 'a' && s.p[i] <= 'f')))
            return false;
    return true;
}

/* "key <16 hex>": the record under that name changed. */
static void
on_key(sy_str arg)
{
    char ikey[INFO_KEY_MAX];
    if (!hex16(arg))
        return;
    snprintf(ikey, sizeof(ikey), "sy:{k:%.16s}:info", arg.p);
    mem_drop(ikey);
}
SY_INVAL_HANDLER("key", on_key)

/* The entry's record names the tenant ud (its fourth field). */
static bool
of_tenant(const void *key, size_t klen, const void *val, size_t vlen,
          void *ud)
{
    const mem_entry *e = val;
    sy_str f[RECORD_FIELDS + 1];
    (void)key;
    (void)klen;
    if (vlen < sizeof(*e))
        return true;
    if (record_split((sy_str){e->rec, vlen - sizeof(*e)}, f) < 0)
        return true;
    return sy_str_eqc(f[3], ud);
}

/* "keys <tenant>": every key record of the tenant changed. */
static void
on_keys(sy_str arg)
{
    char tid[SY_UUID_LEN + 1];
    if (arg.len != SY_UUID_LEN)
        return;
    memcpy(tid, arg.p, SY_UUID_LEN);
    tid[SY_UUID_LEN] = '\0';
    sy_memcache_drop_if(&mem, of_tenant, tid);
}
SY_INVAL_HANDLER("keys", on_keys)
