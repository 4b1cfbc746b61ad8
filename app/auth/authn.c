/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * authn.c - authentication (which credential, whose) and authorisation
 * (may this principal call this route), from the route table's columns
 * only.  Handlers never check roles themselves.
 *
 * A credential that fails is an error only where the route uses it: a
 * stale cookie must not stop someone from logging in again, and a probe
 * with an expired token on a public route is still just a probe.
 */
#include "synthia/authn.h"

#include <string.h>

#include "synthia/apikey.h"
#include "synthia/config.h"
#include "synthia/cookies.h"
#include "synthia/cors.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/jwt.h"
#include "synthia/problem.h"
#include "synthia/router.h"
#include "synthia/session.h"

/* Does this route look at credentials of this kind at all? */
static bool
uses_keys(const sy_route *r)
{
    return r->auth != SY_AUTH_PUBLIC || (r->flags & SY_ROUTE_KEY_OPTIONAL);
}

static bool
uses_tokens(const sy_route *r)
{
    return r->auth != SY_AUTH_PUBLIC;
}

/* A failed credential on a route that only tolerates it is ignored. */
static bool
strict(const sy_route *r)
{
    return r->auth != SY_AUTH_PUBLIC && r->auth != SY_AUTH_TRUSTED;
}

static int
store_down(sy_res *res)
{
    return sy_problem(res, 503, "storage_unavailable",
                      "Credentials cannot be checked right now; retry "
                      "shortly.");
}

static int
authenticate_key(sy_req *req, sy_res *res, sy_str key)
{
    int rc = sy_apikey_resolve(req->arena, key, &req->who);
    if (rc == 0)
        return 0;
    memset(&req->who, 0, sizeof(req->who));
    if (rc == SY_EDB || rc == SY_EREDIS)
        return store_down(res);
    if (!strict(req->route) && !(req->route->flags & SY_ROUTE_KEY_OPTIONAL))
        return 0;
    return sy_problem(res, 401, "unauthorized",
                      "The API key is not valid.");
}

static void
fill_user(sy_principal *w, const sy_claims *c, bool cookie)
{
    w->kind = SY_WHO_USER;
    memcpy(w->tenant_id, c->tid, sizeof(w->tenant_id));
    memcpy(w->user_id, c->sub, sizeof(w->user_id));
    memcpy(w->sid, c->sid, sizeof(w->sid));
    memcpy(w->jti, c->jti, sizeof(w->jti));
    w->role = c->role;
    w->exp = c->exp;
    w->via_cookie = cookie;
}

static int
authenticate_token(sy_req *req, sy_res *res, sy_str token, bool cookie)
{
    sy_claims c;
    int rc = sy_jwt_verify(req->arena, token, &c);
    if (rc == 0)
        rc = sy_session_check(req->arena, c.sid);
    if (rc == 0) {
        fill_user(&req->who, &c, cookie);
        return 0;
    }
    if (rc == SY_EDB)
        return store_down(res);
    if (!strict(req->route))
        return 0;
    return sy_problem(res, 401, "unauthorized",
                      "The access token is not valid, has expired, or its "
                      "session has ended.");
}

int
sy_authn_authenticate(sy_req *req, sy_res *res)
{
    const sy_route *r = req->route;
    sy_str key = sy_req_header(req, "X-API-Key");
    if (key.p && uses_keys(r))
        return authenticate_key(req, res, key);
    if (!uses_tokens(r))
        return 0;
    sy_str authz = sy_req_header(req, "Authorization");
    if (authz.len > 7 && sy_str_ieqc((sy_str){authz.p, 7}, "Bearer "))
        return authenticate_token(req, res,
                                  (sy_str){authz.p + 7, authz.len - 7},
                                  false);
    sy_str cookie = sy_req_cookie(req, "sy_access");
    if (cookie.len)
        return authenticate_token(req, res, cookie, true);
    return 0;
}

/* ------------------------------------------------------- authorisation */

