/*
 * idempotency.c - Idempotency-Key records (idempotency.h).
 *
 * A record is named by (tenant, scope, route, key): the scope is the
 * caller ('u:<user id>' or 'k:<key id>'), the route its method and
 * pattern ("POST /api/v1/orders"), so two clients, or two routes, never
 * share a key.  The request hash is SHA-256 of method, path and the raw
 * body.  Everything runs in the caller's transaction: the first request
 * inserts the record and holds it until it commits; a concurrent one with
 * the same key waits on that insert, then finds the finished record and
 * replays it (or, if the first rolled back, inserts its own).  A record
 * whose 24 hours are over is renewed for the new request.
 *
 * Only responses that the caller records with sy_idem_finish are
 * replayed.  Callers record successes only: a failed request rolls back,
 * its record with it, so a retry after a 409 (say, stock that came back)
 * runs again.  Records that expired over an hour ago are deleted in
 * bounded batches, at most hourly per responder, by a recording request
 * (skipping rows other requests hold, so it never waits).
 */
#include "synthia/idempotency.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "synthia/authn.h"
#include "synthia/clock.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/statements.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/log.h"
#include "synthia/problem.h"
#include "synthia/router.h"

#define KEY_MAX 255
#define HOUSEKEEPING_US (3600LL * 1000000)
#define INSERT_ATTEMPTS 3
#define DEFAULT_MAX_BODY (1024 * 1024)

/* Response headers worth replaying (names must be static strings). */
static const char *const replayed_headers[] = {"Location"};

/* Columns of &sy_sql_idem_lock. */
enum { COL_SAME, COL_EXPIRED, COL_STATUS, COL_CTYPE, COL_BODY, COL_HEADERS };

typedef struct idem_name {
    const char *p[5]; /* tenant, scope, route, key, request hash */
} idem_name;

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

/* '\x<hex>' text form of a bytea parameter, arena memory. */
static char *
bytea_param(sy_arena *a, const void *p, size_t n)
{
    char *s = sy_arena_alloc(a, 2 * n + 3);
    if (!s)
        return NULL;
    s[0] = '\\';
    s[1] = 'x';
    sy_hex(s + 2, p, n);
    return s;
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
request_hash(sy_req *req, const char **out)
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
    unsigned char h[SY_SHA256_LEN];
    sy_sha256(b.p, b.len, h);
    const char *p = bytea_param(req->arena, h, sizeof(h));
    if (!p)
        return SY_ENOMEM;
    *out = p;
    return 0;
}

/* The record's name for this request.  SY_ENOTFOUND without a key; a
 * malformed key is a 400 in res. */
static int
idem_name_of(sy_req *req, sy_res *res, idem_name *n)
{
    sy_str key = sy_req_header(req, "Idempotency-Key");
    if (!key.p)
        return SY_ENOTFOUND;
    if (!key_ok(key))
        return sy_problem(res, 400, "bad_request",
                          "Idempotency-Key must be 1 to 255 printable "
                          "ASCII characters.");
    const sy_principal *w = &req->who;
    const char *tid;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0)
        return rc;
    bool user = w->kind == SY_WHO_USER;
    n->p[0] = tid;
    n->p[1] =
        join3(req->arena, user ? "u" : "k", ":", user ? w->user_id : w->key_id);
    n->p[2] = join3(req->arena, req->route->method, " ", req->route->path);
    n->p[3] = sy_str_dup(req->arena, key);
    if (!n->p[1] || !n->p[2] || !n->p[3])
        return SY_ENOMEM;
    return request_hash(req, &n->p[4]);
}

/* Expired records go, a batch at most once an hour per responder. */
static void
housekeeping(sy_arena *a)
{
    static int64_t next_us;
    int64_t now = sy_mono_us();
    if (now < next_us)
        return;
    next_us = now + HOUSEKEEPING_US;
    PGresult *r;
    int64_t n = 0;
    if (sy_db_exec(a, &sy_sql_idem_housekeeping, NULL, 0, &r) == 0 &&
        sy_parse_i64(sy_str_c(PQcmdTuples(r)), 0, INT64_MAX, &n) == 0 && n > 0)
        sy_log(SY_LOG_DEBUG, "idempotency_housekeeping",
               "deleted %lld expired idempotency records", (long long)n);
}

static void
replay_headers(sy_res *res, const PGresult *r)
{
    if (PQgetisnull(r, 0, COL_HEADERS))
        return;
    json_object *h = json_tokener_parse(PQgetvalue(r, 0, COL_HEADERS));
    if (!h)
        return;
    size_t n = sizeof(replayed_headers) / sizeof(replayed_headers[0]);
    for (size_t i = 0; i < n; i++) {
        json_object *v;
        if (json_object_object_get_ex(h, replayed_headers[i], &v) &&
            json_object_is_type(v, json_type_string))
            sy_res_header(res, replayed_headers[i],
                          (sy_str){json_object_get_string(v),
                                   (size_t)json_object_get_string_len(v)});
    }
    json_object_put(h);
}

