/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * request.h - a parsed request, read-only after parsing.
 *
 * The FastCGI layer fills it once from the params (views into libfcgi's
 * environment, valid until the request finishes); the HTTP layer and the
 * handlers only read it.  Header names are looked up in HTTP form
 * ("X-Request-Id") and matched against the CGI form (HTTP_X_REQUEST_ID).
 */
#ifndef SYNTHIA_REQUEST_H
#define SYNTHIA_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/cache.h"
#include "synthia/principal.h"
#include "synthia/str.h"

#define SY_REQ_MAX_PARAMS 4
/* Request header fields kept; a request with more is refused with 431
 * (dispatch.c), never served with some silently dropped.  Apache's
 * LimitRequestFields defaults to 100 too; nginx, lighttpd and Caddy
 * bound the headers' bytes instead (README, "Running"). */
#define SY_REQ_MAX_HEADERS 100
#define SY_REQUEST_ID_MAX 64

struct json_object;
struct sy_route;

typedef struct sy_kv {
    sy_str name;
    sy_str value;
} sy_kv;

/* Body reader supplied by the transport: read up to max bytes; returns 0
 * and the body, SY_ETOOBIG past max, SY_EIO on a broken stream. */
typedef int (*sy_body_reader)(void *ctx, sy_arena *a, size_t max,
                              sy_str *out);

typedef struct sy_req {
    sy_arena *arena;
    sy_str method;       /* "GET" */
    sy_str uri;          /* REQUEST_URI as sent */
    sy_str path;         /* uri up to '?', still percent-encoded */
    sy_str query;        /* after '?', raw */
    sy_str content_type;
    int64_t content_length; /* -1: not given */
    sy_str client_addr;  /* REMOTE_ADDR */
    bool https;
    sy_kv headers[SY_REQ_MAX_HEADERS]; /* CGI names: HTTP_X_FOO */
    int nheaders;
    bool headers_dropped; /* more than SY_REQ_MAX_HEADERS were sent */
    char request_id[SY_REQUEST_ID_MAX + 1];

    /* filled by the router */
    const struct sy_route *route;
    int route_index;    /* index in the route table, -1 when unmatched */
    sy_str params[SY_REQ_MAX_PARAMS]; /* decoded {captures}, in order */
    int nparams;

    /* body, read on demand through the transport */
    sy_body_reader read_body;
    void *read_ctx;
    bool body_read;
    sy_str body;
    struct json_object *json; /* parsed body of JSON routes */

    sy_principal who;
    sy_catver catver; /* the tenant's catalog version, when admission
                         read it (cache.h) */

    /* where the time went, for the slow-request log */
    int64_t start_us;
    int64_t db_us;
    int64_t redis_us;
} sy_req;

/* Fill req from a CGI/FastCGI environment (NULL-terminated "K=V" array).
 * Returns 0, or SY_EBADREQ when the method or URI is missing/invalid. */
int sy_req_parse_env(sy_req *req, sy_arena *a, char **envp);

/* Header value by HTTP name, or an empty view (p == NULL) if absent. */
sy_str sy_req_header(const sy_req *req, const char *name);

/* Decoded value of the first query parameter `name` (NUL-terminated
 * arena copy).  Returns 0 and the value, SY_ENOTFOUND if absent,
 * SY_EBADREQ on a bad escape, an escaped NUL (%00) or a value that is not
 * valid UTF-8 once decoded (strict, text.h). */
int sy_req_query(const sy_req *req, const char *name, sy_str *out);

/* Value of cookie `name` from the Cookie header, or an empty view. */
sy_str sy_req_cookie(const sy_req *req, const char *name);

/* Choose the request id: the client's X-Request-Id when it is sane
 * ([A-Za-z0-9._-]{1,64}), else a fresh random one. */
void sy_req_assign_id(sy_req *req);

/* Read the body up to max bytes (idempotent). */
int sy_req_body(sy_req *req, size_t max, sy_str *out);

/* The path's first parameter ({id}, decoded and NUL-terminated), "" for
 * a route without one. */
static inline const char *
sy_req_path_id(const sy_req *req)
{
    return req->nparams >= 1 ? req->params[0].p : "";
}

/* The caller is a signed-in user with at least the staff role (not an
 * API key, whatever its scopes). */
static inline bool
sy_req_staff_user(const sy_req *req)
{
    return req->who.kind == SY_WHO_USER && req->who.role >= SY_ROLE_STAFF;
}

#endif
