/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * imagebody.c - the image bytes of a request (imagebody.h): the form's
 * `file` part, or the raw body of an image (or octet-stream) type.
 */
#include "synthia/imagebody.h"

#include <stdio.h>

#include "synthia/error.h"
#include "synthia/multipart.h"
#include "synthia/problem.h"

static const char *const raw_types[] = {"image/jpeg", "image/png",
                                        "image/webp",
                                        "application/octet-stream"};

static int
too_big(sy_res *res, int64_t max_bytes)
{
    char detail[128];
    snprintf(detail, sizeof(detail),
             "The request body is larger than an image may be (%lld bytes "
             "of image).",
             (long long)max_bytes);
    return sy_problem(res, 413, "payload_too_large", detail);
}

int
sy_req_image_body(sy_req *req, sy_res *res, int64_t max_bytes, size_t slack,
                  sy_str *out)
{
    size_t max = (size_t)max_bytes + slack;
    if (req->content_length > (int64_t)max)
        return too_big(res, max_bytes);
    sy_str body;
    int rc = sy_req_body(req, max, &body);
    if (rc == SY_ETOOBIG)
        return too_big(res, max_bytes);
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
