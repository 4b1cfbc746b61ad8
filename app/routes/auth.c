/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * auth.c - sign-up, login, token refresh, logout and "who am I" (API.md
 * "Identity" and "Authentication and roles"), and the auth cookies.
 *
 * The rules are the domain's (accounts.h); here are the HTTP sides of
 * them: where a credential comes from and how tokens go out.  Tokens go
 * out in the body, or in cookie mode as three
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
#include <json-c/json.h>
#include <string.h>

#include "synthia/accounts.h"
#include "synthia/config.h"
#include "synthia/cookies.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/problem.h"
#include "synthia/routes.h"
#include "synthia/session.h"

#define DEFAULT_MAX_BODY (1024 * 1024)

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

/* 200 with a signed-in session: tokens in the body, or in cookie mode as
 * cookies (and the CSRF token, derived from the session, in the body). */
static int
send_tokens(sy_res *res, const sy_signin *si, bool cookie)
{
    char csrf[SY_SESSION_CSRF_LEN + 1];
    json_object *o = json_object_new_object();
    if (!o)
        return SY_ENOMEM;
    int rc = 0;
    if (cookie) {
        rc = sy_session_csrf(si->session.sid, csrf);
        if (rc == 0)
            rc = sy_cookies_set_auth(res, si->access_token, si->expires_in,
                                     si->session.refresh, csrf);
        add(o, "csrf_token", json_object_new_string(rc == 0 ? csrf : ""));
    } else {
        add(o, "access_token", json_object_new_string(si->access_token));
        add(o, "token_type", json_object_new_string("Bearer"));
        add(o, "refresh_token", json_object_new_string(si->session.refresh));
    }
    add(o, "expires_in", json_object_new_int64(si->expires_in));
    add(o, "user", sy_accounts_json(&si->user));
    if (rc < 0) {
        json_object_put(o);
        return rc;
    }
    no_store(res);
    return sy_res_json(res, 200, o);
}

int
sy_route_auth_register(sy_req *req, sy_res *res)
{
    sy_user u;
    int rc = sy_accounts_create(req->arena, req->who.tenant_id, req->json,
                                SY_ROLE_SHOPPER, &res->errs, &u);
    if (rc < 0)
        return rc;
    sy_res_headerc(res, "Cache-Control", "no-store");
    return sy_res_json(res, 201, sy_accounts_json(&u));
}

int
sy_route_auth_login(sy_req *req, sy_res *res)
{
    sy_signin si;
    const char *key_tenant =
        req->who.kind == SY_WHO_KEY ? req->who.tenant_id : NULL;
    int rc = sy_accounts_login(req->arena, req->json, key_tenant,
                               req->client_addr, &res->errs, &si);
    if (rc < 0)
        return rc;
    return send_tokens(res, &si, si.cookie);
}

/* ------------------------------------------------------------ refresh */

typedef struct refresh_input {
    sy_str token;
    bool cookie; /* presented as the sy_refresh cookie */
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
    return sy_json_parse(req->arena, body, &res->errs, out);
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
    return sy_json_str(&res->errs, req->json, "refresh_token", false, 1, 512,
                       out);
}

static int
refresh_refused(sy_res *res, bool cookie)
{
    if (cookie)
        sy_cookies_clear_auth(res);
    return sy_problem(res, 401, "unauthorized",
                      "The refresh token is not valid, has expired, or has "
                      "been revoked.");
}

/* The token from the body, else the cookie; a cookie client must send
 * the CSRF token of the token's session before it is used. */
static int
read_refresh(sy_req *req, sy_res *res, refresh_input *in)
{
    char sid[SY_UUID_LEN + 1];
    memset(in, 0, sizeof(*in));
    int rc = body_token(req, res, &in->token);
    if (rc != SY_ENOTFOUND)
        return rc;
    in->token = sy_req_cookie(req, "sy_refresh");
    if (in->token.len == 0)
        return sy_problem(res, 401, "unauthorized",
                          "No refresh token was presented.");
    in->cookie = true;
    rc = sy_session_of_refresh(req->arena, in->token, sid);
    if (rc == SY_EUNAUTH)
        return refresh_refused(res, true);
    if (rc < 0)
        return rc;
    return sy_cookies_check_csrf(req, res, sid);
}

int
sy_route_auth_refresh(sy_req *req, sy_res *res)
{
    refresh_input in;
    sy_signin si;
    int rc = read_refresh(req, res, &in);
    if (rc < 0)
        return rc;
    rc = sy_accounts_refresh(req->arena, in.token, &res->errs, &si);
    if (rc == SY_EUNAUTH)
        return refresh_refused(res, in.cookie);
    if (rc < 0)
        return rc;
    return send_tokens(res, &si, in.cookie);
}

/* ----------------------------------------------------- logout, me */

static int
signed_out(sy_req *req, sy_res *res)
{
    if (req->who.via_cookie) {
        int rc = sy_cookies_clear_auth(res);
        if (rc < 0)
            return rc;
    }
    res->status = 204;
    return 0;
}

int
sy_route_auth_logout(sy_req *req, sy_res *res)
{
    int rc = sy_accounts_logout(req->arena, &req->who, false);
    return rc < 0 ? rc : signed_out(req, res);
}

int
sy_route_auth_logout_all(sy_req *req, sy_res *res)
{
    int rc = sy_accounts_logout(req->arena, &req->who, true);
    return rc < 0 ? rc : signed_out(req, res);
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
    sy_user u;
    int rc = sy_accounts_me(req->arena, &req->who, &res->errs, &u);
    if (rc < 0)
        return rc;
    json_object *o = sy_accounts_json(&u);
    if (!o)
        return SY_ENOMEM;
    sy_res_headerc(res, "Cache-Control", "private, no-cache");
    return json_with_etag(res, o);
}
