/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * wellknown.c - GET /.well-known/jwks.json: the public keys that verify
 * access tokens (RS256 and ES256 keys; {"keys": []} with HS256 alone, as
 * secrets are never published).  Caches may keep it five minutes; a
 * verifier that meets an unknown kid should fetch it again (a new signing
 * key appears here when it starts signing).
 */
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/jwt.h"
#include "synthia/response.h"
#include "synthia/routes.h"

#define JWKS_MAX 65536

int
sy_route_wellknown_jwks(sy_req *req, sy_res *res)
{
    sy_buf body;
    sy_buf_init(&body, req->arena, JWKS_MAX);
    int rc = sy_jwt_jwks(&body);
    if (rc < 0)
        return rc == SY_ECONFIG ? SY_EINTERNAL : rc;

    unsigned char h[SY_SHA256_LEN];
    char etag[20]; /* "\"" + 16 hex + "\"" */
    sy_sha256(body.p, body.len, h);
    etag[0] = '"';
    sy_hex(etag + 1, h, 8);
    etag[17] = '"';
    etag[18] = 0;
    /* before the ETag, so that a 304 carries it too */
    sy_res_headerc(res, "Cache-Control", "public, max-age=300");
    rc = sy_res_etag(res, (sy_str){etag, 18});
    if (rc < 0)
        return rc;
    return sy_res_bytes(res, 200, "application/json", body.p, body.len);
}
