/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * inval.c - the push channel for invalidations (inval.h).
 *
 * One channel, one listener per process on the subscriber connection
 * (pubsub.c), and a small table of handlers by message type that the
 * modules keeping memory entries register at program start.
 */
#include "synthia/inval.h"

#include <stdio.h>
#include <string.h>

#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/log.h"
#include "synthia/metrics.h"
#include "synthia/pubsub.h"

#define HANDLERS_MAX 16

typedef struct handler {
    const char *type;
    sy_inval_fn fn;
} handler;

static handler handlers[HANDLERS_MAX];
static int nhandlers;

static bool started;
static bool confirmed;   /* READY seen on connection ready_gen */
static uint64_t ready_gen;
static uint64_t epoch;   /* one per READY */

static sy_metric m_applied = {
    .name = "synthia_inval_messages_total",
    .help = "Invalidation messages applied to this process's memory "
            "entries",
    .type = SY_METRIC_COUNTER};
static sy_metric m_epochs = {
    .name = "synthia_inval_epochs_total",
    .help = "Confirmations of the invalidation subscription (each one "
            "after a drop distrusts every memory entry cached before)",
    .type = SY_METRIC_COUNTER};
SY_METRICS_REGISTER(&m_applied, &m_epochs)

void
sy_inval_handler(const char *type, sy_inval_fn fn)
{
    if (nhandlers < HANDLERS_MAX)
        handlers[nhandlers++] = (handler){type, fn};
}

int
sy_inval_parse(sy_str msg, sy_str *type, sy_str *arg)
{
    size_t t = 0;
    if (!msg.p || msg.len > SY_INVAL_MSG_MAX)
        return SY_EINVAL;
    while (t < msg.len && t <= SY_INVAL_TYPE_MAX && msg.p[t] >= 'a' &&
           msg.p[t] <= 'z')
        t++;
    if (t == 0 || t > SY_INVAL_TYPE_MAX || t + 1 >= msg.len ||
        msg.p[t] != ' ')
        return SY_EINVAL;
    for (size_t i = t + 1; i < msg.len; i++)
        if (msg.p[i] < 0x20 || msg.p[i] > 0x7e)
            return SY_EINVAL;
    *type = (sy_str){msg.p, t};
    *arg = (sy_str){msg.p + t + 1, msg.len - t - 1};
    return 0;
}

/* Decimal digits as "%lld" prints a non-negative number: no sign, no
 * leading zero. */
static bool
canonical_decimal(sy_str s)
{
    if (s.len == 0 || (s.len > 1 && s.p[0] == '0'))
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    return true;
}

int
sy_inval_parse_cat(sy_str arg, char tenant[37], int64_t *version)
{
    int64_t v;
    sy_str num;
    if (!arg.p || arg.len < SY_UUID_LEN + 2 || arg.p[SY_UUID_LEN] != ' ' ||
        !sy_uuid_valid(arg.p, SY_UUID_LEN))
        return SY_EINVAL;
    num = (sy_str){arg.p + SY_UUID_LEN + 1, arg.len - SY_UUID_LEN - 1};
    if (!canonical_decimal(num) || sy_parse_i64(num, 0, INT64_MAX, &v) < 0)
        return SY_EINVAL;
    for (size_t i = 0; i < SY_UUID_LEN; i++)
        tenant[i] = arg.p[i] >= 'A' && arg.p[i] <= 'F' ? (char)(arg.p[i] + 32)
                                                       : arg.p[i];
    tenant[SY_UUID_LEN] = '\0';
    *version = v;
    return 0;
}

static void
dispatch(sy_str msg)
{
    sy_str type, arg;
    if (sy_inval_parse(msg, &type, &arg) < 0)
        return;
    for (int i = 0; i < nhandlers; i++)
        if (sy_str_eqc(type, handlers[i].type))
            handlers[i].fn(arg);
    sy_counter_inc(&m_applied);
}

static void
on_event(void *ud, int kind, const char *channel, sy_str msg)
{
    (void)ud;
    (void)channel;
    if (kind == SY_PUBSUB_READY) {
        confirmed = true;
        ready_gen = sy_pubsub_generation();
        epoch++;
        sy_counter_inc(&m_epochs);
        return;
    }
    dispatch(msg);
}

int
sy_inval_start(void)
{
    if (started)
        return 0;
    int h = sy_pubsub_subscribe(SY_INVAL_CHANNEL, on_event, NULL);
    if (h < 0)
        return h;
    started = true;
    confirmed = false;
    return 0;
}

void
sy_inval_stop(void)
{
    started = false;
    confirmed = false;
}

uint64_t
sy_inval_epoch(void)
{
    if (!started || !confirmed || !sy_pubsub_up() ||
        sy_pubsub_generation() != ready_gen)
        return 0;
    return epoch;
}

void
sy_inval_sync(void)
{
    if (started && sy_pubsub_up())
        sy_pubsub_service(true);
}

int
sy_inval_publish(const char *type, const char *arg)
{
    char msg[SY_INVAL_MSG_MAX + 1];
    int n = snprintf(msg, sizeof(msg), "%s %s", type, arg);
    if (n < 0 || (size_t)n >= sizeof(msg))
        return SY_EINVAL;
    int rc = sy_pubsub_publish(SY_INVAL_CHANNEL, (sy_str){msg, (size_t)n});
    if (rc < 0)
        sy_log(SY_LOG_WARN, "inval_unpublished",
               "could not publish \"%s\": responders confirm against Redis "
               "until their subscription is confirmed again",
               msg);
    return rc;
}
