/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cors.h - CORS for /api/v1/: preflight answers and response headers.
 *
 * API-key requests allow their tenant's origins; token and cookie
 * requests allow cors.origins.  An allowed Origin is echoed with
 * Vary: Origin (and Allow-Credentials for cookie clients); never "*"
 * with credentials; a disallowed Origin gets no CORS headers at all.
 */
#ifndef SYNTHIA_CORS_H
#define SYNTHIA_CORS_H

#include "synthia/request.h"
#include "synthia/response.h"

/* Is this an OPTIONS preflight (Origin + Access-Control-Request-Method)? */
bool sy_cors_is_preflight(const sy_req *req);

/* Answer a preflight for a path whose methods are `allow` ("GET, POST").
 * Always 204; CORS headers only when the origin is allowed. */
int sy_cors_preflight(sy_req *req, sy_res *res, const char *allow);

/* Add CORS headers to an actual response when the origin is allowed for
 * req->who.  Called for every /api/v1/ response, errors included. */
void sy_cors_headers(const sy_req *req, sy_res *res);

/* Is origin in the space-separated list? (exact scheme://host[:port]) */
bool sy_cors_origin_listed(const char *list, sy_str origin);

#endif
