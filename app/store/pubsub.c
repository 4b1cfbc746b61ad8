/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pubsub.c - the Redis subscriber connection (pubsub.h).
 *
 * Connecting is blocking with redis.timeout as its bound (then AUTH),
 * like the command connection's; after that the context is switched to
 * non-blocking (hiredis then reads what has arrived and returns) and the
 * loop reads it when its descriptor is readable.  Channels are kept in a
 * small table with their listener count and the SUBSCRIBE commands still
 * unanswered: a channel is confirmed (listeners told READY) when its last
 * SUBSCRIBE has been answered.
 */
#include "synthia/pubsub.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "synthia/clock.h"
#include "synthia/config.h"
#include "synthia/error.h"
#include "synthia/log.h"
#include "synthia/metrics.h"
#include "synthia/redis.h"

#define BACKOFF_MIN_US 100000
#define BACKOFF_MAX_US 5000000

typedef struct chan_slot {
    char name[SY_PUBSUB_CHANNEL_MAX];
    int refs;     /* listeners; 0: free slot */
    int pending;  /* SUBSCRIBE sent, not yet answered */
} chan_slot;

typedef struct listener {
    int chan;     /* index in chans; -1: free */
    sy_pubsub_fn fn;
    void *arg;
} listener;

static redisContext *ctx;
static chan_slot *chans;
static int nchans, cap_chans;
static listener *lis;
static int nlis, cap_lis, live_lis;
static int64_t retry_at_us, backoff_us = BACKOFF_MIN_US;
static bool out_pending;
static uint64_t generation;

static sy_metric m_messages = {
    .name = "synthia_pubsub_messages_total",
    .help = "Messages received on the Redis subscriber connection",
    .type = SY_METRIC_COUNTER};
static sy_metric m_connects = {
    .name = "synthia_pubsub_connects_total",
    .help = "Redis subscriber connections opened (reconnects included)",
    .type = SY_METRIC_COUNTER};
SY_METRICS_REGISTER(&m_messages, &m_connects)

/* Grow *p (of *cap elements of size sz) to hold n: 0 or SY_ENOMEM. */
static int
grow(void **p, int *cap, int n, size_t sz)
{
    if (n <= *cap)
        return 0;
    int ncap = *cap ? *cap * 2 : 16;
    while (ncap < n)
        ncap *= 2;
    void *q = realloc(*p, (size_t)ncap * sz);
    if (!q)
        return SY_ENOMEM;
    *p = q;
    *cap = ncap;
    return 0;
}

static void
mark_down(const char *why)
{
    if (ctx) {
        sy_log(SY_LOG_WARN, "pubsub_down",
               "Redis subscriber connection lost: %s (retrying in %lld ms)",
               why, (long long)(backoff_us / 1000));
        redisFree(ctx);
    }
    ctx = NULL;
    out_pending = false;
    for (int i = 0; i < nchans; i++)
        chans[i].pending = 0;
    retry_at_us = sy_mono_us() + backoff_us;
    backoff_us = backoff_us * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US
                                                  : backoff_us * 2;
}

static void
flush_out(void)
{
    int done = 0;
    if (!ctx)
        return;
    if (redisBufferWrite(ctx, &done) != REDIS_OK) {
        mark_down(ctx->errstr);
        return;
    }
    out_pending = !done;
}

/* SUBSCRIBE or UNSUBSCRIBE one channel (queued in the context). */
static void
send_cmd(const char *verb, chan_slot *c)
{
    const char *argv[2] = {verb, c->name};
    if (!ctx)
        return;
    if (redisAppendCommandArgv(ctx, 2, argv, NULL) != REDIS_OK) {
        mark_down("out of memory");
        return;
    }
    if (verb[0] == 'S')
        c->pending++;
    out_pending = true;
}

static int
auth(const sy_redis_target *t)
{
    const char *pw =
        sy_conf->redis_password ? sy_conf->redis_password : t->password;
    redisReply *r;
    if (!pw[0])
        return 0;
    if (t->user[0])
        r = redisCommandArgv(ctx, 3, (const char *[]){"AUTH", t->user, pw},
                             NULL);
    else
        r = redisCommandArgv(ctx, 2, (const char *[]){"AUTH", pw}, NULL);
    int rc = r && r->type != REDIS_REPLY_ERROR ? 0 : SY_EREDIS;
    if (r)
        freeReplyObject(r);
    return rc;
}

