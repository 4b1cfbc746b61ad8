/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * page.h - list pagination: ?limit= (1-100, default 20) and an opaque
 * ?cursor= that encodes the last row's sort key (created_at, id) as
 * base64url, giving {"items": [...], "next_cursor": "..." | null}.
 */
#ifndef SYNTHIA_PAGE_H
#define SYNTHIA_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synthia/db.h"
#include "synthia/request.h"
#include "synthia/response.h"

typedef struct sy_page {
    int64_t limit;
    bool after;                    /* a cursor was given */
    char after_ts[40];             /* RFC 3339 with microseconds; without
                                      a cursor "-infinity" ... */
    char after_id[SY_UUID_LEN + 1]; /* ... and the nil uuid, so that
                                       "(created_at, id) > ($ts, $id)"
                                       serves the first page too */
    char limit_text[8];            /* limit + 1 as text, for SQL params */
} sy_page;

/* The keyset of a page, for a store module's list statement. */
static inline sy_keyset
sy_page_keyset(const sy_page *p)
{
    return (sy_keyset){p->after_ts, p->after_id, p->limit_text};
}

/* Read limit and cursor from the query.  0, or a 422 problem for a bad
 * limit / 400 for a cursor that was not made by sy_page_cursor. */
int sy_page_parse(sy_req *req, sy_res *res, sy_page *out);

/* The cursor of a row (ts as PostgreSQL prints timestamptz, id a uuid),
 * arena memory. */
int sy_page_cursor(sy_arena *a, const char *ts, const char *id, char **out);

struct json_object;

/* How many of the nrows rows a page statement fetched (limit_text: one
 * more than the page) the page shows: at most limit. */
int sy_page_count(const sy_page *p, int nrows);

/* Respond 200 with {"items": items, "next_cursor": ... | null}: items
 * (taken, whatever the result) holds the shown rows rendered; when nrows
 * is over the limit a next page exists, and its cursor is made from the
 * last shown row's sort key (last_ts as PostgreSQL prints timestamptz,
 * last_id a uuid). */
int sy_page_reply(sy_res *res, const sy_page *p, int nrows,
                  struct json_object *items, const char *last_ts,
                  const char *last_id);

/* The same from the rows a store list read: nrows structs of `size`
 * bytes at rows, each rendered by render (a new json object), whose sort
 * key sits at the const char * fields at ts_off and id_off. */
typedef struct json_object *(*sy_page_render)(const void *row);
int sy_page_reply_rows(sy_res *res, const sy_page *p, const void *rows,
                       int nrows, size_t size, sy_page_render render,
                       size_t ts_off, size_t id_off);

#endif
