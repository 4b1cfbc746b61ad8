/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * airesult.c - the AI result cache in Redis (airesult.h): fresh, stale
 * and negative entries, the single-flight lock, and their counters.
 */
#include "synthia/airesult.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "synthia/cache.h"
#include "synthia/clock.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/inval.h"
#include "synthia/log.h"
#include "synthia/memcache.h"
#include "synthia/metrics.h"
#include "synthia/redis.h"

#define POLL_FIRST_US 5000
#define POLL_MAX_US 50000

/* ------------------------------------------------------------ metrics */

enum { R_HIT, R_NEGATIVE, R_MISS, R_STALE, R__COUNT };
static const char *const result_names[R__COUNT] = {"hit", "negative_hit",
                                                   "miss", "stale"};

static void
type_result_labels(sy_buf *b, int series)
{
    sy_buf_printf(b, "type=\"%s\",result=\"%s\"",
                  sy_cache_type_name(series / R__COUNT),
                  result_names[series % R__COUNT]);
}

static void
type_labels(sy_buf *b, int series)
{
    sy_buf_printf(b, "type=\"%s\"", sy_cache_type_name(series));
}

static sy_metric m_requests = {
    .name = "synthia_ai_cache_requests_total",
    .help = "AI results asked of the AI result cache, by cache type and "
            "result (hit, negative_hit, miss: the analyser or provider was "
            "called, stale: the last good result served when providers "
            "failed)",
    .type = SY_METRIC_COUNTER,
    .nseries = SY_CACHE__COUNT * R__COUNT,
    .labeller = type_result_labels,
    .sparse = true,
};
static sy_metric m_saved = {
    .name = "synthia_ai_cache_calls_saved_total",
    .help = "Analyser or provider calls the AI result cache saved (hits, "
            "negative hits and stale answers)",
    .type = SY_METRIC_COUNTER,
    .nseries = SY_CACHE__COUNT,
    .labeller = type_labels,
    .sparse = true,
};
SY_METRICS_REGISTER(&m_requests, &m_saved)

static void
count(const sy_airesult_key *k, int result)
{
    sy_counter_add(&m_requests, k->k.type * R__COUNT + result, 1);
    if (result != R_MISS)
        sy_counter_add(&m_saved, k->k.type, 1);
}

/* ------------------------------------------------------------- memory */

/* Memory copies of fresh and negative entries (airesult.h): each one
 * is good until the earlier of its entry's and its upload's expiry (as
 * the lookup that stored it read them, measured from before it asked),
 * and served only under the epoch it was stored with. */
#define MEM_VALUE_MAX (64 * 1024)
#define MEM_TTL_MAX_MS (3600 * 1000LL) /* an entry without a PTTL */
static sy_memcache mem =
    SY_MEMCACHE("ai_results", 2048, 8 * 1024 * 1024, MEM_TTL_MAX_MS);
SY_MEMCACHE_REGISTER(mem)

typedef struct mem_head {
    uint64_t epoch;   /* sy_inval_epoch() read before the lookup */
    int64_t until_us; /* sy_mono_us() past which it is not served */
    int found;        /* SY_AIRESULT_HIT or SY_AIRESULT_NEGATIVE */
    char tenant[SY_UUID_LEN + 1];
    char user[SY_UUID_LEN + 1]; /* the key's user segment */
} mem_head;

/* entry, a newline, guard */
static size_t
mem_key(const sy_airesult_key *k, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s\n%s", k->entry, k->guard);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* A trusted, unexpired copy of k: counted as a hit (the stats hash's
 * counts batched, unawaited) and 0 with *found and *value (arena
 * memory); SY_ENOTFOUND when there is none (ask Redis). */