static int
min_role(int level)
{
    switch (level) {
    case SY_AUTH_STAFF: return SY_ROLE_STAFF;
    case SY_AUTH_OWNER: return SY_ROLE_OWNER;
    case SY_AUTH_SYSADMIN: return SY_ROLE_SYSADMIN;
    default: return SY_ROLE_SHOPPER;
    }
}

/* Keys: scope, and the tenant's origins for browser requests. */
static int
authorize_key(sy_req *req, sy_res *res)
{
    const sy_principal *w = &req->who;
    uint32_t need = req->route->scope;
    if (!need || !(w->scopes & need))
        return sy_problem(res, 403, "forbidden",
                          "This API key may not use this resource.");
    sy_str origin = sy_req_header(req, "Origin");
    if (origin.p && !sy_cors_origin_listed(w->origins, origin))
        return sy_problem(res, 403, "forbidden",
                          "This API key is not allowed from this origin.");
    return 0;
}

static bool
safe_method(sy_str m)
{
    return sy_str_eqc(m, "GET") || sy_str_eqc(m, "HEAD") ||
           sy_str_eqc(m, "OPTIONS");
}

/* Cookie clients must echo their session's CSRF token in X-CSRF-Token
 * on unsafe methods (cookies.h). */
static int
check_csrf(sy_req *req, sy_res *res)
{
    if (!req->who.via_cookie || safe_method(req->method))
        return 0;
    return sy_cookies_check_csrf(req, res, req->who.sid);
}

static int
authorize_user(sy_req *req, sy_res *res, int level)
{
    const sy_principal *w = &req->who;
    if (w->role != SY_ROLE_SYSADMIN && w->role < min_role(level))
        return sy_problem(res, 403, "forbidden",
                          "Your role may not use this resource.");
    return check_csrf(req, res);
}

static bool
trusted_peer(const sy_req *req)
{
    return sy_conf && sy_config_trusted(sy_conf, req->client_addr.p,
                                        req->client_addr.len);
}

int
sy_authn_authorize(sy_req *req, sy_res *res)
{
    const sy_route *r = req->route;
    int kind = req->who.kind;
    switch (r->auth) {
    case SY_AUTH_PUBLIC:
        return kind == SY_WHO_KEY ? authorize_key(req, res) : 0;
    case SY_AUTH_TRUSTED:
        if (trusted_peer(req) ||
            (kind == SY_WHO_USER && req->who.role == SY_ROLE_SYSADMIN))
            return 0;
        if (kind == SY_WHO_KEY && r->scope)
            return authorize_key(req, res);
        return sy_problem(res, 403, "forbidden",
                          "Only trusted networks or sysadmins may read this "
                          "resource.");
    case SY_AUTH_KEY:
        if (kind != SY_WHO_KEY)
            return sy_problem(res, 401, "unauthorized",
                              "This resource needs an API key (X-API-Key).");
        return authorize_key(req, res);
    default:
        break;
    }
    if (kind == SY_WHO_KEY) {
        if (r->auth == SY_AUTH_KEY_OR_USER || r->scope)
            return authorize_key(req, res);
        return sy_problem(res, 403, "forbidden",
                          "API keys may not use this resource; sign in.");
    }
    if (kind != SY_WHO_USER)
        return sy_problem(res, 401, "unauthorized",
                          "This resource needs credentials.");
    return authorize_user(req, res, r->auth);
}

int
sy_authn_tenant(sy_req *req, sy_res *res, const char **tid)
{
    if (req->who.tenant_id[0]) {
        *tid = req->who.tenant_id;
        return 0;
    }
    sy_str q;
    if (sy_req_query(req, "tenant_id", &q) == 0 &&
        sy_uuid_valid(q.p, q.len)) {
        *tid = q.p; /* decoded into the arena, NUL-terminated */
        return 0;
    }
    sy_problem_field(res, "tenant_id",
                     "sysadmins must name the tenant (?tenant_id=<uuid>)");
    return SY_EVALIDATION;
}
