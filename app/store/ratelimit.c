/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ratelimit.c - per-key request limits and failed-login throttling
 * (ratelimit.h).
 *
 * Request limits: a sliding window over two fixed minutes per key and
 * cost class, in the hash sy:{k:<key id>}:rl:<class> (fields w: minute,
 * c: its count, p: the previous minute's count).  One Lua call decides
 * and counts atomically: the previous minute weighs in proportion to the
 * part of it still inside the window, and a request is allowed when
 * weighted + 1 <= limit, so N concurrent requests over a limit of N are
 * never more than N allowed.  The script reads the time with Redis TIME
 * rather than taking it from the responder: all hosts then agree on
 * where a minute starts even when their clocks drift.  One hash per key
 * and class (not a key per minute) keeps every key the script touches
 * declared in KEYS, as Redis Cluster requires.
 *
 * A plan limit of 0 means "no requests of this class" (429), not
 * "unlimited": plans that should not reach a class say so with 0.
 *
 * When Redis is unreachable, ratelimit.on_redis_down decides: local
 * (each responder allows ceil(limit / server.workers) per minute from a
 * small in-memory table), open (allow) or closed (503).  Degraded
 * answers carry RateLimit-Degraded: 1 (local and open), count in the
 * slot's ratelimit_degraded metric, and make sy_ratelimit_degraded()
 * true for a minute.
 *
 * Login throttling keeps fixed-window counters of failures per (account,
 * address), per account and per address, all under the hash tag {login}
 * so one script reads or updates the three together on Redis Cluster
 * (login traffic is small enough for one slot).  Emails and addresses
 * appear only as SHA-256 in key names.
 */
#include "synthia/ratelimit.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "synthia/clock.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/log.h"
#include "synthia/memcache.h"
#include "synthia/metrics.h"
#include "synthia/redis.h"
#include "synthia/principal.h"

#define WINDOW_S 60
#define DEGRADED_FOR_US (60 * 1000000LL)
#define LOG_EVERY_US (60 * 1000000LL)
#define LOCAL_ENTRIES 1024

static int64_t degraded_at_us;

const char *
sy_ratelimit_class_name(int cls)
{
    switch (cls) {
    case SY_RATE_READ: return "read";
    case SY_RATE_WRITE: return "write";
    case SY_RATE_AI: return "ai";
    default: return "other";
    }
}

/* --------------------------------------------------------------- Redis */

/* KEYS[1] the key's counter hash; ARGV[1] the limit.  Returns {allowed,
 * remaining, reset seconds}.  Counts are scaled by 60000 (ms per
 * minute) so the weighting is exact integer arithmetic. */
static sy_redis_script window_script = {
    "ratelimit_window",
    "if redis.replicate_commands then pcall(redis.replicate_commands) end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local minute = math.floor(now / 60000)\n"
    "local e = now - minute * 60000\n"
    "local limit = tonumber(ARGV[1])\n"
    "local v = redis.call('HMGET', KEYS[1], 'w', 'c', 'p')\n"
    "local w = tonumber(v[1]) or -1\n"
    "local c = tonumber(v[2]) or 0\n"
    "local p = tonumber(v[3]) or 0\n"
    "if w ~= minute then\n"
    "  if w == minute - 1 then p = c else p = 0 end\n"
    "  c = 0\n"
    "end\n"
    "local used = p * (60000 - e) + c * 60000\n"
    "local cap = limit * 60000\n"
    "if used + 60000 <= cap then\n"
    "  c = c + 1\n"
    "  used = used + 60000\n"
    "  redis.call('HSET', KEYS[1], 'w', minute, 'c', c, 'p', p)\n"
    "  redis.call('PEXPIRE', KEYS[1], 120000)\n"
    "  local left = math.floor((cap - used) / 60000)\n"
    "  return {1, left, math.ceil((60000 - e) / 1000)}\n"
    "end\n"
    "local d\n"
    "if limit <= 0 then\n"
    "  d = 60000\n"
    "elseif c + 1 <= limit then\n"
    "  d = math.ceil(60000 - e - (limit - c - 1) * 60000 / p)\n"
    "else\n"
    "  local x = math.ceil(60000 - (limit - 1) * 60000 / c)\n"
    "  if x < 0 then x = 0 end\n"
    "  d = 60000 - e + x\n"
    "end\n"
    "local s = math.ceil(d / 1000)\n"
    "if s < 1 then s = 1 end\n"
    "local left = math.floor((cap - used) / 60000)\n"
    "if left < 0 then left = 0 end\n"
    "return {0, left, s}\n",
    ""};

static void
window_key(char out[96], const char *key_id, int cls)
{
    snprintf(out, 96, "sy:{k:%s}:rl:%s", key_id, sy_ratelimit_class_name(cls));
}

int
sy_ratelimit_window_cmd(sy_arena *a, const char *key_id, int cls,
                        int64_t limit, sy_redis_cmdv *out)
{
    /* the command points at its arguments until the pipeline is sent */
    char *key = sy_arena_alloc(a, 96), *lim = sy_arena_alloc(a, 24);
    if (!key || !lim)
        return SY_ENOMEM;
    window_key(key, key_id, cls);
    snprintf(lim, 24, "%lld", (long long)limit);
    const char *argv[2] = {key, lim};
    return sy_redis_evalsha_cmd(a, &window_script, 1, 1, argv, NULL, out);
}

int
sy_ratelimit_window_reply(const struct redisReply *r, int64_t limit,
                          sy_rl_decision *d)
{
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0)
        return SY_ENOTFOUND;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[2]->type != REDIS_REPLY_INTEGER) {
        sy_log(SY_LOG_ERROR, "ratelimit_script", "unexpected reply: %s",
               r->type == REDIS_REPLY_ERROR ? r->str : "not an array");
        return SY_EREDIS;
    }
    d->allowed = r->element[0]->integer == 1;
    d->limit = limit;
    d->remaining = r->element[1]->integer;
    d->reset_s = r->element[2]->integer;
    return 0;
}

