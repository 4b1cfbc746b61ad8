/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * breaker.c - circuit breakers of the AI providers (breaker.h): two Lua
 * scripts in Redis (acquire, record) so every responder sees one state,
 * and the same rules in this process's memory while Redis is down.
 *
 * The hash sy:{ai}:cb:<name> holds open_until (absent: closed; in the
 * future: open; past: half-open), hold_until (a Retry-After), the last
 * error (last_err, last_status, last_at) and the window's buckets (t<n>
 * calls, f<n> failures, n = now / (window / 10)).
 */
#include "synthia/breaker.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/clock.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/redis.h"

#define NBUCKETS 10
#define LAT_KEEP 100
#define KEY_TTL_MS (7LL * 86400 * 1000) /* last error and latencies */

/* KEYS: hash, probe.  ARGV: token, probe_ttl_ms.
 * Returns {verdict, held, wait_ms}. */
static sy_redis_script acquire_lua = {
    .name = "breaker_acquire",
    .lua =
        "local t = redis.call('TIME')\n"
        "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
        "local s = redis.call('HMGET', KEYS[1], 'open_until', 'hold_until')\n"
        "local hold = tonumber(s[2]) or 0\n"
        "if hold > now then return {2, 1, hold - now} end\n"
        "local ou = tonumber(s[1])\n"
        "if not ou then return {0, 0, 0} end\n"
        "if ou > now then return {2, 0, ou - now} end\n"
        "if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then\n"
        "  return {1, 0, 0}\n"
        "end\n"
        "return {2, 0, tonumber(redis.call('PTTL', KEYS[2]))}\n",
};

/* KEYS: hash, probe, latencies.  ARGV: result (0 success, 1 failure,
 * 2 neutral), latency_us, error class, http status, retry_after_ms,
 * probe (1/0), token, window_ms, min_requests, failure_pct,
 * cooldown_ms, key_ttl_ms.  Returns 1 when this call opened the
 * circuit, else 0. */
static sy_redis_script record_lua = {
    .name = "breaker_record",
    .lua =
        "local t = redis.call('TIME')\n"
        "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
        "local res = tonumber(ARGV[1])\n"
        "local ttl = tonumber(ARGV[12])\n"
        "local function clear_window()\n"
        "  local all = redis.call('HKEYS', KEYS[1])\n"
        "  for _, f in ipairs(all) do\n"
        "    if string.match(f, '^[tf]%d+$') then redis.call('HDEL', KEYS[1], f) end\n"
        "  end\n"
        "end\n"
        "local opened = 0\n"
        "if res == 0 then\n"
        "  redis.call('LPUSH', KEYS[3], ARGV[2])\n"
        "  redis.call('LTRIM', KEYS[3], 0, 99)\n"
        "  redis.call('PEXPIRE', KEYS[3], ttl)\n"
        "elseif res == 1 then\n"
        "  redis.call('HSET', KEYS[1], 'last_err', ARGV[3], 'last_status',\n"
        "             ARGV[4], 'last_at', now)\n"
        "  local ra = tonumber(ARGV[5])\n"
        "  if ra > 0 then redis.call('HSET', KEYS[1], 'hold_until', now + ra) end\n"
        "end\n"
        "if ARGV[6] == '1' then\n"
        "  if redis.call('GET', KEYS[2]) == ARGV[7] then redis.call('DEL', KEYS[2]) end\n"
        "  if res == 0 then\n"
        "    redis.call('HDEL', KEYS[1], 'open_until')\n"
        "    clear_window()\n"
        "  elseif res == 1 then\n"
        "    redis.call('HSET', KEYS[1], 'open_until', now + tonumber(ARGV[11]))\n"
        "    opened = 1\n"
        "  end\n"
        "elseif res ~= 2 and not redis.call('HGET', KEYS[1], 'open_until') then\n"
        "  local bw = math.max(1, math.floor(tonumber(ARGV[8]) / 10))\n"
        "  local b = math.floor(now / bw)\n"
        "  redis.call('HINCRBY', KEYS[1], 't' .. b, 1)\n"
        "  if res == 1 then redis.call('HINCRBY', KEYS[1], 'f' .. b, 1) end\n"
        "  local total, fails = 0, 0\n"
        "  local h = redis.call('HGETALL', KEYS[1])\n"
        "  for i = 1, #h, 2 do\n"
        "    local kind, n = string.match(h[i], '^([tf])(%d+)$')\n"
        "    if kind then\n"
        "      if tonumber(n) <= b - 10 then\n"
        "        redis.call('HDEL', KEYS[1], h[i])\n"
        "      elseif kind == 't' then total = total + tonumber(h[i + 1])\n"
        "      else fails = fails + tonumber(h[i + 1]) end\n"
        "    end\n"
        "  end\n"
        "  if total >= tonumber(ARGV[9]) and\n"
        "     fails * 100 >= tonumber(ARGV[10]) * total then\n"
        "    redis.call('HSET', KEYS[1], 'open_until', now + tonumber(ARGV[11]))\n"
        "    clear_window()\n"
        "    opened = 1\n"
        "  end\n"
        "end\n"
        "redis.call('PEXPIRE', KEYS[1], ttl)\n"
        "return opened\n",
};

