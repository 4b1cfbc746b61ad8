/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dispatch.h - the request path from a parsed request to a response:
 * request id, route, (CORS, auth, rate limit), body, handler, errors.
 */
#ifndef SYNTHIA_DISPATCH_H
#define SYNTHIA_DISPATCH_H

#include <stdint.h>

#include "synthia/request.h"
#include "synthia/response.h"

/* Run the whole pipeline for req, leaving the result in res.  Never fails:
 * every error becomes a problem response. */
void sy_dispatch(sy_req *req, sy_res *res);

/* Count a served request in the metrics: requests by route, method and
 * status, and the latency histogram by route (route_index -1:
 * unmatched). */
void sy_dispatch_count(int route_index, int status, int64_t dur_us);

/* The route pattern for logs and metrics ("unmatched" when none). */
const char *sy_dispatch_route_name(const sy_req *req);

#endif
