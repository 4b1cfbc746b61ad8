/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * admission.h - may this request go on to its handler?  (app/http/
 * admission.c)
 *
 * Authentication and authorisation (authn.h), then for an API key (and,
 * for the rate limit, a signed-in user of a tenant: per user, by the
 * tenant's plan) the one Redis round trip, built from the pieces that
 * need it: the confirmation of a key record served from the responder's
 * memory (apikey.h), the rate-limit window of the route's cost class
 * (ratelimit.h), and the tenant's catalog version for routes that read
 * the catalog (cache.h).  Every result lands in the request (req->who,
 * req->catver) and the response (RateLimit headers), none in a global.
 */
#ifndef SYNTHIA_ADMISSION_H
#define SYNTHIA_ADMISSION_H

#include "synthia/ratelimit.h"
#include "synthia/request.h"
#include "synthia/response.h"

/* 0 when the request may go on; otherwise a negative code with the
 * problem in res: 401/403 (authn.h), 429 rate_limited with Retry-After,
 * 503 when Redis is down and ratelimit.on_redis_down = closed. */
int sy_admission_admit(sy_req *req, sy_res *res);

/* The RateLimit headers of a charge of the ai class (ratelimit.h
 * sy_ratelimit_ai, through the domain's sy_ai_charge): the trio shows
 * the window closest to refusing, RateLimit-Policy and RateLimit add
 * "ai" (the caller's window) and "ai_tenant" (the tenant's budget) to
 * the route's own class; RateLimit-Degraded: 1 when decided without
 * Redis.  Always 0. */
int sy_admission_ai_headers(sy_res *res, const sy_rl_ai *d);

/* The Redis round trip alone, for a request whose principal is already
 * known (a no-op for anyone but an API key): 0, SY_ESTALE when the key's
 * memory record changed (admit again), or a problem as above. */
int sy_admission_pipeline(sy_req *req, sy_res *res);

#endif