static int
mem_get(sy_arena *a, const sy_airesult_key *k, int *found, sy_str *value)
{
    char key[sizeof(k->entry) + sizeof(k->guard) + 2];
    size_t klen = mem_key(k, key, sizeof(key)), n = 0;
    const mem_head *h = klen ? sy_memcache_get(&mem, key, klen, &n) : NULL;
    if (!h || n < sizeof(*h) || !sy_inval_trusted(h->epoch))
        return SY_ENOTFOUND;
    if (h->until_us <= sy_mono_us()) {
        sy_memcache_drop(&mem, key, klen);
        return SY_ENOTFOUND;
    }
    char *copy = sy_arena_strndup(a, (const char *)(h + 1), n - sizeof(*h));
    if (!copy)
        return SY_ENOMEM;
    *value = (sy_str){copy, n - sizeof(*h)};
    *found = h->found;
    count(k, *found == SY_AIRESULT_HIT ? R_HIT : R_NEGATIVE);
    sy_cache_count_async(&k->k, "hits", 1);
    sy_cache_count_async(&k->k, "ai_calls_saved", 1);
    return 0;
}

/* Keep what a lookup under epoch (read before it asked, at t0_us) found:
 * for the smaller of the PTTLs it read (-1: none). */
static void
mem_put(const sy_airesult_key *k, int found, sy_str value, uint64_t epoch,
        int64_t t0_us, long long entry_pttl, long long guard_pttl)
{
    char key[sizeof(k->entry) + sizeof(k->guard) + 2];
    size_t klen = mem_key(k, key, sizeof(key));
    if (!klen || !epoch || value.len > MEM_VALUE_MAX ||
        (entry_pttl < 0 && entry_pttl != -1) ||
        (guard_pttl < 0 && guard_pttl != -1))
        return;
    long long ttl = MEM_TTL_MAX_MS;
    if (entry_pttl >= 0 && entry_pttl < ttl)
        ttl = entry_pttl;
    if (guard_pttl >= 0 && guard_pttl < ttl)
        ttl = guard_pttl;
    if (ttl <= 0)
        return;
    size_t n = sizeof(mem_head) + value.len;
    mem_head *h = malloc(n);
    if (!h)
        abort(); /* as the arena does */
    memset(h, 0, sizeof(*h));
    h->epoch = epoch;
    h->until_us = t0_us + (int64_t)ttl * 1000;
    h->found = found;
    memcpy(h->tenant, k->k.tenant, sizeof(h->tenant));
    memcpy(h->user, k->k.user, sizeof(h->user));
    if (value.len)
        memcpy(h + 1, value.p, value.len);
    sy_memcache_put(&mem, key, klen, h, n);
    free(h);
}

static void
mem_drop_key(const sy_airesult_key *k)
{
    char key[sizeof(k->entry) + sizeof(k->guard) + 2];
    size_t klen = mem_key(k, key, sizeof(key));
    if (klen)
        sy_memcache_drop(&mem, key, klen);
}

typedef struct mem_slice {
    sy_str tenant; /* empty: any */
    sy_str user;   /* empty: any */
} mem_slice;

static bool
in_slice(const void *key, size_t klen, const void *val, size_t vlen, void *ud)
{
    const mem_head *h = val;
    const mem_slice *s = ud;
    (void)key;
    (void)klen;
    if (vlen < sizeof(*h))
        return true;
    return (!s->tenant.len || sy_str_eqc(s->tenant, h->tenant)) &&
           (!s->user.len || sy_str_eqc(s->user, h->user));
}

static void
mem_drop(sy_str tenant, sy_str user)
{
    mem_slice s = {tenant, user};
    sy_memcache_drop_if(&mem, in_slice, &s);
}

void
sy_airesult_forget(const char *tenant, const char *useg)
{
    char arg[2 * SY_UUID_LEN + 4];
    mem_drop(sy_str_c(tenant), useg ? sy_str_c(useg) : SY_STR_NULL);
    snprintf(arg, sizeof(arg), "%s %s", tenant, useg ? useg : "*");
    sy_inval_publish("aicache", arg); /* before the answer */
}

/* "aicache <tenant> <user segment|*>" */
static void
on_aicache(sy_str arg)
{
    const char *sp = memchr(arg.p, ' ', arg.len);
    if (!sp || sp == arg.p)
        return;
    sy_str tenant = {arg.p, (size_t)(sp - arg.p)};
    sy_str user = {sp + 1, arg.len - tenant.len - 1};
    if (sy_str_eqc(user, "*") || !user.len)
        user = SY_STR_NULL;
    mem_drop(tenant, user);
}
SY_INVAL_HANDLER("aicache", on_aicache)