static void
connect_now(void)
{
    sy_redis_target t;
    if (!sy_conf || sy_redis_parse_url(sy_conf->redis_url, &t) < 0) {
        retry_at_us = sy_mono_us() + BACKOFF_MAX_US;
        return;
    }
    int64_t ms = sy_conf->redis_timeout_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    ctx = t.unix_socket ? redisConnectUnixWithTimeout(t.host, tv)
                        : redisConnectWithTimeout(t.host, t.port, tv);
    int fl;
    if (!ctx || ctx->err || auth(&t) < 0 || (fl = fcntl(ctx->fd, F_GETFL)) < 0 ||
        fcntl(ctx->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        explicit_bzero(&t, sizeof(t));
        if (!ctx) {
            mark_down("out of memory");
            return;
        }
        const char *why = ctx->err ? ctx->errstr : "AUTH refused";
        char copy[128];
        snprintf(copy, sizeof(copy), "%s", why);
        mark_down(copy);
        return;
    }
    explicit_bzero(&t, sizeof(t));
    ctx->flags &= ~REDIS_BLOCK; /* hiredis: EAGAIN means "later" */
    backoff_us = BACKOFF_MIN_US;
    generation++;
    sy_counter_inc(&m_connects);
    for (int i = 0; i < nchans; i++)
        if (chans[i].refs > 0)
            send_cmd("SUBSCRIBE", &chans[i]);
    flush_out();
}

static bool
wanted(void)
{
    return live_lis > 0;
}

static void
notify(int chan, int kind, sy_str msg)
{
    /* a callback may unsubscribe: look at each slot as it is then */
    for (int i = 0; i < nlis; i++)
        if (lis[i].chan == chan)
            lis[i].fn(lis[i].arg, kind, chans[chan].name, msg);
}

static int
find_chan(const char *name, size_t len)
{
    for (int i = 0; i < nchans; i++)
        if (chans[i].refs > 0 && strlen(chans[i].name) == len &&
            memcmp(chans[i].name, name, len) == 0)
            return i;
    return -1;
}

static void
handle_reply(const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_STRING)
        return;
    const char *kind = r->element[0]->str;
    int c = find_chan(r->element[1]->str, r->element[1]->len);
    if (c < 0)
        return;
    if (strcmp(kind, "message") == 0 &&
        r->element[2]->type == REDIS_REPLY_STRING) {
        sy_counter_inc(&m_messages);
        notify(c, SY_PUBSUB_MESSAGE,
               (sy_str){r->element[2]->str, r->element[2]->len});
    } else if (strcmp(kind, "subscribe") == 0 && chans[c].pending > 0 &&
               --chans[c].pending == 0) {
        notify(c, SY_PUBSUB_READY, (sy_str){"", 0});
    }
}

static void
read_in(void)
{
    if (redisBufferRead(ctx) != REDIS_OK) {
        mark_down(ctx->errstr);
        return;
    }
    for (;;) {
        void *reply = NULL;
        if (redisGetReply(ctx, &reply) != REDIS_OK) {
            mark_down(ctx->errstr);
            return;
        }
        if (!reply)
            return;
        handle_reply(reply);
        freeReplyObject(reply);
        if (!ctx)
            return;
    }
}

int
sy_pubsub_service(bool readable)
{
    if (!ctx && wanted()) {
        if (sy_mono_us() >= retry_at_us)
            connect_now();
        if (!ctx) {
            int64_t ms = (retry_at_us - sy_mono_us()) / 1000 + 1;
            return ms > 0 ? (int)ms : 1;
        }
    }
    if (!ctx)
        return -1;
    if (out_pending)
        flush_out();
    if (ctx && readable)
        read_in();
    if (!ctx)
        return wanted() ? (int)(backoff_us / 1000) : -1;
    return out_pending ? 5 : -1;
}

