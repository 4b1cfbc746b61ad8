/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * search.c - GET /api/v1/products/search?q=&mode=text|semantic|hybrid
 * &limit= (API.md "Catalog, search, orders") -> {items: [{product,
 * score}], mode}, scores in [0, 1], best first.  Beside products.c (the
 * route table says so).
 *
 * The rankings and the rules of a query are the domain's (search.h);
 * this file reads the query string, renders the hits and keeps whole
 * answers in the result cache per tenant under the catalog version
 * (xcache.h: X-Cache: HIT | MISS; Cache-Control: no-cache skips it), so
 * a product write retires them.
 */
#include "synthia/authn.h"
#include "synthia/cache.h"
#include "synthia/error.h"
#include "synthia/problem.h"
#include "synthia/routes.h"
#include "synthia/search.h"
#include "synthia/xcache.h"

#define WHAT_MAX 512
#define BODY_MAX (4u << 20)

/* q (required), mode and limit, every problem recorded. */
static int
parse(sy_req *req, sy_res *res, sy_search_query *s)
{
    sy_str v;
    sy_search_init(s);
    s->catver = &req->catver;
    int rc = sy_req_query(req, "q", &v);
    if (rc == SY_ENOTFOUND)
        sy_problem_field(res, "q", "is required");
    else if (rc < 0)
        sy_problem_field(res, "q", "is not correctly URL-encoded");
    else if (sy_search_set_q(req->arena, &res->errs, v, s) == SY_ENOMEM)
        return SY_ENOMEM;
    if ((rc = sy_req_query(req, "mode", &v)) != SY_ENOTFOUND)
        sy_search_set_mode(&res->errs, rc == 0 ? v : SY_STR_NULL, s);
    if ((rc = sy_req_query(req, "limit", &v)) != SY_ENOTFOUND)
        sy_search_set_limit(&res->errs, rc == 0 ? v : SY_STR_NULL, s);
    /* field errors, or q over the cost bound (query_too_complex) */
    return sy_errs_any(&res->errs) || res->errs.code ? SY_EVALIDATION : 0;
}

static void
body(sy_buf *b, const sy_search_query *s, const sy_search_hit *hits, int n)
{
    sy_buf_puts(b, "{\"items\":[");
    for (int i = 0; i < n; i++) {
        sy_buf_puts(b, i ? ",{\"product\":" : "{\"product\":");
        sy_buf_add_str(b, hits[i].product);
        sy_buf_printf(b, ",\"score\":%.6f}", hits[i].score);
    }
    sy_buf_printf(b, "],\"mode\":\"%s\"}", sy_search_mode_name(s->mode));
}

int
sy_route_products_search(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_search_query s;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0 || (rc = parse(req, res, &s)) < 0)
        return rc;
    sy_buf what;
    sy_buf_init(&what, req->arena, WHAT_MAX);
    sy_buf_printf(&what, "mode=%s&limit=%d&q=%s", sy_search_mode_name(s.mode),
                  s.limit, s.q);
    sy_str w = what.failed ? SY_STR_NULL : sy_buf_str(&what);
    rc = sy_xcache_get(req, res, tid, SY_CACHE_SEARCH, w);
    if (rc != SY_ENOTFOUND)
        return rc;
    sy_search_hit *hits;
    int n;
    if ((rc = sy_search_run(req->arena, &res->errs, tid, &s, &hits, &n)) < 0)
        return rc;
    sy_buf out;
    sy_buf_init(&out, req->arena, BODY_MAX);
    body(&out, &s, hits, n);
    return sy_xcache_put(req, res, tid, SY_CACHE_SEARCH, w, &out);
}
