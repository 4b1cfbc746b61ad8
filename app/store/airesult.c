/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * airesult.c - the AI result cache in Redis (airesult.h): fresh, stale
 * and negative entries, the single-flight lock, and their counters.
 */
#include "synthia/airesult.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "synthia/cache.h"
#include "synthia/clock.h"
#include "synthia/error.h"
#include "synthia/log.h"
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

/* ------------------------------------------------------------ scripts */

/* KEYS: stats, entry, neg, lock[, guard].  ARGV: type.  A guard key
 * that does not exist answers {"gone", 0} (the input was deleted).  A
 * value found (fresh
 * first, then negative) is counted as a hit and a call saved.  Returns
 * {"hit"|"neg", value} or {"miss", PTTL of the lock}. */
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
    "  return {kind, v}\n"
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

/* One get_script: 0 with *found and *value (or *lock_pttl on a miss). */
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
    int rc = guard ? sy_redis_eval(a, &get_script, 5, 1, argv, NULL, &r)
                   : sy_redis_eval(a, &get_script, 4, 1, argv, NULL, &r);
    if (rc < 0)
        return rc == SY_ENOMEM ? rc : SY_EREDIS;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        sy_log(SY_LOG_ERROR, "airesult_get", "unexpected reply: %s",
               r->type == REDIS_REPLY_ERROR ? r->str : "not {kind, value}");
        return SY_EREDIS;
    }
    redisReply *v = r->element[1];
    if (!strcmp(r->element[0]->str, "gone")) {
        *found = SY_AIRESULT_GONE;
        return 0;
    }
    if (!strcmp(r->element[0]->str, "miss")) {
        *lock_pttl = v->type == REDIS_REPLY_INTEGER ? v->integer : -2;
        return 0;
    }
    if (v->type != REDIS_REPLY_STRING ||
        sy_cache_value_decode(a, (sy_str){v->str, v->len}, value) < 0) {
        sy_log(SY_LOG_WARN, "cache_corrupt", "AI result %s: not a cache value",
               k->k.hash);
        *lock_pttl = -2;
        return 0; /* a miss: it is computed and stored again */
    }
    *found = !strcmp(r->element[0]->str, "neg") ? SY_AIRESULT_NEGATIVE
                                                 : SY_AIRESULT_HIT;
    count(k, *found == SY_AIRESULT_HIT ? R_HIT : R_NEGATIVE);
    return 0;
}

int
sy_airesult_get(sy_arena *a, const sy_airesult_key *k, int *found,
                sy_str *value)
{
    long long pttl;
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
