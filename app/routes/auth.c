/*
 * auth.c - sign-up, login, token refresh, logout and "who am I" (API.md
 * "Identity" and "Authentication and roles"), and the auth cookies.
 *
 * Login answers every mismatch (unknown email, wrong password, no
 * password, inactive user or tenant, unknown tenant, a `tenant` that is
 * not the API key's) with the same 401 body after the same argon2 work,
 * and asks the login guard (ratelimit.c) before looking and tells it the
 * outcome after.  Tokens go out in the body, or in cookie mode as three
 * cookies: sy_access (the JWT; HttpOnly, SameSite=Lax, Path=/),
 * sy_refresh (HttpOnly, SameSite=Strict, Path=/api/v1/auth) and sy_csrf
 * (readable by script, the value cookie clients echo in X-CSRF-Token),
 * all Secure unless auth.cookie_secure is off.
 *
 * Choices where API.md is silent:
 * - Register answers 201 with the user only; it does not sign in.
 * - Login's tenant: an API key's tenant (a `tenant` slug naming another
 *   one is a mismatch, 401); without a key the `tenant` slug; neither:
 *   the sysadmins' namespace.
 * - In cookie mode the body carries no tokens (they are HttpOnly for a
 *   reason) but expires_in, the user and csrf_token, the sy_csrf value,
 *   for a front end on another origin of the same site that cannot read
 *   the API's cookies.
 * - Refresh takes {refresh_token} from a JSON body, else the sy_refresh
 *   cookie; the cookie way is cookie mode (new cookies, no tokens in the
 *   body) and needs X-CSRF-Token like any cookie-authenticated unsafe
 *   request.  The new access token carries the user's current role.  A
 *   refused cookie refresh also expires the cookies.
 * - Logout and logout-all answer 204 and expire the cookies of a cookie
 *   client.  GET /auth/me reads the user afresh (401 once deleted or
 *   deactivated) and carries an ETag.
 * - Token responses are Cache-Control: no-store.
 */
#include "config.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "synthia/account.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/statements.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/jwt.h"
#include "synthia/log.h"
#include "synthia/password.h"
#include "synthia/problem.h"
#include "synthia/ratelimit.h"
#include "synthia/routes.h"
#include "synthia/session.h"

#define CSRF_BYTES 32
#define CSRF_MAX 128
#define DEFAULT_MAX_BODY (1024 * 1024)
#define LOGIN_COL_HASH SY_USER_NCOLS /* after the user's columns */

/* ------------------------------------------------------------ cookies */

typedef struct cookie_spec {
    const char *name;
    const char *path;
    const char *same_site;
    bool http_only;
} cookie_spec;

enum { COOKIE_ACCESS, COOKIE_REFRESH, COOKIE_CSRF };

static const cookie_spec cookies[] = {
    [COOKIE_ACCESS] = {"sy_access", "/", "Lax", true},
    [COOKIE_REFRESH] = {"sy_refresh", "/api/v1/auth", "Strict", true},
    [COOKIE_CSRF] = {"sy_csrf", "/", "Lax", false},
};

static int
set_cookie(sy_res *res, int which, const char *value, int64_t max_age)
{
    const cookie_spec *c = &cookies[which];
    sy_buf b;
    sy_buf_init(&b, res->arena, 4096);
    sy_buf_printf(&b, "%s=%s; Path=%s; Max-Age=%lld", c->name, value, c->path,
                  (long long)max_age);
    if (c->http_only)
        sy_buf_puts(&b, "; HttpOnly");
    sy_buf_printf(&b, "; SameSite=%s", c->same_site);
    if (!sy_conf || sy_conf->cookie_secure)
        sy_buf_puts(&b, "; Secure");
    if (b.failed)
        return SY_ENOMEM;
    return sy_res_header(res, "Set-Cookie", sy_buf_str(&b));
}

int
sy_account_clear_cookies(sy_res *res)
{
    int rc = 0;
    for (int i = COOKIE_ACCESS; rc == 0 && i <= COOKIE_CSRF; i++)
        rc = set_cookie(res, i, "", 0);
    return rc;
}

