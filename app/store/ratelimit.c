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
#include "synthia/db.h"
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

/* The sliding window in Lua, shared by the window and the ai-charge
 * scripts.  look() reads one counter hash and decides whether one more
 * request fits: {allowed, c, p, left before this request, seconds to
 * reset (allowed) or to wait (refused)}; take() counts it.  Counts are
 * scaled by 60000 (ms per minute) so the weighting is exact integer
 * arithmetic. */
#define WINDOW_LUA                                                           \
    "if redis.replicate_commands then pcall(redis.replicate_commands) end\n" \
    "local t = redis.call('TIME')\n"                                        \
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n" \
    "local minute = math.floor(now / 60000)\n"                              \
    "local e = now - minute * 60000\n"                                      \
    "local function look(key, limit)\n"                                     \
    "  local v = redis.call('HMGET', key, 'w', 'c', 'p')\n"                 \
    "  local w = tonumber(v[1]) or -1\n"                                    \
    "  local c = tonumber(v[2]) or 0\n"                                     \
    "  local p = tonumber(v[3]) or 0\n"                                     \
    "  if w ~= minute then\n"                                               \
    "    if w == minute - 1 then p = c else p = 0 end\n"                    \
    "    c = 0\n"                                                           \
    "  end\n"                                                               \
    "  local used = p * (60000 - e) + c * 60000\n"                          \
    "  local cap = limit * 60000\n"                                         \
    "  local left = math.floor((cap - used) / 60000)\n"                     \
    "  if left < 0 then left = 0 end\n"                                     \
    "  if used + 60000 <= cap then\n"                                       \
    "    return {1, c, p, left, math.ceil((60000 - e) / 1000)}\n"           \
    "  end\n"                                                               \
    "  local d\n"                                                           \
    "  if limit <= 0 then\n"                                                \
    "    d = 60000\n"                                                       \
    "  elseif c + 1 <= limit then\n"                                        \
    "    d = math.ceil(60000 - e - (limit - c - 1) * 60000 / p)\n"          \
    "  else\n"                                                              \
    "    local x = math.ceil(60000 - (limit - 1) * 60000 / c)\n"            \
    "    if x < 0 then x = 0 end\n"                                         \
    "    d = 60000 - e + x\n"                                               \
    "  end\n"                                                               \
    "  local s = math.ceil(d / 1000)\n"                                     \
    "  if s < 1 then s = 1 end\n"                                           \
    "  return {0, c, p, left, s}\n"                                         \
    "end\n"                                                                 \
    "local function take(key, st)\n"                                        \
    "  redis.call('HSET', key, 'w', minute, 'c', st[2] + 1, 'p', st[3])\n"  \
    "  redis.call('PEXPIRE', key, 120000)\n"                                \
    "  st[4] = st[4] - 1\n"                                                 \
    "end\n"

/* KEYS[1] the subject's counter hash; ARGV[1] the limit.  Returns
 * {allowed, remaining, reset seconds}. */
static sy_redis_script window_script = {
    "ratelimit_window",
    WINDOW_LUA
    "local s = look(KEYS[1], tonumber(ARGV[1]))\n"
    "if s[1] == 1 then take(KEYS[1], s) end\n"
    "return {s[1], s[4], s[5]}\n",
    ""};

/* KEYS[1] the caller's ai counter, KEYS[2] the tenant's; ARGV[1] the
 * caller's limit (-1: none), ARGV[2] the tenant's.  Counts in both only
 * when both allow.  Returns {allowed, caller allowed, caller remaining,
 * caller reset, tenant allowed, tenant remaining, tenant reset}. */
static sy_redis_script ai_script = {
    "ratelimit_ai",
    WINDOW_LUA
    "local cl = tonumber(ARGV[1])\n"
    "local a = {1, 0, 0, -1, 0}\n"
    "if cl >= 0 then a = look(KEYS[1], cl) end\n"
    "local b = look(KEYS[2], tonumber(ARGV[2]))\n"
    "local ok = 0\n"
    "if a[1] == 1 and b[1] == 1 then\n"
    "  ok = 1\n"
    "  if cl >= 0 then take(KEYS[1], a) end\n"
    "  take(KEYS[2], b)\n"
    "end\n"
    "return {ok, a[1], a[4], a[5], b[1], b[4], b[5]}\n",
    ""};

void
sy_ratelimit_subject(const char *key_id, const char *user_id,
                     char out[SY_RL_SUBJECT_MAX])
{
    if (key_id && key_id[0])
        snprintf(out, SY_RL_SUBJECT_MAX, "k:%.36s", key_id);
    else
        snprintf(out, SY_RL_SUBJECT_MAX, "u:%.36s", user_id ? user_id : "");
}

static void
window_key(char out[96], const char *subject, int cls)
{
    snprintf(out, 96, "sy:{%s}:rl:%s", subject, sy_ratelimit_class_name(cls));
}

