/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * products_db.h - the catalog's rows in PostgreSQL (app/store/products.c):
 * products, categories and the search rankings.
 *
 * Plain values in and out: fields as the text parameters of their
 * statements (NULL: not given), rows as views into the result, valid
 * until the arena is reset.  A product travels as the JSON text that
 * PostgreSQL builds, exactly as the API shows it, so lists are joined
 * and cached as bytes, never re-serialised.  Every function takes the
 * tenant and filters by it.  The rules (what a valid product is, who
 * sees an inactive one) are the domain's (products.h).
 */
#ifndef SYNTHIA_PRODUCTS_DB_H
#define SYNTHIA_PRODUCTS_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/str.h"

/* A product's writable fields as statement parameters: decimal text for
 * price_cents and stock, a JSON array text for colors ("#rrggbb" in
 * lower case), a JSON object text for attributes, "true"/"false" for
 * active.  NULL: not given (an update leaves the field alone). */
typedef struct sy_product_fields {
    const char *sku, *name, *description, *category, *currency;
    const char *price, *stock, *colors, *attributes, *image_url, *active;
    bool image_set; /* image_url given, possibly null (an update clears
                       it) */
} sy_product_fields;

/* A product row. */
typedef struct sy_product_row {
    const char *id;
    sy_str json;            /* the product as the API shows it */
    const char *updated_at; /* RFC 3339 (writes and get) */
    const char *created_at; /* RFC 3339 (lists: the page's sort key) */
    bool active;            /* (writes) */
    sy_str text;            /* name, category and description: what its
                               embedding is made of (writes) */
} sy_product_row;

/* The filters and page of a list, as parameters: NULL filters are off;
 * after_ts / after_id the sort key (created_at, id) the page starts
 * after; limit_text the page size + 1 (one more row says whether a next
 * page exists). */
typedef struct sy_product_filter {
    const char *category, *min_price, *max_price, *in_stock, *color;
    const char *after_ts, *after_id, *limit_text;
} sy_product_filter;

/* A ranked product id. */
typedef struct sy_product_score {
    const char *id;
    double score;
} sy_product_score;

/* Insert a product (every field of f given; image_url may be NULL).
 * 0 with the written row, SY_ECONFLICT (sku taken), SY_ENOTFOUND (no
 * such tenant), SY_EDB. */
int sy_products_db_insert(sy_arena *a, const char *tenant,
                          const sy_product_fields *f, sy_product_row *out);

/* Update the given fields of product id.  0 with the written row,
 * SY_ENOTFOUND, SY_ECONFLICT (sku taken), SY_EDB. */
int sy_products_db_update(sy_arena *a, const char *tenant, const char *id,
                          const sy_product_fields *f, sy_product_row *out);

/* Soft delete (orders keep pointing at the row).  0, SY_ENOTFOUND,
 * SY_EDB. */
int sy_products_db_deactivate(sy_arena *a, const char *tenant,
                              const char *id);

/* Product id (with_inactive: an inactive one too): id, json and
 * updated_at.  0, SY_ENOTFOUND, SY_EDB. */
int sy_products_db_get(sy_arena *a, const char *tenant, const char *id,
                       bool with_inactive, sy_product_row *out);

/* Active products by (created_at, id), at most limit_text of them: id,
 * json and created_at of each into *rows (arena memory), *n of them. */
int sy_products_db_list(sy_arena *a, const char *tenant,
                        const sy_product_filter *f, sy_product_row **rows,
                        int *n);

/* The categories of active products with their counts, as the JSON
 * array text of the API ([{name, count}], by name). */
int sy_products_db_categories(sy_arena *a, const char *tenant,
                              sy_str *json);

/* Full-text ranking of active products for q (the tenant's text-search
 * configuration; q normalised as search.h makes it), best first, at
 * most limit: scores 0.5 + 0.5 x rank, so above every typo match.  At
 * most `candidates` matches are ranked (the first ones the index gives,
 * in storage order): all of them when there are no more.
 * The ranking runs with statement_timeout timeout_ms (SET LOCAL, in one
 * round trip with it; nothing of it outlives the ranking).  *rows in
 * arena memory.  0, SY_ETIMEOUT (the statement timeout), SY_EDB,
 * SY_ENOMEM. */
int sy_products_db_search_text(sy_arena *a, const char *tenant,
                               const char *q, int limit, int candidates,
                               int64_t timeout_ms, sy_product_score **rows,
                               int *n);

/* Typo-tolerant ranking of active products for words (space-separated,
 * each 3 to 32 characters, without hyphens): for the first three that
 * are not words of the tenant's catalog, the vocabulary words most
 * similar to each (trigrams), searched as full text among at most
 * `candidates` products; best first, at most limit, scores below 0.5.
 * Codes as sy_products_db_search_text. */
int sy_products_db_search_typo(sy_arena *a, const char *tenant,
                               const char *words, int limit, int candidates,
                               int64_t timeout_ms, sy_product_score **rows,
                               int *n);

/* Those of the n products ids that are active: id and json of each,
 * in no particular order. */
int sy_products_db_by_ids(sy_arena *a, const char *tenant,
                          const char *const *ids, int n,
                          sy_product_row **rows, int *nrows);

/* A product's colours: "#rrggbb" after "#rrggbb", lower case. */
typedef struct sy_product_colours {
    const char *id;
    sy_str colours;
} sy_product_colours;

/* Every active product of the tenant that has colours, by id. */
int sy_products_db_colours(sy_arena *a, const char *tenant,
                           sy_product_colours **rows, int *n);

#endif
