/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * products.h - the catalog's rules (app/domain/products.c): what a valid
 * product is, how it is written (with its embedding, in one
 * transaction, then a new catalog version), who sees an inactive one,
 * and the filters of a list.  No HTTP: the routes, seed-demo and later
 * imports call the same functions.
 *
 * Functions return 0 or a negative SY_E* code; field problems go into
 * the sy_errs (a 422 once rendered), other refusals carry a problem
 * code and a sentence there too (errs.h).  Rows are products_db.h's:
 * views into results, valid until the arena is reset.
 */
#ifndef SYNTHIA_PRODUCTS_H
#define SYNTHIA_PRODUCTS_H

#include <stdbool.h>

#include "synthia/arena.h"
#include "synthia/cache.h"
#include "synthia/errs.h"
#include "synthia/products_db.h"
#include "synthia/str.h"

struct json_object;

#define SY_PRODUCTS_CATEGORY_MAX 100 /* characters */
#define SY_PRODUCTS_PRICE_MAX 999999999999999LL /* 10^15 - 1 minor units */

/* Read a product body (a JSON object) into *out, every problem recorded
 * in e.  With create, sku, name, price_cents and currency are required
 * and active is not read; otherwise every field is optional (a PATCH).
 * Names and categories are trimmed, colours lower-cased, numbers given
 * as decimal text; image_url: null sets image_set with a NULL
 * image_url.  0, SY_EVALIDATION, SY_ENOMEM. */
int sy_products_read(sy_arena *a, struct json_object *body, bool create,
                     sy_errs *e, sy_product_fields *out);

/* With a transaction open (sy_db_begin): insert a product read with
 * create (defaults: description and category "", stock 0, colors [],
 * attributes {}) and store its embedding.  The caller commits and then
 * bumps the catalog version (sy_cache_catalog_bump): seed-demo and
 * imports add many products in one transaction this way.  0 with the
 * written row; SY_ECONFLICT (sku taken) or SY_ENOTFOUND (no tenant has
 * this id), each recorded in e; SY_EDB. */
int sy_products_add(sy_arena *a, const char *tenant,
                    const sy_product_fields *in, sy_errs *e,
                    sy_product_row *out);

/* Create a product in a transaction of its own, embedding included, and
 * move the catalog version after the commit.  As sy_products_add. */
int sy_products_create(sy_arena *a, const char *tenant,
                       const sy_product_fields *in, sy_errs *e,
                       sy_product_row *out);

/* sy_products_read (create) then sy_products_create. */
int sy_products_create_json(sy_arena *a, const char *tenant,
                            struct json_object *body, sy_errs *e,
                            sy_product_row *out);

/* Update the given fields of product id (reactivating or deactivating
 * it with "active"), its embedding with it, then a new catalog version.
 * 0 with the written row; SY_ENOTFOUND (no such product, or id is not a
 * uuid), SY_ECONFLICT (sku taken), SY_EVALIDATION, SY_EDB. */
int sy_products_update_json(sy_arena *a, const char *tenant, const char *id,
                            struct json_object *body, sy_errs *e,
                            sy_product_row *out);

/* Deactivate product id (a soft delete: orders keep pointing at it; it
 * keeps its sku) and drop its embedding, then a new catalog version.
 * Deactivating an inactive product succeeds again.  0, SY_ENOTFOUND,
 * SY_EDB. */
int sy_products_deactivate(sy_arena *a, const char *tenant, const char *id);

/* Product id as the API shows it: an inactive product only to staff
 * (with_inactive), to everyone else it does not exist.  0 with id, json
 * and updated_at; SY_ENOTFOUND, SY_EDB.  Without with_inactive, when the
 * catalog version is known without a round trip (cv, read by the
 * request's admission, or this responder's pushed copy), the product
 * comes from this responder's memory at that version (prodcache.h), and
 * one read from PostgreSQL is kept there. */
int sy_products_get(sy_arena *a, const sy_catver *cv, const char *tenant,
                    const char *id, bool with_inactive, sy_product_row *out);

/* The list filters: "category" (exact, trimmed), "min_price" and
 * "max_price" (cents, inclusive), "in_stock" (true | false), "color"
 * (#rrggbb or rrggbb, any case).  Check the value v of filter name and
 * set it in *f (arena memory), or record why not in e.  0,
 * SY_EVALIDATION, SY_EINVAL (no such filter), SY_ENOMEM. */
int sy_products_filter_set(sy_arena *a, sy_errs *e, const char *name,
                           sy_str v, sy_product_filter *f);

/* The names sy_products_filter_set knows, NULL-terminated, in the order
 * their errors are reported. */
extern const char *const sy_products_filter_names[];

/* Active products matching f, one page (f's after_ts, after_id and
 * limit_text): *rows (id, json, created_at), *n of them (one more than
 * the page when a next page exists).  Lists show active products only,
 * to everyone, so that their answers can be shared by every caller of
 * the tenant.  0, SY_EDB. */
int sy_products_list(sy_arena *a, const char *tenant,
                     const sy_product_filter *f, sy_product_row **rows,
                     int *n);

/* The categories of active products with their counts: the JSON array
 * text [{name, count}], by name. */
int sy_products_categories(sy_arena *a, const char *tenant, sy_str *json);

/* The JSON of the n products ids (active ones; a product that is gone
 * or inactive gets a NULL view) into out: from the product cache, the
 * rest from PostgreSQL in one query, which are then cached.  cv: what
 * the request knows of the catalog version (may be NULL). */
int sy_products_json_many(sy_arena *a, const sy_catver *cv,
                          const char *tenant, const char *const *ids, int n,
                          sy_str *out);

#endif
