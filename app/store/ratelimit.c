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
#include "synthia/inval.h"
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

/* --------------------------------------------------------- token leases */

/* Tokens given back: n of minute m no longer count where they were
 * taken (the current minute's count, or the previous one's once the
 * window has rolled; older ones no longer matter). */
#define GIVE_BACK_LUA                                                       \
    "local function give_back(key, m, n)\n"                                 \
    "  if n <= 0 then return end\n"                                         \
    "  local v = redis.call('HMGET', key, 'w', 'c', 'p')\n"                 \
    "  local w = tonumber(v[1])\n"                                          \
    "  local f, x\n"                                                        \
    "  if w == m then f, x = 'c', tonumber(v[2]) or 0\n"                    \
    "  elseif w == m + 1 then f, x = 'p', tonumber(v[3]) or 0\n"            \
    "  else return end\n"                                                   \
    "  x = x - n\n"                                                         \
    "  if x < 0 then x = 0 end\n"                                           \
    "  redis.call('HSET', key, f, x)\n"                                     \
    "end\n"

/* KEYS[1] the subject's counter hash; ARGV[1] the limit, ARGV[2] the
 * batch wanted, ARGV[3] responders per host, ARGV[4] and ARGV[5] the
 * minute and count of stale tokens given back first, ARGV[6] the
 * lease's lifetime in ms.  Takes one token for this request and up to
 * ARGV[2] - 1 more, never more than a (4 x responders)th of what is
 * left, all counted in the current minute at once, so they fit the
 * window whenever they are spent within it.  Field x: until when
 * (Redis time, ms) some responder may hold unspent tokens.  Returns
 * {allowed, left after, reset seconds, tokens taken, ms to the minute's
 * end, minute, ms until no tokens are held elsewhere (refused only)}. */
static sy_redis_script lease_script = {
    "ratelimit_lease",
    WINDOW_LUA GIVE_BACK_LUA
    "local lim = tonumber(ARGV[1])\n"
    "give_back(KEYS[1], tonumber(ARGV[4]), tonumber(ARGV[5]))\n"
    "local s = look(KEYS[1], lim)\n"
    "local x = tonumber(redis.call('HGET', KEYS[1], 'x') or '0')\n"
    "if s[1] == 0 then\n"
    "  local h = x - now\n"
    "  if h < 0 then h = 0 end\n"
    "  return {0, s[4], s[5], 0, 60000 - e, minute, h}\n"
    "end\n"
    "local b = math.floor(s[4] / (4 * tonumber(ARGV[3])))\n"
    "local want = tonumber(ARGV[2])\n"
    "if b > want then b = want end\n"
    "if b < 1 then b = 1 end\n"
    "redis.call('HSET', KEYS[1], 'w', minute, 'c', s[2] + b, 'p', s[3])\n"
    "if b > 1 and now + tonumber(ARGV[6]) > x then\n"
    "  redis.call('HSET', KEYS[1], 'x', now + tonumber(ARGV[6]))\n"
    "end\n"
    "redis.call('PEXPIRE', KEYS[1], 120000)\n"
    "return {1, s[4] - b, s[5], b, 60000 - e, minute, 0}\n",
    ""};

/* KEYS[1] the counter hash; ARGV[1] minute, ARGV[2] count of unspent
 * tokens given back. */
static sy_redis_script return_script = {
    "ratelimit_return",
    GIVE_BACK_LUA
    "give_back(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))\n"
    "return 1\n",
    ""};

/* This responder's lease of one subject's class. */
typedef struct rl_lease {
    int64_t limit;    /* the limit the tokens were taken under */
    int64_t minute;   /* Redis's minute they count in */
    int64_t tokens;   /* unspent */
    int64_t left;     /* what Redis had left after the lease */
    int64_t end_us;   /* monotonic: the minute ends (no later than this) */
    int64_t lapse_us; /* the tokens may be spent until then */
    int64_t want;     /* the next batch asked for (doubles per lease) */
    int64_t sent_us;  /* the lease call was made */
    int64_t back_minute, back_n; /* stale tokens being given back */
} rl_lease;

