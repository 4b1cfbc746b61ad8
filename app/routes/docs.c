/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * docs.c - GET /api/v1/openapi.json: the OpenAPI document, compiled into
 * the binary from www/openapi.json so it always matches the code it ships
 * with.  Its ETag is computed once per process.
 */
#include <stddef.h>

#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/routes.h"

extern const char sy_openapi_json[];
extern const size_t sy_openapi_json_len;

static sy_str
openapi_etag(void)
{
    static char etag[20]; /* "\"" + 16 hex + "\"" */
    if (!etag[0]) {
        unsigned char h[SY_SHA256_LEN];
        sy_sha256(sy_openapi_json, sy_openapi_json_len, h);
        etag[0] = '"';
        sy_hex(etag + 1, h, 8);
        etag[17] = '"';
        etag[18] = 0;
    }
    return (sy_str){etag, 18};
}

int
sy_route_docs_openapi(sy_req *req, sy_res *res)
{
    (void)req;
    sy_res_headerc(res, "Cache-Control", "public, max-age=300");
    int rc = sy_res_etag(res, openapi_etag()); /* a 304 keeps the header */
    if (rc < 0)
        return rc;
    return sy_res_bytes(res, 200, "application/json", sy_openapi_json,
                        sy_openapi_json_len);
}
