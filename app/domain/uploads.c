/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * uploads.c (domain) - the rules of an upload (uploads.h): size, type
 * by magic bytes, the header's dimensions against the pixel limits, a
 * decode that proves the pixels readable, then sha256 and the store.
 *
 * The checks go cheapest first, so a bomb or a non-image costs a few
 * header bytes, never a decode.  Nothing of the image reaches a log.
 */
#include "synthia/uploads.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/clock.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/text.h"

void
sy_uploads_limits_get(sy_uploads_limits *out)
{
    const sy_config *c = sy_conf;
    *out = (sy_uploads_limits){
        .max_bytes = c ? c->upload_max_bytes : 10 << 20,
        .image = {.max_pixels = c ? c->upload_max_pixels : 25000000,
                  .max_side = c ? c->upload_max_side : 8192},
        .ttl_ms = c ? c->upload_ttl_ms : 3600 * 1000,
        .max_live = c ? c->upload_max_live : 500,
    };
}

/* A refusal whose sentence is built here: detail is copied into the
 * arena (fallback when that fails). */
static int
fail_copy(sy_arena *a, sy_errs *e, int rc, const char *code,
          const char *detail, const char *fallback)
{
    const char *s = sy_arena_strndup(a, detail, strlen(detail));
    return sy_errs_fail(e, rc, code, s ? s : fallback);
}

/* Over the pixel or side limits: say which. */
static int
too_large(sy_arena *a, sy_errs *e, const sy_image_info *info,
          const sy_image_limits *lim)
{
    char buf[192];
    if ((int64_t)info->width > lim->max_side ||
        (int64_t)info->height > lim->max_side)
        snprintf(buf, sizeof(buf),
                 "The image is %u x %u pixels; at most %lld a side are "
                 "accepted.",
                 info->width, info->height, (long long)lim->max_side);
    else
        snprintf(buf, sizeof(buf),
                 "The image is %u x %u pixels; at most %lld pixels are "
                 "accepted.",
                 info->width, info->height, (long long)lim->max_pixels);
    return fail_copy(a, e, SY_ETOOBIG, "image_too_large", buf,
                     "The image has too many pixels.");
}

int
sy_uploads_check(sy_arena *a, sy_str bytes, sy_errs *e, sy_image_info *out)
{
    sy_uploads_limits lim;
    sy_uploads_limits_get(&lim);
    if (bytes.len == 0)
        return sy_errs_fail(e, SY_EVALIDATION, "empty_file",
                            "The file is empty.");
    char buf[192];
    if ((int64_t)bytes.len > lim.max_bytes) {
        snprintf(buf, sizeof(buf),
                 "The image is %zu bytes; at most %lld are accepted.",
                 bytes.len, (long long)lim.max_bytes);
        return fail_copy(a, e, SY_ETOOBIG, "payload_too_large", buf,
                         "The image is too large.");
    }
    sy_image_info info;
    int rc = sy_image_probe(bytes, &info);
    if (rc == SY_EMEDIA)
        return sy_errs_fail(e, SY_EMEDIA, "unsupported_media_type",
                            "The file is not a JPEG, PNG or WebP image "
                            "(the type is told by its content, not its "
                            "name or declared type).");
    if (rc < 0)
        return sy_errs_fail(e, SY_EVALIDATION, "invalid_image",
                            "The image header is corrupt or cut short.");
    if (sy_image_fits(&info, &lim.image) < 0)
        return too_large(a, e, &info, &lim.image);
    *out = info;
    return 0;
}

int
sy_uploads_decode_checked(sy_arena *a, sy_str bytes, uint32_t max_side,
                          sy_errs *e, sy_image *img)
{
    sy_uploads_limits lim;
    sy_uploads_limits_get(&lim);
    const char *why = NULL;
    int rc = sy_image_decode(a, bytes, &lim.image, max_side, img, &why);
    if (rc == SY_ENOMEM || rc == SY_EINTERNAL)
        return rc;
    if (rc < 0)
        return sy_errs_fail(e, SY_EVALIDATION, "invalid_image",
                            why ? why : "The image cannot be decoded.");
    return 0;
}