/* "user <id>": the user changed (erased, deactivated): their results
 * are asked of Redis again. */
static void
on_user(sy_str arg)
{
    char id[SY_UUID_LEN + 1], seg[SY_UUID_LEN + 1];
    if (arg.len != SY_UUID_LEN)
        return;
    memcpy(id, arg.p, SY_UUID_LEN);
    id[SY_UUID_LEN] = '\0';
    sy_cache_key_user(id, seg);
    mem_drop(SY_STR_NULL, sy_str_c(seg));
}
SY_INVAL_HANDLER("user", on_user)

/* "tenant <id>": the tenant changed (deactivated, erased). */
static void
on_tenant(sy_str arg)
{
    if (arg.len)
        mem_drop(arg, SY_STR_NULL);
}
SY_INVAL_HANDLER("tenant", on_tenant)

/* ------------------------------------------------------------ scripts */

/* KEYS: stats, entry, neg, lock[, guard].  ARGV: type.  A guard key
 * that does not exist answers {"gone", 0} (the input was deleted).  A
 * value found (fresh first, then negative) is counted as a hit and a
 * call saved.  Returns {"hit"|"neg", value, its PTTL, the guard's PTTL
 * (-1: none)} or {"miss", PTTL of the lock}. */
static sy_redis_script get_script = {
    "airesult_get",
    "if KEYS[5] and redis.call('EXISTS', KEYS[5]) == 0 then\n"
    "  return {'gone', 0}\n"
    "end\n"
    "local v = redis.call('GET', KEYS[2])\n"
    "local kind = 'hit'\n"
    "if not v then v = redis.call('GET', KEYS[3]); kind = 'neg' end\n"
    "if v then\n"
    "  redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':hits', 1)\n"
    "  redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':ai_calls_saved', 1)\n"
    "  local g = -1\n"
    "  if KEYS[5] then g = redis.call('PTTL', KEYS[5]) end\n"
    "  local at = KEYS[2]\n"
    "  if kind == 'neg' then at = KEYS[3] end\n"
    "  return {kind, v, redis.call('PTTL', at), g}\n"
    "end\n"
    "return {'miss', redis.call('PTTL', KEYS[4])}\n",
    ""};

/* KEYS: stats, entry, stale, lock, neg.  ARGV: type, value, ttl ms,
 * stale ms (0: none), token, raw length, negative ("1"/"0"), negative
 * ms (0: none). */
static sy_redis_script put_script = {
    "airesult_put",
    "if ARGV[7] == '1' then\n"
    "  if tonumber(ARGV[8]) > 0 then\n"
    "    redis.call('SET', KEYS[5], ARGV[2], 'PX', ARGV[8])\n"
    "  end\n"
    "else\n"
    "  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])\n"
    "  redis.call('DEL', KEYS[5])\n"
    "  if tonumber(ARGV[4]) > 0 then\n"
    "    redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[4])\n"
    "  end\n"
    "  redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':keys', 1)\n"
    "  redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':bytes_raw', ARGV[6])\n"
    "  redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':bytes_stored', "
    "#ARGV[2])\n"
    "end\n"
    "if redis.call('GET', KEYS[4]) == ARGV[5] then\n"
    "  redis.call('DEL', KEYS[4])\n"
    "end\n"
    "return 1\n",
    ""};

/* KEYS: lock.  ARGV: token. */
static sy_redis_script unlock_script = {
    "airesult_unlock",
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('DEL', KEYS[1])\n"
    "end\n"
    "return 0\n",
    ""};

/* KEYS: stats, stale.  ARGV: type. */
static sy_redis_script stale_script = {
    "airesult_stale",
    "local v = redis.call('GET', KEYS[2])\n"
    "if v then\n"
    "  redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':stale', 1)\n"
    "  redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':ai_calls_saved', 1)\n"
    "end\n"
    "return v\n",
    ""};

static void
register_scripts(void)
{
    static bool done;
    if (!done) {
        sy_redis_register(&get_script);
        sy_redis_register(&put_script);
        sy_redis_register(&unlock_script);
        sy_redis_register(&stale_script);
        done = true;
    }
}