#define LEASE_ENTRIES 1024
#define LEASE_KEY_MAX (SY_RL_SUBJECT_MAX + 1)
#define LEASE_MARGIN_US 20000 /* tokens lapse this long before the minute */

/* Evicting an entry loses its tokens until the minute ends: under-
 * admission only, never over. */
static sy_memcache leases = SY_MEMCACHE("ratelimit_leases", LEASE_ENTRIES,
                                        LEASE_ENTRIES *
                                            (LEASE_KEY_MAX + 16 +
                                             sizeof(rl_lease)),
                                        120000);
SY_MEMCACHE_REGISTER(leases)

static int64_t sweep_at_us; /* the next lapse; 0: nothing on lease */

static int64_t
lease_ttl_ms(void)
{
    return sy_conf && sy_conf->lease_ttl_ms > 0 ? sy_conf->lease_ttl_ms
                                                : 200;
}

static void
lease_labels(sy_buf *b, int series)
{
    sy_buf_printf(b, "result=\"%s\"", series ? "refused" : "allowed");
}

static sy_metric leases_metric = {
    .name = "synthia_ratelimit_leases_total",
    .help = "Rate-limit decisions Redis made (a lease of tokens, or a "
            "refusal); the other allowed requests spent leased tokens.",
    .nseries = 2,
    .labeller = lease_labels,
};
static sy_metric returned_metric = {
    .name = "synthia_ratelimit_tokens_returned_total",
    .help = "Leased rate-limit tokens given back unspent (idle, lapsed, "
            "re-leased or at exit).",
};
SY_METRICS_REGISTER(&leases_metric, &returned_metric)

static int64_t
lease_max(void)
{
    return sy_conf && sy_conf->lease_max > 1 ? sy_conf->lease_max : 1;
}

static size_t
lease_key(char k[LEASE_KEY_MAX], const char *subject, int cls)
{
    size_t n = strnlen(subject, SY_RL_SUBJECT_MAX - 1);
    memcpy(k, subject, n);
    k[n] = (char)('0' + cls);
    return n + 1;
}

static rl_lease *
lease_find(const char *subject, int cls, bool make)
{
    char k[LEASE_KEY_MAX];
    size_t n = lease_key(k, subject, cls);
    rl_lease *l = sy_memcache_get(&leases, k, n, NULL);
    if (!l && make) {
        rl_lease fresh = {.want = 1};
        l = sy_memcache_put(&leases, k, n, &fresh, sizeof(fresh));
    }
    return l;
}

static int64_t
reset_s(const rl_lease *l, int64_t now)
{
    int64_t s = (l->end_us - now + 999999) / 1000000;
    return s < 1 ? 1 : s;
}

bool
sy_ratelimit_spend(const char *subject, int cls, int64_t limit,
                   sy_rl_decision *d)
{
    rl_lease *l = lease_find(subject, cls, false);
    int64_t now = sy_mono_us();
    if (!l || l->tokens <= 0 || l->limit != limit || now >= l->lapse_us)
        return false;
    l->tokens--;
    *d = (sy_rl_decision){.allowed = true,
                          .limit = limit,
                          .remaining = l->left + l->tokens,
                          .reset_s = reset_s(l, now)};
    return true;
}

/* The lease call's arguments for l: stale tokens it still holds are
 * given back by it, once (they are off the lease from now on; a
 * give-back whose call may have run is never sent again), or, retrying
 * a call Redis did not run (NOSCRIPT), the same give-back again. */
