/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prodcache.h - products by id in this responder's memory
 * (app/store/prodcache.c), for GET /api/v1/products/{id}.
 *
 * An entry is a product as the API shows it to everyone (an active one:
 * its JSON and updated_at, which the ETag is made of), stamped with the
 * tenant's catalog version it was read under.  It is served only to a
 * request that knows the same version (read with its admission, or kept
 * in memory and trusted through the push channel, cache.h), so a product
 * write, which moves the version and publishes it before it answers
 * (inval.h), retires every copy on every responder at once.  Bounded
 * (SY_PRODCACHE_ENTRIES, SY_PRODCACHE_BYTES, least recently used out
 * first) and at most SY_PRODCACHE_TTL_MS old, which bounds what an edit
 * made in the database directly (no new version) may show.  Misses are
 * not cached: see sy_prodcache_put.
 */
#ifndef SYNTHIA_PRODCACHE_H
#define SYNTHIA_PRODCACHE_H

#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/products_db.h"

#define SY_PRODCACHE_ENTRIES 4096
#define SY_PRODCACHE_BYTES (4u << 20)
#define SY_PRODCACHE_VALUE_MAX (64u << 10) /* a larger product is not kept */
#define SY_PRODCACHE_TTL_MS 60000

/* Product id of tenant as kept at catalog version: 0 with out's id,
 * json and updated_at (arena copies); SY_ENOTFOUND when none is kept at
 * that version (or the ids are not uuids); SY_ENOMEM. */
int sy_prodcache_get(sy_arena *a, const char *tenant, const char *id,
                     int64_t version, sy_product_row *out);

/* Keep row (an active product of tenant, as read under version).  Only
 * found products are kept: an id that does not exist is not, so that a
 * client asking for random ids cannot push the catalog out of memory
 * (such a miss costs one indexed PostgreSQL read, and the rate limit). */
void sy_prodcache_put(const char *tenant, int64_t version,
                      const sy_product_row *row);

#endif
