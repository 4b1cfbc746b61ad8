/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * idemkey.c - Idempotency-Key names from requests, and recorded
 * responses back into responses (idemkey.h).
 *
 * The scope is the caller ('u:<user id>' or 'k:<key id>'), the route its
 * method and pattern ("POST /api/v1/orders"), so two clients, or two
 * routes, never share a key.  The request hash is SHA-256 of method,
 * path and the raw body, so the same key with another body is told
 * apart.
 */
#include "synthia/idemkey.h"

#include "synthia/authn.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/problem.h"
#include "synthia/router.h"

#define KEY_MAX 255
#define DEFAULT_MAX_BODY (1024 * 1024)

/* Response headers worth replaying (static names for sy_res_header). */
static const char *const replayed_headers[] = {"Location"};

static bool
key_ok(sy_str k)
{
    if (k.len < 1 || k.len > KEY_MAX)
        return false;
    for (size_t i = 0; i < k.len; i++)
        if (k.p[i] < 0x20 || k.p[i] > 0x7e)
            return false;
    return true;
}

static const char *
join3(sy_arena *a, const char *x, const char *sep, const char *y)
{
    sy_buf b;
    sy_buf_init(&b, a, 4096);
    sy_buf_puts(&b, x);
    sy_buf_puts(&b, sep);
    sy_buf_puts(&b, y);
    return sy_buf_cstr(&b);
}

static int
request_hash(sy_req *req, unsigned char out[SY_SHA256_LEN])
{
    sy_str body;
    size_t max = sy_conf ? (size_t)sy_conf->max_body : DEFAULT_MAX_BODY;
    int rc = sy_req_body(req, max, &body);
    if (rc < 0)
        return rc;
    sy_buf b;
    sy_buf_init(&b, req->arena, body.len + req->path.len + 32);
    sy_buf_add_str(&b, req->method);
    sy_buf_putc(&b, '\n');
    sy_buf_add_str(&b, req->path);
    sy_buf_putc(&b, '\n');
    sy_buf_add_str(&b, body);
    if (b.failed)
        return SY_ENOMEM;
    sy_sha256(b.p, b.len, out);
    return 0;
}

int
sy_idem_key_from_req(sy_req *req, sy_res *res, sy_idem_key *out)
{
    sy_str key = sy_req_header(req, "Idempotency-Key");
    if (!key.p)
        return SY_ENOTFOUND;
    if (!key_ok(key))
        return sy_problem(res, 400, "bad_request",
                          "Idempotency-Key must be 1 to 255 printable "
                          "ASCII characters.");
    const sy_principal *w = &req->who;
    int rc = sy_authn_tenant(req, res, &out->tenant);
    if (rc < 0)
        return rc;
    bool user = w->kind == SY_WHO_USER;
    out->scope = join3(req->arena, user ? "u" : "k", ":",
                       user ? w->user_id : w->key_id);
    out->route = join3(req->arena, req->route->method, " ", req->route->path);
    out->key = sy_str_dup(req->arena, key);
    if (!out->scope || !out->route || !out->key)
        return SY_ENOMEM;
    return request_hash(req, out->request_hash);
}

/* The static name of a header worth replaying, or NULL. */
static const char *
replayable(const char *name)
{
    size_t n = sizeof(replayed_headers) / sizeof(replayed_headers[0]);
    for (size_t i = 0; i < n; i++)
        if (sy_str_eqc(sy_str_c(name), replayed_headers[i]))
            return replayed_headers[i];
    return NULL;
}

int
sy_idem_respond(sy_res *res, const sy_idem_response *r, bool replayed)
{
    int rc = sy_res_bytes(res, r->status, "application/json", r->body.p,
                          r->body.len);
    if (rc < 0)
        return rc;
    if (r->content_type.p) {
        char *ct = sy_str_dup(res->arena, r->content_type);
        if (!ct)
            return SY_ENOMEM;
        res->content_type = sy_str_c(ct);
    }
    for (int i = 0; i < r->nheaders; i++) {
        const char *name = replayable(r->headers[i].name);
        if (name && (rc = sy_res_header(res, name, r->headers[i].value)) < 0)
            return rc;
    }
    return replayed ? sy_res_headerc(res, "Idempotent-Replayed", "true") : 0;
}
