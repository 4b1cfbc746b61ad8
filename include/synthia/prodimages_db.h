/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prodimages_db.h - the stored images of products in PostgreSQL
 * (app/store/prodimages.c; sql/012_product_images.sql): one row per
 * product and size ("full", "thumb"), and products.image_sha256, which
 * the product's JSON shows the image's path from.
 *
 * Every statement takes the tenant first and filters by it: another
 * tenant's product id is simply not found.
 */
#ifndef SYNTHIA_PRODIMAGES_DB_H
#define SYNTHIA_PRODIMAGES_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/str.h"

/* One stored size of a product's image. */
typedef struct sy_prodimage {
    const char *content_type; /* "image/jpeg" */
    int64_t width, height;
    char sha256[65];          /* hex, of data */
    sy_str data;              /* the encoded image (arena memory) */
    char version[17];         /* get: the product's image version, the
                                 first 16 hex of the full size's sha256
                                 (what its JSON's path carries as ?v=) */
} sy_prodimage;

/* Store both sizes of the product's image (replacing any) and point the
 * product at it (image_sha256 = full's; its updated_at moves), in one
 * durable statement of the caller's transaction (sy_db_begin_durable).
 * Staff may do it to an inactive product too.  0; SY_ENOTFOUND when the
 * tenant has no product of that id; SY_EDB; SY_ENOMEM. */
int sy_prodimages_db_put(sy_arena *a, const char *tenant,
                         const char *product_id, const sy_prodimage *full,
                         const sy_prodimage *thumb);

/* One size ("full" or "thumb") of the product's image, of an active
 * product unless with_inactive.  0 and *out; SY_ENOTFOUND (no such
 * product for this tenant and caller, or it has no stored image);
 * SY_EDB; SY_ENOMEM. */
int sy_prodimages_db_get(sy_arena *a, const char *tenant,
                         const char *product_id, const char *size,
                         bool with_inactive, sy_prodimage *out);

/* Remove the product's image (every size; updated_at moves only when
 * there was one), durably.  0 (also when it had none); SY_ENOTFOUND
 * when the tenant has no product of that id; SY_EDB; SY_ENOMEM. */
int sy_prodimages_db_delete(sy_arena *a, const char *tenant,
                            const char *product_id);

#endif
