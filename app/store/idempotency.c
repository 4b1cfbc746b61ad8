/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * idempotency.c - Idempotency-Key records (idempotency.h).
 *
 * A record is named by (tenant, scope, route, key) and remembers the
 * request's hash.  Everything runs in the caller's transaction: the
 * first request inserts the record and holds it until it commits; a
 * concurrent one with the same key waits on that insert, then finds the
 * finished record and replays it (or, if the first rolled back, inserts
 * its own).  A record whose 24 hours are over is renewed for the new
 * request.
 *
 * Only responses recorded with sy_idem_finish are replayed.  Callers
 * record successes only: a failed request rolls back, its record with
 * it, so a retry after a 409 (say, stock that came back) runs again.
 * Records that expired over an hour ago are deleted in bounded batches,
 * at most hourly per process, by a recording request (skipping rows
 * other requests hold, so it never waits).  Hashes and bodies travel as
 * bytea parameters '\x<hex>', headers as a JSON object.
 */
#include "synthia/idempotency.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/log.h"

#define HOUSEKEEPING_US (3600LL * 1000000)
#define INSERT_ATTEMPTS 3

#define IDEM_KEY                                                          \
    "WHERE tenant_id = $1::uuid AND scope = $2 AND route = $3 AND key = $4"
/* $5 request hash.  No row: the key has a record already (a concurrent
 * first request's insert makes this wait for its end). */
static sy_db_stmt sql_insert =
    SY_DB_STMT("idem_insert",
     "INSERT INTO idempotency_keys "
     "(tenant_id, scope, route, key, request_hash) "
     "VALUES ($1::uuid, $2, $3, $4, $5::bytea) "
     "ON CONFLICT DO NOTHING RETURNING 1",
     5);
/* $5 request hash.  Columns (L_*): same hash, expired, status (NULL
 * while unfinished), content type, body, headers. */
static sy_db_stmt sql_lock =
    SY_DB_STMT("idem_lock",
     "SELECT request_hash = $5::bytea, expires_at < now(), status, "
     "content_type, body, headers::text FROM idempotency_keys "
     IDEM_KEY " FOR UPDATE",
     5);
enum { L_SAME, L_EXPIRED, L_STATUS, L_CTYPE, L_BODY, L_HEADERS };
/* An expired record becomes a fresh one for request hash $5. */
static sy_db_stmt sql_renew =
    SY_DB_STMT("idem_renew",
     "UPDATE idempotency_keys SET request_hash = $5::bytea, "
     "status = NULL, content_type = NULL, body = NULL, headers = NULL, "
     "created_at = now(), expires_at = now() + interval '24 hours' "
     IDEM_KEY,
     5);
/* $5 status, $6 content type, $7 body, $8 headers (JSON object). */
static sy_db_stmt sql_finish =
    SY_DB_STMT("idem_finish",
     "UPDATE idempotency_keys SET status = $5::integer, "
     "content_type = $6, body = $7::bytea, headers = $8::jsonb "
     IDEM_KEY " RETURNING 1",
     8);
/* Records that expired over an hour ago, a bounded batch; rows that a
 * request holds are skipped, so this never waits on one. */
static sy_db_stmt sql_housekeeping =
    SY_DB_STMT("idem_housekeeping",
     "DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY("
     "SELECT ctid FROM idempotency_keys "
     "WHERE expires_at < now() - interval '1 hour' "
     "LIMIT 1000 FOR UPDATE SKIP LOCKED))",
     0);
#undef IDEM_KEY

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

/* The record's name and request hash as parameters $1..$5. */
static int
name_params(sy_arena *a, const sy_idem_key *k, const char *p[5])
{
    p[0] = k->tenant;
    p[1] = k->scope;
    p[2] = k->route;
    p[3] = k->key;
    p[4] = bytea_param(a, k->request_hash, sizeof(k->request_hash));
    return p[4] ? 0 : SY_ENOMEM;
}

/* ------------------------------------------------------------ replay */

/* The recorded headers (a JSON object of strings) into r. */
static int
replay_headers(sy_arena *a, const char *text, sy_idem_response *r)
{
    json_object *h = text ? json_tokener_parse(text) : NULL;
    if (!h)
        return 0;
    json_object_object_foreach(h, name, v) {
        if (r->nheaders == SY_IDEM_HEADERS_MAX ||
            !json_object_is_type(v, json_type_string))
            continue;
        sy_idem_header *o = &r->headers[r->nheaders];
        o->name = sy_arena_strndup(a, name, strlen(name));
        o->value.p = sy_arena_strndup(a, json_object_get_string(v),
                                      (size_t)json_object_get_string_len(v));
        o->value.len = (size_t)json_object_get_string_len(v);
        if (!o->name || !o->value.p) {
            json_object_put(h);
            return SY_ENOMEM;
        }
        r->nheaders++;
    }
    json_object_put(h);
    return 0;
}

