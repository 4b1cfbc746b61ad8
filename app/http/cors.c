/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cors.c - CORS for /api/: preflight answers and the headers of actual
 * responses (cors.h).
 *
 * A preflight carries no credentials, so the tenant is unknown: it is
 * allowed when its Origin is in cors.origins or in the allowed origins
 * of any active tenant (asked of PostgreSQL, remembered per responder for
 * 30 s).  That only lets the browser send the real request, which is then
 * checked strictly: an API key's own tenant origins (authn.c refuses a
 * key from any other origin, and this file adds CORS headers only for
 * its tenant's origins), or cors.origins for tokens, cookies and
 * anonymous calls.  Credentials are allowed only for cors.origins, whose
 * clients may use cookies; the origin is always echoed, never "*".
 * Every API response says Vary: Origin, since its headers depend on it.
 */
#include "synthia/cors.h"

#include <stdio.h>
#include <string.h>

#include "synthia/clock.h"
#include "synthia/config.h"
#include "synthia/db.h"
#include "synthia/tenants.h"
#include "synthia/error.h"
#include "synthia/memcache.h"

#define ORIGIN_MAX 255
#define CACHE_FOR_MS 30000

static const char allow_headers[] =
    "Authorization, Content-Type, X-API-Key, X-CSRF-Token, X-Request-Id, "
    "Idempotency-Key, If-None-Match, Cache-Control";
static const char expose_headers[] =
    "X-Request-Id, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, "
    "RateLimit-Policy, RateLimit, RateLimit-Degraded, Retry-After, ETag, "
    "Location, Idempotent-Replayed, X-Cache";

/* ----------------------------------------------------------- matching */

static bool
ieq(const char *a, sy_str b)
{
    for (size_t i = 0; i < b.len; i++) {
        char x = a[i], y = b.p[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (char)(y + 32);
        if (x != y || x == '\0')
            return false;
    }
    return true;
}

static bool
separator(char c)
{
    return c == ' ' || c == ',' || c == '\t';
}

bool
sy_cors_origin_listed(const char *list, sy_str origin)
{
    /* "null" (sandboxed frames, file:) names no one in particular. */
    if (!list || origin.len == 0 || sy_str_eqc(origin, "null"))
        return false;
    const char *s = list;
    while (*s) {
        while (separator(*s))
            s++;
        size_t n = 0;
        while (s[n] && !separator(s[n]))
            n++;
        if (n == origin.len && ieq(s, origin))
            return true;
        s += n;
    }
    return false;
}

static bool
config_listed(sy_str origin)
{
    return sy_conf && sy_cors_origin_listed(sy_conf->cors_origins, origin);
}

/* ------------------------------------------ tenant origins, remembered */

static sy_memcache origins = SY_MEMCACHE("cors_origins", 256, 256 * 300,
                                          CACHE_FOR_MS);
SY_MEMCACHE_REGISTER(origins)

/* Printable ASCII without spaces: what an Origin can be (a tenant's
 * origins are normalised to that, tenancy.h).  Anything else is never
 * allowed, and never reaches PostgreSQL. */
static bool
origin_text(sy_str o)
{
    if (o.len == 0 || o.len > ORIGIN_MAX)
        return false;
    for (size_t i = 0; i < o.len; i++)
        if (o.p[i] <= ' ' || o.p[i] >= 0x7f)
            return false;
    return true;
}

/* Does any active tenant allow this origin?  No when PostgreSQL cannot
 * say (and that answer is not remembered). */
static bool
tenant_listed(sy_arena *a, sy_str origin)
{
    char key[ORIGIN_MAX + 1];
    bool allowed = false;
    if (!origin_text(origin))
        return false;
    for (size_t i = 0; i < origin.len; i++) /* compared case-insensitively */
        key[i] = origin.p[i] >= 'A' && origin.p[i] <= 'Z'
                     ? (char)(origin.p[i] + 32)
                     : origin.p[i];
    key[origin.len] = '\0';
    const bool *hit = sy_memcache_get(&origins, key, origin.len, NULL);
    if (hit)
        return *hit;
    if (sy_tenants_origin_allowed(a, key, &allowed) < 0)
        return false;
    sy_memcache_put(&origins, key, origin.len, &allowed, sizeof(allowed));
    return allowed;
}

/* ------------------------------------------------------------ answers */

bool
sy_cors_is_preflight(const sy_req *req)
{
    return sy_str_eqc(req->method, "OPTIONS") &&
           sy_req_header(req, "Origin").p != NULL &&
           sy_req_header(req, "Access-Control-Request-Method").p != NULL;
}

static void
allow_origin(sy_res *res, sy_str origin, bool credentials)
{
    sy_res_header(res, "Access-Control-Allow-Origin", origin);
    if (credentials)
        sy_res_headerc(res, "Access-Control-Allow-Credentials", "true");
}

int
sy_cors_preflight(sy_req *req, sy_res *res, const char *allow)
{
    sy_str origin = sy_req_header(req, "Origin");
    bool cookies = config_listed(origin);
    res->status = 204;
    sy_res_headerc(res, "Vary", "Origin");
    if (!cookies && !tenant_listed(req->arena, origin))
        return 0;
    char age[24];
    int64_t max_age = sy_conf ? sy_conf->cors_max_age_ms / 1000 : 600;
    int n = snprintf(age, sizeof(age), "%lld", (long long)max_age);
    allow_origin(res, origin, cookies);
    sy_res_header(res, "Access-Control-Allow-Methods", sy_str_c(allow));
    sy_res_headerc(res, "Access-Control-Allow-Headers", allow_headers);
    sy_res_header(res, "Access-Control-Max-Age", (sy_str){age, (size_t)n});
    return 0;
}

void
sy_cors_headers(const sy_req *req, sy_res *res)
{
    sy_str origin = sy_req_header(req, "Origin");
    sy_res_headerc(res, "Vary", "Origin");
    if (!origin.p)
        return;
    bool key = req->who.kind == SY_WHO_KEY;
    if (key ? !sy_cors_origin_listed(req->who.origins, origin)
            : !config_listed(origin))
        return;
    allow_origin(res, origin, !key);
    sy_res_headerc(res, "Access-Control-Expose-Headers", expose_headers);
}
