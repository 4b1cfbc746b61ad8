/*
 * keys.c - a tenant's API keys (API.md "Tenants, plans, keys"): list,
 * create, rotate and revoke, for the tenant's owner (or a sysadmin naming
 * the tenant with ?tenant_id=); plus the key rules of tenancy.h that
 * `synthia admin create-key` shares.
 *
 * A key is shown once, in the response that creates it, and stored only
 * as its SHA-256 (apikey.c makes it).  Lists never carry the key or its
 * hash.  Rotation makes a successor with the same name, kind and scopes
 * and lets the old key live on for a grace period; revocation is at
 * once.  Both drop the old key's cached lookup in the same request, so
 * every responder sees the change on its next request.  Every statement
 * filters by the caller's tenant: another tenant's key id is a 404.
 */
#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "synthia/apikey.h"
#include "synthia/authn.h"
#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/log.h"
#include "synthia/problem.h"
#include "synthia/router.h"
#include "synthia/routes.h"
#include "synthia/tenancy.h"

#define KEY_NAME_MAX_CHARS 100
#define GRACE_DEFAULT 3600

/* ------------------------------------------------------------ the rules */

int
sy_tenancy_key_kind(sy_str name)
{
    if (sy_str_eqc(name, "publishable"))
        return SY_KEY_PUBLISHABLE;
    if (sy_str_eqc(name, "secret"))
        return SY_KEY_SECRET;
    return 0;
}

const char *
sy_tenancy_key_kind_name(int kind)
{
    return kind == SY_KEY_PUBLISHABLE ? "publishable" : "secret";
}

uint32_t
sy_tenancy_key_scopes(int kind)
{
    return kind == SY_KEY_PUBLISHABLE ? SY_SCOPES_PUBLISHABLE : SY_SCOPES_ALL;
}

uint32_t
sy_tenancy_key_scope(int kind, sy_str name, const char **why)
{
    uint32_t bit = sy_scope_parse(name);
    if (!bit) {
        *why = "is not a known scope";
        return 0;
    }
    if (!(bit & sy_tenancy_key_scopes(kind))) {
        *why = "is not allowed for publishable keys";
        return 0;
    }
    return bit;
}

const char *
sy_tenancy_scopes_text(sy_arena *a, uint32_t mask)
{
    sy_buf b;
    sy_buf_init(&b, a, 512);
    sy_buf_putc(&b, '[');
    for (uint32_t bit = 1; bit && bit <= SY_SCOPES_ALL; bit <<= 1) {
        const char *name = (mask & bit) ? sy_scope_name(bit) : NULL;
        if (!name)
            continue;
        if (b.len > 1)
            sy_buf_putc(&b, ',');
        sy_buf_json_str(&b, name, strlen(name));
    }
    sy_buf_putc(&b, ']');
    const char *s = sy_buf_cstr(&b);
    return b.failed ? NULL : s;
}

static const char *
col(const PGresult *r, int row, const char *name)
{
    int c = PQfnumber(r, name);
    if (c < 0 || PQgetisnull(r, row, c))
        return NULL;
    return PQgetvalue(r, row, c);
}

static void
add_str(json_object *o, const char *key, const char *v)
{
    json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

json_object *
sy_tenancy_key_json(const PGresult *r, int row)
{
    json_object *o = json_object_new_object();
    const char *scopes = col(r, row, "scopes");
    json_object *list = scopes ? json_tokener_parse(scopes) : NULL;
    add_str(o, "id", col(r, row, "id"));
    add_str(o, "name", col(r, row, "name"));
    add_str(o, "kind", col(r, row, "kind"));
    add_str(o, "prefix", col(r, row, "prefix"));
    json_object_object_add(o, "scopes", list ? list : json_object_new_array());
    add_str(o, "created_at", col(r, row, "created_at"));
    add_str(o, "last_used_at", col(r, row, "last_used_at"));
    add_str(o, "expires_at", col(r, row, "expires_at"));
    add_str(o, "revoked_at", col(r, row, "revoked_at"));
    add_str(o, "replaced_by", col(r, row, "replaced_by"));
    return o;
}

/* ------------------------------------------------------------ helpers */

static int
key_not_found(sy_res *res)
{
    return sy_problem(res, 404, "not_found", "This tenant has no such key.");
}

static int
path_key(sy_req *req, sy_res *res, const char **id)
{
    if (req->nparams < 1 ||
        !sy_uuid_valid(req->params[0].p, req->params[0].len))
        return key_not_found(res);
    *id = req->params[0].p;
    return 0;
}

/* The user who made a key (NULL when the caller is not a user). */
static const char *
creator(const sy_req *req)
{
    return req->who.user_id[0] ? req->who.user_id : NULL;
}

/* 201 with the key row and, once, the key itself; never cached. */
static int
respond_new_key(sy_res *res, const PGresult *r, const char *key,
                json_object *extra)
{
    json_object *o = sy_tenancy_key_json(r, 0);
    json_object_object_add(o, "key", json_object_new_string(key));
    if (extra)
        json_object_object_add(o, "replaces", extra);
    sy_res_headerc(res, "Cache-Control", "no-store");
    return sy_res_json(res, 201, o);
}

/* scopes: optional array of scope names, each allowed for the kind;
 * absent means every scope the kind may hold. */
static int
read_scopes(sy_req *req, sy_res *res, int kind, uint32_t *mask)
{
    json_object *v;
    *mask = sy_tenancy_key_scopes(kind);
    if (!json_object_object_get_ex(req->json, "scopes", &v) ||
        json_object_is_type(v, json_type_null))
        return 0;
    size_t n = json_object_is_type(v, json_type_array)
                   ? json_object_array_length(v)
                   : 0;
    if (n == 0)
        return sy_problem_field(res, "scopes",
                                "must be a non-empty array of scopes");
    int rc = 0;
    *mask = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *s = json_object_array_get_idx(v, i);
        const char *why = "must be a string";
        uint32_t bit = 0;
        if (json_object_is_type(s, json_type_string))
            bit = sy_tenancy_key_scope(
                kind,
                (sy_str){json_object_get_string(s),
                         (size_t)json_object_get_string_len(s)},
                &why);
        if (!bit) {
            char field[32];
            snprintf(field, sizeof(field), "scopes[%zu]", i);
            rc = sy_problem_field(res, field, why);
        }
        *mask |= bit;
    }
    return rc;
}