/* The finished record's response into res. */
static int
replay(sy_res *res, const PGresult *r)
{
    int64_t status;
    if (sy_parse_i64(sy_str_c(PQgetvalue(r, 0, COL_STATUS)), 100, 599,
                     &status) < 0)
        return SY_EINTERNAL;
    size_t n = 0;
    unsigned char *body =
        PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, COL_BODY), &n);
    if (!body)
        return SY_ENOMEM;
    int rc = sy_res_bytes(res, (int)status, "application/json", body, n);
    PQfreemem(body);
    if (rc < 0)
        return rc;
    if (!PQgetisnull(r, 0, COL_CTYPE)) {
        char *ct =
            sy_str_dup(res->arena, sy_str_c(PQgetvalue(r, 0, COL_CTYPE)));
        if (!ct)
            return SY_ENOMEM;
        res->content_type = sy_str_c(ct);
    }
    replay_headers(res, r);
    return sy_res_headerc(res, "Idempotent-Replayed", "true");
}

/* The key has a record: lock it and decide.  *again when it vanished
 * (its first request rolled back, or housekeeping took it). */
static int
existing(sy_req *req, sy_res *res, const idem_name *n, bool *replayed,
         bool *again)
{
    PGresult *r;
    int rc = sy_db_exec(req->arena, &sy_sql_idem_lock, n->p, 5, &r);
    if (rc < 0)
        return rc;
    *again = PQntuples(r) == 0;
    if (*again)
        return 0;
    if (PQgetvalue(r, 0, COL_EXPIRED)[0] == 't')
        return sy_db_exec(req->arena, &sy_sql_idem_renew, n->p, 5, &r);
    if (PQgetvalue(r, 0, COL_SAME)[0] != 't')
        return sy_problem(res, 422, "idempotency_mismatch",
                          "This Idempotency-Key was used with a different "
                          "request; use a new key for a new request.");
    if (PQgetisnull(r, 0, COL_STATUS))
        /* only if its first request committed without recording */
        return sy_problem(res, 409, "conflict",
                          "The first request with this Idempotency-Key did "
                          "not finish; use a new key.");
    rc = replay(res, r);
    if (rc == 0)
        *replayed = true;
    return rc;
}

int
sy_idem_begin(sy_req *req, sy_res *res, bool *replayed)
{
    idem_name n;
    *replayed = false;
    int rc = idem_name_of(req, res, &n);
    if (rc == SY_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    for (int i = 0; i < INSERT_ATTEMPTS; i++) {
        PGresult *r;
        rc = sy_db_exec(req->arena, &sy_sql_idem_insert, n.p, 5, &r);
        if (rc < 0 || PQntuples(r) == 1)
            return rc;
        bool again = false;
        rc = existing(req, res, &n, replayed, &again);
        if (rc < 0 || !again)
            return rc;
    }
    sy_log(SY_LOG_WARN, "idempotency_busy",
           "idempotency record kept vanishing; giving up");
    return SY_EDB;
}

static char *
headers_json(sy_arena *a, const sy_res *res)
{
    json_object *o = json_object_new_object();
    if (!o || sy_arena_defer(a, sy_json_put, o) < 0)
        return NULL;
    size_t n = sizeof(replayed_headers) / sizeof(replayed_headers[0]);
    for (size_t i = 0; i < n; i++) {
        sy_str v = sy_res_get_header(res, replayed_headers[i]);
        if (v.p)
            json_object_object_add(o, replayed_headers[i],
                                   json_object_new_string_len(v.p, (int)v.len));
    }
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    return s ? sy_arena_strndup(a, s, strlen(s)) : NULL;
}

int
sy_idem_finish(sy_req *req, const sy_res *res)
{
    idem_name n;
    sy_res scratch; /* problems of a key that begin accepted cannot occur */
    sy_res_init(&scratch, req->arena, req, 4096);
    int rc = idem_name_of(req, &scratch, &n);
    if (rc == SY_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    char status[8];
    snprintf(status, sizeof(status), "%d", res->status);
    sy_str ctype =
        res->content_type.p ? res->content_type : SY_STR("application/json");
    const char *p[8] = {n.p[0],
                        n.p[1],
                        n.p[2],
                        n.p[3],
                        status,
                        sy_str_dup(req->arena, ctype),
                        bytea_param(req->arena, res->body.p, res->body.len),
                        headers_json(req->arena, res)};
    if (!p[5] || !p[6] || !p[7])
        return SY_ENOMEM;
    PGresult *r;
    rc = sy_db_exec(req->arena, &sy_sql_idem_finish, p, 8, &r);
    if (rc == 0 && PQntuples(r) != 1)
        rc = SY_EINTERNAL; /* the record begin made is gone */
    /* here, not in begin: a failed request rolls back, and its batch
     * would be lost for the hour */
    if (rc == 0)
        housekeeping(req->arena);
    return rc;
}
