/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * uploads_db.h - uploaded images in Redis (app/store/uploads.c), never
 * on disk.
 *
 * Keys carry the tenant's hash tag, so one tenant's upload id is simply
 * absent for every other tenant:
 *
 *   sy:{t:<tenant>}:up:<id>    hash: data (the image bytes), type,
 *                              w, h, sha256, exp (epoch ms), user;
 *                              expires at exp
 *   sy:{t:<tenant>}:uploads    sorted set of live ids scored by exp: the
 *                              quota count
 *
 * A put counts the live uploads, refuses one over the quota and stores
 * in one Lua script, so concurrent uploads cannot overshoot it.
 */
#ifndef SYNTHIA_UPLOADS_DB_H
#define SYNTHIA_UPLOADS_DB_H

#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/str.h"

typedef struct sy_upload_row {
    char id[37];              /* UUID */
    const char *content_type; /* "image/jpeg" ... */
    int64_t bytes;
    int64_t width, height;
    char sha256[65];          /* hex */
    int64_t expires_ms;       /* epoch ms */
    const char *user_id;      /* the uploading user, "" for an API key */
    sy_str data;              /* the image (get only; arena memory) */
} sy_upload_row;

/* Store row (with row->data) for the tenant unless it already has
 * max_live live uploads.  0; SY_ERATE when over the quota, with
 * *retry_ms the time until its oldest upload expires; SY_EREDIS;
 * SY_ENOMEM. */
int sy_uploads_db_put(sy_arena *a, const char *tenant_id,
                      const sy_upload_row *row, int64_t now_ms,
                      int64_t max_live, int64_t *retry_ms);

/* The tenant's upload id (with its data).  0 and *out; SY_ENOTFOUND
 * (another tenant's, expired, or never was); SY_EREDIS; SY_ENOMEM. */
int sy_uploads_db_get(sy_arena *a, const char *tenant_id, const char *id,
                      sy_upload_row *out);

/* The same without the bytes (data SY_STR_NULL, bytes -1): what an
 * answer from the AI result cache needs (its sha256 and user).  Kept
 * per responder (memcache "upload_meta") until the upload expires, at
 * most 60 s: an upload removed earlier may be described that long (the
 * AI cache lookup checks its key, sy_uploads_db_key, in the same round
 * trip). */
int sy_uploads_db_meta(sy_arena *a, const char *tenant_id, const char *id,
                       sy_upload_row *out);
/* The Redis key of the upload (its existence is what makes it live),
 * for a script that must check it in the same round trip: 0, or
 * SY_EINVAL when it does not fit outlen. */
int sy_uploads_db_key(const char *tenant_id, const char *id, char *out,
                      size_t outlen);

/* Forget this responder's metadata of an upload found gone. */
void sy_uploads_db_forget(const char *tenant_id, const char *id);

/* Erasure: delete every upload of user_id in the tenant (their hashes
 * and their places in the tenant's set), in batches of one script call
 * each.  0 with *deleted; SY_EREDIS; SY_ENOMEM. */
int sy_uploads_db_erase_user(sy_arena *a, const char *tenant_id,
                             const char *user_id, int64_t *deleted);

#endif