static int
read_kind(sy_req *req, sy_res *res, int *kind)
{
    sy_str s;
    int rc = sy_json_str(res, req->json, "kind", true, 0, 32, &s);
    if (rc < 0)
        return rc;
    *kind = sy_tenancy_key_kind(s);
    if (!*kind)
        return sy_problem_field(res, "kind",
                                "must be \"publishable\" or \"secret\"");
    return 0;
}

static int
read_key_name(sy_req *req, sy_res *res, const char **name)
{
    sy_str s = SY_STR("");
    const char *why;
    int rc = sy_json_str(res, req->json, "name", false, 0, 1024, &s);
    if (rc < 0 && rc != SY_ENOTFOUND)
        return rc;
    if (sy_tenancy_text(&s, true, 0, KEY_NAME_MAX_CHARS, &why) < 0)
        return sy_problem_field(res, "name",
                                "must be at most 100 characters, without "
                                "control characters");
    *name = sy_str_dup(req->arena, s);
    return *name ? 0 : SY_ENOMEM;
}

/* ------------------------------------------------------------ routes */

/* GET /api/v1/tenant/keys: every key of the tenant, revoked and expired
 * ones included (with their times), oldest first. */
int
sy_route_tenant_keys_list(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_page p;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_page_parse(req, res, &p);
    if (rc < 0)
        return rc;
    PGresult *r;
    const char *params[4] = {tid, p.after_ts, p.after_id, p.limit_text};
    rc = sy_db_exec(req->arena, SY_SQL_KEYS_LIST, params, 4, &r);
    if (rc < 0)
        return rc;
    return sy_page_respond(res, &p, r, PQfnumber(r, "created_at"),
                           PQfnumber(r, "id"), sy_tenancy_key_json);
}

/* POST /api/v1/tenant/keys {name?, kind, scopes?} -> 201 with `key`. */
int
sy_route_tenant_keys_create(sy_req *req, sy_res *res)
{
    const char *tid, *name = NULL;
    int kind = 0;
    uint32_t mask = 0;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0)
        return rc;
    rc = read_key_name(req, res, &name);
    int krc = read_kind(req, res, &kind);
    if (krc == 0)
        krc = read_scopes(req, res, kind, &mask);
    if (rc < 0 || krc < 0)
        return rc < 0 && rc != SY_EVALIDATION ? rc : SY_EVALIDATION;

    char key[SY_APIKEY_LEN + 1], prefix[SY_APIKEY_PREFIX_LEN + 1];
    unsigned char hash[SY_SHA256_LEN];
    char hex[2 * SY_SHA256_LEN + 1];
    sy_apikey_generate(kind, key, prefix, hash);
    sy_hex(hex, hash, sizeof(hash));
    const char *scopes = sy_tenancy_scopes_text(req->arena, mask);
    if (!scopes)
        return SY_ENOMEM;
    PGresult *r;
    const char *params[7] = {tid,         name, sy_tenancy_key_kind_name(kind),
                             prefix,      hex,  scopes,
                             creator(req)};
    rc = sy_db_exec_durable(req->arena, SY_SQL_KEY_INSERT, params, 7, &r);
    if (rc == SY_ECONFLICT) /* 190 random bits colliding: never */
        return SY_EINTERNAL;
    if (rc < 0)
        return rc;
    if (PQntuples(r) == 0)
        return sy_problem(res, 404, "not_found", "No tenant has this id.");
    return respond_new_key(res, r, key, NULL);
}