int
sy_uploads_create(sy_arena *a, const char *tenant_id, const char *user_id,
                  sy_str bytes, sy_errs *e, sy_upload_row *out)
{
    sy_uploads_limits lim;
    sy_uploads_limits_get(&lim);
    char buf[192];
    sy_image_info info;
    sy_image img;
    int rc = sy_uploads_check(a, bytes, e, &info);
    if (rc < 0 || (rc = sy_uploads_decode_checked(a, bytes,
                                                  SY_UPLOADS_CHECK_SIDE, e,
                                                  &img)) < 0)
        return rc;

    sy_upload_row row;
    memset(&row, 0, sizeof(row));
    unsigned char digest[SY_SHA256_LEN];
    sy_sha256(bytes.p, bytes.len, digest);
    sy_hex(row.sha256, digest, sizeof(digest));
    sy_uuid_v4(row.id);
    int64_t now = sy_wall_ms();
    row.content_type = sy_image_mime(info.type);
    row.bytes = (int64_t)bytes.len;
    row.width = info.width;
    row.height = info.height;
    row.expires_ms = now + lim.ttl_ms;
    row.user_id = user_id ? user_id : "";
    row.data = bytes;
    int64_t retry_ms = 0;
    rc = sy_uploads_db_put(a, tenant_id, &row, now, lim.max_live, &retry_ms);
    if (rc == SY_ERATE) {
        e->retry_after = (retry_ms + 999) / 1000;
        if (e->retry_after < 1)
            e->retry_after = 1;
        snprintf(buf, sizeof(buf),
                 "The tenant has %lld live uploads, as many as allowed; "
                 "the oldest expires in %lld s.",
                 (long long)lim.max_live, (long long)e->retry_after);
        return fail_copy(a, e, SY_ERATE, "upload_quota_exceeded", buf,
                         "The tenant has as many live uploads as allowed.");
    }
    if (rc < 0)
        return rc;
    row.data = SY_STR_NULL;
    *out = row;
    return 0;
}

int
sy_uploads_decode(sy_arena *a, const char *tenant_id, const char *id,
                  uint32_t max_side, sy_errs *e, sy_upload_row *row,
                  sy_image *img)
{
    sy_upload_row u;
    int rc = sy_text_uuid(id)
                 ? sy_uploads_db_get(a, tenant_id, id, &u)
                 : SY_ENOTFOUND;
    if (rc == SY_ENOTFOUND)
        return sy_errs_fail(e, rc, "upload_not_found",
                            "No upload of that id: uploads expire after "
                            "uploads.ttl, and belong to one tenant.");
    if (rc < 0)
        return rc;
    /* invalid_image when the limits shrank since it was stored, say */
    if ((rc = sy_uploads_decode_checked(a, u.data, max_side, e, img)) < 0)
        return rc;
    if (row)
        *row = u;
    return 0;
}

json_object *
sy_uploads_json(const sy_upload_row *u)
{
    /* the API's times carry microseconds */
    char when[40];
    size_t n = sy_rfc3339_ms(when, sizeof(when) - 3, u->expires_ms);
    if (n > 0)
        memcpy(when + n - 1, "000Z", 5);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(u->id));
    json_object_object_add(o, "content_type",
                           json_object_new_string(u->content_type));
    json_object_object_add(o, "bytes", json_object_new_int64(u->bytes));
    json_object_object_add(o, "width", json_object_new_int64(u->width));
    json_object_object_add(o, "height", json_object_new_int64(u->height));
    json_object_object_add(o, "sha256", json_object_new_string(u->sha256));
    json_object_object_add(o, "expires_at", json_object_new_string(when));
    return o;
}