int
sy_ratelimit_window_cmd(sy_arena *a, const char *subject, int cls,
                        int64_t limit, sy_redis_cmdv *out)
{
    /* the command points at its arguments until the pipeline is sent */
    char *key = sy_arena_alloc(a, 96), *lim = sy_arena_alloc(a, 24);
    if (!key || !lim)
        return SY_ENOMEM;
    window_key(key, subject, cls);
    snprintf(lim, 24, "%lld", (long long)limit);
    const char *argv[2] = {key, lim};
    return sy_redis_evalsha_cmd(a, &window_script, 1, 1, argv, NULL, out);
}

static bool
int_array(const redisReply *r, size_t n)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (r->element[i]->type != REDIS_REPLY_INTEGER)
            return false;
    return true;
}

static int
unexpected(const redisReply *r)
{
    sy_log(SY_LOG_ERROR, "ratelimit_script", "unexpected reply: %s",
           r->type == REDIS_REPLY_ERROR ? r->str : "not an array");
    return SY_EREDIS;
}

int
sy_ratelimit_window_reply(const struct redisReply *r, int64_t limit,
                          sy_rl_decision *d)
{
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0)
        return SY_ENOTFOUND;
    if (!int_array(r, 3))
        return unexpected(r);
    d->allowed = r->element[0]->integer == 1;
    d->limit = limit;
    d->remaining = r->element[1]->integer;
    d->reset_s = r->element[2]->integer;
    return 0;
}

int
sy_ratelimit_window(sy_arena *a, const char *subject, int cls, int64_t limit,
                    sy_rl_decision *d)
{
    char key[96], lim[24];
    redisReply *r;
    window_key(key, subject, cls);
    snprintf(lim, sizeof(lim), "%lld", (long long)limit);
    const char *argv[2] = {key, lim};
    int rc = sy_redis_eval(a, &window_script, 1, 1, argv, NULL, &r);
    if (rc < 0)
        return rc;
    rc = sy_ratelimit_window_reply(r, limit, d);
    return rc == SY_ENOTFOUND ? SY_EREDIS : rc;
}

/* ------------------------------------------------------ local fallback */

/* A subject's count in the current minute, per class. */
typedef struct local_count {
    int64_t minute;
    int64_t count;
} local_count;

/* Entries outlive their minute by one: older ones are of no use. */
static sy_memcache local = SY_MEMCACHE("ratelimit_local", LOCAL_ENTRIES,
                                       LOCAL_ENTRIES * 96, 120000);
SY_MEMCACHE_REGISTER(local)

/* The count of (subject, class) in this minute, a new one when there
 * is none.  cls SY_RL_TENANT_AI: a tenant's ai budget. */
static local_count *
local_find(const char *subject, int cls, int64_t minute)
{
    char k[SY_RL_SUBJECT_MAX + 1];
    size_t n = strnlen(subject, SY_RL_SUBJECT_MAX - 1);
    memcpy(k, subject, n);
    k[n] = (char)('0' + cls);
    local_count *c = sy_memcache_get(&local, k, n + 1, NULL);
    if (!c) {
        local_count zero = {0, 0};
        c = sy_memcache_put(&local, k, n + 1, &zero, sizeof(zero));
    }
    if (c && c->minute != minute) {
        c->minute = minute;
        c->count = 0;
    }
    return c;
}

static int64_t
local_share(int64_t limit)
{
    int64_t workers = sy_conf && sy_conf->workers > 0 ? sy_conf->workers : 1;
    return (limit + workers - 1) / workers;
}

/* Would one more fit (not counted yet)?  A fixed window per wall-clock
 * minute: cruder than Redis's sliding one, but it only has to hold
 * while Redis is away. */
static local_count *
local_look(const char *subject, int cls, int64_t limit, sy_rl_decision *d)
{
    int64_t now_ms = sy_wall_ms();
    local_count *s = local_find(subject, cls, now_ms / 60000);
    d->limit = local_share(limit);
    d->reset_s = (60000 - now_ms % 60000 + 999) / 1000;
    if (!s) { /* cannot happen: an entry is 40 bytes */
        d->allowed = true;
        d->remaining = d->limit;
        return NULL;
    }
    d->allowed = s->count + 1 <= d->limit;
    d->remaining = d->limit - s->count;
    return s;
}

static void
local_take(local_count *s, sy_rl_decision *d)
{
    if (s)
        s->count++;
    d->remaining--;
}

void
sy_ratelimit_local(const char *subject, int cls, int64_t limit,
                   sy_rl_decision *d)
{
    local_count *s = local_look(subject, cls, limit, d);
    if (d->allowed)
        local_take(s, d);
}

/* ---------------------------------------------------------- the ai class */

static sy_metric decisions_metric;

static void
decision_labels(sy_buf *b, int series)
{
    static const char *const cls[] = {"read", "write", "ai", "ai_tenant"};
    sy_buf_printf(b, "class=\"%s\",result=\"%s\"", cls[series / 2],
                  series % 2 ? "refused" : "allowed");
}

static sy_metric decisions_metric = {
    .name = "synthia_ratelimit_decisions_total",
    .help = "Rate-limit decisions by cost class (ai_tenant: a tenant's ai "
            "budget) and result.",
    .nseries = 8,
    .labeller = decision_labels,
};
SY_METRICS_REGISTER(&decisions_metric)