__attribute__((constructor)) static void
register_scripts(void)
{
    sy_redis_register(&acquire_lua);
    sy_redis_register(&record_lua);
}

const char *
sy_breaker_state_name(int state)
{
    switch (state) {
    case SY_BREAKER_OPEN: return "open";
    case SY_BREAKER_HALF_OPEN: return "half_open";
    default: return "closed";
    }
}

static void
keys_of(const char *name, char *hash, char *probe, char *lat, size_t n)
{
    snprintf(hash, n, "sy:{ai}:cb:%s", name);
    snprintf(probe, n, "sy:{ai}:cb:%s:probe", name);
    snprintf(lat, n, "sy:{ai}:cb:%s:lat", name);
}

#define KEYLEN (SY_BREAKER_NAME_MAX + 32)

/* ------------------------------------------------------------ memory */

typedef struct mem_cb {
    char name[SY_BREAKER_NAME_MAX];
    int64_t open_until; /* 0: closed */
    int64_t hold_until;
    bool probing;
    int64_t probe_until;
    int64_t bucket[NBUCKETS]; /* bucket number held by each slot */
    int calls[NBUCKETS];
    int fails[NBUCKETS];
    char last_err[24];
    int last_status;
    int64_t last_at;
    int64_t lat[LAT_KEEP];
    int nlat, latpos;
} mem_cb;

#define MEM_MAX 32
static mem_cb mem[MEM_MAX];
static int nmem;

static mem_cb *
mem_get(const char *name, bool create)
{
    for (int i = 0; i < nmem; i++)
        if (strcmp(mem[i].name, name) == 0)
            return &mem[i];
    if (!create)
        return NULL;
    /* past MEM_MAX names (never with a valid configuration: at most 4
     * capabilities x 4 links), the last slot is reused */
    mem_cb *m = &mem[nmem < MEM_MAX ? nmem++ : MEM_MAX - 1];
    memset(m, 0, sizeof(*m));
    snprintf(m->name, sizeof(m->name), "%s", name);
    return m;
}

void
sy_breaker_mem_reset(void)
{
    memset(mem, 0, sizeof(mem));
    nmem = 0;
}

static void
mem_clear_window(mem_cb *m)
{
    memset(m->bucket, 0, sizeof(m->bucket));
    memset(m->calls, 0, sizeof(m->calls));
    memset(m->fails, 0, sizeof(m->fails));
}

int
sy_breaker_mem_acquire(const char *name, const sy_breaker_conf *c,
                       int64_t now_ms, sy_breaker_ticket *t)
{
    mem_cb *m = mem_get(name, true);
    memset(t, 0, sizeof(*t));
    if (m->hold_until > now_ms) {
        t->verdict = SY_BREAKER_REJECT;
        t->held = true;
        t->wait_ms = m->hold_until - now_ms;
    } else if (m->open_until == 0) {
        t->verdict = SY_BREAKER_ALLOW;
    } else if (m->open_until > now_ms) {
        t->verdict = SY_BREAKER_REJECT;
        t->wait_ms = m->open_until - now_ms;
    } else if (!m->probing || m->probe_until <= now_ms) {
        m->probing = true;
        m->probe_until = now_ms + c->probe_ttl_ms;
        t->verdict = SY_BREAKER_PROBE;
        snprintf(t->token, sizeof(t->token), "mem");
    } else {
        t->verdict = SY_BREAKER_REJECT;
        t->wait_ms = m->probe_until - now_ms;
    }
    return 0;
}

