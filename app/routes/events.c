/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * events.c (routes) - POST /api/v1/events and the analytics read from
 * the events, GET /api/v1/metrics/timeseries and /metrics/summary (API.md
 * "Try-on jobs, events, metrics").  Parse -> events.h -> render.
 *
 * The metrics routes read the caller's tenant; a sysadmin names one with
 * ?tenant_id=<uuid>, or every tenant together with ?tenant_id=all (or no
 * tenant_id at all, as GET /cache/stats does).  Staff and keys cannot
 * widen their view: tenant_id is ignored for them.
 */
#include <json-c/json.h>
#include <string.h>

#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/events.h"
#include "synthia/problem.h"
#include "synthia/routes.h"

int
sy_route_events_create(sy_req *req, sy_res *res)
{
    int64_t accepted;
    int rc = sy_events_ingest(req->arena, req->who.tenant_id,
                              req->who.key_id[0] ? req->who.key_id : NULL,
                              req->json, &res->errs, &accepted);
    if (rc < 0)
        return rc;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "accepted", json_object_new_int64(accepted));
    return sy_res_json(res, 202, o);
}

/* The tenant a metrics read is about: the caller's, or for a sysadmin
 * ?tenant_id= (a uuid, or "all" / absent: NULL, every tenant). */
static int
metrics_tenant(sy_req *req, sy_res *res, const char **tid)
{
    sy_str q;
    if (req->who.tenant_id[0]) {
        *tid = req->who.tenant_id;
        return 0;
    }
    int rc = sy_req_query(req, "tenant_id", &q);
    *tid = NULL;
    if (rc == SY_ENOTFOUND || (rc == 0 && sy_str_eqc(q, "all")))
        return 0;
    if (rc == 0 && sy_uuid_valid(q.p, q.len)) {
        *tid = q.p; /* decoded into the arena, NUL-terminated */
        return 0;
    }
    return sy_problem_field(res, "tenant_id",
                            "must be a tenant id (uuid) or all");
}

/* An optional query parameter as a C string (NULL when absent); 0 or a
 * field error. */
static int
query_opt(sy_req *req, sy_res *res, const char *name, const char **out)
{
    sy_str q;
    int rc = sy_req_query(req, name, &q);
    *out = NULL;
    if (rc == SY_ENOTFOUND)
        return 0;
    if (rc == 0 && strlen(q.p) == q.len) {
        *out = q.p;
        return 0;
    }
    return sy_problem_field(res, name, "is not valid text");
}

int
sy_route_metrics_timeseries(sy_req *req, sy_res *res)
{
    const char *tid, *period, *bucket, *type;
    sy_str json;
    int rc = metrics_tenant(req, res, &tid);
    if (rc == 0)
        rc = query_opt(req, res, "period", &period);
    if (rc == 0)
        rc = query_opt(req, res, "bucket", &bucket);
    if (rc == 0)
        rc = query_opt(req, res, "type", &type);
    if (rc == 0)
        rc = sy_events_timeseries(req->arena, tid, period, bucket, type,
                                  &res->errs, &json);
    if (rc < 0)
        return rc;
    return sy_res_bytes(res, 200, "application/json", json.p, json.len);
}

int
sy_route_metrics_summary(sy_req *req, sy_res *res)
{
    const char *tid, *period;
    json_object *out;
    int rc = metrics_tenant(req, res, &tid);
    if (rc == 0)
        rc = query_opt(req, res, "period", &period);
    if (rc == 0)
        rc = sy_events_summary(req->arena, tid, period, &res->errs, &out);
    if (rc < 0)
        return rc;
    return sy_res_json(res, 200, out);
}
