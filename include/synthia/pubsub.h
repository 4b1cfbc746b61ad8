/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pubsub.h - this process's Redis subscriber connection.
 *
 * A second Redis connection, in subscriber mode and non-blocking, that
 * the responder's event loop watches (sy_pubsub_fd).  Code that waits for
 * something (a parked request waiting for its job to change; later key
 * revocations and catalog versions) subscribes a channel with a callback;
 * many listeners on one channel share one SUBSCRIBE (reference-counted).
 * When the connection drops it is re-opened with back-off (100 ms
 * doubling to 5 s) and every channel subscribed again; a listener is told
 * (SY_PUBSUB_READY) each time its channel's subscription is confirmed,
 * since a message published before that was not seen: it re-reads what
 * it waits for.  Single-threaded: every call from the loop's thread.
 */
#ifndef SYNTHIA_PUBSUB_H
#define SYNTHIA_PUBSUB_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/str.h"

#define SY_PUBSUB_CHANNEL_MAX 128 /* bytes of a channel name, NUL included */

enum sy_pubsub_kind {
    SY_PUBSUB_MESSAGE = 1, /* a message on the channel: msg is it */
    SY_PUBSUB_READY,       /* the subscription is (again) in place: msg is
                              empty; anything sent before may be missed */
};

/* A listener's callback: kind, the channel and the message (views valid
 * during the call only).  It may unsubscribe any listener, itself
 * included, but must not subscribe. */
typedef void (*sy_pubsub_fn)(void *arg, int kind, const char *channel,
                             sy_str msg);

/* Subscribe fn(arg) to channel (printable, < SY_PUBSUB_CHANNEL_MAX
 * bytes).  Returns a handle >= 0 for sy_pubsub_unsubscribe, SY_EINVAL
 * for a bad name, SY_ENOMEM.  Works while Redis is down: the
 * subscription is made when the connection comes (up). */
int sy_pubsub_subscribe(const char *channel, sy_pubsub_fn fn, void *arg);

/* Drop a listener; the channel is unsubscribed with its last one. */
void sy_pubsub_unsubscribe(int handle);

/* The connection's descriptor for the event loop (EPOLLIN), or -1 while
 * it is down, and the count of connections made: a new connection (the
 * descriptor's number may be the same) is to be watched anew. */
int sy_pubsub_fd(void);
uint64_t sy_pubsub_generation(void);

/* Do what is due: (re)connect when the back-off allows and some channel
 * is wanted, write pending commands, and when `readable` (the loop saw
 * the descriptor readable) read and dispatch every message that has
 * arrived.  Returns the milliseconds until it wants to be called again
 * without an event on its descriptor (a reconnect, output still
 * pending), or -1 for never.  A reconnect blocks for at most
 * redis.timeout. */
int sy_pubsub_service(bool readable);

/* The subscriber connection is up. */
bool sy_pubsub_up(void);

/* Channels subscribed, listeners. */
int sy_pubsub_channels(void);
int sy_pubsub_listeners(void);

/* Close the connection and forget every listener (exit, tests). */
void sy_pubsub_close(void);

/* PUBLISH msg on channel over this process's command connection
 * (redis.h), for whoever changes what others wait for.  Returns only
 * when Redis has written it to every subscriber (one more round trip
 * after the PUBLISH when there are subscribers), so that a client told
 * of a change finds it applied wherever its next request goes.  The
 * number of subscribers that received it, or SY_EREDIS. */
int sy_pubsub_publish(const char *channel, sy_str msg);

#endif
