/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * park.c - a handler's request to park, and the wake-up path (park.h).
 * The parking itself (holding the connection, timers, the subscriber
 * connection) is the responder's.
 */
#include "synthia/park.h"

#include <string.h>

#include "synthia/cors.h"
#include "synthia/error.h"
#include "synthia/log.h"
#include "synthia/problem.h"

void *
sy_res_park(sy_res *res, const char *channel, int64_t timeout_ms,
            sy_wake_fn wake, size_t state_len)
{
    size_t len = channel ? strlen(channel) : 0;
    if (state_len > SY_PARK_STATE_MAX || len == 0 ||
        len >= SY_PUBSUB_CHANNEL_MAX || !wake || timeout_ms < 0)
        return NULL;
    /* request arena memory: the responder copies it at park time */
    sy_park *p = sy_arena_alloc(res->arena, sizeof(*p));
    if (!p)
        return NULL;
    memset(p, 0, sizeof(*p));
    memcpy(p->channel, channel, len + 1);
    p->timeout_ms = timeout_ms;
    p->wake = wake;
    p->state_len = state_len;
    res->park = p;
    return p->state;
}

const sy_park *
sy_res_parked(const sy_res *res)
{
    /* a handler that failed after asking answers with its problem */
    return res->park && res->status != 0 && !res->problem_code ? res->park
                                                                : NULL;
}

int
sy_dispatch_wake(sy_req *req, sy_res *res, sy_wake_fn wake, void *state,
                 int why)
{
    res->head_only = sy_str_eqc(req->method, "HEAD");
    int rc = wake(req, res, state, why);
    if (rc == SY_PARK_AGAIN && why != SY_WAKE_TIMEOUT && why != SY_WAKE_STOP)
        return SY_PARK_AGAIN;
    if (rc < 0 && rc != SY_ENOTMODIFIED) {
        sy_problem_from_rc(res, rc);
    } else if (res->status == 0) {
        sy_log(SY_LOG_ERROR, "handler_no_response",
               "wake function returned no response");
        sy_problem_from_rc(res, SY_EINTERNAL);
    }
    sy_cors_headers(req, res);
    return 0;
}
