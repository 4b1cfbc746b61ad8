/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dispatch.c - the request path: route, body limit, access control, body,
 * handler, and the one place where a failing handler becomes a problem.
 *
 * Order (DESIGN.md "Request path"): the transport has parsed the request
 * and chosen its id; here the route is matched (404/405), the declared
 * body size checked against the route's limit (413, before anything is
 * read), the caller authorised for the route's auth level, a JSON body
 * read and parsed (415/413/400), and the handler run.  CORS preflights
 * are answered before authentication; every other API response gets its
 * CORS headers last, errors included.
 */
#include "synthia/dispatch.h"

#include <stdio.h>
#include <string.h>

#include "synthia/admission.h"
#include "synthia/config.h"
#include "synthia/cors.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/log.h"
#include "synthia/metrics.h"
#include "synthia/problem.h"
#include "synthia/router.h"
#include "synthia/text.h"

#define DEFAULT_MAX_BODY (1024 * 1024)

/* ------------------------------------------------------------ metrics */

/* Statuses counted apart; anything else is "other". */
static const int statuses[] = {200, 201, 202, 204, 301, 302, 304, 400, 401,
                               403, 404, 405, 409, 413, 415, 422, 429, 500,
                               503};
#define NSTATUS ((int)(sizeof(statuses) / sizeof(statuses[0])) + 1)

static const double buckets_s[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                   0.025,  0.05,  0.1,    0.25,  0.5,
                                   1.0,    2.5,   5.0};

/* Rows: the routes, then "unmatched". */
static int
route_row(int route_index)
{
    return route_index < 0 || (size_t)route_index >= sy_nroutes
               ? (int)sy_nroutes
               : route_index;
}

static void
route_labels(sy_buf *b, int row)
{
    bool matched = (size_t)row < sy_nroutes;
    sy_buf_puts(b, "route=");
    sy_metrics_label(b, matched ? sy_routes[row].path : "unmatched");
    sy_buf_puts(b, ",method=");
    sy_metrics_label(b, matched ? sy_routes[row].method : "");
}

static void
request_labels(sy_buf *b, int series)
{
    int st = series % NSTATUS;
    route_labels(b, series / NSTATUS);
    if (st == NSTATUS - 1)
        sy_buf_puts(b, ",status=\"other\"");
    else
        sy_buf_printf(b, ",status=\"%d\"", statuses[st]);
}

static sy_metric requests = {
    .name = "synthia_http_requests_total",
    .help = "HTTP requests by route pattern, method and status.",
    .type = SY_METRIC_COUNTER,
    .labeller = request_labels,
    .sparse = true,
};
static sy_metric latency = {
    .name = "synthia_http_request_duration_seconds",
    .help = "Time from request parsed to response written, by route.",
    .type = SY_METRIC_HISTOGRAM,
    .labeller = route_labels,
    .buckets = buckets_s,
    .nbuckets = (int)(sizeof(buckets_s) / sizeof(buckets_s[0])),
    .sparse = true,
};

__attribute__((constructor)) static void
register_request_metrics(void)
{
    requests.nseries = ((int)sy_nroutes + 1) * NSTATUS;
    latency.nseries = (int)sy_nroutes + 1;
    sy_metrics_register(&requests);
    sy_metrics_register(&latency);
}

void
sy_dispatch_count(int route_index, int status, int64_t dur_us)
{
    int row = route_row(route_index), st = NSTATUS - 1;
    for (int i = 0; i < NSTATUS - 1; i++)
        if (statuses[i] == status)
            st = i;
    sy_counter_add(&requests, row * NSTATUS + st, 1);
    sy_histogram_observe(&latency, row, dur_us);
}

/* ------------------------------------------------------------ pipeline */

const char *
sy_dispatch_route_name(const sy_req *req)
{
    return req->route ? req->route->path : "unmatched";
}

static size_t
body_limit(const sy_route *r)
{
    if (r && r->max_body)
        return r->max_body;
    return sy_conf ? (size_t)sy_conf->max_body : DEFAULT_MAX_BODY;
}

static int
too_big(sy_res *res, size_t limit)
{
    char detail[96];
    snprintf(detail, sizeof(detail),
             "The request body is larger than %zu bytes.", limit);
    return sy_problem(res, 413, "payload_too_large", detail);
}

