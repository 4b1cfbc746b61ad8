/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * request.c - the request object: CGI/FastCGI params parsed once into
 * views, header/query/cookie lookups, the request id.
 *
 * Views point into the environment that libfcgi owns for the duration of
 * the request; nothing here copies unless it has to decode.
 */
#include "synthia/request.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/text.h"

/* Value of "NAME=value" when the entry starts with name and '='. */
static bool
env_is(const char *e, const char *name, size_t n, sy_str *out)
{
    if (strncmp(e, name, n) != 0 || e[n] != '=')
        return false;
    *out = sy_str_c(e + n + 1);
    return true;
}

static void
add_header(sy_req *req, const char *e)
{
    const char *eq = strchr(e, '=');
    if (!eq)
        return;
    if (req->nheaders == SY_REQ_MAX_HEADERS) {
        req->headers_dropped = true;
        return;
    }
    req->headers[req->nheaders].name = (sy_str){e, (size_t)(eq - e)};
    req->headers[req->nheaders].value = sy_str_c(eq + 1);
    req->nheaders++;
}

static void
parse_entry(sy_req *req, const char *e, sy_str *query_string)
{
    sy_str v;
    switch (e[0]) {
    case 'H':
        if (e[1] == 'T' && e[2] == 'T' && e[3] == 'P' && e[4] == '_')
            add_header(req, e);
        else if (env_is(e, "HTTPS", 5, &v))
            req->https = sy_str_ieqc(v, "on") || sy_str_eqc(v, "1");
        break;
    case 'R':
        if (env_is(e, "REQUEST_METHOD", 14, &v))
            req->method = v;
        else if (env_is(e, "REQUEST_URI", 11, &v))
            req->uri = v;
        else if (env_is(e, "REMOTE_ADDR", 11, &v))
            req->client_addr = v;
        break;
    case 'C':
        if (env_is(e, "CONTENT_TYPE", 12, &v))
            req->content_type = v;
        else if (env_is(e, "CONTENT_LENGTH", 14, &v) && v.len > 0 &&
                 sy_parse_i64(v, 0, INT64_MAX, &req->content_length) < 0)
            req->content_length = -2; /* present but invalid */
        break;
    case 'Q':
        env_is(e, "QUERY_STRING", 12, query_string);
        break;
    default:
        break;
    }
}

static bool
method_ok(sy_str m)
{
    if (m.len == 0 || m.len > 16)
        return false;
    for (size_t i = 0; i < m.len; i++)
        if (m.p[i] < 'A' || m.p[i] > 'Z')
            return false;
    return true;
}

int
sy_req_parse_env(sy_req *req, sy_arena *a, char **envp)
{
    sy_str qs = SY_STR_NULL;
    memset(req, 0, offsetof(sy_req, headers));
    req->nheaders = 0;
    req->headers_dropped = false;
    req->arena = a;
    req->content_length = -1;
    req->route = NULL;
    req->route_index = -1;
    req->nparams = 0;
    req->read_body = NULL;
    req->read_ctx = NULL;
    req->body_read = false;
    req->body = SY_STR_NULL;
    req->json = NULL;
    memset(&req->who, 0, sizeof(req->who));
    /* nothing known of a catalog version until admission reads it: the
     * responder's sy_req is reused, and a version left from an earlier
     * request would serve that request's memory cache entries */
    memset(&req->catver, 0, sizeof(req->catver));
    req->request_id[0] = 0;
    req->db_us = req->redis_us = 0;
    for (char **e = envp; e && *e; e++)
        parse_entry(req, *e, &qs);
    if (!method_ok(req->method))
        return SY_EBADREQ;
    if (req->uri.len == 0 || req->uri.p[0] != '/')
        return SY_EBADREQ;
    const char *q = memchr(req->uri.p, '?', req->uri.len);
    if (q) {
        req->path = (sy_str){req->uri.p, (size_t)(q - req->uri.p)};
        req->query = (sy_str){q + 1, req->uri.len - req->path.len - 1};
    } else {
        req->path = req->uri;
        req->query = qs;
    }
    if (req->content_length == -2)
        return SY_EBADREQ;
    return 0;
}

/* Does CGI name "HTTP_X_REQUEST_ID" match HTTP name "X-Request-Id"? */
static bool
header_name_eq(sy_str cgi, const char *name)
{
    size_t n = strlen(name);
    if (cgi.len != n + 5)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
        if (cgi.p[i + 5] != c)
            return false;
    }
    return true;
}

sy_str
sy_req_header(const sy_req *req, const char *name)
{
    for (int i = 0; i < req->nheaders; i++)
        if (header_name_eq(req->headers[i].name, name))
            return req->headers[i].value;
    return SY_STR_NULL;
}

