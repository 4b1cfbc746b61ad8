/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xcache.c - catalog reads answered from the result cache, with
 * X-Cache: HIT | MISS (xcache.h).  The cache itself (keys, versions,
 * compression, the memory copy) is store/cache.c's.
 */
#include "synthia/xcache.h"

#include "synthia/cache.h"
#include "synthia/error.h"

/* Does the client ask for a fresh answer (Cache-Control: no-cache)? */
static bool
no_cache(const sy_req *req)
{
    sy_str cc = sy_req_header(req, "Cache-Control");
    for (size_t i = 0; i + 8 <= cc.len; i++)
        if (sy_str_ieqc((sy_str){cc.p + i, 8}, "no-cache"))
            return true;
    return false;
}

int
sy_xcache_get(sy_req *req, sy_res *res, const char *tenant, int type,
              sy_str what)
{
    sy_str v;
    if (!what.p || no_cache(req) ||
        sy_cache_get(req->arena, &req->catver, tenant, type, NULL, what, &v) < 0)
        return SY_ENOTFOUND;
    int rc = sy_res_headerc(res, "X-Cache", "HIT");
    return rc < 0 ? rc
                  : sy_res_bytes(res, 200, "application/json", v.p, v.len);
}

int
sy_xcache_put(sy_req *req, sy_res *res, const char *tenant, int type,
              sy_str what, const sy_buf *body)
{
    if (body->failed)
        return SY_ENOMEM;
    if (what.p)
        sy_cache_put(req->arena, tenant, type, NULL, what, sy_buf_str(body));
    int rc = sy_res_headerc(res, "X-Cache", "MISS");
    return rc < 0 ? rc
                  : sy_res_bytes(res, 200, "application/json", body->p,
                                 body->len);
}
