/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tenants.c - plans and tenants (API.md "Tenants, plans, keys"):
 * GET /plans, the sysadmin's POST/GET /tenants and GET/PATCH
 * /tenants/{id}, and a tenant's own GET/PATCH /tenant.  Parse ->
 * tenancy.h -> render.  GET /tenant by API key is answered from a
 * per-responder cache for up to a second (see "key cache" below).  Who
 * may call what is the route table's business, never checked here.
 */
#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/authn.h"
#include "synthia/clock.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/memcache.h"
#include "synthia/page.h"
#include "synthia/problem.h"
#include "synthia/routes.h"
#include "synthia/tenancy.h"

#define ETAG_SIZE 35 /* "\"" + 32 hex + "\"" + NUL */

/* The ETag of a tenant: its id and updated_at (which the database moves
 * on every change). */
static void
tenant_etag(const sy_tenant *t, char tag[ETAG_SIZE])
{
    unsigned char d[SY_SHA256_LEN];
    char raw[128], hex[2 * SY_SHA256_LEN + 1];
    int n = snprintf(raw, sizeof(raw), "%s|%s", t->id, t->updated_at);
    sy_sha256(raw, n > 0 ? (size_t)n : 0, d);
    sy_hex(hex, d, sizeof(d));
    snprintf(tag, ETAG_SIZE, "\"%.32s\"", hex);
}

/* status with the tenant; a 200 carries its ETag and honours
 * If-None-Match.  etag (ETAG_SIZE, may be NULL) receives the tag. */
static int
respond_tenant(sy_res *res, int status, const sy_tenant *t, char *etag)
{
    if (status == 200) {
        char tag[ETAG_SIZE];
        tenant_etag(t, tag);
        if (etag)
            memcpy(etag, tag, sizeof(tag));
        int rc = sy_res_etag(res, sy_str_c(tag));
        if (rc < 0)
            return rc;
    }
    return sy_res_json(res, status, sy_tenancy_tenant_json(t));
}

/* ------------------------------------------------------------ key cache */

/* GET /tenant by API key (servers reading their tenant, the benchmark's
 * keyed route) is answered from a per-responder cache for up to
 * TCACHE_TTL_MS, sparing PostgreSQL a query per request.  An entry
 * serves only a principal with the plan and origins it was made for:
 * those come from the key lookup, which every change of plan, origins or
 * activation invalidates at once (apikey.h), so they are never stale.
 * Name and website may be, for at most TCACHE_TTL_MS and only on
 * responders other than the one that took the PATCH (DESIGN.md allows
 * caches stale "for a stated, short time").  Users always read
 * PostgreSQL, so a dashboard sees its own changes at once. */
#define TCACHE_TTL_MS 1000
#define TCACHE_MAX_BODY 16384

/* What an entry holds: who it was made for, its ETag, then the body. */
typedef struct tcache_head {
    unsigned char made_for[SY_SHA256_LEN]; /* plan and origins */
    char etag[ETAG_SIZE];
} tcache_head;

static sy_memcache tcache =
    SY_MEMCACHE("tenant_reads", 64, 64 * (TCACHE_MAX_BODY + 128),
                TCACHE_TTL_MS);
SY_MEMCACHE_REGISTER(tcache)

static void
made_for(const sy_principal *w, unsigned char out[SY_SHA256_LEN])
{
    /* "plan\norigins": bytes past the plan's NUL are not ours to hash */
    char buf[sizeof(w->plan) + 1 + SY_SHA256_LEN];
    size_t n = strnlen(w->plan, sizeof(w->plan));
    const char *origins = w->origins ? w->origins : "";
    memcpy(buf, w->plan, n);
    buf[n++] = '\n';
    sy_sha256(origins, strlen(origins), (unsigned char *)buf + n);
    sy_sha256(buf, n + SY_SHA256_LEN, out);
}

static void
tcache_drop(const char *tid)
{
    sy_memcache_drop(&tcache, tid, strlen(tid));
}

/* Answer from the cache: true when it did (with *rc). */
static bool
tcache_get(sy_req *req, sy_res *res, const char *tid, int *rc)
{
    unsigned char want[SY_SHA256_LEN];
    size_t n = 0;
    if (req->who.kind != SY_WHO_KEY)
        return false;
    const tcache_head *h = sy_memcache_get(&tcache, tid, strlen(tid), &n);
    made_for(&req->who, want);
    if (!h || memcmp(want, h->made_for, sizeof(want)) != 0)
        return false;
    *rc = sy_res_etag(res, sy_str_c(h->etag));
    if (*rc == 0)
        *rc = sy_res_bytes(res, 200, "application/json", h + 1,
                           n - sizeof(*h));
    return true;
}

