/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * orders_db.h - orders and their lines in PostgreSQL
 * (app/store/orders.c).
 *
 * Plain values in and out.  An order is read as one JSON object that
 * PostgreSQL builds (lines in line order, times RFC 3339 UTC with
 * microseconds, which are also the page cursors).  The locks here are
 * what keeps stock right: products are locked in id order, so two
 * orders sharing products cannot deadlock.  The rules (what may be
 * ordered, who may move an order where) are the domain's (orders.h).
 */
#ifndef SYNTHIA_ORDERS_DB_H
#define SYNTHIA_ORDERS_DB_H

#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/crypto.h"
#include "synthia/str.h"

/* A line of an order as asked for. */
typedef struct sy_order_line {
    char product_id[SY_UUID_LEN + 1]; /* lower case */
    int64_t quantity;
} sy_order_line;

/* A product an order asks for, locked. */
typedef struct sy_order_product {
    const char *id, *sku, *name, *currency;
    int64_t price_cents, stock;
} sy_order_product;

/* An order of a list: its JSON and its sort key. */
typedef struct sy_order_row {
    sy_str json;
    const char *created_at, *id;
} sy_order_row;

/* NULL filters are off: owner (a user id), status; the page starts
 * after (after_ts, after_id); limit_text is the page size + 1. */
typedef struct sy_order_filter {
    const char *owner, *status, *after_ts, *after_id, *limit_text;
} sy_order_filter;

/* With a transaction open: lock the active products of the n lines
 * (distinct products) in id order, those that exist: *rows, *nrows. */
int sy_orders_db_lock_products(sy_arena *a, const char *tenant,
                               const sy_order_line *lines, int n,
                               sy_order_product **rows, int *nrows);

/* Take the lines' quantities from stock (products locked and checked). */
int sy_orders_db_reserve(sy_arena *a, const char *tenant,
                         const sy_order_line *lines, int n);

/* Write a pending order of user and its lines (sku, name and price
 * copied from the locked products).  0 with its id (arena memory). */
int sy_orders_db_insert(sy_arena *a, const char *tenant, const char *user,
                        int64_t total_cents, const char *currency,
                        const char *note, const sy_order_line *lines, int n,
                        const char **id);

/* Order id (owner non-NULL: only if it is that user's) as JSON text.
 * 0, SY_ENOTFOUND, SY_EDB. */
int sy_orders_db_get(sy_arena *a, const char *tenant, const char *id,
                     const char *owner, sy_str *json);

/* A page of orders by (created_at, id): *rows, *n of them. */
int sy_orders_db_list(sy_arena *a, const char *tenant,
                      const sy_order_filter *f, sy_order_row **rows, int *n);

/* With a transaction open: lock order id; its status and user (NULL
 * once the user is erased).  0, SY_ENOTFOUND, SY_EDB. */
int sy_orders_db_lock(sy_arena *a, const char *tenant, const char *id,
                      const char **status, const char **user);

/* Set the locked order's status. */
int sy_orders_db_set_status(sy_arena *a, const char *tenant, const char *id,
                            const char *status);

/* Put the order's quantities back into stock, its products locked in id
 * order first. */
int sy_orders_db_restock(sy_arena *a, const char *tenant, const char *id);

#endif
