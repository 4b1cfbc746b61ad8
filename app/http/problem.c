/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * problem.c - every error body of the API, in one shape (RFC 9457).
 *
 * The table below is the only place where SY_E* codes become HTTP
 * statuses and stable problem codes.  Details never carry SQL, secrets,
 * file paths or stack traces: handlers pass a sentence meant for clients.
 */
#include "synthia/problem.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/error.h"
#include "synthia/json.h"

typedef struct problem_def {
    int rc;
    int status;
    const char *code;
    const char *title;
} problem_def;

static const problem_def defs[] = {
    {SY_EBADREQ, 400, "bad_request", "Bad request"},
    {SY_EJSON, 400, "invalid_json", "The body is not valid JSON"},
    {SY_EUNAUTH, 401, "unauthorized", "Authentication required"},
    {SY_EFORBIDDEN, 403, "forbidden", "Forbidden"},
    {SY_ENOTFOUND, 404, "not_found", "Not found"},
    {SY_EMETHOD, 405, "method_not_allowed", "Method not allowed"},
    {SY_ECONFLICT, 409, "conflict", "Conflict"},
    {SY_ETOOBIG, 413, "payload_too_large", "Payload too large"},
    {SY_EMEDIA, 415, "unsupported_media_type", "Unsupported media type"},
    {SY_EVALIDATION, 422, "validation_failed", "Validation failed"},
    {SY_EVALIDATION, 422, "query_too_complex", "Query too complex"},
    {SY_ERATE, 429, "rate_limited", "Too many requests"},
    {SY_ERATE, 429, "too_many_searches", "Too many searches at once"},
    {SY_ENOMEM, 500, "internal_error", "Internal server error"},
    {SY_EINTERNAL, 500, "internal_error", "Internal server error"},
    {SY_EINVAL, 500, "internal_error", "Internal server error"},
    {SY_EIO, 500, "internal_error", "Internal server error"},
    {SY_ECONFIG, 500, "internal_error", "Internal server error"},
    {SY_EDB, 503, "storage_unavailable", "Storage unavailable"},
    {SY_EREDIS, 503, "storage_unavailable", "Storage unavailable"},
    {SY_ETIMEOUT, 503, "timeout", "Request timed out"},
    {SY_EPROVIDER, 503, "provider_unavailable", "Provider unavailable"},
};

static const problem_def internal = {SY_EINTERNAL, 500, "internal_error",
                                    "Internal server error"};

static const problem_def *
find_rc(int rc)
{
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
        if (defs[i].rc == rc)
            return &defs[i];
    return &internal;
}

/* The definition for a problem code with this status, else the first
 * one with the status, else NULL. */
static const problem_def *
find_def(int status, const char *code)
{
    const problem_def *first = NULL;
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
        if (defs[i].status != status)
            continue;
        if (strcmp(defs[i].code, code) == 0)
            return &defs[i];
        if (!first)
            first = &defs[i];
    }
    return first;
}

int
sy_problem_status(int rc)
{
    return find_rc(rc)->status;
}

const char *
sy_problem_code(int rc)
{
    return find_rc(rc)->code;
}

/* The SY_E code that a status maps back to, so `return sy_problem()`
 * gives the dispatcher a truthful code. */
static int
rc_for_status(int status, const char *code)
{
    if (status == 500)
        return SY_EINTERNAL; /* not SY_ENOMEM, the first 500 in defs */
    const problem_def *d = find_def(status, code);
    if (d)
        return d->rc;
    return status >= 500 ? SY_EINTERNAL : SY_EBADREQ;
}

int
sy_problem(sy_res *res, int status, const char *code, const char *detail)
{
    char type[96];
    const problem_def *def = find_def(status, code);
    const char *title = def ? def->title : sy_status_text(status);
    json_object *o = json_object_new_object();
    if (!o)
        return SY_ENOMEM;
    snprintf(type, sizeof(type), "urn:synthia:problem:%s", code);
    json_object_object_add(o, "type", json_object_new_string(type));
    json_object_object_add(o, "title", json_object_new_string(title));
    json_object_object_add(o, "status", json_object_new_int(status));
    json_object_object_add(o, "detail",
                           json_object_new_string(detail ? detail : title));
    json_object_object_add(o, "code", json_object_new_string(code));
    json_object_object_add(
        o, "request_id",
        json_object_new_string(res->req ? res->req->request_id : ""));
    if (res->errs.fields)
        json_object_object_add(o, "errors",
                               json_object_get(res->errs.fields));
    if (res->errs.retry_after > 0) {
        char s[24];
        snprintf(s, sizeof(s), "%lld", (long long)res->errs.retry_after);
        sy_res_header_set(res, "Retry-After", sy_str_c(s));
    }
    int rc = sy_res_json(res, status, o);
    res->content_type = SY_STR("application/problem+json");
    res->problem_code = code;
    return rc < 0 ? rc : rc_for_status(status, code);
}

int
sy_problem_from_rc(sy_res *res, int rc)
{
    if (res->problem_code)
        return rc;
    const problem_def *d = find_rc(rc);
    const char *detail = res->errs.detail;
    if (!detail && rc == SY_EVALIDATION && res->errs.fields)
        detail = "One or more fields are invalid; see errors.";
    sy_problem(res, d->status, res->errs.code ? res->errs.code : d->code,
               detail);
    return rc;
}

int
sy_problem_field(sy_res *res, const char *field, const char *message)
{
    return sy_errs_field(&res->errs, field, message);
}
