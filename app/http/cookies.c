/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cookies.c - the auth cookies and their CSRF check (cookies.h).
 */
#include "synthia/cookies.h"

#include <string.h>

#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/problem.h"
#include "synthia/session.h"

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

static int64_t
refresh_ttl_s(void)
{
    return sy_conf ? sy_conf->refresh_ttl_ms / 1000 : 30 * 86400;
}

int
sy_cookies_set_auth(sy_res *res, const char *jwt, int64_t access_s,
                    const char *refresh, const char *csrf)
{
    int rc = set_cookie(res, COOKIE_ACCESS, jwt, access_s);
    if (rc == 0)
        rc = set_cookie(res, COOKIE_REFRESH, refresh, refresh_ttl_s());
    if (rc == 0)
        rc = set_cookie(res, COOKIE_CSRF, csrf, refresh_ttl_s());
    return rc;
}

int
sy_cookies_clear_auth(sy_res *res)
{
    int rc = 0;
    for (int i = COOKIE_ACCESS; rc == 0 && i <= COOKIE_CSRF; i++)
        rc = set_cookie(res, i, "", 0);
    return rc;
}

int
sy_cookies_check_csrf(const sy_req *req, sy_res *res, const char *sid)
{
    char want[SY_SESSION_CSRF_LEN + 1];
    sy_str got = sy_req_header(req, "X-CSRF-Token");
    if (sid && sy_session_csrf(sid, want) == 0 &&
        got.len == SY_SESSION_CSRF_LEN &&
        sy_ct_eq(want, got.p, SY_SESSION_CSRF_LEN))
        return 0;
    return sy_problem(res, 403, "forbidden",
                      "Cookie-authenticated requests must send the sy_csrf "
                      "cookie's value in X-CSRF-Token.");
}
