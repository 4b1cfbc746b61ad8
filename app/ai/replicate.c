/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * replicate.c - the Replicate predictions shape for try-on
 * (ai_driver.h): POST {base}/v1/predictions {version: model, input} ->
 * id; GET {base}/v1/predictions/{id} -> status (starting, processing,
 * succeeded, failed, canceled), error, and output (a URL, or an array
 * whose first item is the image).  The key goes in "Authorization:
 * Bearer".  Lookup: GET {base}/v1/predictions lists the account's
 * predictions newest first, 100 a page, each with its version, input,
 * status and created_at, and "next": the URL of the next page.
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

/* The cursor query of a next-page URL into *out: only one of our
 * base_url's /v1/predictions?..., and only URL-safe characters (else
 * *out stays NULL: no next page).  SY_ENOMEM when it cannot be copied. */
static int
cursor_of(sy_arena *a, const sy_ai_target *t, sy_str next, const char **out)
{
    char prefix[1024];
    int n = snprintf(prefix, sizeof(prefix), "%s/v1/predictions?",
                     t->ep->base_url);
    *out = NULL;
    if (n < 0 || (size_t)n >= sizeof(prefix) || next.len <= (size_t)n ||
        next.len > URL_MAX || memcmp(next.p, prefix, (size_t)n) != 0)
        return 0;
    sy_str q = {next.p + n, next.len - (size_t)n};
    for (size_t i = 0; i < q.len; i++) {
        char c = q.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr("-._~%=&+", c)))
            return 0;
    }
    *out = sy_arena_strndup(a, q.p, q.len);
    return *out ? 0 : SY_ENOMEM;
}

static int
find(sy_arena *a, const sy_ai_target *t, const char *cursor,
     sy_ai_http_req *req)
{
    return sy_ai_req(a, t, sy_ai_replicate_driver.auth_prefix, "GET", NULL,
                     req, "/v1/predictions%s%s", cursor ? "?" : "",
                     cursor ? cursor : "");
}

static int
found(sy_arena *a, sy_str body, const sy_ai_target *t, json_object *input,
      const char *since, char *id, size_t idlen, const char **next,
      char *why, size_t whylen)
{
    json_object *o, *res;
    int rc = sy_ai_parse(a, body, &o, why, whylen);
    if (rc < 0)
        return rc;
    id[0] = '\0';
    *next = NULL;
    res = sy_ai_dig(o, "results");
    if (!res || !json_object_is_type(res, json_type_array)) {
        snprintf(why, whylen, "results is not an array");
        return SY_EPROVIDER;
    }
    bool past = false;
    size_t n = json_object_array_length(res);
    for (size_t i = 0; i < n; i++) {
        json_object *p = json_object_array_get_idx(res, i);
        sy_str v, st, created;
        if (sy_ai_dig_str(p, "created_at", 64, &created, why, whylen) < 0)
            return SY_EPROVIDER;
        if (created.len < 19 || strncmp(created.p, since, 19) < 0) {
            past = true; /* newest first: the rest is older still */
            break;
        }
        if (sy_ai_dig_str(p, "version", 256, &v, why, whylen) < 0 ||
            sy_ai_dig_str(p, "status", 32, &st, why, whylen) < 0)
            return SY_EPROVIDER;
        if (!sy_str_eqc(v, t->model) || sy_str_eqc(st, "failed") ||
            sy_str_eqc(st, "canceled") || sy_str_eqc(st, "aborted") ||
            !json_object_equal(sy_ai_dig(p, "input"), input))
            continue;
        sy_str pid;
        if (sy_ai_dig_str(p, "id", 127, &pid, why, whylen) < 0)
            return SY_EPROVIDER;
        return sy_ai_copy_id(pid, id, idlen, why, whylen);
    }
    json_object *nx = sy_ai_dig(o, "next");
    if (!past && nx && json_object_is_type(nx, json_type_string))
        return cursor_of(a, t,
                         (sy_str){json_object_get_string(nx),
                                  (size_t)json_object_get_string_len(nx)},
                         next);
    return 0;
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
    .find = find,
    .found = found,
};
