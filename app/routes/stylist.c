/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stylist.c (routes) - POST /api/v1/stylist {question, analysis_id?} ->
 * {answer, products, provider, model, duration_ms}.  The rules are the
 * domain's (stylist.h): retrieval, the chat call, the checking of the
 * model's text.  Admitted as `read`: the ai class is charged right
 * before the chat provider is called (aicharge.h).
 */
#include <json-c/json.h>

#include "synthia/admission.h"
#include "synthia/aicharge.h"
#include "synthia/authn.h"
#include "synthia/error.h"
#include "synthia/routes.h"
#include "synthia/stylist.h"

int
sy_route_stylist_ask(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_ai_charged charged = {0};
    sy_ai_caller who = sy_ai_caller_of(&req->who, &charged);
    sy_stylist_answer ans;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_stylist_ask(req->arena, &req->catver, tid, &who, req->json,
                            &res->errs, &ans);
    if (charged.done)
        sy_admission_ai_headers(res, &charged.d);
    if (rc < 0)
        return rc;
    json_object *o = json_object_new_object(), *arr = json_object_new_array();
    if (!o || !arr) {
        json_object_put(o);
        json_object_put(arr);
        return SY_ENOMEM;
    }
    json_object_object_add(o, "answer",
                           json_object_new_string_len(ans.answer.p,
                                                      (int)ans.answer.len));
    for (int i = 0; i < ans.n; i++)
        json_object_array_add(arr, json_tokener_parse(ans.products[i].p));
    json_object_object_add(o, "products", arr);
    json_object_object_add(o, "provider",
                           json_object_new_string(ans.oc.provider));
    json_object_object_add(o, "model", json_object_new_string(ans.oc.model));
    json_object_object_add(o, "fallback",
                           json_object_new_boolean(ans.oc.fallback));
    json_object_object_add(
        o, "duration_ms",
        json_object_new_int64(ans.oc.duration_us / 1000));
    return sy_res_json(res, 200, o);
}
