/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * response.c - the response builder and its one serialiser.
 *
 * Handlers never write to the FastCGI stream; they fill sy_res and the
 * transport writes sy_res_serialize()'s bytes in one go.
 */
#include "synthia/response.h"

#include <json-c/json.h>
#include <stddef.h>
#include <string.h>

#include "synthia/error.h"

void
sy_res_init(sy_res *res, sy_arena *a, const sy_req *req, size_t max)
{
    memset(res, 0, offsetof(sy_res, headers));
    res->nheaders = 0;
    res->content_type = SY_STR_NULL;
    res->head_only = false;
    res->problem_code = NULL;
    res->park = NULL;
    sy_errs_init(&res->errs, a);
    res->arena = a;
    res->req = req;
    sy_buf_init(&res->body, a, max);
}

static int
add(sy_res *res, const char *name, sy_str value)
{
    if (res->nheaders == SY_RES_MAX_HEADERS)
        return SY_ENOMEM;
    res->headers[res->nheaders].name = sy_str_c(name);
    res->headers[res->nheaders].value = value;
    res->nheaders++;
    return 0;
}

int
sy_res_header(sy_res *res, const char *name, sy_str value)
{
    char *copy = sy_str_dup(res->arena, value);
    if (!copy)
        return SY_ENOMEM;
    return add(res, name, (sy_str){copy, value.len});
}

int
sy_res_headerc(sy_res *res, const char *name, const char *value)
{
    return add(res, name, sy_str_c(value));
}

int
sy_res_header_set(sy_res *res, const char *name, sy_str value)
{
    for (int i = 0; i < res->nheaders; i++) {
        if (sy_str_ieqc(res->headers[i].name, name)) {
            char *copy = sy_str_dup(res->arena, value);
            if (!copy)
                return SY_ENOMEM;
            res->headers[i].value = (sy_str){copy, value.len};
            return 0;
        }
    }
    return sy_res_header(res, name, value);
}

sy_str
sy_res_get_header(const sy_res *res, const char *name)
{
    for (int i = 0; i < res->nheaders; i++)
        if (sy_str_ieqc(res->headers[i].name, name))
            return res->headers[i].value;
    return SY_STR_NULL;
}

int
sy_res_bytes(sy_res *res, int status, const char *ctype, const void *p,
             size_t n)
{
    res->status = status;
    res->content_type = sy_str_c(ctype);
    sy_buf_reset(&res->body);
    return sy_buf_append(&res->body, p, n);
}

int
sy_res_json(sy_res *res, int status, struct json_object *obj)
{
    size_t n = 0;
    const char *s = json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    int rc = s ? sy_res_bytes(res, status, "application/json", s, n)
               : SY_ENOMEM;
    json_object_put(obj);
    return rc;
}

/* An entity-tag without its weakness: "xyzzy" of W/"xyzzy". */
static sy_str
opaque_tag(sy_str t)
{
    if (t.len >= 2 && t.p[0] == 'W' && t.p[1] == '/')
        return (sy_str){t.p + 2, t.len - 2};
    return t;
}

/* Does If-None-Match match etag (RFC 9110, 13.1.2)?  The field is "*"
 * alone, or a list of entity-tags ([W/]"opaque", where the opaque part
 * may hold commas) compared weakly: W/"a" matches "a".  A weak star
 * (W/ then *) is neither and matches nothing; a malformed list matches
 * nothing from its first bad element on (the field is then ignored, as
 * the RFC allows). */
static bool
etag_listed(sy_str field, sy_str etag)
{
    sy_str list = sy_str_trim_ows(field), want = opaque_tag(etag);
    if (sy_str_eqc(list, "*"))
        return true;
    while (list.len) {
        if (list.p[0] == ',' || list.p[0] == ' ' || list.p[0] == '\t') {
            list.p++;
            list.len--;
            continue;
        }
        sy_str item = opaque_tag(list);
        if (item.len < 2 || item.p[0] != '"')
            return false;
        const char *close = memchr(item.p + 1, '"', item.len - 1);
        if (!close)
            return false;
        sy_str tag = {item.p, (size_t)(close - item.p) + 1};
        if (sy_str_eq(tag, want))
            return true;
        list.len -= (size_t)(close + 1 - list.p);
        list.p = close + 1;
    }
    return false;
}

int
sy_res_etag(sy_res *res, sy_str etag)
{
    int rc = sy_res_header(res, "ETag", etag);
    if (rc < 0)
        return rc;
    /* RFC 9110: a matching If-None-Match is 304 only for GET and HEAD;
     * writes report their new ETag and ignore it. */
    bool safe = res->req && (sy_str_eqc(res->req->method, "GET") ||
                             sy_str_eqc(res->req->method, "HEAD"));
    if (safe && etag_listed(sy_req_header(res->req, "If-None-Match"), etag)) {
        sy_buf_reset(&res->body);
        res->status = 304;
        return SY_ENOTMODIFIED;
    }
    return 0;
}

const char *
sy_status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

static bool
has_body(int status)
{
    return status != 204 && status != 304 && !(status >= 100 && status < 200);
}

static void
put_header(sy_buf *out, sy_str name, sy_str value)
{
    sy_buf_add_str(out, name);
    sy_buf_append(out, ": ", 2);
    sy_buf_add_str(out, value);
    sy_buf_append(out, "\r\n", 2);
}

int
sy_res_serialize(const sy_res *res, sy_buf *out)
{
    int status = res->status ? res->status : 500;
    bool body = has_body(status);
    sy_buf_puts(out, "Status: ");
    sy_buf_add_i64(out, status);
    sy_buf_putc(out, ' ');
    sy_buf_puts(out, sy_status_text(status));
    sy_buf_append(out, "\r\n", 2);
    if (body && res->content_type.len)
        put_header(out, SY_STR("Content-Type"), res->content_type);
    if (body) {
        sy_buf_puts(out, "Content-Length: ");
        sy_buf_add_i64(out, (int64_t)res->body.len);
        sy_buf_append(out, "\r\n", 2);
    }
    if (res->req && res->req->request_id[0])
        put_header(out, SY_STR("X-Request-Id"),
                   sy_str_c(res->req->request_id));
    bool cache_control = false;
    for (int i = 0; i < res->nheaders; i++) {
        put_header(out, res->headers[i].name, res->headers[i].value);
        cache_control |= sy_str_ieqc(res->headers[i].name, "Cache-Control");
    }
    /* API responses are per caller: no shared caching unless a handler
     * says otherwise. */
    if (!cache_control)
        sy_buf_puts(out, "Cache-Control: no-store\r\n");
    sy_buf_puts(out, "X-Content-Type-Options: nosniff\r\n\r\n");
    if (body && !res->head_only)
        sy_buf_append(out, res->body.p, res->body.len);
    return out->failed ? SY_ENOMEM : 0;
}
