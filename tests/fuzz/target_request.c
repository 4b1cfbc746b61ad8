/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target_request.c - FastCGI params -> request (sy_req_parse_env), and
 * what the pipeline reads from the request next: the request id, headers,
 * query parameters, cookies, the route, the JSON content type, the body
 * limit.
 *
 * Input: "K=V" environment entries separated by NUL bytes, as libfcgi
 * hands them over (each entry becomes its own heap block, so ASan sees a
 * read past its end).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/request.h"
#include "synthia/router.h"

#define MAX_ENTRIES 512

const char fz_target_name[] = "request";

int
fz_init(void)
{
    return 0;
}

static void
trace_req(sy_buf *t, sy_req *r)
{
    fz_put(t, "method", 0, r->method);
    fz_put(t, "uri", 0, r->uri);
    fz_put(t, "path", 0, r->path);
    fz_put(t, "query", 0, r->query);
    fz_put(t, "content_type", 0, r->content_type);
    fz_puti(t, "content_length", 0, r->content_length);
    fz_put(t, "client_addr", 0, r->client_addr);
    fz_puti(t, "https", 0, r->https);
    fz_puti(t, "nheaders", 0, r->nheaders);
    for (int i = 0; i < r->nheaders; i++) {
        fz_put(t, "header.name", 0, r->headers[i].name);
        fz_put(t, "header.value", 0, r->headers[i].value);
    }
}

static void
lookups(sy_buf *t, sy_req *r)
{
    static const char *const headers[] = {
        "X-Request-Id",    "Authorization", "Cookie",
        "Origin",          "X-API-Key",     "If-None-Match",
        "Idempotency-Key", "X-CSRF-Token",  "",
    };
    static const char *const params[] = {"q", "limit", "cursor", "mode", ""};
    static const char *const cookies[] = {"sy_access", "sy_refresh", "sy_csrf",
                                          ""};
    sy_req_assign_id(r);
    /* a generated id is random: trace only whether the client's was kept */
    sy_str given = sy_req_header(r, "X-Request-Id");
    fz_puti(t, "request_id.kept", 0,
            given.len && strlen(r->request_id) == given.len &&
                memcmp(r->request_id, given.p, given.len) == 0);
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
        fz_put(t, "header", 0, sy_req_header(r, headers[i]));
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
        sy_str v = SY_STR_NULL;
        int rc = sy_req_query(r, params[i], &v);
        fz_put(t, "query.param", rc, rc == 0 ? v : SY_STR_NULL);
    }
    for (size_t i = 0; i < sizeof(cookies) / sizeof(cookies[0]); i++)
        fz_put(t, "cookie", 0, sy_req_cookie(r, cookies[i]));

    sy_route_match m;
    int rc = sy_router_match(sy_routes, sy_nroutes, r->method, r->path, &m);
    fz_puti(t, "route", rc, m.index);
    fz_putc(t, "route.allow", rc, m.allow);
    fz_puti(t, "json_content_type", 0, sy_json_content_type(r->content_type));
    sy_str body;
    rc = sy_req_body(r, 1024, &body);
    fz_put(t, "body", rc, rc == 0 ? body : SY_STR_NULL);
}

void
fz_run(const uint8_t *data, size_t size, sy_buf *t)
{
    char *env[MAX_ENTRIES + 1];
    int n = 0;
    sy_str rest = {(const char *)data, size}, e;
    while (rest.len && n < MAX_ENTRIES) {
        fz_split(rest, '\0', &e, &rest);
        env[n] = malloc(e.len + 1);
        if (!env[n])
            abort();
        if (e.len)
            memcpy(env[n], e.p, e.len);
        env[n][e.len] = 0;
        n++;
    }
    env[n] = NULL;

    sy_arena a;
    sy_arena_init(&a, 4096, 1 << 20);
    sy_req *r = calloc(1, sizeof(*r));
    if (!r)
        abort();
    int rc = sy_req_parse_env(r, &a, env);
    fz_puti(t, "parse_env", rc, n);
    if (rc == 0) {
        trace_req(t, r);
        lookups(t, r);
    }
    free(r);
    sy_arena_cleanup(&a);
    for (int i = 0; i < n; i++)
        free(env[i]);
}
