/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * analysis.c (routes) - reading analyses (GET /analysis, /analysis/{id})
 * and feedback (POST and GET /feedback).  The rules are the domain's
 * (analysis.h); a handler names the caller, calls them and renders.
 */
#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "synthia/admission.h"
#include "synthia/aicharge.h"
#include "synthia/analysis.h"
#include "synthia/authn.h"
#include "synthia/error.h"
#include "synthia/page.h"
#include "synthia/problem.h"
#include "synthia/recommend.h"
#include "synthia/routes.h"
#include "synthia/text.h"

static json_object *
row_item(const void *row)
{
    return json_tokener_parse(((const sy_analysis_row *)row)->json.p);
}

static int
reply_json_text(sy_res *res, int status, sy_str json)
{
    return sy_res_bytes(res, status, "application/json", json.p, json.len);
}

static const char *const xcache_names[] = {
    [SY_ANALYSIS_MISS] = "MISS",
    [SY_ANALYSIS_HIT] = "HIT",
    [SY_ANALYSIS_STALE] = "STALE",
};

typedef int (*analyser_fn)(sy_arena *a, const char *tenant,
                           const sy_ai_caller *who, json_object *body,
                           sy_errs *e, sy_str *json, int *xcache);

/* POST /analysis/{chromatic,facial} {upload_id} -> 201 with the analysis
 * and its Location; X-Cache: HIT | MISS | STALE (the AI result cache,
 * analysis.h).  Admitted as `read`; the ai class is charged only when
 * the analyser or a provider runs (a miss), and its RateLimit headers
 * then replace the read class's trio. */
static int
analysis_create(sy_req *req, sy_res *res, analyser_fn fn)
{
    const char *tid;
    sy_ai_charged charged = {0};
    sy_ai_caller who = sy_ai_caller_of(&req->who, &charged);
    sy_str json;
    int xcache = SY_ANALYSIS_MISS;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = fn(req->arena, tid, &who, req->json, &res->errs, &json, &xcache);
    if (charged.done)
        sy_admission_ai_headers(res, &charged.d);
    if (rc < 0 ||
        (rc = sy_res_headerc(res, "X-Cache", xcache_names[xcache])) < 0 ||
        (rc = reply_json_text(res, 201, json)) < 0)
        return rc;
    json_object *o = json_tokener_parse(json.p), *id;
    char loc[64];
    if (o && json_object_object_get_ex(o, "id", &id))
        snprintf(loc, sizeof(loc), "/api/v1/analysis/%s",
                 json_object_get_string(id));
    else
        loc[0] = 0;
    json_object_put(o);
    return loc[0] ? sy_res_header(res, "Location", sy_str_c(loc)) : 0;
}

int
sy_route_analysis_chromatic(sy_req *req, sy_res *res)
{
    return analysis_create(req, res, sy_analysis_chromatic);
}

int
sy_route_analysis_facial(sy_req *req, sy_res *res)
{
    return analysis_create(req, res, sy_analysis_facial);
}

int
sy_route_analysis_get(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_ai_caller who = sy_ai_caller_of(&req->who, NULL);
    sy_str json;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_analysis_get(req->arena, tid, req->params[0].p, &who,
                             &res->errs, &json);
    return rc < 0 ? rc : reply_json_text(res, 200, json);
}

int
sy_route_analysis_list(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_ai_caller who = sy_ai_caller_of(&req->who, NULL);
    sy_page pg;
    sy_analysis_row *rows;
    int n;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_page_parse(req, res, &pg);
    if (rc < 0)
        return rc;
    sy_keyset ks = sy_page_keyset(&pg);
    if ((rc = sy_analysis_list(req->arena, tid, &who, &ks, &rows, &n)) < 0)
        return rc;
    return sy_page_reply_rows(res, &pg, rows, n, sizeof(*rows), row_item,
                              offsetof(sy_analysis_row, created_at),
                              offsetof(sy_analysis_row, id));
}

int
sy_route_feedback_create(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_ai_caller who = sy_ai_caller_of(&req->who, NULL);
    sy_str json;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_feedback_give(req->arena, tid, &who, req->json, &res->errs,
                              &json);
    return rc < 0 ? rc : reply_json_text(res, 201, json);
}