/* Next "name=value" pair of a '&'-separated string; false at the end. */
static bool
next_pair(sy_str *rest, sy_str *name, sy_str *value)
{
    while (rest->len) {
        const char *amp = memchr(rest->p, '&', rest->len);
        size_t n = amp ? (size_t)(amp - rest->p) : rest->len;
        sy_str pair = {rest->p, n};
        rest->p += amp ? n + 1 : n;
        rest->len -= amp ? n + 1 : n;
        if (n == 0)
            continue;
        const char *eq = memchr(pair.p, '=', pair.len);
        *name = (sy_str){pair.p, eq ? (size_t)(eq - pair.p) : pair.len};
        *value = eq ? (sy_str){eq + 1, pair.len - name->len - 1}
                    : (sy_str){pair.p + pair.len, 0};
        return true;
    }
    return false;
}

int
sy_req_query(const sy_req *req, const char *name, sy_str *out)
{
    sy_str rest = req->query, k, v;
    while (next_pair(&rest, &k, &v)) {
        sy_str dk = k;
        if (memchr(k.p, '%', k.len) || memchr(k.p, '+', k.len)) {
            int rc = sy_url_decode(req->arena, k, true, &dk);
            if (rc < 0)
                return rc;
        }
        if (!sy_str_eqc(dk, name))
            continue;
        /* text that reaches a store is valid UTF-8 without NUL (the
         * decoder refuses %00) */
        sy_str dv;
        int rc = sy_url_decode(req->arena, v, true, &dv);
        if (rc < 0)
            return rc;
        if (!sy_text_utf8(dv))
            return SY_EBADREQ;
        *out = dv;
        return 0;
    }
    return SY_ENOTFOUND;
}

sy_str
sy_req_cookie(const sy_req *req, const char *name)
{
    sy_str rest = sy_req_header(req, "Cookie");
    while (rest.len) {
        const char *semi = memchr(rest.p, ';', rest.len);
        size_t n = semi ? (size_t)(semi - rest.p) : rest.len;
        sy_str pair = sy_str_trim_ows((sy_str){rest.p, n});
        rest.p += semi ? n + 1 : n;
        rest.len -= semi ? n + 1 : n;
        const char *eq = memchr(pair.p, '=', pair.len);
        if (!eq)
            continue;
        sy_str k = sy_str_trim_ows((sy_str){pair.p, (size_t)(eq - pair.p)});
        if (!sy_str_eqc(k, name))
            continue;
        const char *vstart = eq + 1;
        sy_str v = sy_str_trim_ows(
            (sy_str){vstart, (size_t)(pair.p + pair.len - vstart)});
        if (v.len >= 2 && v.p[0] == '"' && v.p[v.len - 1] == '"')
            v = (sy_str){v.p + 1, v.len - 2};
        return v;
    }
    return SY_STR_NULL;
}

static bool
request_id_sane(sy_str id)
{
    if (id.len == 0 || id.len > SY_REQUEST_ID_MAX)
        return false;
    for (size_t i = 0; i < id.len; i++) {
        char c = id.p[i];
        if (!isalnum((unsigned char)c) && c != '.' && c != '_' && c != '-')
            return false;
    }
    return true;
}

/* 16 random hex digits per process, then a counter: unique without a
 * syscall per request. */
static void
generate_id(char *out)
{
    static char prefix[17];
    static uint64_t counter;
    static pid_t owner;
    pid_t me = getpid();
    if (owner != me) { /* first use, or a fork: new prefix */
        unsigned char r[8];
        sy_random_bytes(r, sizeof(r));
        sy_hex(prefix, r, sizeof(r));
        owner = me;
        counter = 0;
    }
    unsigned char c[8];
    uint64_t v = ++counter;
    for (int i = 7; i >= 0; i--) {
        c[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
    memcpy(out, prefix, 16);
    sy_hex(out + 16, c, sizeof(c));
}

void
sy_req_assign_id(sy_req *req)
{
    sy_str id = sy_req_header(req, "X-Request-Id");
    if (request_id_sane(id)) {
        memcpy(req->request_id, id.p, id.len);
        req->request_id[id.len] = 0;
    } else {
        generate_id(req->request_id);
    }
}

int
sy_req_body(sy_req *req, size_t max, sy_str *out)
{
    if (!req->body_read) {
        if (req->content_length > 0 && (uint64_t)req->content_length > max)
            return SY_ETOOBIG;
        if (!req->read_body) {
            req->body = (sy_str){"", 0};
        } else {
            int rc = req->read_body(req->read_ctx, req->arena, max,
                                    &req->body);
            if (rc < 0)
                return rc;
        }
        req->body_read = true;
    }
    *out = req->body;
    return 0;
}
