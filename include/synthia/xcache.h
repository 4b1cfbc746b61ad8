/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xcache.h - answering a catalog read from the result cache (cache.h),
 * the HTTP side of it (app/http/xcache.c): Cache-Control: no-cache from
 * the client skips the cached answer (it is computed and stored again:
 * the way to time the database path, and a fresh read for a client that
 * wants one), and X-Cache: HIT | MISS says which it was.
 */
#ifndef SYNTHIA_XCACHE_H
#define SYNTHIA_XCACHE_H

#include "synthia/request.h"
#include "synthia/response.h"

/* Answer 200 with the body cached for (tenant, type, what) and X-Cache:
 * HIT.  SY_ENOTFOUND, with res untouched, when there is none, when the
 * client asked for a fresh answer, or when what is SY_STR_NULL (a
 * request too large to describe); else 0 or SY_ENOMEM. */
int sy_xcache_get(sy_req *req, sy_res *res, const char *tenant, int type,
                  sy_str what);

/* Answer 200 with body (application/json) and X-Cache: MISS, and store
 * it for (tenant, type, what) unless what is SY_STR_NULL.  SY_ENOMEM
 * when body overflowed. */
int sy_xcache_put(sy_req *req, sy_res *res, const char *tenant, int type,
                  sy_str what, const sy_buf *body);

#endif
