/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prodimages.c (routes) - a product's stored image (prodimages.h):
 *
 *   PUT    /api/v1/products/{id}/image   staff+: the image as the body
 *          (image/jpeg, image/png, image/webp, application/octet-stream)
 *          or the `file` part of a multipart/form-data body -> 200
 *          {image, thumb, content_type, width, height, sha256}
 *   GET    /api/v1/products/{id}/image[?size=full|thumb][&v=...]  key or
 *          user, as GET /products/{id}: the JPEG, with an ETag (304 on
 *          If-None-Match); Cache-Control private, no-cache, or private
 *          and immutable for a year when ?v= names the current image (the
 *          product's JSON gives that path, and moves on when the image
 *          changes; another v that is not 16 hex digits is 422)
 *   DELETE /api/v1/products/{id}/image   staff+ -> 204
 *
 * Another tenant's product, an inactive one for all but staff, and a
 * product without a stored image are 404, the same as an unknown id.
 */
#include <stdio.h>
#include <string.h>

#include "synthia/authn.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/imagebody.h"
#include "synthia/prodimages.h"
#include "synthia/problem.h"
#include "synthia/routes.h"
#include "synthia/uploads.h"

/* ?v= absent, or 16 lower-case hex digits */
static bool
version_ok(sy_str v)
{
    if (!v.p)
        return true;
    if (v.len != 16)
        return false;
    for (size_t i = 0; i < v.len; i++)
        if (!((v.p[i] >= '0' && v.p[i] <= '9') ||
              (v.p[i] >= 'a' && v.p[i] <= 'f')))
            return false;
    return true;
}

int
sy_route_products_image_put(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_uploads_limits lim;
    sy_prodimage full;
    sy_str bytes;
    sy_uploads_limits_get(&lim);
    const char *id = sy_req_path_id(req);
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0)
        return rc;
    if (!sy_uuid_valid(id, strlen(id))) /* no product: before the body */
        return SY_ENOTFOUND;
    if ((rc = sy_req_image_body(req, res, lim.max_bytes,
                                SY_UPLOADS_FORM_SLACK, &bytes)) < 0)
        return rc;
    rc = sy_prodimages_put(req->arena, tid, id, bytes, &res->errs, &full);
    if (rc < 0)
        return rc;
    return sy_res_json(res, 200, sy_prodimages_json(id, &full));
}

int
sy_route_products_image_get(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_str size = SY_STR_NULL, v = SY_STR_NULL;
    sy_prodimage img;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0)
        return rc;
    if (sy_req_query(req, "size", &size) == SY_EBADREQ)
        return sy_problem_field(res, "size", "is not correctly URL-encoded");
    if ((rc = sy_req_query(req, "v", &v)) == SY_EBADREQ || !version_ok(v))
        return sy_problem_field(res, "v",
                                "must be 16 hexadecimal digits (the image "
                                "version of the product's image path)");
    const char *sz = size.p ? sy_str_dup(req->arena, size) : NULL;
    if (size.p && !sz)
        return SY_ENOMEM;
    rc = sy_prodimages_get(req->arena, tid, sy_req_path_id(req), sz,
                           sy_req_staff_user(req), &res->errs, &img);
    if (rc < 0)
        return rc;
    bool current = img.version[0] && sy_str_eqc(v, img.version);
    sy_res_headerc(res, "Cache-Control",
                   current ? "private, max-age=31536000, immutable"
                           : "private, no-cache");
    char tag[40];
    snprintf(tag, sizeof(tag), "\"%.32s\"", img.sha256);
    if ((rc = sy_res_etag(res, sy_str_c(tag))) < 0)
        return rc;
    return sy_res_bytes(res, 200, img.content_type, img.data.p,
                        img.data.len);
}

int
sy_route_products_image_delete(sy_req *req, sy_res *res)
{
    const char *tid;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_prodimages_delete(req->arena, tid, sy_req_path_id(req));
    if (rc < 0)
        return rc;
    res->status = 204;
    return 0;
}
