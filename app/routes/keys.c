/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * keys.c - a tenant's API keys (API.md "Tenants, plans, keys"): list,
 * create, rotate and revoke, for the tenant's owner (or a sysadmin naming
 * the tenant with ?tenant_id=).  Parse -> tenancy.h -> render.  A key is
 * shown once, in the response that creates it; lists never carry the
 * key or its hash.
 */
#include <json-c/json.h>
#include <stddef.h>

#include "synthia/authn.h"
#include "synthia/error.h"
#include "synthia/page.h"
#include "synthia/routes.h"
#include "synthia/tenancy.h"

/* The user who made a key (NULL when the caller is not a user). */
static const char *
creator(const sy_req *req)
{
    return req->who.user_id[0] ? req->who.user_id : NULL;
}

/* 201 with the key row and, once, the key itself; never cached. */
static int
respond_new_key(sy_res *res, const sy_tenancy_key *k, json_object *extra)
{
    json_object *o = sy_tenancy_key_json(&k->row);
    json_object_object_add(o, "key", json_object_new_string(k->key));
    if (extra)
        json_object_object_add(o, "replaces", extra);
    sy_res_headerc(res, "Cache-Control", "no-store");
    return sy_res_json(res, 201, o);
}

static json_object *
key_item(const void *row)
{
    return sy_tenancy_key_json(row);
}

/* GET /api/v1/tenant/keys: every key of the tenant, revoked and expired
 * ones included (with their times), oldest first. */
int
sy_route_tenant_keys_list(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_page p;
    sy_key_list l;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_page_parse(req, res, &p);
    if (rc < 0)
        return rc;
    sy_keyset ks = sy_page_keyset(&p);
    if ((rc = sy_keys_list(req->arena, tid, &ks, &l)) < 0)
        return rc;
    return sy_page_reply_rows(res, &p, l.v, l.n, sizeof(*l.v), key_item,
                              offsetof(sy_key_row, created_at),
                              offsetof(sy_key_row, id));
}

/* POST /api/v1/tenant/keys {name?, kind, scopes?} -> 201 with `key`. */
int
sy_route_tenant_keys_create(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_tenancy_key k;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_tenancy_key_create(req->arena, tid, req->json, creator(req),
                                   &res->errs, &k);
    return rc < 0 ? rc : respond_new_key(res, &k, NULL);
}

/* POST /api/v1/tenant/keys/{id}/rotate {grace_seconds?} -> 201 with the
 * successor's `key`; the old key works until the grace ends. */
int
sy_route_tenant_keys_rotate(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_tenancy_key k;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_tenancy_key_rotate(req->arena, tid, req->params[0].p,
                                   req->json, creator(req), &res->errs, &k);
    if (rc < 0)
        return rc;
    json_object *old = json_object_new_object();
    json_object_object_add(old, "id",
                           json_object_new_string(req->params[0].p));
    json_object_object_add(old, "expires_at",
                           k.row.old_expires_at
                               ? json_object_new_string(k.row.old_expires_at)
                               : NULL);
    return respond_new_key(res, &k, old);
}

/* DELETE /api/v1/tenant/keys/{id}: revoke now -> 204.  Revoking a
 * revoked key is a 204 again (DELETE is idempotent). */
int
sy_route_tenant_keys_delete(sy_req *req, sy_res *res)
{
    const char *tid;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_tenancy_key_revoke(req->arena, tid, req->params[0].p,
                                   &res->errs);
    return rc < 0 ? rc : sy_res_bytes(res, 204, NULL, NULL, 0);
}