static const char **
lease_args(sy_arena *a, const char *subject, int cls, int64_t limit,
           rl_lease *l, bool retry)
{
    const char **argv = sy_arena_alloc(a, 7 * sizeof(*argv));
    char *s = sy_arena_alloc(a, 96 + 6 * 24);
    if (!argv || !s)
        return NULL;
    if (!retry) {
        l->back_minute = l->minute;
        l->back_n = l->tokens > 0 ? l->tokens : 0;
        l->tokens = 0;
    }
    if (l->limit != limit)
        l->want = 1;
    int64_t want = l->want < lease_max() ? l->want : lease_max();
    int64_t workers = sy_conf && sy_conf->workers > 0 ? sy_conf->workers : 1;
    int64_t v[6] = {limit,         want,     workers,
                    l->back_minute, l->back_n, lease_ttl_ms()};
    window_key(s, subject, cls);
    argv[0] = s;
    for (int i = 0; i < 6; i++) {
        char *p = s + 96 + 24 * i;
        snprintf(p, 24, "%lld", (long long)v[i]);
        argv[i + 1] = p;
    }
    l->sent_us = sy_mono_us();
    return argv;
}

int
sy_ratelimit_lease_cmd(sy_arena *a, const char *subject, int cls,
                       int64_t limit, sy_redis_cmdv *out)
{
    rl_lease *l = lease_find(subject, cls, true);
    if (!l)
        return SY_ENOMEM;
    const char **argv = lease_args(a, subject, cls, limit, l, false);
    if (!argv)
        return SY_ENOMEM;
    return sy_redis_evalsha_cmd(a, &lease_script, 1, 6, argv, NULL, out);
}

int
sy_ratelimit_lease_reply(const struct redisReply *r, const char *subject,
                         int cls, int64_t limit, sy_rl_decision *d)
{
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0)
        return SY_ENOTFOUND; /* nothing ran: the give-back is still due */
    rl_lease *l = lease_find(subject, cls, true);
    if (!int_array(r, 7))
        return unexpected(r);
    int64_t granted = r->element[3]->integer;
    *d = (sy_rl_decision){.allowed = r->element[0]->integer == 1,
                          .limit = limit,
                          .remaining = r->element[1]->integer,
                          .reset_s = r->element[2]->integer,
                          .held_ms = r->element[6]->integer};
    sy_counter_add(&leases_metric, !d->allowed, 1);
    if (!l)
        return 0; /* an entry is ~150 bytes: cannot happen */
    if (l->back_n > 0)
        sy_counter_add(&returned_metric, 0, (uint64_t)l->back_n);
    l->back_n = 0;
    l->limit = limit;
    l->minute = r->element[5]->integer;
    l->left = d->remaining;
    l->end_us = l->sent_us + r->element[4]->integer * 1000;
    l->lapse_us = l->sent_us + lease_ttl_ms() * 1000;
    if (l->lapse_us > l->end_us - LEASE_MARGIN_US)
        l->lapse_us = l->end_us - LEASE_MARGIN_US;
    if (!d->allowed) {
        l->tokens = 0;
        l->want = 1;
        return 0;
    }
    l->tokens = granted > 1 ? granted - 1 : 0;
    l->want = l->want * 2 < lease_max() ? l->want * 2 : lease_max();
    d->remaining += l->tokens;
    if (l->tokens && (!sweep_at_us || l->lapse_us < sweep_at_us))
        sweep_at_us = l->lapse_us;
    return 0;
}

int
sy_ratelimit_lease(sy_arena *a, const char *subject, int cls, int64_t limit,
                   sy_rl_decision *d)
{
    rl_lease *l = lease_find(subject, cls, true);
    redisReply *r;
    if (!l)
        return SY_ENOMEM;
    const char **argv = lease_args(a, subject, cls, limit, l, true);
    if (!argv)
        return SY_ENOMEM;
    int rc = sy_redis_eval(a, &lease_script, 1, 6, argv, NULL, &r);
    if (rc < 0)
        return rc;
    rc = sy_ratelimit_lease_reply(r, subject, cls, limit, d);
    return rc == SY_ENOTFOUND ? SY_EREDIS : rc;
}

/* Giving back: the return calls of the entries due, then one pipeline. */
typedef struct give_back {
    sy_arena *a;
    bool all;
    int64_t now;
    int n, cap;
    int64_t *tokens; /* given back by each call */
    sy_redis_cmdv *cmds;
    int64_t next; /* the earliest lapse of the entries kept, 0: none */
} give_back;