int
sy_ratelimit_window(sy_arena *a, const char *key_id, int cls, int64_t limit,
                    sy_rl_decision *d)
{
    char key[96], lim[24];
    redisReply *r;
    window_key(key, key_id, cls);
    snprintf(lim, sizeof(lim), "%lld", (long long)limit);
    const char *argv[2] = {key, lim};
    int rc = sy_redis_eval(a, &window_script, 1, 1, argv, NULL, &r);
    if (rc < 0)
        return rc;
    rc = sy_ratelimit_window_reply(r, limit, d);
    return rc == SY_ENOTFOUND ? SY_EREDIS : rc;
}

/* ------------------------------------------------------ local fallback */

/* A key's count in the current minute, per class. */
typedef struct local_count {
    int64_t minute;
    int64_t count;
} local_count;

/* Entries outlive their minute by one: older ones are of no use. */
static sy_memcache local = SY_MEMCACHE("ratelimit_local", LOCAL_ENTRIES,
                                       LOCAL_ENTRIES * 64, 120000);
SY_MEMCACHE_REGISTER(local)

/* The count of (key, class), a new one when there is none. */
static local_count *
local_find(const char *key_id, int cls)
{
    char k[SY_UUID_LEN + 2];
    size_t n = strnlen(key_id, SY_UUID_LEN);
    memcpy(k, key_id, n);
    k[n] = (char)('0' + cls);
    local_count *c = sy_memcache_get(&local, k, n + 1, NULL);
    if (!c) {
        local_count zero = {0, 0};
        c = sy_memcache_put(&local, k, n + 1, &zero, sizeof(zero));
    }
    return c;
}

static int64_t
local_share(int64_t limit)
{
    int64_t workers = sy_conf && sy_conf->workers > 0 ? sy_conf->workers : 1;
    return (limit + workers - 1) / workers;
}

/* A fixed window per wall-clock minute: cruder than Redis's sliding
 * one, but it only has to hold while Redis is away. */
