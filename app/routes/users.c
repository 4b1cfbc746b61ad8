/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * users.c - the /users routes: a user's own profile (PATCH, DELETE
 * /users/me) and a tenant's user management (GET, POST /users, PATCH
 * /users/{id}).  Parse -> accounts.h -> render; who may call what is the
 * route table's business, the rules are the domain's.  Every query names
 * the caller's tenant (the tenant-less namespace for sysadmins), so
 * another tenant's ids are 404.
 */
#include <json-c/json.h>
#include <stddef.h>
#include <string.h>

#include "synthia/accounts.h"
#include "synthia/authn.h"
#include "synthia/cookies.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/page.h"
#include "synthia/problem.h"
#include "synthia/routes.h"

static int
user_response(sy_res *res, int status, const sy_user *u)
{
    json_object *o = sy_accounts_json(u);
    if (!o)
        return SY_ENOMEM;
    sy_res_headerc(res, "Cache-Control", "no-store");
    return sy_res_json(res, status, o);
}

int
sy_route_users_me_patch(sy_req *req, sy_res *res)
{
    sy_user u;
    int rc = sy_accounts_update_self(req->arena, &req->who, req->json,
                                     req->client_addr, &res->errs, &u);
    return rc < 0 ? rc : user_response(res, 200, &u);
}

int
sy_route_users_me_delete(sy_req *req, sy_res *res)
{
    int rc = sy_accounts_erase(req->arena, &req->who, &res->errs);
    if (rc < 0)
        return rc;
    if (req->who.via_cookie)
        sy_cookies_clear_auth(res);
    res->status = 204;
    return 0;
}

static json_object *
user_item(const void *row)
{
    return sy_accounts_json(row);
}

int
sy_route_users_list(sy_req *req, sy_res *res)
{
    const char *tid, *role = NULL;
    sy_page pg;
    sy_str q;
    sy_user_list l;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_page_parse(req, res, &pg);
    if (rc == 0 && (rc = sy_req_query(req, "role", &q)) == 0)
        role = q.p; /* decoded, NUL-terminated */
    else if (rc == SY_ENOTFOUND)
        rc = 0;
    else if (rc == SY_EBADREQ)
        rc = sy_problem_field(res, "role", "must be shopper, staff or owner");
    if (rc < 0)
        return rc;
    sy_keyset ks = sy_page_keyset(&pg);
    rc = sy_accounts_list(req->arena, tid, role, &ks, &res->errs, &l);
    if (rc < 0)
        return rc;
    return sy_page_reply_rows(res, &pg, l.v, l.n, sizeof(*l.v), user_item,
                              offsetof(sy_user, created_at),
                              offsetof(sy_user, id));
}

int
sy_route_users_create(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_str v;
    sy_user u;
    int role = 0;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0)
        return rc;
    if (sy_json_str(&res->errs, req->json, "role", true, 0, SIZE_MAX, &v) ==
            0 &&
        !(role = sy_accounts_tenant_role(v)))
        sy_problem_field(res, "role", "must be shopper, staff or owner");
    rc = sy_accounts_create(req->arena, tid, req->json, role, &res->errs, &u);
    return rc < 0 ? rc : user_response(res, 201, &u);
}

int
sy_route_users_patch(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_user u;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0)
        return rc;
    rc = sy_accounts_change(req->arena, tid, req->params[0].p, req->json,
                            &res->errs, &u);
    return rc < 0 ? rc : user_response(res, 200, &u);
}
