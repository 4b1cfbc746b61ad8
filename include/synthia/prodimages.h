/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prodimages.h - the rules of a product's stored image
 * (app/domain/prodimages.c): PUT / GET / DELETE
 * /api/v1/products/{id}/image and seed-demo's garment pictures.
 *
 * The bytes pass the same checks as an upload (uploads.h: size, type by
 * magic bytes, header dimensions before any decoding, a decode that
 * proves the pixels readable; the same refusals and codes), are decoded
 * to at most SY_PRODIMAGES_FULL_SIDE a side and re-encoded: "full" (at
 * most 1024 pixels a side) and "thumb" (at most 256), both JPEG, stored
 * in PostgreSQL with the product (prodimages_db.h).  Re-encoding drops
 * whatever the original carried besides pixels (EXIF, GPS, ICC,
 * comments) and bounds what a storefront downloads.  After the commit
 * the tenant's catalog version moves, since the product's JSON (its
 * "image" path) changed.
 */
#ifndef SYNTHIA_PRODIMAGES_H
#define SYNTHIA_PRODIMAGES_H

#include <stdbool.h>

#include "synthia/arena.h"
#include "synthia/errs.h"
#include "synthia/image.h"
#include "synthia/prodimages_db.h"
#include "synthia/str.h"

#define SY_PRODIMAGES_FULL_SIDE 1024
#define SY_PRODIMAGES_THUMB_SIDE 256
#define SY_PRODIMAGES_FULL_QUALITY 85
#define SY_PRODIMAGES_THUMB_QUALITY 80
/* The sizes, in the order of ?size= documentation; "full" is the
 * default. */
#define SY_PRODIMAGES_FULL "full"
#define SY_PRODIMAGES_THUMB "thumb"

/* Check, re-encode and store bytes as the product's image.  0 and
 * *full (without data: content_type, width, height, sha256);
 * SY_ENOTFOUND (not a product id of the tenant); the upload refusals
 * with their reason in e: SY_ETOOBIG (payload_too_large,
 * image_too_large), SY_EMEDIA (unsupported_media_type), SY_EVALIDATION
 * (empty_file, invalid_image); SY_EDB; SY_ENOMEM. */
int sy_prodimages_put(sy_arena *a, const char *tenant, const char *id,
                      sy_str bytes, sy_errs *e, sy_prodimage *full);

/* The same from decoded pixels (seed-demo draws its garments): no
 * upload checks, the pixels re-encoded as above. */
int sy_prodimages_put_pixels(sy_arena *a, const char *tenant,
                             const char *id, const sy_image *img,
                             sy_prodimage *full);

/* size NULL or "" (full), "full" or "thumb": SY_EVALIDATION (with the
 * field error in e) for anything else.  Otherwise as
 * sy_prodimages_db_get: the image of an active product, or of an
 * inactive one for staff (with_inactive).  SY_ENOTFOUND also for an id
 * that is not a UUID. */
int sy_prodimages_get(sy_arena *a, const char *tenant, const char *id,
                      const char *size, bool with_inactive, sy_errs *e,
                      sy_prodimage *out);

/* PUT's answer: {image, thumb (the paths of both sizes, with the
 * version as ?v=), content_type, width, height, sha256 (of the full
 * size)}.  A new object the caller owns. */
struct json_object *sy_prodimages_json(const char *id,
                                       const sy_prodimage *full);

/* Remove the product's image: 0 (whether it had one or not);
 * SY_ENOTFOUND; SY_EDB; SY_ENOMEM. */
int sy_prodimages_delete(sy_arena *a, const char *tenant, const char *id);

#endif
