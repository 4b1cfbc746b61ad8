/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * uploads.c (routes) - POST /api/v1/uploads (API.md "Uploads, analysis,
 * recommendations, feedback, cache"): a multipart/form-data body with
 * the image in the part named `file` (other parts are ignored), or the
 * image itself as the body -> 201 {id, content_type, bytes, width,
 * height, sha256, expires_at}.
 *
 * This file reads the body (at most uploads.max_bytes, plus room for
 * the multipart framing) and finds the file in it (imagebody.h); what
 * makes an acceptable image, and keeping it, are the domain's
 * (uploads.h).  A raw
 * body must be declared image/jpeg, image/png, image/webp or
 * application/octet-stream; the type the response names is the one the
 * bytes show, whatever was declared.
 */
#include "synthia/authn.h"
#include "synthia/error.h"
#include "synthia/imagebody.h"
#include "synthia/routes.h"
#include "synthia/uploads.h"

int
sy_route_uploads_create(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_uploads_limits lim;
    sy_upload_row u;
    sy_str bytes;
    sy_uploads_limits_get(&lim);
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0)
        return rc;
    if ((rc = sy_req_image_body(req, res, lim.max_bytes,
                                SY_UPLOADS_FORM_SLACK, &bytes)) < 0)
        return rc;
    const char *user = req->who.kind == SY_WHO_USER ? req->who.user_id : "";
    rc = sy_uploads_create(req->arena, tid, user, bytes, &res->errs, &u);
    if (rc < 0)
        return rc;
    return sy_res_json(res, 201, sy_uploads_json(&u));
}
