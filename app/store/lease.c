/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lease.c - concurrency leases of a tenant's share in Redis (lease.h).
 *
 * The share is the sorted set sy:{t:<tenant>}:lease:<what> (the tenant's
 * hash tag, so it can move to Redis Cluster with the tenant's other
 * keys), scored by expiry in milliseconds of Redis TIME.  The script
 * takes a lease atomically: N holders racing for the last lease get it
 * once.  The key's own expiry is that of its longest-lived lease (never
 * shortened: holders may run with different ttls during a reload), so
 * an idle tenant leaves nothing behind.  A member names its holder uniquely
 * across hosts: a random prefix (drawn once), the pid and a counter.
 */
#include "synthia/lease.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/redis.h"

/* KEYS[1] the share; ARGV[1] limit, ARGV[2] ttl ms, ARGV[3] member.
 * Returns 1 (taken) or 0 (full). */
static sy_redis_script take_script = {
    .name = "lease_take",
    .lua = "if redis.replicate_commands then pcall(redis.replicate_commands) "
           "end\n"
           "local t = redis.call('TIME')\n"
           "local now = tonumber(t[1]) * 1000 + "
           "math.floor(tonumber(t[2]) / 1000)\n"
           "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
           "if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then\n"
           "  return 0\n"
           "end\n"
           "local exp = now + tonumber(ARGV[2])\n"
           "redis.call('ZADD', KEYS[1], exp, ARGV[3])\n"
           "local left = redis.call('PTTL', KEYS[1])\n"
           "if left < 0 or now + left < exp then\n"
           "  redis.call('PEXPIREAT', KEYS[1], exp)\n"
           "end\n"
           "return 1\n",
    .sha = "",
};

/* This holder's next member name. */
static void
next_member(char out[64])
{
    static char prefix[17];
    static unsigned long long seq;
    if (!prefix[0]) {
        unsigned char r[8];
        sy_random_bytes(r, sizeof(r));
        sy_hex(prefix, r, sizeof(r));
    }
    /* the pid too: a prefix drawn before a fork is shared */
    snprintf(out, 64, "%s:%ld:%llu", prefix, (long)getpid(), ++seq);
}

int
sy_lease_take(sy_arena *a, const char *tenant, const char *what,
              int64_t limit, int64_t ttl_ms, sy_lease *l)
{
    char lim[24], ttl[24];
    l->held = false;
    if (snprintf(l->key, sizeof(l->key), "sy:{t:%s}:lease:%s", tenant,
                 what) >= (int)sizeof(l->key))
        return SY_EINVAL;
    next_member(l->member);
    snprintf(lim, sizeof(lim), "%lld", (long long)limit);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)(ttl_ms > 0 ? ttl_ms : 1));
    const char *argv[4] = {l->key, lim, ttl, l->member};
    redisReply *r;
    int rc = sy_redis_eval(a, &take_script, 1, 3, argv, NULL, &r);
    if (rc < 0)
        return rc;
    if (r->type != REDIS_REPLY_INTEGER)
        return SY_EREDIS;
    l->held = r->integer == 1;
    return 0;
}

void
sy_lease_give(sy_lease *l)
{
    if (!l->held)
        return;
    const char *argv[3] = {"ZREM", l->key, l->member};
    (void)sy_redis_send(3, argv, NULL);
    l->held = false;
}
