/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cookies.h - the auth cookies of cookie mode and their CSRF check
 * (app/http/cookies.c).
 *
 * sy_access (the JWT; HttpOnly, SameSite=Lax, Path=/), sy_refresh
 * (HttpOnly, SameSite=Strict, Path=/api/v1/auth) and sy_csrf (readable
 * by script), all Secure unless auth.cookie_secure is off.  The CSRF
 * token is derived from the session (session.h), so a cookie-
 * authenticated unsafe request must send X-CSRF-Token equal to its
 * session's token: a value another site plants in sy_csrf proves
 * nothing.
 */
#ifndef SYNTHIA_COOKIES_H
#define SYNTHIA_COOKIES_H

#include <stdint.h>

#include "synthia/request.h"
#include "synthia/response.h"

/* Set the three cookies: the access token for access_s seconds, the
 * refresh token and the CSRF token for auth.refresh_ttl. */
int sy_cookies_set_auth(sy_res *res, const char *jwt, int64_t access_s,
                        const char *refresh, const char *csrf);

/* Expire the three cookies. */
int sy_cookies_clear_auth(sy_res *res);

/* Does X-CSRF-Token carry session sid's CSRF token?  0, or a 403
 * problem in res. */
int sy_cookies_check_csrf(const sy_req *req, sy_res *res, const char *sid);

#endif