static void
tcache_put(const sy_req *req, const sy_res *res, const char *tid,
           const char *etag)
{
    if (req->who.kind != SY_WHO_KEY || res->status != 200 ||
        res->body.len > TCACHE_MAX_BODY)
        return;
    size_t n = sizeof(tcache_head) + res->body.len;
    tcache_head *h = sy_arena_alloc(res->arena, n);
    if (!h)
        return;
    made_for(&req->who, h->made_for);
    memcpy(h->etag, etag, ETAG_SIZE);
    memcpy(h + 1, res->body.p, res->body.len);
    sy_memcache_put(&tcache, tid, strlen(tid), h, n);
}

/* GET /api/v1/plans: every plan, by read limit; per-minute limits. */
int
sy_route_plans_list(sy_req *req, sy_res *res)
{
    sy_plan_list l;
    int rc = sy_plans_list(req->arena, &l);
    if (rc < 0)
        return rc;
    json_object *items = json_object_new_array();
    for (int i = 0; i < l.n; i++)
        json_object_array_add(items, sy_tenancy_plan_json(&l.v[i]));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "items", items);
    json_object_object_add(o, "next_cursor", NULL);
    return sy_res_json(res, 200, o);
}

/* POST /api/v1/tenants (sysadmin). */
int
sy_route_tenants_create(sy_req *req, sy_res *res)
{
    sy_tenant t;
    char loc[64];
    int rc = sy_tenancy_create(req->arena, req->json, &res->errs, &t);
    if (rc < 0)
        return rc;
    snprintf(loc, sizeof(loc), "/api/v1/tenants/%s", t.id);
    sy_res_header(res, "Location", sy_str_c(loc));
    return respond_tenant(res, 201, &t, NULL);
}

static json_object *
tenant_item(const void *row)
{
    return sy_tenancy_tenant_json(row);
}

/* GET /api/v1/tenants[?active=true|false] (sysadmin), oldest first. */
int
sy_route_tenants_list(sy_req *req, sy_res *res)
{
    sy_page p;
    sy_str a;
    bool active = false;
    const char *filter = NULL;
    sy_tenant_list l;
    int rc = sy_page_parse(req, res, &p);
    if (rc < 0)
        return rc;
    rc = sy_req_query(req, "active", &a);
    if (rc != SY_ENOTFOUND) {
        if (rc < 0 || sy_parse_bool(a, &active) < 0)
            return sy_problem_field(res, "active", "must be true or false");
        filter = active ? "true" : "false";
    }
    sy_keyset ks = sy_page_keyset(&p);
    if ((rc = sy_tenants_list(req->arena, filter, &ks, &l)) < 0)
        return rc;
    return sy_page_reply_rows(res, &p, l.v, l.n, sizeof(*l.v), tenant_item,
                              offsetof(sy_tenant, created_at),
                              offsetof(sy_tenant, id));
}

/* GET /api/v1/tenants/{id} (sysadmin). */
int
sy_route_tenants_get(sy_req *req, sy_res *res)
{
    sy_tenant t;
    int rc = sy_tenancy_get(req->arena, req->params[0].p, &res->errs, &t);
    return rc < 0 ? rc : respond_tenant(res, 200, &t, NULL);
}

static int
update(sy_req *req, sy_res *res, const char *id, bool platform)
{
    sy_tenant t;
    int rc = sy_tenancy_update(req->arena, id, req->json, platform,
                               &res->errs, &t);
    tcache_drop(id);
    return rc < 0 ? rc : respond_tenant(res, 200, &t, NULL);
}

/* PATCH /api/v1/tenants/{id} (sysadmin): name, website, plan, active,
 * allowed_origins. */
int
sy_route_tenants_patch(sy_req *req, sy_res *res)
{
    return update(req, res, req->params[0].p, true);
}

/* GET /api/v1/tenant: the caller's tenant (a sysadmin names one with
 * ?tenant_id=); API keys may be answered from the key cache above. */
int
sy_route_tenant_get(sy_req *req, sy_res *res)
{
    const char *tid = NULL;
    char etag[ETAG_SIZE];
    sy_tenant t;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0 || tcache_get(req, res, tid, &rc))
        return rc;
    rc = sy_tenancy_get(req->arena, tid, &res->errs, &t);
    if (rc == 0)
        rc = respond_tenant(res, 200, &t, etag);
    if (rc == 0)
        tcache_put(req, res, tid, etag);
    return rc;
}

/* PATCH /api/v1/tenant (owner): name, website, allowed_origins.  The
 * plan and the active flag are the platform's: asking to change them
 * here is an error, not silently ignored. */
int
sy_route_tenant_patch(sy_req *req, sy_res *res)
{
    const char *tid;
    int rc = sy_authn_tenant(req, res, &tid);
    return rc < 0 ? rc : update(req, res, tid, false);
}
