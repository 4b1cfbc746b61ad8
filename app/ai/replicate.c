/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * replicate.c - the Replicate predictions shape for try-on
 * (ai_driver.h): POST {base}/v1/predictions {version: model, input} ->
 * id; GET {base}/v1/predictions/{id} -> status (starting, processing,
 * succeeded, failed, canceled), error, and output (a URL, or an array
 * whose first item is the image).  The key goes in "Authorization:
 * Bearer".
 */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/ai_driver.h"
#include "synthia/error.h"

#define URL_MAX 8192

static int
submit(sy_arena *a, const sy_ai_target *t, const sy_ai_image *person,
       const sy_ai_image *garments, int ngarments, sy_ai_http_req *req)
{
    json_object *b = json_object_new_object();
    json_object *in = sy_ai_tryon_input(a, t, person, garments, ngarments);
    if (!b || !in) {
        json_object_put(b);
        json_object_put(in);
        return SY_ENOMEM;
    }
    json_object_object_add(b, "version", sy_ai_jstr(t->model));
    json_object_object_add(b, "input", in);
    return sy_ai_req(a, t, sy_ai_replicate_driver.auth_prefix, "POST", b,
                     req, "/v1/predictions");
}

static int
submitted(sy_arena *a, sy_str body, char *id, size_t idlen, char *why,
          size_t whylen)
{
    return sy_ai_submitted_id(a, body, "id", id, idlen, why, whylen);
}

static int
get(sy_arena *a, const sy_ai_target *t, const char *id, sy_ai_http_req *req)
{
    return sy_ai_req(a, t, sy_ai_replicate_driver.auth_prefix, "GET", NULL,
                     req, "/v1/predictions/%s", id);
}

static int
status_of(sy_arena *a, sy_str body, int *st, sy_str *error, char *why,
          size_t whylen)
{
    static const struct {
        const char *name;
        int status;
    } map[] = {{"starting", SY_AI_JOB_QUEUED},
               {"processing", SY_AI_JOB_RUNNING},
               {"succeeded", SY_AI_JOB_DONE},
               {"failed", SY_AI_JOB_ERROR},
               {"canceled", SY_AI_JOB_CANCELED},
               {"aborted", SY_AI_JOB_CANCELED}};
    json_object *o;
    sy_str v;
    int rc = sy_ai_parse(a, body, &o, why, whylen);
    if (rc == 0)
        rc = sy_ai_dig_str(o, "status", 32, &v, why, whylen);
    if (rc < 0)
        return rc;
    *error = SY_STR("");
    json_object *err = sy_ai_dig(o, "error");
    if (err && json_object_is_type(err, json_type_string)) {
        *error = (sy_str){json_object_get_string(err),
                          (size_t)json_object_get_string_len(err)};
        if (error->len > 500)
            error->len = 500;
    }
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (sy_str_eqc(v, map[i].name)) {
            *st = map[i].status;
            return 0;
        }
    }
    snprintf(why, whylen, "unknown status");
    return SY_EPROVIDER;
}

static int
result_url(sy_arena *a, sy_str body, sy_str *url, char *why, size_t whylen)
{
    json_object *o, *out;
    int rc = sy_ai_parse(a, body, &o, why, whylen);
    if (rc < 0)
        return rc;
    out = sy_ai_dig(o, "output");
    if (out && json_object_is_type(out, json_type_array))
        return sy_ai_dig_str(o, "output.0", URL_MAX, url, why, whylen);
    return sy_ai_dig_str(o, "output", URL_MAX, url, why, whylen);
}

const sy_ai_driver sy_ai_replicate_driver = {
    .kind = SY_AI_REPLICATE,
    .auth_prefix = "Authorization: Bearer ",
    .submit = submit,
    .submitted = submitted,
    .status = get,
    .status_of = status_of,
    .result = get,
    .result_url = result_url,
};
