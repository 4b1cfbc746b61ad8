/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lease.h - concurrency leases in Redis (app/store/lease.c): at most N
 * holders of a tenant's named share at once, across every responder and
 * host that uses the same Redis.
 *
 * A lease is a member of the sorted set sy:{t:<tenant>}:lease:<what>,
 * scored by when it expires (Redis TIME, so hosts need not agree on the
 * clock).  Taking one drops the expired members, counts the rest and adds
 * one if there is room, in one script; giving it back removes it without
 * waiting for the reply.  A holder that dies (kill -9, the master's
 * request timeout) never gives its lease back: it expires after its ttl,
 * which is what bounds the harm.
 */
#ifndef SYNTHIA_LEASE_H
#define SYNTHIA_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"

/* A lease taken (or not) by sy_lease_take. */
typedef struct sy_lease {
    char key[96];    /* the share's sorted set */
    char member[64]; /* this holder */
    bool held;
} sy_lease;

/* Take one of the `limit` leases of the tenant's share `what` (a short
 * name: "search") for at most ttl_ms.  0 with l->held true (a lease to
 * give back with sy_lease_give), 0 with l->held false when all are
 * taken, SY_EREDIS when Redis cannot say (the caller decides whether to
 * go on without a lease).  what is at most 32 bytes. */
int sy_lease_take(sy_arena *a, const char *tenant, const char *what,
                  int64_t limit, int64_t ttl_ms, sy_lease *l);

/* Give a held lease back (no round trip; a lease that cannot be given
 * back expires).  Does nothing when l is not held. */
void sy_lease_give(sy_lease *l);

#endif
