/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * admission.h - may this request go on to its handler?  (app/http/
 * admission.c)
 *
 * Authentication and authorisation (authn.h), then for an API key the
 * one Redis round trip of a keyed request, built from the pieces that
 * need it: the confirmation of a key record served from the responder's
 * memory (apikey.h), the rate-limit window of the route's cost class
 * (ratelimit.h), and the tenant's catalog version for routes that read
 * the catalog (cache.h).  Every result lands in the request (req->who,
 * req->catver) and the response (RateLimit headers), none in a global.
 */
#ifndef SYNTHIA_ADMISSION_H
#define SYNTHIA_ADMISSION_H

#include "synthia/request.h"
#include "synthia/response.h"

/* 0 when the request may go on; otherwise a negative code with the
 * problem in res: 401/403 (authn.h), 429 rate_limited with Retry-After,
 * 503 when Redis is down and ratelimit.on_redis_down = closed. */
int sy_admission_admit(sy_req *req, sy_res *res);

/* The Redis round trip alone, for a request whose principal is already
 * known (a no-op for anyone but an API key): 0, SY_ESTALE when the key's
 * memory record changed (admit again), or a problem as above. */
int sy_admission_pipeline(sy_req *req, sy_res *res);

#endif
