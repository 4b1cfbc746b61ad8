/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * park.h - a handler parks its request until an event or a timeout.
 *
 * A handler that would wait (GET /jobs/{id}?wait=N) first renders the
 * answer it would give now (the request's current state), then calls
 * sy_res_park with a channel (pubsub.h), a timeout, a wake function and
 * the small state it needs later (plain values, copied).  The responder
 * then holds the request without its arena (which serves other requests
 * meanwhile) and calls the wake function in a fresh request context: on
 * a message on the channel, when the subscription is confirmed, at the
 * timeout, and when the responder stops.  The wake function renders the
 * response, or returns SY_PARK_AGAIN (an event that changed nothing) to
 * keep waiting; at the timeout and on stop it must answer.
 *
 * The answer rendered at park time is kept too: it is what the request
 * gets when the responder cannot park it (server.parked_requests reached:
 * sent at once with Retry-After: 1) and what the request-timeout path of
 * another request writes to it before the responder goes.
 */
#ifndef SYNTHIA_PARK_H
#define SYNTHIA_PARK_H

#include <stddef.h>
#include <stdint.h>

#include "synthia/pubsub.h"
#include "synthia/request.h"
#include "synthia/response.h"

enum sy_wake_why {
    SY_WAKE_EVENT = 1, /* a message on the channel */
    SY_WAKE_READY,     /* subscribed: anything earlier was missed, look */
    SY_WAKE_TIMEOUT,   /* the time is up: answer */
    SY_WAKE_STOP,      /* the responder is stopping: answer now */
};

#define SY_PARK_AGAIN 1 /* a wake function's "nothing changed, wait on" */
#define SY_PARK_STATE_MAX 256

/* Wake: req is the request again (its headers, id and principal; not its
 * route captures, body or JSON), res a fresh response; state is the
 * copy the handler gave sy_res_park (it may be updated).  0 with res
 * rendered, SY_PARK_AGAIN, or a negative SY_E* rendered as a problem. */
typedef int (*sy_wake_fn)(sy_req *req, sy_res *res, void *state, int why);

typedef struct sy_park {
    char channel[SY_PUBSUB_CHANNEL_MAX];
    int64_t timeout_ms;
    sy_wake_fn wake;
    size_t state_len;
    _Alignas(max_align_t) unsigned char state[SY_PARK_STATE_MAX];
} sy_park;

/* Ask for res's request to be parked after the handler returns (res
 * holds the answer of now).  Returns the state buffer (state_len bytes,
 * zeroed) to fill, or NULL: state_len too large, a bad channel, no
 * memory (then the answer of now is sent, as when parking is refused). */
void *sy_res_park(sy_res *res, const char *channel, int64_t timeout_ms,
                  sy_wake_fn wake, size_t state_len);

/* The park request of a response, or NULL (the FastCGI layer). */
const sy_park *sy_res_parked(const sy_res *res);

/* Run a parked request's wake function as the request path would run a
 * handler: errors become problems, CORS headers are added.  Returns
 * what the wake function did (0 or SY_PARK_AGAIN; an error has been
 * rendered and reads as 0). */
int sy_dispatch_wake(sy_req *req, sy_res *res, sy_wake_fn wake, void *state,
                     int why);

#endif
