/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fal.c - the FAL queue shape for try-on (ai_driver.h):
 * submit POST {base}/{model} with the input object -> request_id;
 * status GET {base}/{app}/requests/{id}/status -> IN_QUEUE,
 * IN_PROGRESS or COMPLETED; result GET {base}/{app}/requests/{id} ->
 * images[0].url (or image.url).  {app} is the model's first two path
 * segments (fal-ai/idm-vton, also for fal-ai/flux/dev: fal-ai/flux), as
 * the queue's request URLs are.  The key goes in "Authorization: Key".
 */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/ai_driver.h"
#include "synthia/error.h"

#define URL_MAX 8192

/* The app id of a model (its first two segments) into out. */
static void
app_of(const char *model, char *out, size_t outlen)
{
    const char *slash = strchr(model, '/');
    size_t n = strlen(model);
    if (slash && (slash = strchr(slash + 1, '/')) != NULL)
        n = (size_t)(slash - model);
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, model, n);
    out[n] = '\0';
}

static int
submit(sy_arena *a, const sy_ai_target *t, const sy_ai_image *person,
       const sy_ai_image *garments, int ngarments, sy_ai_http_req *req)
{
    json_object *in = sy_ai_tryon_input(a, t, person, garments, ngarments);
    if (!in)
        return SY_ENOMEM;
    return sy_ai_req(a, t, sy_ai_fal_driver.auth_prefix, "POST", in, req,
                     "/%s", t->model);
}

static int
submitted(sy_arena *a, sy_str body, char *id, size_t idlen, char *why,
          size_t whylen)
{
    return sy_ai_submitted_id(a, body, "request_id", id, idlen, why, whylen);
}

static int
status(sy_arena *a, const sy_ai_target *t, const char *id,
       sy_ai_http_req *req)
{
    char app[SY_AI_MODEL_MAX];
    app_of(t->model, app, sizeof(app));
    return sy_ai_req(a, t, sy_ai_fal_driver.auth_prefix, "GET", NULL, req,
                     "/%s/requests/%s/status", app, id);
}

static int
status_of(sy_arena *a, sy_str body, int *st, sy_str *error, char *why,
          size_t whylen)
{
    json_object *o;
    sy_str v;
    int rc = sy_ai_parse(a, body, &o, why, whylen);
    if (rc == 0)
        rc = sy_ai_dig_str(o, "status", 32, &v, why, whylen);
    if (rc < 0)
        return rc;
    *error = SY_STR("");
    json_object *err = sy_ai_dig(o, "error");
    if (err && json_object_is_type(err, json_type_string) &&
        json_object_get_string_len(err) > 0) {
        *st = SY_AI_JOB_ERROR;
        *error = (sy_str){json_object_get_string(err),
                          (size_t)json_object_get_string_len(err)};
        if (error->len > 500)
            error->len = 500;
        return 0;
    }
    if (sy_str_eqc(v, "IN_QUEUE"))
        *st = SY_AI_JOB_QUEUED;
    else if (sy_str_eqc(v, "IN_PROGRESS"))
        *st = SY_AI_JOB_RUNNING;
    else if (sy_str_eqc(v, "COMPLETED"))
        *st = SY_AI_JOB_DONE;
    else {
        snprintf(why, whylen, "unknown status");
        return SY_EPROVIDER;
    }
    return 0;
}

static int
result(sy_arena *a, const sy_ai_target *t, const char *id,
       sy_ai_http_req *req)
{
    char app[SY_AI_MODEL_MAX];
    app_of(t->model, app, sizeof(app));
    return sy_ai_req(a, t, sy_ai_fal_driver.auth_prefix, "GET", NULL, req,
                     "/%s/requests/%s", app, id);
}

static int
result_url(sy_arena *a, sy_str body, sy_str *url, char *why, size_t whylen)
{
    json_object *o;
    int rc = sy_ai_parse(a, body, &o, why, whylen);
    if (rc < 0)
        return rc;
    if (sy_ai_dig(o, "images.0.url"))
        return sy_ai_dig_str(o, "images.0.url", URL_MAX, url, why, whylen);
    return sy_ai_dig_str(o, "image.url", URL_MAX, url, why, whylen);
}

const sy_ai_driver sy_ai_fal_driver = {
    .kind = SY_AI_FAL,
    .auth_prefix = "Authorization: Key ",
    .submit = submit,
    .submitted = submitted,
    .status = status,
    .status_of = status_of,
    .result = result,
    .result_url = result_url,
};
