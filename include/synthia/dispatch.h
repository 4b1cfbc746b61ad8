/*
 * dispatch.h - the request path from a parsed request to a response:
 * request id, route, (CORS, auth, rate limit), body, handler, errors.
 */
#ifndef SYNTHIA_DISPATCH_H
#define SYNTHIA_DISPATCH_H

#include "synthia/request.h"
#include "synthia/response.h"

/* Run the whole pipeline for req, leaving the result in res.  Never fails:
 * every error becomes a problem response. */
void sy_dispatch(sy_req *req, sy_res *res);

/* The route pattern for logs and metrics ("unmatched" when none). */
const char *sy_dispatch_route_name(const sy_req *req);

#endif