static int
route_request(sy_req *req, sy_res *res)
{
    sy_route_match m;
    int rc = sy_router_match(sy_routes, sy_nroutes, req->method, req->path,
                             &m);
    if (rc == 0) {
        req->route = &sy_routes[m.index];
        req->route_index = m.index;
    }
    /* the declared size is refused before anything is read or routed */
    size_t limit = body_limit(req->route);
    if (req->content_length > 0 && (uint64_t)req->content_length > limit)
        return too_big(res, limit);
    if (rc == SY_EMETHOD) {
        char *allow = sy_arena_strndup(res->arena, m.allow, strlen(m.allow));
        if (allow)
            sy_res_headerc(res, "Allow", allow);
        char detail[128];
        snprintf(detail, sizeof(detail), "This resource supports %s.",
                 m.allow);
        return sy_problem(res, 405, "method_not_allowed", detail);
    }
    if (rc == SY_ENOTFOUND)
        return sy_problem(res, 404, "not_found",
                          "No resource matches this path.");
    for (int i = 0; i < m.nparams; i++) {
        rc = sy_url_decode(req->arena, m.params[i], false, &req->params[i]);
        if (rc == SY_ENOMEM)
            return rc;
        if (rc < 0)
            return sy_problem(res, 400, "bad_request",
                              "The path has an invalid percent-escape.");
        if (!sy_text_utf8(req->params[i]))
            return sy_problem(res, 400, "bad_request",
                              "The path is not valid UTF-8 once "
                              "percent-decoded.");
    }
    req->nparams = m.nparams;
    return 0;
}

/* A request with no body at all (no Content-Type, no length). */
static bool
bodyless(const sy_req *req)
{
    return req->content_type.len == 0 && req->content_length <= 0;
}

static int
read_json_body(sy_req *req, sy_res *res)
{
    sy_str body;
    if ((req->route->flags & SY_ROUTE_JSON_OPTIONAL) && bodyless(req))
        return sy_json_parse(req->arena, SY_STR("{}"), &res->errs,
                             &req->json);
    if (!sy_json_content_type(req->content_type))
        return sy_problem(res, 415, "unsupported_media_type",
                          "The body must be application/json.");
    size_t limit = body_limit(req->route);
    int rc = sy_req_body(req, limit, &body);
    if (rc == SY_ETOOBIG)
        return too_big(res, limit);
    if (rc < 0)
        return sy_problem(res, 400, "bad_request",
                          "The request body could not be read.");
    /* 400 invalid_json, or 422 naming each field that holds a NUL:
     * res->errs has the words */
    return sy_json_parse(req->arena, body, &res->errs, &req->json);
}

static bool
api_path(const sy_req *req)
{
    return sy_str_starts(req->path, "/api/");
}

/* OPTIONS with Origin and Access-Control-Request-Method on an API path:
 * answered here, before authentication (browsers send no credentials). */
static bool
preflight(sy_req *req, sy_res *res)
{
    if (!sy_str_eqc(req->method, "OPTIONS") || !api_path(req) ||
        !sy_cors_is_preflight(req))
        return false;
    sy_route_match m;
    if (sy_router_match(sy_routes, sy_nroutes, SY_STR("OPTIONS"), req->path,
                        &m) == SY_ENOTFOUND)
        return false; /* 404 as usual */
    sy_cors_preflight(req, res, m.allow);
    return true;
}

/* More header fields than a request keeps: refused whole, since a
 * dropped one may be the credential or the precondition. */
static int
too_many_headers(sy_res *res)
{
    char detail[96];
    snprintf(detail, sizeof(detail),
             "The request has more than %d header fields.",
             SY_REQ_MAX_HEADERS);
    return sy_problem(res, 431, "headers_too_large", detail);
}

void
sy_dispatch(sy_req *req, sy_res *res)
{
    res->head_only = sy_str_eqc(req->method, "HEAD");
    if (req->headers_dropped) {
        too_many_headers(res);
        if (api_path(req))
            sy_cors_headers(req, res);
        return;
    }
    if (preflight(req, res))
        return;
    int rc = route_request(req, res);
    if (rc == 0)
        rc = sy_admission_admit(req, res);
    if (rc == 0 && (req->route->flags & SY_ROUTE_JSON))
        rc = read_json_body(req, res);
    if (rc == 0)
        rc = req->route->handler(req, res);
    if (rc < 0 && rc != SY_ENOTMODIFIED) {
        sy_problem_from_rc(res, rc);
    } else if (res->status == 0) {
        sy_log(SY_LOG_ERROR, "handler_no_response",
               "handler for %s returned no response",
               sy_dispatch_route_name(req));
        sy_problem_from_rc(res, SY_EINTERNAL);
    }
    if (api_path(req))
        sy_cors_headers(req, res);
}