static bool
give_back_due(const void *key, size_t klen, const void *val, size_t vlen,
              void *ud)
{
    give_back *g = ud;
    const rl_lease *l = val;
    (void)vlen;
    if (l->tokens <= 0)
        return g->all;
    if (!g->all && g->now < l->lapse_us) {
        if (!g->next || l->lapse_us < g->next)
            g->next = l->lapse_us;
        return false;
    }
    if (g->n == g->cap || klen < 2 || klen > LEASE_KEY_MAX)
        return true; /* cannot say: lost until the minute ends */
    const char **argv = sy_arena_alloc(g->a, 3 * sizeof(*argv));
    char *s = sy_arena_alloc(g->a, 96 + 2 * 24);
    if (!argv || !s)
        return true;
    char subject[SY_RL_SUBJECT_MAX];
    memcpy(subject, key, klen - 1);
    subject[klen - 1] = '\0';
    window_key(s, subject, ((const char *)key)[klen - 1] - '0');
    snprintf(s + 96, 24, "%lld", (long long)l->minute);
    snprintf(s + 120, 24, "%lld", (long long)l->tokens);
    argv[0] = s;
    argv[1] = s + 96;
    argv[2] = s + 120;
    if (sy_redis_evalsha_cmd(g->a, &return_script, 1, 2, argv, NULL,
                             &g->cmds[g->n]) == 0) {
        g->tokens[g->n++] = l->tokens;
    }
    return true;
}

static void
give_back_run(sy_arena *a, bool all)
{
    give_back g = {.a = a, .all = all, .now = sy_mono_us(),
                   .cap = LEASE_ENTRIES};
    g.cmds = sy_arena_alloc(a, (size_t)g.cap * sizeof(*g.cmds));
    g.tokens = sy_arena_alloc(a, (size_t)g.cap * sizeof(*g.tokens));
    if (!g.cmds || !g.tokens || sy_redis_down()) {
        /* kept until Redis is back (or lost on exit): look again later */
        sweep_at_us = all ? 0 : g.now + 100000;
        if (all)
            sy_memcache_clear(&leases);
        return;
    }
    sy_memcache_drop_if(&leases, give_back_due, &g);
    sweep_at_us = g.next;
    redisReply **rep = sy_arena_alloc(a, (size_t)(g.n ? g.n : 1) *
                                             sizeof(*rep));
    if (g.n == 0 || !rep)
        return;
    if (sy_redis_pipeline(a, g.n, g.cmds, rep) < 0) {
        sy_log(SY_LOG_WARN, "ratelimit_return",
               "unspent rate-limit tokens not given back (Redis): they "
               "count until their minute ends");
        return;
    }
    for (int i = 0; i < g.n; i++) /* NOSCRIPT: lost until the minute ends */
        if (rep[i]->type == REDIS_REPLY_INTEGER)
            sy_counter_add(&returned_metric, 0, (uint64_t)g.tokens[i]);
}

int64_t
sy_ratelimit_leases_due_ms(void)
{
    if (!sweep_at_us)
        return -1;
    int64_t ms = (sweep_at_us - sy_mono_us() + 999) / 1000;
    return ms < 0 ? 0 : ms;
}

bool
sy_ratelimit_leases_tick(sy_arena *a)
{
    if (!sweep_at_us || sy_mono_us() < sweep_at_us)
        return false;
    give_back_run(a, false);
    return true;
}

void
sy_ratelimit_leases_return(sy_arena *a)
{
    give_back_run(a, true);
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

/* "tenant <id>": its plan may have changed (inval.h); without the
 * subscription the entry lives out SY_RL_PLAN_TTL_MS. */
static void
on_tenant(sy_str arg)
{
    sy_memcache_drop(&plans, arg.p, arg.len);
}
SY_INVAL_HANDLER("tenant", on_tenant)

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