void
sy_breaker_mem_record(const char *name, const sy_breaker_conf *c,
                      const sy_breaker_ticket *t, int result,
                      int64_t latency_us, const char *error_class,
                      int http_status, int64_t retry_after_ms,
                      int64_t now_ms)
{
    mem_cb *m = mem_get(name, true);
    if (result == SY_BREAKER_SUCCESS) {
        m->lat[m->latpos] = latency_us;
        m->latpos = (m->latpos + 1) % LAT_KEEP;
        if (m->nlat < LAT_KEEP)
            m->nlat++;
    } else if (result == SY_BREAKER_FAILURE) {
        snprintf(m->last_err, sizeof(m->last_err), "%s",
                 error_class ? error_class : "error");
        m->last_status = http_status;
        m->last_at = now_ms;
        if (retry_after_ms > 0)
            m->hold_until = now_ms + retry_after_ms;
    }
    if (t->verdict == SY_BREAKER_PROBE) {
        m->probing = false;
        if (result == SY_BREAKER_SUCCESS) {
            m->open_until = 0;
            mem_clear_window(m);
        } else if (result == SY_BREAKER_FAILURE) {
            m->open_until = now_ms + c->cooldown_ms;
        }
        return;
    }
    if (result == SY_BREAKER_NEUTRAL || m->open_until != 0)
        return;
    int64_t bw = c->window_ms / NBUCKETS > 0 ? c->window_ms / NBUCKETS : 1;
    int64_t b = now_ms / bw;
    int slot = (int)(b % NBUCKETS);
    if (m->bucket[slot] != b) {
        m->bucket[slot] = b;
        m->calls[slot] = m->fails[slot] = 0;
    }
    m->calls[slot]++;
    if (result == SY_BREAKER_FAILURE)
        m->fails[slot]++;
    int64_t total = 0, fails = 0;
    for (int i = 0; i < NBUCKETS; i++) {
        if (m->bucket[i] > b - NBUCKETS && m->bucket[i] <= b) {
            total += m->calls[i];
            fails += m->fails[i];
        }
    }
    if (total >= c->min_requests && fails * 100 >= c->failure_pct * total) {
        m->open_until = now_ms + c->cooldown_ms;
        mem_clear_window(m);
    }
}

static int
cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* Median of n latencies (sorted in place); -1 for none. */
static int64_t
median(int64_t *v, int n)
{
    if (n <= 0)
        return -1;
    qsort(v, (size_t)n, sizeof(*v), cmp_i64);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void
sy_breaker_mem_info(const char *name, int64_t now_ms, sy_breaker_info *out)
{
    mem_cb *m = mem_get(name, false);
    int64_t lat[LAT_KEEP];
    memset(out, 0, sizeof(*out));
    out->p50_us = -1;
    if (!m)
        return;
    out->state = m->open_until == 0        ? SY_BREAKER_CLOSED
                 : m->open_until > now_ms ? SY_BREAKER_OPEN
                                          : SY_BREAKER_HALF_OPEN;
    out->last_error = m->last_err[0] ? m->last_err : NULL;
    out->last_status = m->last_status;
    out->last_error_ms = m->last_at;
    memcpy(lat, m->lat, sizeof(lat));
    out->samples = m->nlat;
    out->p50_us = median(lat, m->nlat);
}

/* ------------------------------------------------------------- Redis */

static int64_t
reply_int(const redisReply *r)
{
    if (!r)
        return 0;
    if (r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    if (r->type == REDIS_REPLY_STRING)
        return strtoll(r->str, NULL, 10);
    return 0;
}

int
sy_breaker_acquire(sy_arena *a, const char *name, const sy_breaker_conf *c,
                   sy_breaker_ticket *t)
{
    char hash[KEYLEN], probe[KEYLEN], lat[KEYLEN], ttl[24];
    unsigned char rnd[16];
    redisReply *r;
    keys_of(name, hash, probe, lat, KEYLEN);
    memset(t, 0, sizeof(*t));
    sy_random_bytes(rnd, sizeof(rnd));
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(t->token + 2 * i, 3, "%02x", rnd[i]);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)c->probe_ttl_ms);
    const char *argv[] = {hash, probe, t->token, ttl};
    int rc = sy_redis_eval(a, &acquire_lua, 2, 2, argv, NULL, &r);
    if (rc == SY_ENOMEM)
        return rc;
    if (rc == 0 && r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
        t->verdict = (int)reply_int(r->element[0]);
        t->held = reply_int(r->element[1]) != 0;
        t->wait_ms = reply_int(r->element[2]);
        t->shared = true;
        return 0;
    }
    return sy_breaker_mem_acquire(name, c, sy_wall_ms(), t);
}

