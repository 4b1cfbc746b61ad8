/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * inval.h - the push channel for invalidations (app/store/inval.c).
 *
 * Whoever changes something that responders keep in memory (an API key,
 * a session, a user, a tenant's plan, its catalog version) PUBLISHes a
 * message on the Redis channel "sy:inval" before its request answers;
 * every responder holds a subscription (store/pubsub.c, in its poll set)
 * and drops its memory entries on each message.  A message is
 * "<type> <argument>":
 *
 *   key <16 hex>          the API key record sy:{k:<16 hex>}:info changed
 *   keys <tenant>         every key record of the tenant changed (plan,
 *                         origins, deactivation)
 *   sess <session id>     the session was revoked
 *   user <user id>        the user's row changed (any committed write)
 *   tenant <tenant>       the tenant's row changed (its plan, active flag:
 *                         its users' rows and plan limits)
 *   cat <tenant> <n>      the tenant's catalog version is now n
 *   aicache <tenant> <u>  the tenant's AI result cache entries of user
 *                         segment u ("*": all) were deleted (airesult.h)
 *
 * Trust: a memory entry may be served without asking Redis only when it
 * was cached (or confirmed) under the current epoch, which is non-zero
 * only while the subscription is up and confirmed; each confirmation
 * (SY_PUBSUB_READY, after any drop of the connection) starts a new epoch,
 * since messages sent while it was down were missed.  An entry of an
 * older epoch is confirmed against Redis as before (today's pipelined
 * confirmation) and then stamped with the epoch read before asking.
 */
#ifndef SYNTHIA_INVAL_H
#define SYNTHIA_INVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/str.h"

#define SY_INVAL_CHANNEL "sy:inval"

/* A message handler: arg is the text after "<type> " (a view valid
 * during the call). */
typedef void (*sy_inval_fn)(sy_str arg);

/* Handle messages of type (a string literal) with fn: at most a few per
 * type.  Call before sy_inval_start (SY_INVAL_HANDLER does, at program
 * start). */
void sy_inval_handler(const char *type, sy_inval_fn fn);

#define SY_INVAL_CAT_(a, b) a##b
#define SY_INVAL_NAME_(l) SY_INVAL_CAT_(sy_inval_reg_, l)
#define SY_INVAL_HANDLER(type, fn)                                          \
    __attribute__((constructor)) static void SY_INVAL_NAME_(__LINE__)(void) \
    {                                                                       \
        sy_inval_handler(type, fn);                                         \
    }

/* Subscribe this process (a responder, at its start) to the channel.
 * 0, or a negative SY_E... code. */
int sy_inval_start(void);

/* Forget the subscription (before sy_pubsub_close: exit, tests). */
void sy_inval_stop(void);

/* Read what has arrived on the subscriber connection (no Redis command:
 * a non-blocking read), so that a message that came before this request
 * is applied before it; once per request, before its admission. */
void sy_inval_sync(void);

/* The epoch a memory entry cached now may carry: 0 when entries may not
 * be trusted (no subscription, or not confirmed on this connection). */
uint64_t sy_inval_epoch(void);

/* May an entry stamped with epoch e be served without asking Redis? */
static inline bool
sy_inval_trusted(uint64_t e)
{
    return e != 0 && e == sy_inval_epoch();
}

/* PUBLISH "<type> <arg>" on the channel (the change is already in
 * Redis/PostgreSQL).  The number of receivers, or SY_EREDIS. */
int sy_inval_publish(const char *type, const char *arg);

/* ------------------------------------------------ parsing (no effects) */

#define SY_INVAL_MSG_MAX 127 /* bytes of a message, as published */
#define SY_INVAL_TYPE_MAX 15

/* Split a message into its type and argument (views into msg): 0 when
 * msg is "<type> <argument>", the type 1 to SY_INVAL_TYPE_MAX lower-case
 * letters, the argument at least one byte of printable ASCII (spaces
 * inside it allowed), the whole at most SY_INVAL_MSG_MAX bytes; else
 * SY_EINVAL and nothing written.  The messages that sy_inval_publish
 * sends all parse; the subscription hands each message to its type's
 * handlers only when it does. */
int sy_inval_parse(sy_str msg, sy_str *type, sy_str *arg);

/* The argument of a "cat" message, "<tenant uuid> <version>": 0 with
 * the tenant in lower case and the version (0 to INT64_MAX, decimal),
 * else SY_EINVAL and nothing written. */
int sy_inval_parse_cat(sy_str arg, char tenant[37], int64_t *version);

#endif
