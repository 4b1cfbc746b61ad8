/*
 * ratelimit.h - per-key sliding-window rate limits and login throttling.
 *
 * API-key requests are limited per key and cost class (read, write, ai)
 * by the tenant's plan: one atomic Lua call per request (sliding window
 * counter over two fixed minutes, exact under concurrency).  Responses
 * carry RateLimit-Limit/-Remaining/-Reset and the IETF draft's
 * RateLimit-Policy and RateLimit fields; a refusal is 429 rate_limited
 * with Retry-After.  When Redis is unreachable, ratelimit.on_redis_down
 * decides: local (each responder enforces limit/workers in memory), open
 * or closed; responses then carry RateLimit-Degraded: 1.
 */
#ifndef SYNTHIA_RATELIMIT_H
#define SYNTHIA_RATELIMIT_H

#include <stdbool.h>

#include "synthia/request.h"
#include "synthia/response.h"

/* Charge one request of req->route->rate to req->who's key.  0 when
 * allowed (headers set), SY_ERATE with the 429 problem in res, or 503 when
 * on_redis_down = closed and Redis is down. */
int sy_ratelimit_check(sy_req *req, sy_res *res);

/* Is the limiter running degraded right now (for /health)? */
bool sy_ratelimit_degraded(void);

/* Login throttling (API.md), keyed on the normalised email (the same
 * one the account lookup uses), the tenant and the client address:
 * before checking a password, 0 or SY_ERATE with the seconds to wait in
 * *retry_s; after, record the outcome.  Works without Redis (throttling
 * then off, logged), so login keeps working. */
int sy_login_guard_check(sy_arena *a, sy_str email, const char *tenant,
                         sy_str client, int64_t *retry_s);
void sy_login_guard_record(sy_arena *a, sy_str email, const char *tenant,
                           sy_str client, bool success);

#endif
