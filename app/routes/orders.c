/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * orders.c - the /orders routes: placing an order (with
 * Idempotency-Key), listing and reading orders, and moving them through
 * their states.  The rules (stock, owners, legal moves) are the
 * domain's (orders.h); a handler names the caller, calls them and
 * renders: the order's JSON, an ETag on reads (a hash of the body), a
 * recorded response replayed as is (idemkey.h).
 */
#include <json-c/json.h>
#include <stdio.h>

#include "synthia/authn.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/idemkey.h"
#include "synthia/orders.h"
#include "synthia/page.h"
#include "synthia/problem.h"
#include "synthia/routes.h"

/* The caller as the order rules see it (these routes are for users). */
static sy_order_actor
actor(const sy_req *req)
{
    return (sy_order_actor){
        .user_id = req->who.user_id[0] ? req->who.user_id : NULL,
        .shopper = req->who.role < SY_ROLE_STAFF,
        .sysadmin = req->who.role == SY_ROLE_SYSADMIN};
}

/* The body's SHA-256, shortened, as a strong validator. */
static int
set_etag(sy_res *res)
{
    unsigned char h[SY_SHA256_LEN];
    char hex[2 * 16 + 1], etag[2 * 16 + 3];
    sy_sha256(res->body.p, res->body.len, h);
    sy_hex(hex, h, 16);
    snprintf(etag, sizeof(etag), "\"%s\"", hex);
    return sy_res_etag(res, sy_str_c(etag));
}

int
sy_route_orders_create(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_order_in in;
    sy_order_actor who = actor(req);
    sy_idem_key key;
    const sy_idem_key *k = NULL;
    sy_idem_response out;
    bool replayed = false;
    int rc = sy_orders_may_place(&who, &res->errs);
    if (rc == 0)
        rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_orders_read(req->arena, req->json, &res->errs, &in);
    if (rc == 0 && (rc = sy_idem_key_from_req(req, res, &key)) == 0)
        k = &key;
    if (rc == SY_ENOTFOUND)
        rc = 0; /* no Idempotency-Key */
    if (rc == 0)
        rc = sy_orders_place(req->arena, tid, who.user_id, &in, k,
                             &res->errs, &out, &replayed);
    return rc < 0 ? rc : sy_idem_respond(res, &out, replayed);
}

/* ?status=: 0 with *out (NULL when absent), or a field error. */
static int
status_filter(sy_req *req, sy_res *res, const char **out)
{
    sy_str q;
    int rc = sy_req_query(req, "status", &q);
    *out = NULL;
    if (rc == SY_ENOTFOUND)
        return 0;
    if (rc < 0 || !(*out = sy_orders_status(q)))
        return sy_problem_field(res, "status",
                                "must be pending, paid, fulfilled or "
                                "canceled");
    return 0;
}

int
sy_route_orders_list(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_order_actor who = actor(req);
    sy_order_filter f = {.owner = NULL};
    sy_order_row *rows;
    sy_page pg;
    int n;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_page_parse(req, res, &pg);
    if (rc == 0)
        rc = status_filter(req, res, &f.status);
    if (rc < 0)
        return rc;
    f.after_ts = pg.after_ts;
    f.after_id = pg.after_id;
    f.limit_text = pg.limit_text;
    if ((rc = sy_orders_list(req->arena, tid, &who, &f, &rows, &n)) < 0)
        return rc;
    int shown = sy_page_count(&pg, n);
    json_object *items = json_object_new_array();
    for (int i = 0; items && i < shown; i++)
        json_object_array_add(items, json_tokener_parse(rows[i].json.p));
    return sy_page_reply(res, &pg, n, items,
                         shown ? rows[shown - 1].created_at : NULL,
                         shown ? rows[shown - 1].id : NULL);
}

int
sy_route_orders_get(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_order_actor who = actor(req);
    sy_str json;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_orders_get(req->arena, tid, sy_req_path_id(req), &who,
                           &res->errs, &json);
    if (rc < 0 ||
        (rc = sy_res_bytes(res, 200, "application/json", json.p, json.len)) <
            0)
        return rc;
    return set_etag(res);
}

int
sy_route_orders_transition(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_order_actor who = actor(req);
    sy_str json;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_orders_transition_json(req->arena, tid, sy_req_path_id(req),
                                       &who, req->json, &res->errs, &json);
    return rc < 0 ? rc
                  : sy_res_bytes(res, 200, "application/json", json.p,
                                 json.len);
}