int
sy_pubsub_subscribe(const char *channel, sy_pubsub_fn fn, void *arg)
{
    size_t len = channel ? strlen(channel) : 0;
    if (len == 0 || len >= SY_PUBSUB_CHANNEL_MAX || !fn)
        return SY_EINVAL;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)channel[i] <= 0x20 || channel[i] == 0x7f)
            return SY_EINVAL;
    int c = find_chan(channel, len);
    if (c < 0) {
        for (int i = 0; i < nchans && c < 0; i++)
            if (chans[i].refs == 0)
                c = i;
        if (c < 0) {
            if (grow((void **)&chans, &cap_chans, nchans + 1,
                     sizeof(*chans)) < 0)
                return SY_ENOMEM;
            c = nchans++;
        }
        memcpy(chans[c].name, channel, len + 1);
        chans[c].refs = 0; /* a new slot is realloc'ed memory */
        chans[c].pending = 0;
    }
    int h = -1;
    for (int i = 0; i < nlis && h < 0; i++)
        if (lis[i].chan < 0)
            h = i;
    if (h < 0) {
        if (grow((void **)&lis, &cap_lis, nlis + 1, sizeof(*lis)) < 0) {
            if (chans[c].refs == 0)
                chans[c].name[0] = 0;
            return SY_ENOMEM;
        }
        h = nlis++;
    }
    lis[h] = (listener){.chan = c, .fn = fn, .arg = arg};
    live_lis++;
    if (chans[c].refs++ == 0)
        send_cmd("SUBSCRIBE", &chans[c]);
    if (out_pending)
        flush_out();
    return h;
}

void
sy_pubsub_unsubscribe(int h)
{
    if (h < 0 || h >= nlis || lis[h].chan < 0)
        return;
    chan_slot *c = &chans[lis[h].chan];
    lis[h].chan = -1;
    live_lis--;
    if (--c->refs == 0) {
        send_cmd("UNSUBSCRIBE", c);
        c->name[0] = 0;
        c->pending = 0;
        if (out_pending)
            flush_out();
    }
}

int
sy_pubsub_fd(void)
{
    return ctx ? ctx->fd : -1;
}

uint64_t
sy_pubsub_generation(void)
{
    return generation;
}

bool
sy_pubsub_up(void)
{
    return ctx != NULL;
}

int
sy_pubsub_channels(void)
{
    int n = 0;
    for (int i = 0; i < nchans; i++)
        n += chans[i].refs > 0;
    return n;
}

int
sy_pubsub_listeners(void)
{
    return live_lis;
}

void
sy_pubsub_close(void)
{
    if (ctx)
        redisFree(ctx);
    ctx = NULL;
    free(chans);
    free(lis);
    chans = NULL;
    lis = NULL;
    nchans = cap_chans = nlis = cap_lis = live_lis = 0;
    out_pending = false;
    retry_at_us = 0;
    backoff_us = BACKOFF_MIN_US;
}

int
sy_pubsub_publish(const char *channel, sy_str msg)
{
    sy_arena a;
    redisReply *r;
    sy_arena_init(&a, 1024, 1 << 20);
    const char *argv[3] = {"PUBLISH", channel, msg.p};
    size_t lens[3] = {7, strlen(channel), msg.len};
    int rc = sy_redis_argv(&a, 3, argv, lens, &r);
    if (rc == 0)
        rc = r->type == REDIS_REPLY_INTEGER ? (int)r->integer : SY_EREDIS;
    /* The reply says the message is queued for every subscriber, not that
     * it was sent: Redis writes its clients' pending output in one pass
     * before it sleeps, the publisher's reply first (the newest client
     * with output heads its list), and a process descheduled in that
     * pass leaves the subscribers' copies unsent while the publisher
     * already answers its client, whose next request can then reach a
     * responder that has not seen the message (seen in CI).  A command
     * sent now is read in a later turn of Redis's loop, after that pass:
     * when its reply comes, every subscriber's copy has been written. */
    if (rc > 0) {
        const char *ping[1] = {"PING"};
        size_t plen[1] = {4};
        if (sy_redis_argv(&a, 1, ping, plen, &r) < 0)
            rc = SY_EREDIS;
    }
    sy_arena_cleanup(&a);
    return rc;
}
