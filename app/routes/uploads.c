/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * uploads.c (routes) - POST /api/v1/uploads (API.md "Uploads, analysis,
 * recommendations, feedback, cache"): a multipart/form-data body with
 * the image in the part named `file` (other parts are ignored), or the
 * image itself as the body -> 201 {id, content_type, bytes, width,
 * height, sha256, expires_at}.
 *
 * This file reads the body (at most uploads.max_bytes, plus room for
 * the multipart framing) and finds the file in it; what makes an
 * acceptable image, and keeping it, are the domain's (uploads.h).  A raw
 * body must be declared image/jpeg, image/png, image/webp or
 * application/octet-stream; the type the response names is the one the
 * bytes show, whatever was declared.
 */
#include <stdio.h>

#include "synthia/authn.h"
#include "synthia/error.h"
#include "synthia/multipart.h"
#include "synthia/problem.h"
#include "synthia/routes.h"
#include "synthia/uploads.h"

static const char *const raw_types[] = {"image/jpeg", "image/png",
                                        "image/webp",
                                        "application/octet-stream"};

static int
too_big(sy_res *res, int64_t max_bytes)
{
    char detail[128];
    snprintf(detail, sizeof(detail),
             "The request body is larger than an upload may be (%lld bytes "
             "of image).",
             (long long)max_bytes);
    return sy_problem(res, 413, "payload_too_large", detail);
}

/* The image bytes of the request: the form's file part, or the body. */
static int
image_bytes(sy_req *req, sy_res *res, const sy_uploads_limits *lim,
            sy_str *out)
{
    size_t max = (size_t)lim->max_bytes + SY_UPLOADS_FORM_SLACK;
    sy_str body;
    int rc = sy_req_body(req, max, &body);
    if (rc == SY_ETOOBIG)
        return too_big(res, lim->max_bytes);
    if (rc < 0)
        return rc;
    if (sy_multipart_is_form(req->content_type)) {
        sy_multipart_part part;
        const char *why = "The multipart body is malformed.";
        rc = sy_multipart_find(req->arena, req->content_type, body, "file",
                               &part, &why);
        if (rc == SY_ENOTFOUND)
            return sy_problem_field(res, "file", "is required");
        if (rc < 0)
            return rc == SY_ENOMEM
                       ? rc
                       : sy_errs_fail(&res->errs, rc, "bad_request", why);
        *out = part.data;
        return 0;
    }
    sy_str mt = sy_multipart_media_type(req->content_type);
    for (size_t i = 0; i < sizeof(raw_types) / sizeof(raw_types[0]); i++) {
        if (sy_str_ieqc(mt, raw_types[i])) {
            *out = body;
            return 0;
        }
    }
    return sy_errs_fail(&res->errs, SY_EMEDIA, "unsupported_media_type",
                        "Send multipart/form-data with the image in the "
                        "part named file, or the image itself as "
                        "image/jpeg, image/png or image/webp.");
}

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
    if (req->content_length > lim.max_bytes + SY_UPLOADS_FORM_SLACK)
        return too_big(res, lim.max_bytes);
    if ((rc = image_bytes(req, res, &lim, &bytes)) < 0)
        return rc;
    const char *user = req->who.kind == SY_WHO_USER ? req->who.user_id : "";
    rc = sy_uploads_create(req->arena, tid, user, bytes, &res->errs, &u);
    if (rc < 0)
        return rc;
    return sy_res_json(res, 201, sy_uploads_json(&u));
}
