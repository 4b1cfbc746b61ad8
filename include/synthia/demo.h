/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * demo.h - the demo shop of `synthia seed-demo` (app/domain/demo.c): a
 * deterministic catalog of fashion products with English and Spanish
 * descriptions, written through the catalog's own rules (products.h),
 * the tenant's search settings, and a summary of what a tenant holds.
 * No HTTP and no terminal: the CLI prints what these return.
 */
#ifndef SYNTHIA_DEMO_H
#define SYNTHIA_DEMO_H

#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/errs.h"
#include "synthia/image.h"
#include "synthia/products.h"
#include "synthia/str.h"

#define SY_DEMO_PRODUCTS_MAX 100000

/* The text of one demo product: the buffers sy_product_fields points
 * into. */
typedef struct sy_demo_product {
    char sku[32], name[96], price[24], stock[24], colors[32];
    char description[768], attributes[256], image[96];
} sy_demo_product;

/* Product i of the demo catalog, the same every time: 20 garment types
 * in their materials and 12 colours with real hex values, both
 * languages in the description (so either finds it), prices in EUR,
 * every ninth product sold out.  *f points into *buf and is ready for
 * sy_products_add. */
void sy_demo_product_make(int64_t i, sy_demo_product *buf,
                          sy_product_fields *f);

/* With a transaction open: make the tenant a demo shop (English text
 * search) and add the first n (at most SY_DEMO_PRODUCTS_MAX) demo
 * products with their embeddings, the first nimages of them with a
 * stored image (sy_demo_garment_image).  The caller commits, then bumps
 * the catalog version.  0, or the first product's failure (recorded in
 * e: SY_ECONFLICT for a sku taken), SY_EDB, SY_ENOMEM. */
int sy_demo_catalog(sy_arena *a, const char *tenant, int64_t n,
                    int64_t nimages, sy_errs *e);

/* The picture of demo product i, the same every time: its category's
 * silhouette in its first colour, outlined darker, on white,
 * SY_DEMO_IMAGE_W x SY_DEMO_IMAGE_H pixels (arena memory).  0 or
 * SY_ENOMEM. */
#define SY_DEMO_IMAGE_W 320
#define SY_DEMO_IMAGE_H 400
#define SY_DEMO_IMAGES_DEFAULT 240 /* seed-demo --images */
int sy_demo_garment_image(sy_arena *a, int64_t i, sy_image *out);

/* What a tenant holds: its number of products, and its users as the
 * JSON array text [{email, role}] (by role, then email). */
int sy_demo_summary(sy_arena *a, const char *tenant, int64_t *products,
                    sy_str *users);

#endif