void
sy_ratelimit_count(int cls, bool allowed)
{
    if (cls >= SY_RATE_READ && cls <= SY_RL_TENANT_AI)
        sy_counter_add(&decisions_metric, (cls - SY_RATE_READ) * 2 + !allowed,
                       1);
}

static void
ai_count(const sy_rl_ai *d)
{
    if (d->per_caller)
        sy_ratelimit_count(SY_RATE_AI, d->caller.allowed);
    sy_ratelimit_count(SY_RL_TENANT_AI, d->tenant.allowed);
}

/* Redis is away: ratelimit.on_redis_down decides. */
static int
ai_degraded(const char *tenant, const char *subject, sy_rl_ai *d)
{
    int policy = sy_conf ? sy_conf->on_redis_down : SY_RL_DOWN_LOCAL;
    sy_ratelimit_note_degraded();
    if (policy == SY_RL_DOWN_CLOSED)
        return SY_EREDIS;
    d->degraded = true;
    if (policy == SY_RL_DOWN_OPEN) {
        d->allowed = d->caller.allowed = d->tenant.allowed = true;
        d->caller.remaining = d->tenant.remaining = -1;
        return 0;
    }
    char t[SY_RL_SUBJECT_MAX];
    snprintf(t, sizeof(t), "t:%s", tenant);
    local_count *cs = NULL, *ts = local_look(t, SY_RL_TENANT_AI,
                                             d->tenant.limit, &d->tenant);
    if (d->per_caller)
        cs = local_look(subject, SY_RATE_AI, d->caller.limit, &d->caller);
    else
        d->caller.allowed = true;
    d->allowed = d->caller.allowed && d->tenant.allowed;
    if (d->allowed) {
        if (d->per_caller)
            local_take(cs, &d->caller);
        local_take(ts, &d->tenant);
    }
    ai_count(d);
    return 0;
}

static void
ai_part(const redisReply *const *e, sy_rl_decision *d)
{
    d->allowed = e[0]->integer == 1;
    d->remaining = e[1]->integer;
    d->reset_s = e[2]->integer;
}

int
sy_ratelimit_ai(sy_arena *a, const char *tenant, const char *subject,
                int64_t caller_limit, int64_t tenant_limit, sy_rl_ai *d)
{
    char ck[128], tk[128], cl[24], tl[24];
    redisReply *r;
    *d = (sy_rl_ai){.per_caller = caller_limit >= 0,
                    .caller.limit = caller_limit,
                    .tenant.limit = tenant_limit};
    snprintf(ck, sizeof(ck), "sy:{t:%s}:rl:ai:%s", tenant, subject);
    snprintf(tk, sizeof(tk), "sy:{t:%s}:rl:ai", tenant);
    snprintf(cl, sizeof(cl), "%lld", (long long)caller_limit);
    snprintf(tl, sizeof(tl), "%lld", (long long)tenant_limit);
    const char *argv[4] = {ck, tk, cl, tl};
    if (sy_redis_down() ||
        sy_redis_eval(a, &ai_script, 2, 2, argv, NULL, &r) < 0)
        return ai_degraded(tenant, subject, d);
    if (!int_array(r, 7)) {
        unexpected(r);
        return ai_degraded(tenant, subject, d);
    }
    d->allowed = r->element[0]->integer == 1;
    ai_part((const redisReply *const *)r->element + 1, &d->caller);
    ai_part((const redisReply *const *)r->element + 4, &d->tenant);
    ai_count(d);
    return 0;
}

/* ------------------------------------------------------- plan limits */

/* A tenant's plan limits, for signed-in users (API keys carry theirs in
 * the key record) and the tenant's ai budget. */
static sy_db_stmt plan_stmt = SY_DB_STMT(
    "ratelimit_plan",
    "SELECT p.read_per_min, p.write_per_min, p.ai_per_min, "
    "p.ai_tenant_per_min FROM tenants t JOIN plans p ON p.id = t.plan_id "
    "WHERE t.id = $1::uuid",
    1);

static sy_memcache plans = SY_MEMCACHE("tenant_plans", 256,
                                       256 * (sizeof(sy_rl_plan) + 64),
                                       SY_RL_PLAN_TTL_MS);
SY_MEMCACHE_REGISTER(plans)

int
sy_ratelimit_plan(sy_arena *a, const char *tenant, sy_rl_plan *out)
{
    size_t n = strlen(tenant);
    const sy_rl_plan *m = sy_memcache_get(&plans, tenant, n, NULL);
    if (m) {
        *out = *m;
        return 0;
    }
    struct pg_result *r;
    int rc = sy_db_exec(a, &plan_stmt, &tenant, 1, &r);
    if (rc < 0)
        return rc;
    if (sy_db_rows(r) != 1)
        return SY_ENOTFOUND;
    *out = (sy_rl_plan){0};
    for (int c = SY_RATE_READ; c <= SY_RATE_AI; c++)
        out->limits[c] = sy_db_i64(r, 0, c - SY_RATE_READ);
    out->tenant_ai = sy_db_i64(r, 0, 3);
    sy_memcache_put(&plans, tenant, n, out, sizeof(*out));
    return 0;
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
