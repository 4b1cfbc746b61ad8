/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * uploads.h - the rules of an upload (app/domain/uploads.c): an image of
 * a type told by its bytes, within the size and pixel limits of the
 * [uploads] configuration, decodable, kept in Redis for uploads.ttl
 * under the tenant's quota of live uploads.
 *
 * Refusals go into the errs with a code and a sentence:
 *   SY_ETOOBIG      payload_too_large (bytes) or image_too_large (pixels
 *                   or a side: a decompression bomb is refused from its
 *                   header, before any pixel is decoded) -> 413
 *   SY_EMEDIA       unsupported_media_type: not JPEG, PNG or WebP -> 415
 *   SY_EVALIDATION  invalid_image: the header or the pixels are corrupt,
 *                   cut short, or an animation; empty_file -> 422
 *   SY_ERATE        upload_quota_exceeded, with retry_after -> 429
 */
#ifndef SYNTHIA_UPLOADS_H
#define SYNTHIA_UPLOADS_H

#include "synthia/arena.h"
#include "synthia/errs.h"
#include "synthia/image.h"
#include "synthia/str.h"
#include "synthia/uploads_db.h"

struct json_object;

/* What a multipart/form-data body may add around the file: a route
 * reads at most uploads.max_bytes plus this. */
#define SY_UPLOADS_FORM_SLACK (64 * 1024)

/* Decodes check an upload at this size (the colour analyser's too). */
#define SY_UPLOADS_CHECK_SIDE 256

/* The limits in force (the [uploads] keys, or their defaults without a
 * configuration). */
typedef struct sy_uploads_limits {
    int64_t max_bytes;
    sy_image_limits image;
    int64_t ttl_ms;
    int64_t max_live;
} sy_uploads_limits;

void sy_uploads_limits_get(sy_uploads_limits *out);

/* The checks of an upload before any decoding, cheapest first: not
 * empty, at most uploads.max_bytes, JPEG, PNG or WebP by its magic
 * bytes, and the header's dimensions within the pixel limits (a bomb is
 * refused here).  0 and *out (the header's type and size); SY_ETOOBIG,
 * SY_EMEDIA, SY_EVALIDATION with the reason in e.  Product images
 * (prodimages.h) go through the same. */
int sy_uploads_check(sy_arena *a, sy_str bytes, sy_errs *e,
                     sy_image_info *out);

/* Decode checked bytes to at most max_side a side (0: full size) within
 * the pixel limits.  0 and *img; SY_EVALIDATION (invalid_image: corrupt,
 * cut short, an animation) with the reason in e; SY_ENOMEM;
 * SY_EINTERNAL. */
int sy_uploads_decode_checked(sy_arena *a, sy_str bytes, uint32_t max_side,
                              sy_errs *e, sy_image *img);

/* Check bytes and keep them for the tenant (user_id: the uploading user,
 * NULL or "" for an API key).  0 and *out (without data); SY_ETOOBIG,
 * SY_EMEDIA, SY_EVALIDATION, SY_ERATE with the reason in e; SY_EREDIS;
 * SY_ENOMEM. */
int sy_uploads_create(sy_arena *a, const char *tenant_id, const char *user_id,
                      sy_str bytes, sy_errs *e, sy_upload_row *out);

/* The tenant's upload id, decoded to at most max_side a side (0: full
 * size).  0 and *img (and *row when not NULL); SY_ENOTFOUND (with the
 * reason in e): an unknown, expired or another tenant's id;
 * SY_EVALIDATION; SY_EREDIS; SY_ENOMEM. */
int sy_uploads_decode(sy_arena *a, const char *tenant_id, const char *id,
                      uint32_t max_side, sy_errs *e, sy_upload_row *row,
                      sy_image *img);

/* {id, content_type, bytes, width, height, sha256, expires_at}. */
struct json_object *sy_uploads_json(const sy_upload_row *u);

#endif