/* GET /feedback?target_type=&limit=&cursor= -> {items, next_cursor,
 * summary: {<type>: {count, average_rating}}} (the summary is of all the
 * tenant's feedback, whatever the filter). */
int
sy_route_feedback_list(sy_req *req, sy_res *res)
{
    const char *tid, *type = NULL;
    sy_page pg;
    sy_analysis_row *rows;
    sy_str q, summary;
    int n;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_page_parse(req, res, &pg);
    int qrc = rc == 0 ? sy_req_query(req, "target_type", &q) : SY_ENOTFOUND;
    if (qrc != SY_ENOTFOUND &&
        (qrc < 0 || !(type = sy_feedback_target_type(q))))
        rc = sy_problem_field(res, "target_type",
                              "must be analysis, generation or "
                              "recommendation");
    if (rc < 0)
        return rc;
    sy_keyset ks = sy_page_keyset(&pg);
    if ((rc = sy_feedback_list(req->arena, tid, type, &ks, &rows, &n,
                               &summary)) < 0)
        return rc;
    int shown = sy_page_count(&pg, n);
    json_object *o = json_object_new_object(), *items = json_object_new_array();
    char *cursor = NULL;
    if (!o || !items) {
        json_object_put(o);
        json_object_put(items);
        return SY_ENOMEM;
    }
    for (int i = 0; i < shown; i++)
        json_object_array_add(items, row_item(&rows[i]));
    if (n > shown && (rc = sy_page_cursor(req->arena, rows[shown - 1].created_at,
                                          rows[shown - 1].id, &cursor)) < 0) {
        json_object_put(o);
        json_object_put(items);
        return rc;
    }
    json_object_object_add(o, "items", items);
    json_object_object_add(o, "next_cursor",
                           cursor ? json_object_new_string(cursor) : NULL);
    json_object_object_add(o, "summary", json_tokener_parse(summary.p));
    return sy_res_json(res, 200, o);
}

/* GET /recommendations?analysis_id=&limit= -> {analysis_id, season,
 * items: [{product, score, reason}]}. */
int
sy_route_recommendations(sy_req *req, sy_res *res)
{
    const char *tid, *aid = NULL;
    sy_ai_caller who = sy_ai_caller_of(&req->who, NULL);
    int limit = SY_RECO_LIMIT_DEFAULT;
    sy_str q;
    sy_reco reco;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0)
        return rc;
    rc = sy_req_query(req, "analysis_id", &q);
    if (rc == SY_ENOTFOUND || (rc == 0 && q.len == 0))
        sy_errs_field(&res->errs, "analysis_id", "is required");
    else if (rc < 0 || !(aid = sy_str_dup(req->arena, q)) ||
             !sy_text_uuid(aid))
        sy_errs_field(&res->errs, "analysis_id", "must be a UUID");
    if (sy_req_query(req, "limit", &q) == 0)
        sy_reco_limit(&res->errs, q, &limit);
    if (sy_errs_any(&res->errs))
        return SY_EVALIDATION;
    if ((rc = sy_reco_for_analysis(req->arena, &req->catver, tid, &who, aid,
                                   limit, &res->errs, &reco)) < 0)
        return rc;
    json_object *o = json_object_new_object(), *items = json_object_new_array();
    if (!o || !items) {
        json_object_put(o);
        json_object_put(items);
        return SY_ENOMEM;
    }
    for (int i = 0; i < reco.n; i++) {
        json_object *it = json_object_new_object();
        char score[16];
        snprintf(score, sizeof(score), "%.4f", reco.items[i].score);
        json_object_object_add(it, "product",
                               json_tokener_parse(reco.items[i].product.p));
        json_object_object_add(
            it, "score", json_object_new_double_s(atof(score), score));
        json_object_object_add(it, "reason",
                               json_object_new_string(reco.items[i].reason));
        json_object_array_add(items, it);
    }
    json_object_object_add(o, "analysis_id",
                           json_object_new_string(reco.analysis_id));
    json_object_object_add(o, "season",
                           reco.season ? json_object_new_string(reco.season)
                                       : NULL);
    json_object_object_add(o, "items", items);
    return sy_res_json(res, 200, o);
}