void
sy_ratelimit_local(const char *key_id, int cls, int64_t limit,
                   sy_rl_decision *d)
{
    int64_t now_ms = sy_wall_ms();
    int64_t minute = now_ms / 60000;
    local_count *s = local_find(key_id, cls);
    if (!s) { /* cannot happen: an entry is 40 bytes */
        *d = (sy_rl_decision){.allowed = true, .limit = limit};
        return;
    }
    if (s->minute != minute) {
        s->minute = minute;
        s->count = 0;
    }
    d->limit = local_share(limit);
    d->allowed = s->count + 1 <= d->limit;
    if (d->allowed)
        s->count++;
    d->remaining = d->limit - s->count;
    d->reset_s = (60000 - now_ms % 60000 + 999) / 1000;
}

/* ------------------------------------------------------------ degraded */

static sy_metric degraded_metric = {
    .name = "synthia_ratelimit_degraded_total",
    .help = "Rate-limited requests decided without Redis.",
};
SY_METRICS_REGISTER(&degraded_metric)

void
sy_ratelimit_note_degraded(void)
{
    degraded_at_us = sy_mono_us();
    sy_counter_inc(&degraded_metric);
}

bool
sy_ratelimit_degraded(void)
{
    if (sy_redis_down())
        return true;
    return degraded_at_us && sy_mono_us() - degraded_at_us < DEGRADED_FOR_US;
}

/* ------------------------------------------------------- login guard */

/* KEYS: pair, account, address counters; ARGV: account and address
 * limits.  Returns {0, 0} or {which, retry after seconds}. */
static sy_redis_script login_check_script = {
    "login_check",
    "if redis.replicate_commands then pcall(redis.replicate_commands) end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local u = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')\n"
    "if u > now then return {1, math.ceil((u - now) / 1000)} end\n"
    "for i = 2, 3 do\n"
    "  local n = tonumber(redis.call('GET', KEYS[i]) or '0')\n"
    "  if n >= tonumber(ARGV[i - 1]) then\n"
    "    local ttl = redis.call('PTTL', KEYS[i])\n"
    "    if ttl < 1000 then ttl = 1000 end\n"
    "    return {i, math.ceil(ttl / 1000)}\n"
    "  end\n"
    "end\n"
    "return {0, 0}\n",
    ""};

/* KEYS as above; ARGV: pair limit, window ms, max delay ms.  Counts a
 * failure; from the pair's limit on, blocks the pair for 1 s doubling
 * per further failure, capped. */
static sy_redis_script login_fail_script = {
    "login_fail",
    "if redis.replicate_commands then pcall(redis.replicate_commands) end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local limit = tonumber(ARGV[1])\n"
    "local window = tonumber(ARGV[2])\n"
    "local maxd = tonumber(ARGV[3])\n"
    "local n = redis.call('HINCRBY', KEYS[1], 'n', 1)\n"
    "local ttl = redis.call('PTTL', KEYS[1])\n"
    "if n == 1 or ttl < 0 then\n"
    "  ttl = window\n"
    "  redis.call('PEXPIRE', KEYS[1], window)\n"
    "end\n"
    "if n >= limit then\n"
    "  local d = maxd\n"
    "  if n - limit < 40 then d = math.min(1000 * 2 ^ (n - limit), maxd) end\n"
    "  redis.call('HSET', KEYS[1], 'until', now + d)\n"
    "  if d > ttl then redis.call('PEXPIRE', KEYS[1], d) end\n"
    "end\n"
    "for i = 2, 3 do\n"
    "  local c = redis.call('INCR', KEYS[i])\n"
    "  if c == 1 or redis.call('PTTL', KEYS[i]) < 0 then\n"
    "    redis.call('PEXPIRE', KEYS[i], window)\n"
    "  end\n"
    "end\n"
    "return n\n",
    ""};

typedef struct login_keys {
    char pair[96], account[96], address[96];
} login_keys;

static int64_t login_logged_us;

static void
log_unthrottled(const char *why)
{
    int64_t now = sy_mono_us();
    if (login_logged_us && now - login_logged_us < LOG_EVERY_US)
        return;
    login_logged_us = now;
    sy_log(SY_LOG_WARN, "login_throttle_off",
           "failed logins are not throttled: %s", why);
}