static int64_t
refresh_ttl_s(void)
{
    return sy_conf ? sy_conf->refresh_ttl_ms / 1000 : 30 * 86400;
}

static const char *
new_csrf(sy_arena *a)
{
    unsigned char raw[CSRF_BYTES];
    char *s = sy_arena_alloc(a, SY_B64URL_LEN(CSRF_BYTES) + 1);
    if (!s)
        return NULL;
    sy_random_bytes(raw, sizeof(raw));
    sy_b64url_encode(s, raw, sizeof(raw));
    return s;
}

static int
set_auth_cookies(sy_res *res, const char *jwt, int64_t access_s,
                 const char *refresh, const char *csrf)
{
    int rc = set_cookie(res, COOKIE_ACCESS, jwt, access_s);
    if (rc == 0)
        rc = set_cookie(res, COOKIE_REFRESH, refresh, refresh_ttl_s());
    if (rc == 0)
        rc = set_cookie(res, COOKIE_CSRF, csrf, refresh_ttl_s());
    return rc;
}

/* ------------------------------------------------------ token answers */

static void
copy_id(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

static void
no_store(sy_res *res)
{
    sy_res_headerc(res, "Cache-Control", "no-store");
    sy_res_headerc(res, "Pragma", "no-cache");
}

static void
add(json_object *o, const char *key, json_object *v)
{
    json_object_object_add(o, key, v);
}

/* 200 with a new access token for user row u in session su: in the body,
 * or in cookie mode as cookies (csrf: the value to keep, else new). */
static int
send_tokens(sy_req *req, sy_res *res, const PGresult *u,
            const sy_session_user *su, bool cookie, const char *csrf)
{
    sy_claims c;
    char *jwt;
    memset(&c, 0, sizeof(c));
    copy_id(c.sub, sizeof(c.sub), PQgetvalue(u, 0, SY_USER_COL_ID));
    if (!PQgetisnull(u, 0, SY_USER_COL_TENANT_ID))
        copy_id(c.tid, sizeof(c.tid), PQgetvalue(u, 0, SY_USER_COL_TENANT_ID));
    c.role = sy_role_parse(sy_str_c(PQgetvalue(u, 0, SY_USER_COL_ROLE)));
    copy_id(c.sid, sizeof(c.sid), su->sid);
    int rc = sy_jwt_issue(req->arena, &c, &jwt);
    if (rc < 0)
        return rc;
    int64_t expires_in = c.exp - c.iat;
    json_object *o = json_object_new_object();
    if (!o)
        return SY_ENOMEM;
    if (cookie) {
        csrf = csrf ? csrf : new_csrf(req->arena);
        rc = csrf ? set_auth_cookies(res, jwt, expires_in, su->refresh, csrf)
                  : SY_ENOMEM;
        add(o, "csrf_token", json_object_new_string(csrf ? csrf : ""));
    } else {
        add(o, "access_token", json_object_new_string(jwt));
        add(o, "token_type", json_object_new_string("Bearer"));
        add(o, "refresh_token", json_object_new_string(su->refresh));
    }
    add(o, "expires_in", json_object_new_int64(expires_in));
    add(o, "user", sy_account_json(u, 0));
    if (rc < 0) {
        json_object_put(o);
        return rc;
    }
    no_store(res);
    return sy_res_json(res, 200, o);
}

/* ----------------------------------------------------------- register */

int
sy_route_auth_register(sy_req *req, sy_res *res)
{
    return sy_account_create(req, res, req->who.tenant_id, SY_ROLE_SHOPPER);
}

/* -------------------------------------------------------------- login */

typedef struct login_input {
    const char *email; /* trimmed, NUL-terminated */
    sy_str key;        /* lower-cased: the throttling key */
    sy_str password;
    const char *slug; /* `tenant`, or NULL */
    bool cookie;
} login_input;

/* Where the account is looked up. */
typedef struct login_ns {
    const char *tenant_id;  /* NULL: the sysadmins' namespace */
    const char *slug_check; /* key logins: the slug the body named */
    const char *guard;      /* the login guard's namespace */
    bool unknown;           /* the slug names no active tenant */
} login_ns;

static int
read_login(sy_req *req, sy_res *res, login_input *in)
{
    json_object *b = req->json;
    sy_str email, slug;
    memset(in, 0, sizeof(*in));
    sy_json_str(&res->errs, b, "email", true, 1, 1024, &email);
    sy_json_str(&res->errs, b, "password", true, 1, 4096, &in->password);
    if (sy_json_str(&res->errs, b, "tenant", false, 1, 63, &slug) == 0)
        in->slug = sy_str_dup(req->arena, slug);
    sy_json_bool(&res->errs, b, "cookie", false, &in->cookie);
    if (sy_errs_any(&res->errs))
        return SY_EVALIDATION;
    in->key = sy_account_email_key(req->arena, email);
    in->email = in->key.p ? sy_str_dup(req->arena, email) : NULL;
    return in->email ? 0 : SY_ENOMEM;
}

static int
resolve_ns(sy_req *req, const login_input *in, login_ns *ns)
{
    memset(ns, 0, sizeof(*ns));
    if (req->who.kind == SY_WHO_KEY) {
        ns->tenant_id = req->who.tenant_id;
        ns->slug_check = in->slug;
        ns->guard = ns->tenant_id;
        return 0;
    }
    if (!in->slug) {
        ns->guard = "";
        return 0;
    }
    PGresult *r;
    int rc = sy_db_exec(req->arena, &sy_sql_login_tenant_slug, &in->slug, 1, &r);
    if (rc < 0)
        return rc;
    if (PQntuples(r) == 1)
        ns->tenant_id = PQgetvalue(r, 0, 0);
    ns->unknown = !ns->tenant_id;
    ns->guard = ns->tenant_id ? ns->tenant_id : in->slug;
    return 0;
}

/* The active account with this email, or *out = NULL. */
static int
find_user(sy_req *req, const login_input *in, const login_ns *ns,
          PGresult **out)
{
    *out = NULL;
    if (ns->unknown)
        return 0;
    if (!ns->tenant_id)
        return sy_db_exec(req->arena, &sy_sql_user_login_sysadmin, &in->email, 1,
                          out);
    const char *p[3] = {ns->tenant_id, in->email, ns->slug_check};
    return sy_db_exec(req->arena, &sy_sql_user_login_tenant, p, 3, out);
}

/* Verify, or burn the same time when there is nothing to verify. */
static bool
password_matches(const PGresult *r, sy_str pw, bool *rehash)
{
    *rehash = false;
    if (!r || PQntuples(r) != 1 || PQgetisnull(r, 0, LOGIN_COL_HASH)) {
        sy_password_burn(pw);
        return false;
    }
    return sy_password_verify(PQgetvalue(r, 0, LOGIN_COL_HASH), pw, rehash) ==
           0;
}

static int
login_failed(sy_req *req, sy_res *res, const login_ns *ns)
{
    sy_logline *l = sy_log_begin(SY_LOG_INFO, "login_failed");
    sy_log_str(l, "client", req->client_addr);
    sy_log_cstr(l, "tenant", ns->guard);
    sy_log_end(l);
    /* the same body whatever the cause */
    return sy_problem(res, 401, "unauthorized", "Invalid email or password.");
}

/* last_login_at, and the hash again when the config asks for more. */
static int
record_login(sy_req *req, const login_input *in, const PGresult *r, bool rehash,
             PGresult **out)
{
    char hash[SY_PASSWORD_HASH_MAX];
    bool rehashed =
        rehash && sy_password_hash(in->password, hash, sizeof(hash)) == 0;
    const char *tid = PQgetisnull(r, 0, SY_USER_COL_TENANT_ID)
                          ? NULL
                          : PQgetvalue(r, 0, SY_USER_COL_TENANT_ID);
    const char *p[3] = {tid, PQgetvalue(r, 0, SY_USER_COL_ID),
                        rehashed ? hash : NULL};
    return sy_db_exec(req->arena, &sy_sql_user_logged_in, p, 3, out);
}

static int
login_ok(sy_req *req, sy_res *res, const login_input *in, const PGresult *r,
         bool rehash, const login_ns *ns)
{
    PGresult *u;
    sy_session_user su;
    int rc = record_login(req, in, r, rehash, &u);
    if (rc < 0)
        return rc;
    if (PQntuples(u) != 1) /* deleted or deactivated a moment ago */
        return login_failed(req, res, ns);
    const char *tid = PQgetisnull(u, 0, SY_USER_COL_TENANT_ID)
                          ? NULL
                          : PQgetvalue(u, 0, SY_USER_COL_TENANT_ID);
    int role = sy_role_parse(sy_str_c(PQgetvalue(u, 0, SY_USER_COL_ROLE)));
    rc = sy_session_start(req->arena, tid, PQgetvalue(u, 0, SY_USER_COL_ID),
                          role, in->cookie, &su);
    if (rc == SY_EUNAUTH)
        return login_failed(req, res, ns);
    if (rc < 0)
        return rc;
    return send_tokens(req, res, u, &su, in->cookie, NULL);
}

int
sy_route_auth_login(sy_req *req, sy_res *res)
{
    login_input in;
    login_ns ns;
    PGresult *r = NULL;
    bool rehash = false;
    int rc = read_login(req, res, &in);
    if (rc == 0)
        rc = resolve_ns(req, &in, &ns);
    if (rc == 0)
        rc = sy_login_guard_check(req, res, in.key, ns.guard);
    if (rc == 0)
        rc = find_user(req, &in, &ns, &r);
    if (rc < 0)
        return rc;
    bool ok = password_matches(r, in.password, &rehash);
    sy_login_guard_record(req, in.key, ns.guard, ok);
    if (!ok)
        return login_failed(req, res, &ns);
    return login_ok(req, res, &in, r, rehash, &ns);
}

/* ------------------------------------------------------------ refresh */

typedef struct refresh_input {
    sy_str token;
    bool cookie;      /* presented as the sy_refresh cookie */
    const char *csrf; /* cookie mode: the checked sy_csrf value */
} refresh_input;

static int
read_body_json(sy_req *req, sy_res *res, json_object **out)
{
    sy_str body;
    size_t limit = sy_conf ? (size_t)sy_conf->max_body : DEFAULT_MAX_BODY;
    int rc = sy_req_body(req, limit, &body);
    if (rc == SY_ETOOBIG)
        return sy_problem(res, 413, "payload_too_large",
                          "The request body is too large.");
    if (rc < 0)
        return sy_problem(res, 400, "bad_request",
                          "The request body could not be read.");
    if (body.len == 0)
        return SY_ENOTFOUND;
    rc = sy_json_parse(req->arena, body, out);
    if (rc == SY_EJSON)
        return sy_problem(res, 400, "invalid_json",
                          "The body is not well-formed JSON.");
    if (rc == SY_EVALIDATION)
        return sy_problem(res, 422, "validation_failed",
                          "The body must be a JSON object.");
    return rc;
}

/* {refresh_token} from the body: 0, SY_ENOTFOUND (none), or a problem. */
static int
body_token(sy_req *req, sy_res *res, sy_str *out)
{
    if (!sy_json_content_type(req->content_type)) {
        if (req->content_length > 0)
            return sy_problem(res, 415, "unsupported_media_type",
                              "The body must be application/json.");
        return SY_ENOTFOUND;
    }
    int rc = read_body_json(req, res, &req->json);
    if (rc < 0)
        return rc;
    return sy_json_str(&res->errs, req->json, "refresh_token", false, 1, 512, out);
}

static bool
csrf_sane(sy_str v)
{
    if (v.len < 16 || v.len > CSRF_MAX)
        return false;
    for (size_t i = 0; i < v.len; i++) {
        char c = v.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* A cookie-authenticated unsafe request: X-CSRF-Token must be sy_csrf. */
static int
check_csrf(sy_req *req, sy_res *res, const char **csrf)
{
    sy_str want = sy_req_cookie(req, "sy_csrf");
    sy_str got = sy_req_header(req, "X-CSRF-Token");
    if (csrf_sane(want) && want.len == got.len &&
        sy_ct_eq(want.p, got.p, want.len)) {
        *csrf = sy_str_dup(req->arena, want);
        return *csrf ? 0 : SY_ENOMEM;
    }
    return sy_problem(res, 403, "forbidden",
                      "Cookie-authenticated requests must send the sy_csrf "
                      "cookie's value in X-CSRF-Token.");
}

static int
read_refresh(sy_req *req, sy_res *res, refresh_input *in)
{
    memset(in, 0, sizeof(*in));
    int rc = body_token(req, res, &in->token);
    if (rc != SY_ENOTFOUND)
        return rc;
    in->token = sy_req_cookie(req, "sy_refresh");
    if (in->token.len == 0)
        return sy_problem(res, 401, "unauthorized",
                          "No refresh token was presented.");
    in->cookie = true;
    return check_csrf(req, res, &in->csrf);
}

static int
refresh_refused(sy_res *res, bool cookie)
{
    if (cookie)
        sy_account_clear_cookies(res);
    return sy_problem(res, 401, "unauthorized",
                      "The refresh token is not valid, has expired, or has "
                      "been revoked.");
}

int
sy_route_auth_refresh(sy_req *req, sy_res *res)
{
    refresh_input in;
    sy_session_user su;
    int rc = read_refresh(req, res, &in);
    if (rc < 0)
        return rc;
    rc = sy_session_refresh(req->arena, in.token, &su);
    if (rc == SY_EUNAUTH)
        return refresh_refused(res, in.cookie);
    if (rc < 0)
        return rc;
    const char *p[2] = {su.tenant_id[0] ? su.tenant_id : NULL, su.user_id};
    PGresult *u;
    rc = sy_db_exec(req->arena, &sy_sql_user_get_live, p, 2, &u);
    if (rc < 0)
        return rc;
    if (PQntuples(u) != 1)
        return refresh_refused(res, in.cookie);
    return send_tokens(req, res, u, &su, in.cookie, in.csrf);
}

/* ----------------------------------------------------- logout, me */

static int
signed_out(sy_req *req, sy_res *res)
{
    if (req->who.via_cookie) {
        int rc = sy_account_clear_cookies(res);
        if (rc < 0)
            return rc;
    }
    res->status = 204;
    return 0;
}

int
sy_route_auth_logout(sy_req *req, sy_res *res)
{
    int rc = sy_session_revoke(req->arena, req->who.sid, "logout");
    if (rc < 0)
        return rc;
    return signed_out(req, res);
}

int
sy_route_auth_logout_all(sy_req *req, sy_res *res)
{
    int rc = sy_session_revoke_user(req->arena, req->who.user_id, "logout_all");
    if (rc < 0)
        return rc;
    return signed_out(req, res);
}

/* The body with a strong ETag of its bytes; 304 on If-None-Match. */
static int
json_with_etag(sy_res *res, json_object *o)
{
    size_t n = 0;
    const char *s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    unsigned char h[SY_SHA256_LEN];
    char etag[35];
    int rc = SY_ENOMEM;
    if (s) {
        sy_sha256(s, n, h);
        etag[0] = '"';
        sy_hex(etag + 1, h, 16);
        etag[33] = '"';
        etag[34] = 0;
        rc = sy_res_etag(res, (sy_str){etag, 34});
    }
    if (rc == 0)
        rc = sy_res_bytes(res, 200, "application/json", s, n);
    json_object_put(o);
    return rc;
}

int
sy_route_auth_me(sy_req *req, sy_res *res)
{
    const sy_principal *w = &req->who;
    const char *p[2] = {sy_account_tenant(w), w->user_id};
    PGresult *r;
    int rc = sy_db_exec(req->arena, &sy_sql_user_get_live, p, 2, &r);
    if (rc < 0)
        return rc;
    if (PQntuples(r) != 1)
        return sy_problem(res, 401, "unauthorized",
                          "This account no longer exists or is "
                          "deactivated.");
    json_object *o = sy_account_json(r, 0);
    if (!o)
        return SY_ENOMEM;
    sy_res_headerc(res, "Cache-Control", "private, no-cache");
    return json_with_etag(res, o);
}
