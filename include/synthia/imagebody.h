/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * imagebody.h - the image a request carries (app/http/imagebody.c), as
 * POST /uploads and PUT /products/{id}/image take it: the part named
 * `file` of a multipart/form-data body, or the body itself declared
 * image/jpeg, image/png, image/webp or application/octet-stream.
 *
 * Only the framing is checked here; whether the bytes are an image we
 * accept is the domain's (uploads.h), told by the bytes, never by the
 * declared type.
 */
#ifndef SYNTHIA_IMAGEBODY_H
#define SYNTHIA_IMAGEBODY_H

#include <stddef.h>
#include <stdint.h>

#include "synthia/request.h"
#include "synthia/response.h"
#include "synthia/str.h"

/* The image bytes of req: at most max_bytes of image in a body of at
 * most max_bytes + slack (the multipart framing), refused from
 * Content-Length before reading when it says more.  0 and *out (a view
 * of the body); otherwise the problem is recorded in res: SY_ETOOBIG
 * (413 payload_too_large), SY_EMEDIA (415: another Content-Type),
 * SY_EVALIDATION (422: no `file` part), SY_EBADREQ (a malformed
 * multipart body); or the body reader's error (SY_ENOMEM, SY_EIO). */
int sy_req_image_body(sy_req *req, sy_res *res, int64_t max_bytes,
                      size_t slack, sy_str *out);

#endif
