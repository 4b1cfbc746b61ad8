/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * response.h - the response builder.
 *
 * Handlers set a status, headers and a body; only the FastCGI layer turns
 * it into bytes (sy_res_serialize).  Problem responses are built by
 * problem.c so that every error body looks the same.
 */
#ifndef SYNTHIA_RESPONSE_H
#define SYNTHIA_RESPONSE_H

#include <stdbool.h>

#include "synthia/arena.h"
#include "synthia/errs.h"
#include "synthia/request.h"
#include "synthia/str.h"

#define SY_RES_MAX_HEADERS 32

struct json_object;

typedef struct sy_res {
    sy_arena *arena;
    const sy_req *req;
    int status;           /* 0 until set */
    sy_kv headers[SY_RES_MAX_HEADERS];
    int nheaders;
    sy_str content_type;
    sy_buf body;
    bool head_only;       /* HEAD request: headers without body */
    const char *problem_code; /* set when the body is a problem */
    sy_errs errs;         /* field errors and refusal details of the
                             problem to come (errs.h) */
    struct sy_park *park; /* the handler asked to park (park.h) */
} sy_res;

void sy_res_init(sy_res *res, sy_arena *a, const sy_req *req, size_t max);

/* Add a header.  name must be a static string; sy_res_header copies the
 * value into the arena, sy_res_headerc keeps the (static) value as is.
 * Returns 0 or SY_ENOMEM. */
int sy_res_header(sy_res *res, const char *name, sy_str value);
int sy_res_headerc(sy_res *res, const char *name, const char *value);
/* Replace a header of the same name, or add it. */
int sy_res_header_set(sy_res *res, const char *name, sy_str value);
sy_str sy_res_get_header(const sy_res *res, const char *name);

/* Serialise obj as the body with status and application/json; takes
 * ownership of obj (puts it), whatever the result. */
int sy_res_json(sy_res *res, int status, struct json_object *obj);
/* Raw bytes as the body (copied) with a content type. */
int sy_res_bytes(sy_res *res, int status, const char *ctype, const void *p,
                 size_t n);

/* Set ETag (a quoted strong validator, e.g. "\"abc\"") and honour the
 * request's If-None-Match (GET and HEAD only, RFC 9110): returns
 * SY_ENOTMODIFIED with status 304 when
 * it matches (the handler returns that code as is), else 0. */
int sy_res_etag(sy_res *res, sy_str etag);

/* Reason phrase for a status code ("OK", "Not Found", ...). */
const char *sy_status_text(int status);

/* The full CGI response (Status line, headers, blank line, body) into
 * out.  Adds Content-Type, Content-Length and X-Request-Id. */
int sy_res_serialize(const sy_res *res, sy_buf *out);

#endif