/* "ab12..." (64 hex digits) -> 32 bytes. */
static int
unhex32(const char *s, unsigned char out[SY_SHA256_LEN])
{
    if (!s || strlen(s) != 2 * SY_SHA256_LEN)
        return SY_EINVAL;
    for (int i = 0; i < 2 * SY_SHA256_LEN; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                       : -1;
        if (v < 0)
            return SY_EINVAL;
        out[i / 2] = (unsigned char)(i % 2 ? out[i / 2] | v : v << 4);
    }
    return 0;
}

/* Drop the cached lookup of a key whose row changed (its hash in hex).
 * The database is the truth: when Redis cannot be told, lookups go to
 * PostgreSQL anyway, so a failure is logged and the change stands. */
static void
forget_key(sy_req *req, const char *hash_hex)
{
    unsigned char hash[SY_SHA256_LEN];
    int rc = unhex32(hash_hex, hash);
    if (rc == 0)
        rc = sy_apikey_forget(req->arena, hash);
    if (rc < 0)
        sy_log(SY_LOG_WARN, "apikey_forget_failed",
               "key row changed but its cached lookup was not dropped: %s",
               sy_strerror(rc));
}

static int
cannot_rotate(sy_res *res)
{
    return sy_problem(res, 409, "conflict",
                      "This key is revoked, expired or already rotated; "
                      "rotate its successor or create a new key.");
}

/* The old key's side of a rotation: {id, expires_at}. */
static json_object *
replaced(const char *old_id, const PGresult *r)
{
    json_object *o = json_object_new_object();
    add_str(o, "id", old_id);
    add_str(o, "expires_at", col(r, 0, "old_expires_at"));
    return o;
}

/* POST /api/v1/tenant/keys/{id}/rotate {grace_seconds?} -> 201 with the
 * successor's `key`; the old key works until the grace ends. */
int
sy_route_tenant_keys_rotate(sy_req *req, sy_res *res)
{
    const char *tid = NULL, *id = NULL;
    int64_t grace = GRACE_DEFAULT;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = path_key(req, res, &id);
    if (rc < 0)
        return rc;
    rc = sy_json_int(res, req->json, "grace_seconds", false, 0,
                     SY_TENANCY_GRACE_MAX, &grace);
    if (rc < 0 && rc != SY_ENOTFOUND)
        return rc;

    PGresult *r;
    const char *get[2] = {tid, id};
    rc = sy_db_exec(req->arena, SY_SQL_KEY_GET, get, 2, &r);
    if (rc < 0)
        return rc;
    if (PQntuples(r) == 0)
        return key_not_found(res);
    if (PQgetvalue(r, 0, 1)[0] == 't')
        return cannot_rotate(res);
    int kind = sy_tenancy_key_kind(sy_str_c(PQgetvalue(r, 0, 0)));

    char key[SY_APIKEY_LEN + 1], prefix[SY_APIKEY_PREFIX_LEN + 1];
    char hex[2 * SY_SHA256_LEN + 1], grace_text[24];
    unsigned char hash[SY_SHA256_LEN];
    sy_apikey_generate(kind, key, prefix, hash);
    sy_hex(hex, hash, sizeof(hash));
    snprintf(grace_text, sizeof(grace_text), "%lld", (long long)grace);
    const char *params[7] = {tid,
                             id,
                             prefix,
                             hex,
                             creator(req),
                             grace_text,
                             sy_tenancy_key_kind_name(kind)};
    rc = sy_db_exec_durable(req->arena, SY_SQL_KEY_ROTATE, params, 7, &r);
    if (rc < 0)
        return rc == SY_ECONFLICT ? SY_EINTERNAL : rc;
    if (PQntuples(r) == 0) /* rotated or revoked in between */
        return cannot_rotate(res);
    forget_key(req, col(r, 0, "old_hash"));
    return respond_new_key(res, r, key, replaced(id, r));
}

/* DELETE /api/v1/tenant/keys/{id}: revoke now -> 204.  Revoking a
 * revoked key is a 204 again (DELETE is idempotent). */
int
sy_route_tenant_keys_delete(sy_req *req, sy_res *res)
{
    const char *tid = NULL, *id = NULL;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = path_key(req, res, &id);
    if (rc < 0)
        return rc;
    PGresult *r;
    const char *params[2] = {tid, id};
    rc = sy_db_exec_durable(req->arena, SY_SQL_KEY_REVOKE, params, 2, &r);
    if (rc < 0)
        return rc;
    if (PQntuples(r) == 0)
        return key_not_found(res);
    forget_key(req, PQgetvalue(r, 0, 0));
    return sy_res_bytes(res, 204, NULL, NULL, 0);
}
