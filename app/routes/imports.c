/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * imports.c (routes) - catalog import sessions (API.md "Import
 * sessions"): upload a CSV file, read it a page at a time, edit it with
 * operations, undo, list versions and the audit log, commit it into the
 * catalog, delete it.  Parse -> the import rules (imports.h) -> render.
 *
 * An upload is the raw file with Content-Type text/csv (charset, if
 * given, must be UTF-8), or multipart/form-data with the file in the part
 * named `file` (multipart.h; its declared type is informative only).
 */
#include <stdio.h>
#include <string.h>

#include "synthia/authn.h"
#include "synthia/config.h"
#include "synthia/error.h"
#include "synthia/idemkey.h"
#include "synthia/imports.h"
#include "synthia/multipart.h"
#include "synthia/problem.h"
#include "synthia/routes.h"

#define PAGE_DEFAULT 100

/* Who acts, for versions and the audit log. */
static const char *
actor(const sy_req *req)
{
    return req->who.user_id[0] ? req->who.user_id : "sysadmin";
}

static int
send_json(sy_res *res, int status, sy_str json)
{
    return sy_res_bytes(res, status, "application/json", json.p, json.len);
}

#define FORM_SLACK (64u << 10) /* multipart framing beside the file */

/* Content-Type text/csv, with an optional charset that says UTF-8. */
static bool
is_csv(sy_str ct)
{
    size_t n = 0;
    while (n < ct.len && ct.p[n] != ';')
        n++;
    sy_str base = {ct.p, n};
    while (base.len && base.p[base.len - 1] == ' ')
        base.len--;
    if (!sy_str_ieqc(base, "text/csv"))
        return false;
    if (n == ct.len)
        return true;
    for (size_t i = n; i + 8 <= ct.len; i++)
        if (strncasecmp(ct.p + i, "charset=", 8) == 0) {
            sy_str cs = {ct.p + i + 8, ct.len - i - 8};
            if (cs.len && cs.p[0] == '"') {
                cs.p++;
                cs.len--;
            }
            return cs.len >= 5 && (strncasecmp(cs.p, "utf-8", 5) == 0 ||
                                   strncasecmp(cs.p, "utf8", 4) == 0);
        }
    return true;
}

int
sy_route_imports_create(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_str body, json;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0)
        return rc;
    bool form = sy_multipart_is_form(req->content_type);
    if (!form && !is_csv(req->content_type))
        return sy_problem(res, 415, "unsupported_media_type",
                          "The body must be a CSV file (Content-Type: "
                          "text/csv, UTF-8), or multipart/form-data with "
                          "the file in the part named file.");
    size_t max = sy_conf ? (size_t)sy_conf->imp_max_bytes : 10u << 20;
    /* a form may carry its framing beyond the file's bytes */
    rc = sy_req_body(req, form ? max + FORM_SLACK : max, &body);
    if (rc == SY_ETOOBIG) {
        char detail[96];
        snprintf(detail, sizeof(detail),
                 "The file is larger than %zu bytes (imports.max_bytes).",
                 max);
        return sy_problem(res, 413, "payload_too_large", detail);
    }
    if (rc < 0)
        return sy_problem(res, 400, "bad_request",
                          "The request body could not be read.");
    if (form) {
        sy_multipart_part part;
        const char *why = "The multipart body is malformed.";
        rc = sy_multipart_find(req->arena, req->content_type, body, "file",
                               &part, &why);
        if (rc == SY_ENOTFOUND)
            return sy_problem_field(res, "file", "is required");
        if (rc < 0)
            return rc == SY_ENOMEM ? rc
                                   : sy_problem(res, 400, "bad_request", why);
        if (part.data.len > max) {
            char detail[96];
            snprintf(detail, sizeof(detail),
                     "The file is larger than %zu bytes "
                     "(imports.max_bytes).", max);
            return sy_problem(res, 413, "payload_too_large", detail);
        }
        body = part.data;
    }
    rc = sy_imports_create(req->arena, tid, actor(req), body, &res->errs,
                           &json);
    if (rc < 0)
        return rc;
    char loc[80];
    snprintf(loc, sizeof(loc), "/api/v1/imports/%.*s", SY_UUID_LEN,
             json.p + 7); /* {"id":"<uuid>" */
    if ((rc = sy_res_header(res, "Location", sy_str_c(loc))) < 0)
        return rc;
    return send_json(res, 201, json);
}

/* ?name= as a number in [min, max], def when absent. */
static int
query_int(sy_req *req, sy_res *res, const char *name, int64_t def,
          int64_t min, int64_t max, int64_t *out)
{
    sy_str v;
    int rc = sy_req_query(req, name, &v);
    *out = def;
    if (rc == SY_ENOTFOUND)
        return 0;
    if (rc == 0 && sy_parse_i64(v, min, max, out) == 0)
        return 0;
    char msg[80];
    snprintf(msg, sizeof(msg), "must be a whole number from %lld to %lld",
             (long long)min, (long long)max);
    char *m = sy_arena_strndup(req->arena, msg, strlen(msg));
    return sy_problem_field(res, name, m ? m : "is out of range");
}

int
sy_route_imports_get(sy_req *req, sy_res *res)
{
    const char *tid;
    int64_t offset, limit;
    sy_str json;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0)
        return rc;
    query_int(req, res, "offset", 0, 0, INT32_MAX, &offset);
    query_int(req, res, "limit", PAGE_DEFAULT, 0, SY_IMPORTS_PAGE_MAX,
              &limit);
    if (sy_errs_any(&res->errs))
        return SY_EVALIDATION;
    rc = sy_imports_show(req->arena, tid, sy_req_path_id(req), offset, limit,
                         &res->errs, &json);
    return rc < 0 ? rc : send_json(res, 200, json);
}

int
sy_route_imports_ops(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_str json;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_imports_apply(req->arena, tid, sy_req_path_id(req), actor(req),
                              req->json, &res->errs, &json);
    return rc < 0 ? rc : send_json(res, 200, json);
}

int
sy_route_imports_undo(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_str json;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_imports_undo(req->arena, tid, sy_req_path_id(req), actor(req),
                             &res->errs, &json);
    return rc < 0 ? rc : send_json(res, 200, json);
}

int
sy_route_imports_versions(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_str json;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_imports_versions(req->arena, tid, sy_req_path_id(req),
                                 &res->errs, &json);
    return rc < 0 ? rc : send_json(res, 200, json);
}

int
sy_route_imports_audit(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_str json;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_imports_audit(req->arena, tid, sy_req_path_id(req), &res->errs,
                              &json);
    return rc < 0 ? rc : send_json(res, 200, json);
}

int
sy_route_imports_commit(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_idem_key key;
    const sy_idem_key *k = NULL;
    sy_idem_response out;
    bool replayed = false;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0 && (rc = sy_idem_key_from_req(req, res, &key)) == 0)
        k = &key;
    if (rc == SY_ENOTFOUND)
        rc = 0; /* no Idempotency-Key */
    if (rc == 0)
        rc = sy_imports_commit(req->arena, tid, sy_req_path_id(req), actor(req),
                               k, &res->errs, &out, &replayed);
    return rc < 0 ? rc : sy_idem_respond(res, &out, replayed);
}

int
sy_route_imports_delete(sy_req *req, sy_res *res)
{
    const char *tid;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc =
            sy_imports_remove(req->arena, tid, sy_req_path_id(req), &res->errs);
    if (rc < 0)
        return rc;
    res->status = 204;
    return 0;
}