/* The finished record's response (row 0 of a sql_lock result). */
static int
replay(sy_arena *a, const PGresult *r, sy_idem_response *out)
{
    int64_t status = sy_db_i64(r, 0, L_STATUS);
    if (status < 100 || status > 599)
        return SY_EINTERNAL;
    size_t n = 0;
    unsigned char *body =
        PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, L_BODY), &n);
    if (!body)
        return SY_ENOMEM;
    *out = (sy_idem_response){.status = (int)status};
    out->body.p = sy_arena_strndup(a, (const char *)body, n);
    out->body.len = n;
    PQfreemem(body);
    const char *ct = sy_db_cstr(r, 0, L_CTYPE);
    out->content_type = ct ? sy_str_c(ct) : SY_STR("application/json");
    if (!out->body.p)
        return SY_ENOMEM;
    return replay_headers(a, sy_db_cstr(r, 0, L_HEADERS), out);
}

/* The key has a record: lock it and decide.  *again when it vanished
 * (its first request rolled back, or housekeeping took it). */
static int
existing(sy_arena *a, const char *const *p, int *state,
         sy_idem_response *out, bool *again)
{
    PGresult *r;
    int rc = sy_db_exec(a, &sql_lock, p, 5, &r);
    if (rc < 0)
        return rc;
    *again = sy_db_rows(r) == 0;
    if (*again)
        return 0;
    if (sy_db_bool(r, 0, L_EXPIRED)) {
        *state = SY_IDEM_NEW;
        return sy_db_exec(a, &sql_renew, p, 5, &r);
    }
    if (!sy_db_bool(r, 0, L_SAME))
        *state = SY_IDEM_MISMATCH;
    else if (!sy_db_cstr(r, 0, L_STATUS))
        *state = SY_IDEM_UNFINISHED;
    else
        *state = SY_IDEM_REPLAY;
    return *state == SY_IDEM_REPLAY ? replay(a, r, out) : 0;
}

int
sy_idem_begin(sy_arena *a, const sy_idem_key *k, int *state,
              sy_idem_response *replay_out)
{
    const char *p[5];
    int rc = name_params(a, k, p);
    if (rc < 0)
        return rc;
    for (int i = 0; i < INSERT_ATTEMPTS; i++) {
        PGresult *r;
        *state = SY_IDEM_NEW;
        rc = sy_db_exec(a, &sql_insert, p, 5, &r);
        if (rc < 0 || sy_db_rows(r) == 1)
            return rc;
        bool again = false;
        rc = existing(a, p, state, replay_out, &again);
        if (rc < 0 || !again)
            return rc;
    }
    sy_log(SY_LOG_WARN, "idempotency_busy",
           "idempotency record kept vanishing; giving up");
    return SY_EDB;
}

/* ------------------------------------------------------------ record */

/* Expired records go, a batch at most once an hour per process. */
static void
housekeeping(sy_arena *a)
{
    static int64_t next_us;
    int64_t n = sy_db_housekeep(a, &sql_housekeeping, &next_us,
                                HOUSEKEEPING_US);
    if (n > 0)
        sy_log(SY_LOG_DEBUG, "idempotency_housekeeping",
               "deleted %lld expired idempotency records", (long long)n);
}

static const char *
headers_json(sy_arena *a, const sy_idem_response *r)
{
    json_object *o = json_object_new_object();
    if (!o || sy_arena_defer(a, sy_json_put, o) < 0)
        return NULL; /* a failed defer has put o already */
    for (int i = 0; i < r->nheaders; i++)
        json_object_object_add(o, r->headers[i].name,
                               json_object_new_string_len(
                                   r->headers[i].value.p,
                                   (int)r->headers[i].value.len));
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    return s ? sy_arena_strndup(a, s, strlen(s)) : NULL;
}

int
sy_idem_finish(sy_arena *a, const sy_idem_key *k, const sy_idem_response *r)
{
    const char *p[8];
    char status[16];
    int rc = name_params(a, k, p);
    if (rc < 0)
        return rc;
    snprintf(status, sizeof(status), "%d", r->status);
    sy_str ctype = r->content_type.p ? r->content_type
                                     : SY_STR("application/json");
    p[4] = status;
    p[5] = sy_str_dup(a, ctype);
    p[6] = bytea_param(a, r->body.p, r->body.len);
    p[7] = headers_json(a, r);
    if (!p[5] || !p[6] || !p[7])
        return SY_ENOMEM;
    PGresult *res;
    rc = sy_db_exec(a, &sql_finish, p, 8, &res);
    if (rc == 0 && sy_db_rows(res) != 1)
        rc = SY_EINTERNAL; /* the record begin made is gone */
    /* here, not in begin: a failed request rolls back, and its batch
     * would be lost for the hour */
    if (rc == 0)
        housekeeping(a);
    return rc;
}