/* --------------------------------------------------------------- keys */

int
sy_airesult_key_make(sy_airesult_key *k, const char *tenant, int type,
                     const char *user, sy_str what)
{
    if (sy_cache_key_make(&k->k, tenant, type, user, what) < 0)
        return SY_EINVAL;
    snprintf(k->entry, sizeof(k->entry), "%s%s", k->k.prefix, k->k.hash);
    snprintf(k->stale, sizeof(k->stale), "%s:stale", k->entry);
    snprintf(k->neg, sizeof(k->neg), "%s:neg", k->entry);
    snprintf(k->lock, sizeof(k->lock), "%s:lock", k->entry);
    k->guard[0] = '\0';
    return 0;
}

/* ------------------------------------------------------------ lookups */

/* One get_script: 0 with *found and *value (or *lock_pttl on a miss).
 * What it finds is kept in memory under the epoch read before asking. */
static int
look(sy_arena *a, const sy_airesult_key *k, int *found, sy_str *value,
     long long *lock_pttl)
{
    bool guard = k->guard[0] != '\0';
    const char *argv[] = {k->k.stats, k->entry, k->neg, k->lock,
                          guard ? k->guard : sy_cache_types[k->k.type].name,
                          sy_cache_types[k->k.type].name};
    redisReply *r;
    register_scripts();
    *found = SY_AIRESULT_MISS;
    if (sy_redis_down())
        return SY_EREDIS;
    uint64_t epoch = sy_inval_epoch();
    int64_t t0 = sy_mono_us();
    int rc = guard ? sy_redis_eval(a, &get_script, 5, 1, argv, NULL, &r)
                   : sy_redis_eval(a, &get_script, 4, 1, argv, NULL, &r);
    if (rc < 0)
        return rc == SY_ENOMEM ? rc : SY_EREDIS;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        sy_log(SY_LOG_ERROR, "airesult_get", "unexpected reply: %s",
               r->type == REDIS_REPLY_ERROR ? r->str : "not {kind, value}");
        return SY_EREDIS;
    }
    redisReply *v = r->element[1];
    if (!strcmp(r->element[0]->str, "gone")) {
        mem_drop_key(k);
        *found = SY_AIRESULT_GONE;
        return 0;
    }
    if (!strcmp(r->element[0]->str, "miss")) {
        mem_drop_key(k);
        *lock_pttl = v->type == REDIS_REPLY_INTEGER ? v->integer : -2;
        return 0;
    }
    if (v->type != REDIS_REPLY_STRING ||
        sy_cache_value_decode(a, (sy_str){v->str, v->len}, value) < 0) {
        sy_log(SY_LOG_WARN, "cache_corrupt", "AI result %s: not a cache value",
               k->k.hash);
        mem_drop_key(k);
        *lock_pttl = -2;
        return 0; /* a miss: it is computed and stored again */
    }
    *found = !strcmp(r->element[0]->str, "neg") ? SY_AIRESULT_NEGATIVE
                                                 : SY_AIRESULT_HIT;
    count(k, *found == SY_AIRESULT_HIT ? R_HIT : R_NEGATIVE);
    if (r->elements == 4 && r->element[2]->type == REDIS_REPLY_INTEGER &&
        r->element[3]->type == REDIS_REPLY_INTEGER)
        mem_put(k, *found, *value, epoch, t0, r->element[2]->integer,
                r->element[3]->integer);
    return 0;
}

int
sy_airesult_get(sy_arena *a, const sy_airesult_key *k, int *found,
                sy_str *value)
{
    long long pttl;
    int rc = mem_get(a, k, found, value);
    if (rc != SY_ENOTFOUND)
        return rc;
    return look(a, k, found, value, &pttl);
}

int
sy_airesult_lock(sy_arena *a, const sy_airesult_key *k, const char *token,
                 int64_t ttl_ms)
{
    char px[24];
    redisReply *r;
    snprintf(px, sizeof(px), "%lld", (long long)(ttl_ms > 0 ? ttl_ms : 1));
    const char *argv[] = {"SET", k->lock, token, "NX", "PX", px};
    int rc = sy_redis_argv(a, 6, argv, NULL, &r);
    if (rc < 0)
        return rc;
    if (r->type == REDIS_REPLY_ERROR) {
        sy_log(SY_LOG_ERROR, "airesult_lock", "%s", r->str);
        return SY_EREDIS;
    }
    return r->type == REDIS_REPLY_STATUS ? 1 : 0;
}