static void
hash_key(char *out, size_t cap, const char *kind, sy_buf *in)
{
    unsigned char h[SY_SHA256_LEN];
    char hex[2 * SY_SHA256_LEN + 1];
    sy_sha256(in->p ? in->p : "", in->len, h);
    sy_hex(hex, h, sizeof(h));
    snprintf(out, cap, "sy:{login}:%s:%s", kind, hex);
}

/* Key names from SHA-256 of "tenant NUL email" (lower-cased), with and
 * without "NUL address". */
static int
login_keys_make(sy_arena *a, sy_str email, const char *tenant, sy_str client,
                login_keys *k)
{
    sy_buf b;
    sy_buf_init(&b, a, email.len + 256);
    sy_buf_puts(&b, tenant ? tenant : "");
    sy_buf_putc(&b, '\0');
    for (size_t i = 0; i < email.len; i++) {
        char c = email.p[i];
        sy_buf_putc(&b, c >= 'A' && c <= 'Z' ? (char)(c + 32) : c);
    }
    if (b.failed)
        return SY_ENOMEM;
    hash_key(k->account, sizeof(k->account), "acct", &b);
    sy_buf_putc(&b, '\0');
    sy_buf_add_str(&b, client);
    hash_key(k->pair, sizeof(k->pair), "pair", &b);
    sy_buf_reset(&b);
    sy_buf_add_str(&b, client);
    hash_key(k->address, sizeof(k->address), "addr", &b);
    return b.failed ? SY_ENOMEM : 0;
}

static int
login_eval(sy_arena *a, sy_redis_script *s, const login_keys *k,
           const char *a1, const char *a2, const char *a3, redisReply **out)
{
    const char *argv[6] = {k->pair, k->account, k->address, a1, a2, a3};
    int nargs = a3 ? 3 : 2;
    if (sy_redis_down())
        return SY_EREDIS;
    int rc = sy_redis_eval(a, s, 3, nargs, argv, NULL, out);
    if (rc == 0 && (*out)->type == REDIS_REPLY_ERROR) {
        sy_log(SY_LOG_ERROR, "login_throttle_script", "%s: %s", s->name,
               (*out)->str);
        return SY_EREDIS;
    }
    return rc;
}

int
sy_login_guard_check(sy_arena *a, sy_str email, const char *tenant,
                     sy_str client, int64_t *retry_s)
{
    login_keys k;
    redisReply *r;
    char acc[24], addr[24];
    if (!sy_conf || login_keys_make(a, email, tenant, client, &k) < 0)
        return 0;
    snprintf(acc, sizeof(acc), "%lld", (long long)sy_conf->login_account_limit);
    snprintf(addr, sizeof(addr), "%lld",
             (long long)sy_conf->login_address_limit);
    if (login_eval(a, &login_check_script, &k, acc, addr, NULL, &r) < 0) {
        log_unthrottled("Redis is unavailable");
        return 0;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[0]->integer == 0)
        return 0;
    *retry_s = r->element[1]->integer;
    return SY_ERATE;
}

void
sy_login_guard_record(sy_arena *a, sy_str email, const char *tenant,
                      sy_str client, bool success)
{
    login_keys k;
    redisReply *r;
    char lim[24], win[24], maxd[24];
    if (!sy_conf || login_keys_make(a, email, tenant, client, &k) < 0)
        return;
    if (success) {
        if (!sy_redis_down())
            sy_redis_cmd(a, &r, "DEL %s", k.pair);
        return;
    }
    snprintf(lim, sizeof(lim), "%lld", (long long)sy_conf->login_pair_limit);
    snprintf(win, sizeof(win), "%lld", (long long)sy_conf->login_window_ms);
    snprintf(maxd, sizeof(maxd), "%lld",
             (long long)sy_conf->login_max_delay_ms);
    if (login_eval(a, &login_fail_script, &k, lim, win, maxd, &r) < 0)
        log_unthrottled("Redis is unavailable");
}