void
sy_breaker_record(sy_arena *a, const char *name, const sy_breaker_conf *c,
                  const sy_breaker_ticket *t, int result, int64_t latency_us,
                  const char *error_class, int http_status,
                  int64_t retry_after_ms)
{
    char hash[KEYLEN], probe[KEYLEN], lat[KEYLEN];
    char n[9][24];
    redisReply *r;
    if (t->shared) {
        keys_of(name, hash, probe, lat, KEYLEN);
        snprintf(n[0], 24, "%d", result);
        snprintf(n[1], 24, "%lld", (long long)latency_us);
        snprintf(n[2], 24, "%d", http_status);
        snprintf(n[3], 24, "%lld", (long long)retry_after_ms);
        snprintf(n[4], 24, "%d", t->verdict == SY_BREAKER_PROBE);
        snprintf(n[5], 24, "%lld", (long long)c->window_ms);
        snprintf(n[6], 24, "%lld", (long long)c->min_requests);
        snprintf(n[7], 24, "%lld", (long long)c->failure_pct);
        snprintf(n[8], 24, "%lld", (long long)c->cooldown_ms);
        char ttl[24];
        snprintf(ttl, sizeof(ttl), "%lld", (long long)KEY_TTL_MS);
        const char *argv[] = {hash, probe, lat, n[0], n[1],
                              error_class ? error_class : "",
                              n[2], n[3], n[4], t->token, n[5], n[6], n[7],
                              n[8], ttl};
        if (sy_redis_eval(a, &record_lua, 3, 12, argv, NULL, &r) == 0 &&
            r->type != REDIS_REPLY_ERROR)
            return;
    }
    sy_breaker_mem_record(name, c, t, result, latency_us, error_class,
                          http_status, retry_after_ms, sy_wall_ms());
}

int
sy_breaker_info_many(sy_arena *a, const char *const *names, int n,
                     sy_breaker_info *out)
{
    int ncmd = 1 + 2 * n;
    sy_redis_cmdv *cmds = sy_arena_calloc(a, sizeof(*cmds) * (size_t)ncmd);
    redisReply **rep = sy_arena_calloc(a, sizeof(*rep) * (size_t)ncmd);
    const char **argv = sy_arena_calloc(a, sizeof(*argv) * (size_t)(6 * n + 1));
    if (!cmds || !rep || !argv)
        return SY_ENOMEM;
    static const char *time_argv[] = {"TIME"};
    cmds[0] = (sy_redis_cmdv){1, time_argv, NULL};
    for (int i = 0; i < n; i++) {
        char *hash = sy_arena_alloc(a, KEYLEN), *lat = sy_arena_alloc(a, KEYLEN);
        char probe[KEYLEN];
        if (!hash || !lat)
            return SY_ENOMEM;
        keys_of(names[i], hash, probe, lat, KEYLEN);
        const char **h = argv + 6 * i;
        h[0] = "HMGET";
        h[1] = hash;
        h[2] = "open_until";
        h[3] = "last_err";
        h[4] = "last_status";
        h[5] = "last_at";
        cmds[1 + 2 * i] = (sy_redis_cmdv){6, h, NULL};
        static const char *range[] = {"0", "99"};
        const char **l = sy_arena_alloc(a, sizeof(*l) * 4);
        if (!l)
            return SY_ENOMEM;
        l[0] = "LRANGE";
        l[1] = lat;
        l[2] = range[0];
        l[3] = range[1];
        cmds[2 + 2 * i] = (sy_redis_cmdv){4, l, NULL};
    }
    bool ok = sy_redis_pipeline(a, ncmd, cmds, rep) == 0 && rep[0] &&
              rep[0]->type == REDIS_REPLY_ARRAY && rep[0]->elements == 2;
    for (int i = 0; ok && i < ncmd; i++)
        if (!rep[i] || rep[i]->type == REDIS_REPLY_ERROR)
            ok = false;
    if (!ok) {
        int64_t now = sy_wall_ms();
        for (int i = 0; i < n; i++)
            sy_breaker_mem_info(names[i], now, &out[i]);
        return 0;
    }
    int64_t now = reply_int(rep[0]->element[0]) * 1000 +
                  reply_int(rep[0]->element[1]) / 1000;
    for (int i = 0; i < n; i++) {
        redisReply *h = rep[1 + 2 * i], *l = rep[2 + 2 * i];
        sy_breaker_info *o = &out[i];
        memset(o, 0, sizeof(*o));
        o->shared = true;
        o->p50_us = -1;
        if (h->type == REDIS_REPLY_ARRAY && h->elements == 4) {
            if (h->element[0]->type == REDIS_REPLY_STRING) {
                int64_t ou = reply_int(h->element[0]);
                o->state = ou > now ? SY_BREAKER_OPEN : SY_BREAKER_HALF_OPEN;
            }
            if (h->element[1]->type == REDIS_REPLY_STRING &&
                h->element[1]->len > 0)
                o->last_error = sy_arena_strndup(a, h->element[1]->str,
                                                 h->element[1]->len);
            o->last_status = (int)reply_int(h->element[2]);
            o->last_error_ms = reply_int(h->element[3]);
        }
        if (l->type == REDIS_REPLY_ARRAY && l->elements > 0) {
            int64_t v[LAT_KEEP];
            int k = 0;
            for (size_t j = 0; j < l->elements && k < LAT_KEEP; j++)
                v[k++] = reply_int(l->element[j]);
            o->samples = k;
            o->p50_us = median(v, k);
        }
    }
    return 0;
}