static void
pause_us(int64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) < 0)
        ;
}

int
sy_airesult_wait(sy_arena *a, const sy_airesult_key *k, int64_t deadline_us,
                 int *found, sy_str *value)
{
    int64_t step = POLL_FIRST_US;
    for (;;) {
        long long pttl = -2;
        int rc = look(a, k, found, value, &pttl);
        if (rc < 0)
            return rc;
        if (*found != SY_AIRESULT_MISS)
            return 0;
        if (pttl == -2) /* no lock, no result: its holder gave up or died */
            return SY_ENOTFOUND;
        int64_t left = deadline_us - sy_mono_us();
        if (left <= 0)
            return SY_ETIMEOUT;
        pause_us(step < left ? step : left);
        step = step * 2 < POLL_MAX_US ? step * 2 : POLL_MAX_US;
    }
}

void
sy_airesult_put(sy_arena *a, const sy_airesult_key *k, const char *token,
                sy_str value, bool negative, int64_t ttl_ms, int64_t stale_ms,
                int64_t neg_ms)
{
    sy_str stored;
    char ttl[24], stale[24], raw[24], neg[24];
    register_scripts();
    if (sy_redis_down() || sy_cache_value_encode(a, value, &stored) < 0)
        return;
    snprintf(ttl, sizeof(ttl), "%lld", (long long)(ttl_ms > 0 ? ttl_ms : 1));
    snprintf(stale, sizeof(stale), "%lld",
             (long long)(stale_ms > 0 ? ttl_ms + stale_ms : 0));
    snprintf(raw, sizeof(raw), "%zu", value.len);
    snprintf(neg, sizeof(neg), "%lld", (long long)(neg_ms > 0 ? neg_ms : 0));
    const char *argv[] = {k->k.stats, k->entry, k->stale, k->lock, k->neg,
                          sy_cache_types[k->k.type].name, stored.p, ttl,
                          stale, token, raw, negative ? "1" : "0", neg};
    size_t lens[13];
    for (int i = 0; i < 13; i++)
        lens[i] = i == 6 ? stored.len : strlen(argv[i]);
    redisReply *r;
    if (sy_redis_eval(a, &put_script, 5, 8, argv, lens, &r) == 0 &&
        r->type == REDIS_REPLY_ERROR)
        sy_log(SY_LOG_ERROR, "airesult_put", "%s", r->str);
}

void
sy_airesult_unlock(sy_arena *a, const sy_airesult_key *k, const char *token)
{
    const char *argv[] = {k->lock, token};
    redisReply *r;
    register_scripts();
    if (!sy_redis_down())
        (void)sy_redis_eval(a, &unlock_script, 1, 1, argv, NULL, &r);
}

int
sy_airesult_stale(sy_arena *a, const sy_airesult_key *k, sy_str *value)
{
    const char *argv[] = {k->k.stats, k->stale,
                          sy_cache_types[k->k.type].name};
    redisReply *r;
    register_scripts();
    if (sy_redis_down())
        return SY_EREDIS;
    int rc = sy_redis_eval(a, &stale_script, 2, 1, argv, NULL, &r);
    if (rc < 0)
        return rc == SY_ENOMEM ? rc : SY_EREDIS;
    if (r->type != REDIS_REPLY_STRING ||
        sy_cache_value_decode(a, (sy_str){r->str, r->len}, value) < 0)
        return SY_ENOTFOUND;
    count(k, R_STALE);
    return 0;
}

void
sy_airesult_miss(const sy_airesult_key *k)
{
    char f[48];
    count(k, R_MISS);
    snprintf(f, sizeof(f), "%s:misses", sy_cache_types[k->k.type].name);
    sy_redis_send(4, (const char *[]){"HINCRBY", k->k.stats, f, "1"}, NULL);
}
