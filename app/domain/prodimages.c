/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prodimages.c (domain) - the rules of a product's stored image
 * (prodimages.h): the upload checks, a decode at most 1024 pixels a
 * side, the thumbnail resampled from it, both JPEG, stored with the
 * product in one durable transaction, then the catalog version moved.
 *
 * Memory: the decode takes the arena about 31 bytes per pixel of the
 * 1024-pixel decode (32 MB at worst, under server.request_memory's
 * 64 MB default), the rest a few MB.
 */
#include "synthia/prodimages.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/cache.h"
#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/imageops.h"
#include "synthia/uploads.h"

static bool
is_id(const char *id)
{
    return id && sy_uuid_valid(id, strlen(id));
}

/* img encoded at most side pixels a side into *out. */
static int
encode(sy_arena *a, const sy_image *img, uint32_t side, int quality,
       sy_prodimage *out)
{
    uint32_t w, h;
    sy_image scaled = *img;
    sy_image_fit(img->width, img->height, side, &w, &h);
    int rc = 0;
    if (w != img->width || h != img->height)
        rc = sy_image_resize(a, img, w, h, &scaled);
    sy_str jpeg;
    if (rc < 0 || (rc = sy_image_encode_jpeg(a, &scaled, quality, &jpeg)) < 0)
        return rc;
    unsigned char digest[SY_SHA256_LEN];
    memset(out, 0, sizeof(*out));
    sy_sha256(jpeg.p, jpeg.len, digest);
    sy_hex(out->sha256, digest, sizeof(digest));
    out->content_type = "image/jpeg";
    out->width = w;
    out->height = h;
    out->data = jpeg;
    return 0;
}

/* Both sizes of img stored for the product, in the open transaction. */
static int
store(sy_arena *a, const char *tenant, const char *id, const sy_image *img,
      sy_prodimage *full)
{
    sy_prodimage f, t;
    int rc = encode(a, img, SY_PRODIMAGES_FULL_SIDE,
                    SY_PRODIMAGES_FULL_QUALITY, &f);
    if (rc < 0 || (rc = encode(a, img, SY_PRODIMAGES_THUMB_SIDE,
                               SY_PRODIMAGES_THUMB_QUALITY, &t)) < 0 ||
        (rc = sy_prodimages_db_put(a, tenant, id, &f, &t)) < 0)
        return rc;
    *full = f;
    full->data = SY_STR_NULL;
    return 0;
}

/* store() in a durable transaction of its own, the catalog version
 * moved after the commit. */
static int
store_tx(sy_arena *a, const char *tenant, const char *id,
         const sy_image *img, sy_prodimage *full)
{
    int rc = sy_db_begin_durable();
    if (rc < 0)
        return rc;
    if ((rc = store(a, tenant, id, img, full)) < 0) {
        sy_db_rollback();
        return rc;
    }
    if ((rc = sy_db_commit()) < 0)
        return rc;
    sy_cache_catalog_bump(a, NULL, tenant);
    return 0;
}

int
sy_prodimages_put(sy_arena *a, const char *tenant, const char *id,
                  sy_str bytes, sy_errs *e, sy_prodimage *full)
{
    if (!is_id(id))
        return SY_ENOTFOUND;
    sy_image_info info;
    sy_image img;
    int rc = sy_uploads_check(a, bytes, e, &info);
    if (rc < 0 || (rc = sy_uploads_decode_checked(
                       a, bytes, SY_PRODIMAGES_FULL_SIDE, e, &img)) < 0)
        return rc;
    return store_tx(a, tenant, id, &img, full);
}

int
sy_prodimages_put_pixels(sy_arena *a, const char *tenant, const char *id,
                         const sy_image *img, sy_prodimage *full)
{
    if (!is_id(id))
        return SY_ENOTFOUND;
    return store(a, tenant, id, img, full);
}

int
sy_prodimages_get(sy_arena *a, const char *tenant, const char *id,
                  const char *size, bool with_inactive, sy_errs *e,
                  sy_prodimage *out)
{
    if (!size || !*size)
        size = SY_PRODIMAGES_FULL;
    if (strcmp(size, SY_PRODIMAGES_FULL) != 0 &&
        strcmp(size, SY_PRODIMAGES_THUMB) != 0)
        return sy_errs_field(e, "size", "must be full or thumb");
    if (!is_id(id))
        return SY_ENOTFOUND;
    return sy_prodimages_db_get(a, tenant, id, size, with_inactive, out);
}

int
sy_prodimages_delete(sy_arena *a, const char *tenant, const char *id)
{
    if (!is_id(id))
        return SY_ENOTFOUND;
    int rc = sy_prodimages_db_delete(a, tenant, id);
    if (rc == 0)
        sy_cache_catalog_bump(a, NULL, tenant);
    return rc;
}

json_object *
sy_prodimages_json(const char *id, const sy_prodimage *full)
{
    char path[160], thumb[176];
    snprintf(path, sizeof(path), "/api/v1/products/%s/image?v=%.16s", id,
             full->sha256);
    snprintf(thumb, sizeof(thumb),
             "/api/v1/products/%s/image?size=thumb&v=%.16s", id,
             full->sha256);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "image", json_object_new_string(path));
    json_object_object_add(o, "thumb", json_object_new_string(thumb));
    json_object_object_add(o, "content_type",
                           json_object_new_string(full->content_type));
    json_object_object_add(o, "width", json_object_new_int64(full->width));
    json_object_object_add(o, "height", json_object_new_int64(full->height));
    json_object_object_add(o, "sha256",
                           json_object_new_string(full->sha256));
    return o;
}
