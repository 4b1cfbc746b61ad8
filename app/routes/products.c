/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * products.c - the catalog routes (API.md "Catalog, search, orders"):
 * product CRUD, the filtered, keyset-paginated list, and categories
 * with counts.  Each handler parses the request, calls the catalog's
 * rules (products.h, which say what a product is and who sees it) and
 * renders: the product's JSON as PostgreSQL built it, an ETag (a hash of
 * id and updated_at), Location on create, and lists and categories
 * through the result cache (xcache.h: X-Cache, Cache-Control: no-cache).
 */
#include <stdio.h>
#include <string.h>

#include "synthia/authn.h"
#include "synthia/cache.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/page.h"
#include "synthia/problem.h"
#include "synthia/products.h"
#include "synthia/routes.h"
#include "synthia/xcache.h"

#define ETAG_SIZE 35 /* "\"" + 32 hex + "\"" + NUL */
#define LIST_BODY_MAX (8u << 20)

/* ------------------------------------------------------------ helpers */

/* ETag: the first half of SHA-256 of "<id>|<updated_at>". */
static int
set_etag(sy_res *res, const sy_product_row *row)
{
    unsigned char h[SY_SHA256_LEN];
    char buf[SY_UUID_LEN + 40], hex[2 * SY_SHA256_LEN + 1], tag[ETAG_SIZE];
    int n = snprintf(buf, sizeof(buf), "%s|%s", row->id, row->updated_at);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return SY_EINTERNAL;
    sy_sha256(buf, (size_t)n, h);
    sy_hex(hex, h, sizeof(h));
    snprintf(tag, sizeof(tag), "\"%.32s\"", hex);
    return sy_res_etag(res, sy_str_c(tag));
}

/* The product with its ETag. */
static int
send_product(sy_res *res, int status, const sy_product_row *row)
{
    int rc = set_etag(res, row);
    if (rc < 0)
        return rc;
    return sy_res_bytes(res, status, "application/json", row->json.p,
                        row->json.len);
}

/* ------------------------------------------------------------ writes */

int
sy_route_products_create(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_product_row row;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_products_create_json(req->arena, tid, req->json, &res->errs,
                                     &row);
    if (rc < 0)
        return rc;
    char loc[64];
    snprintf(loc, sizeof(loc), "/api/v1/products/%s", row.id);
    if ((rc = sy_res_header(res, "Location", sy_str_c(loc))) < 0)
        return rc;
    return send_product(res, 201, &row);
}

int
sy_route_products_patch(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_product_row row;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_products_update_json(req->arena, tid, sy_req_path_id(req),
                                     req->json, &res->errs, &row);
    return rc < 0 ? rc : send_product(res, 200, &row);
}

int
sy_route_products_delete(sy_req *req, sy_res *res)
{
    const char *tid;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_products_deactivate(req->arena, tid, sy_req_path_id(req));
    if (rc < 0)
        return rc;
    res->status = 204;
    return 0;
}

int
sy_route_products_get(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_product_row row;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_products_get(req->arena, &req->catver, tid,
                             sy_req_path_id(req), sy_req_staff_user(req),
                             &row);
    return rc < 0 ? rc : send_product(res, 200, &row);
}

/* ------------------------------------------------------------ lists */

/* The filters of the query, in the order their errors are reported; a
 * value that is not correctly URL-encoded is refused as such. */
static int
parse_filters(sy_req *req, sy_res *res, sy_product_filter *f)
{
    for (int i = 0; sy_products_filter_names[i]; i++) {
        const char *name = sy_products_filter_names[i];
        sy_str v;
        int rc = sy_req_query(req, name, &v);
        if (rc == SY_EBADREQ)
            sy_problem_field(res, name, "is not correctly URL-encoded");
        else if (rc == 0)
            rc = sy_products_filter_set(req->arena, &res->errs, name, v, f);
        if (rc == SY_ENOMEM)
            return rc;
    }
    return sy_errs_any(&res->errs) ? SY_EVALIDATION : 0;
}

static void
what_add(sy_buf *b, const char *name, const char *v)
{
    if (v)
        sy_buf_printf(b, "%s=%zu:%s&", name, strlen(v), v);
}

/* The canonical form of a list request: its result-cache key. */
static int
list_what(sy_arena *a, const sy_product_filter *f, const sy_page *pg,
          sy_buf *what)
{
    sy_buf_init(what, a, 1024);
    what_add(what, "category", f->category);
    what_add(what, "min", f->min_price);
    what_add(what, "max", f->max_price);
    what_add(what, "stock", f->in_stock);
    what_add(what, "color", f->color);
    what_add(what, "after", pg->after ? pg->after_ts : NULL);
    what_add(what, "id", pg->after ? pg->after_id : NULL);
    sy_buf_printf(what, "limit=%lld", (long long)pg->limit);
    return what->failed ? SY_ENOMEM : 0;
}

/* {"items": [the rows' JSON], "next_cursor": ...} of a page. */
static int
list_body(sy_arena *a, const sy_page *pg, const sy_product_row *rows,
          int nrows, sy_buf *b)
{
    int n = sy_page_count(pg, nrows);
    sy_buf_puts(b, "{\"items\":[");
    for (int i = 0; i < n; i++) {
        if (i)
            sy_buf_putc(b, ',');
        sy_buf_add_str(b, rows[i].json);
    }
    sy_buf_puts(b, "],\"next_cursor\":");
    if (n == nrows)
        return sy_buf_puts(b, "null}");
    char *cursor;
    int rc = sy_page_cursor(a, rows[n - 1].created_at, rows[n - 1].id,
                            &cursor);
    return rc < 0 ? rc : sy_buf_printf(b, "\"%s\"}", cursor);
}

int
sy_route_products_list(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_product_filter f = {.category = NULL};
    sy_page pg;
    sy_buf what, body;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0 || (rc = parse_filters(req, res, &f)) < 0 ||
        (rc = sy_page_parse(req, res, &pg)) < 0 ||
        (rc = list_what(req->arena, &f, &pg, &what)) < 0)
        return rc;
    rc = sy_xcache_get(req, res, tid, SY_CACHE_LIST, sy_buf_str(&what));
    if (rc != SY_ENOTFOUND)
        return rc;
    f.after_ts = pg.after_ts;
    f.after_id = pg.after_id;
    f.limit_text = pg.limit_text;
    sy_product_row *rows;
    int n;
    if ((rc = sy_products_list(req->arena, tid, &f, &rows, &n)) < 0)
        return rc;
    sy_buf_init(&body, req->arena, LIST_BODY_MAX);
    if ((rc = list_body(req->arena, &pg, rows, n, &body)) < 0)
        return rc;
    return sy_xcache_put(req, res, tid, SY_CACHE_LIST, sy_buf_str(&what),
                         &body);
}

int
sy_route_categories_list(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_str json, what = SY_STR("categories");
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0)
        return rc;
    rc = sy_xcache_get(req, res, tid, SY_CACHE_LIST, what);
    if (rc != SY_ENOTFOUND)
        return rc;
    if ((rc = sy_products_categories(req->arena, tid, &json)) < 0)
        return rc;
    sy_buf body;
    sy_buf_init(&body, req->arena, LIST_BODY_MAX);
    sy_buf_add_str(&body, json);
    return sy_xcache_put(req, res, tid, SY_CACHE_LIST, what, &body);
}
