/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cache.c (routes) - GET /api/v1/cache/stats and DELETE /api/v1/cache
 * (API.md "Uploads, analysis, recommendations, feedback, cache"): each
 * parses the query, calls the result cache (cache.h) and renders its
 * answer.
 *
 * Both act on the caller's tenant; a sysadmin names one with ?tenant_id=,
 * and without it reads the stats of every tenant together (DELETE always
 * needs a tenant).  DELETE takes ?type= (list, search, product, analysis,
 * tryon; absent: every type) and ?user_id= (analysis and tryon entries of
 * one user; catalog entries are not per user, so user_id with a catalog
 * type is refused).  Both need Redis: when it is down they answer 503,
 * while the routes that read through the cache keep answering.
 */
#include <json-c/json.h>
#include <stdbool.h>

#include "synthia/authn.h"
#include "synthia/cache.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/problem.h"
#include "synthia/routes.h"

static bool
catalog_type(int type)
{
    return type == SY_CACHE_LIST || type == SY_CACHE_SEARCH ||
           type == SY_CACHE_PRODUCT;
}

/* GET /api/v1/cache/stats -> {hits, misses, hit_ratio, keys, bytes_raw,
 * bytes_stored, compression_ratio, by_type}; a sysadmin without
 * ?tenant_id= gets the sum over every tenant. */
int
sy_route_cache_stats(sy_req *req, sy_res *res)
{
    const char *tid = NULL;
    sy_str q;
    int rc;
    if (req->who.tenant_id[0] ||
        sy_req_query(req, "tenant_id", &q) != SY_ENOTFOUND) {
        rc = sy_authn_tenant(req, res, &tid);
        if (rc < 0)
            return rc;
    }
    json_object *out;
    rc = sy_cache_stats(req->arena, tid, &out);
    return rc < 0 ? rc : sy_res_json(res, 200, out);
}

/* ?type=: 0 with *type (-1 when absent), or a field error. */
static int
read_type(sy_req *req, sy_res *res, int *type)
{
    sy_str v;
    int rc = sy_req_query(req, "type", &v);
    *type = -1;
    if (rc == SY_ENOTFOUND)
        return 0;
    if (rc == 0)
        *type = sy_cache_type_parse(v);
    if (*type >= 0)
        return 0;
    return sy_problem_field(res, "type",
                            "must be one of list, search, "
                            "product, analysis, tryon");
}

/* ?user_id=: 0 with *user (NULL when absent), or a field error. */
static int
read_user(sy_req *req, sy_res *res, const char **user)
{
    sy_str v;
    int rc = sy_req_query(req, "user_id", &v);
    *user = NULL;
    if (rc == SY_ENOTFOUND)
        return 0;
    if (rc == 0 && sy_uuid_valid(v.p, v.len)) {
        *user = v.p; /* decoded into the arena, NUL-terminated */
        return 0;
    }
    return sy_problem_field(res, "user_id", "must be a user id (uuid)");
}

/* The slice a DELETE names: ?type= and ?user_id=, every problem
 * recorded; user_id with a catalog type is refused. */
static int
parse_slice(sy_req *req, sy_res *res, int *type, const char **user)
{
    int trc = read_type(req, res, type);
    int urc = read_user(req, res, user);
    if (trc == 0 && urc == 0 && *user && catalog_type(*type))
        urc = sy_problem_field(res, "user_id",
                               "catalog entries are not kept per user: "
                               "leave user_id out for list, search and "
                               "product");
    return trc < 0 || urc < 0 ? SY_EVALIDATION : 0;
}

/* DELETE /api/v1/cache?type=&user_id= -> {deleted: n}. */
int
sy_route_cache_delete(sy_req *req, sy_res *res)
{
    const char *tid, *user;
    int type;
    int64_t deleted;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = parse_slice(req, res, &type, &user);
    if (rc == 0)
        rc = sy_cache_delete(req->arena, tid, type, user, &deleted);
    if (rc < 0)
        return rc;
    json_object *out = json_object_new_object();
    json_object_object_add(out, "deleted", json_object_new_int64(deleted));
    return sy_res_json(res, 200, out);
}
