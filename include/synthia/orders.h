/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * orders.h - the shop's order rules (app/domain/orders.c): reading an
 * order, placing it (stock reserved all or nothing, with its
 * Idempotency-Key record in the same transaction), reading and listing
 * orders, and moving them through their states.  No HTTP: a route, the
 * worker or an import calls the same functions.
 *
 * Functions return 0 or a negative SY_E* code; field problems and
 * refusals go into the sy_errs (errs.h): 404 "No such order." for
 * another user's or tenant's order, 403 for a shopper's illegal move,
 * 409 insufficient_stock or conflict, 422 idempotency_mismatch.
 */
#ifndef SYNTHIA_ORDERS_H
#define SYNTHIA_ORDERS_H

#include <stdbool.h>

#include "synthia/arena.h"
#include "synthia/errs.h"
#include "synthia/idempotency.h"
#include "synthia/orders_db.h"
#include "synthia/str.h"

struct json_object;

#define SY_ORDERS_MAX_LINES 100

/* An order as asked for. */
typedef struct sy_order_in {
    sy_order_line lines[SY_ORDERS_MAX_LINES];
    int n;
    const char *note; /* NULL: none */
} sy_order_in;

/* Who acts on orders.  Shoppers see and touch only their own orders;
 * staff and owners the whole tenant's. */
typedef struct sy_order_actor {
    const char *user_id; /* NULL for sysadmins */
    bool shopper;        /* a shopper, not staff or owner */
    bool sysadmin;       /* belongs to no tenant */
} sy_order_actor;

/* May who place orders at all?  Sysadmins, who belong to no tenant,
 * may not: SY_EFORBIDDEN recorded in e. */
int sy_orders_may_place(const sy_order_actor *who, sy_errs *e);

/* Read an order body ({"items": [{product_id, quantity}], "note"}) into
 * *out, every problem recorded: 1 to 100 lines, a product (a uuid) at
 * most once, quantities 1 to 1000, a note of at most 1000 characters.
 * 0, SY_EVALIDATION, SY_ENOMEM. */
int sy_orders_read(sy_arena *a, struct json_object *body, sy_errs *e,
                   sy_order_in *out);

/* Place user's order in one transaction: its Idempotency-Key record
 * when key is not NULL (idempotency.h), its products locked, every line
 * checked (422: no such product, another currency, a total too large;
 * 409 insufficient_stock naming the short lines: nothing is reserved),
 * stock taken, order and lines written, the response recorded; then a
 * new catalog version (stock changed).  0 with the response to send in
 * *out (201, the order's JSON, its Location) or, *replayed, the one
 * recorded for the same key and request.  Only successes are recorded:
 * a refused order leaves nothing behind, so it may be retried with the
 * same key. */
int sy_orders_place(sy_arena *a, const char *tenant, const char *user,
                    const sy_order_in *in, const sy_idem_key *key,
                    sy_errs *e, sy_idem_response *out, bool *replayed);

/* Order id as the API shows it (compact JSON, arena memory), if who may
 * see it.  0, SY_ENOTFOUND ("No such order."), SY_EDB. */
int sy_orders_get(sy_arena *a, const char *tenant, const char *id,
                  const sy_order_actor *who, sy_errs *e, sy_str *json);

/* The static name of a status ("pending", "paid", "fulfilled",
 * "canceled"), or NULL when s is none of them. */
const char *sy_orders_status(sy_str s);

/* A page of the orders who may see (f's owner is set from who): *rows,
 * *n of them (one more than the page when a next page exists). */
int sy_orders_list(sy_arena *a, const char *tenant,
                   const sy_order_actor *who, sy_order_filter *f,
                   sy_order_row **rows, int *n);

/* Move order id to the status named by body's "to" (paid, fulfilled,
 * canceled), in one transaction under the order's lock: legal moves are
 * pending -> paid | canceled and paid -> fulfilled | canceled (else 409
 * with the current status); shoppers may only cancel their own pending
 * orders (403; another's order is 404).  Canceling puts the stock back
 * and moves the catalog version.  0 with the order's JSON as after
 * sy_orders_get. */
int sy_orders_transition_json(sy_arena *a, const char *tenant,
                              const char *id, const sy_order_actor *who,
                              struct json_object *body, sy_errs *e,
                              sy_str *json);

#endif
