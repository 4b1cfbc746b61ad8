/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tenancy.c - the rules of tenants and plans (tenancy.h): the checkers
 * the API and the CLI share, the API's JSON forms, and creating, reading
 * and changing tenants.
 */
#include "synthia/tenancy.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/log.h"
#include "synthia/session.h"
#include "synthia/sessions.h"
#include "synthia/text.h"

#define NAME_MAX_CHARS 200
#define WEBSITE_MAX 2048

/* ------------------------------------------------------------ the rules */

int
sy_tenancy_text(sy_str *s, bool trim, size_t minchars, size_t maxchars,
                const char **why)
{
    sy_str t = trim ? sy_text_trim(*s) : *s;
    if (!sy_text_line_ok(t)) {
        *why = "must be valid UTF-8 without control characters";
        return SY_EVALIDATION;
    }
    size_t n = sy_str_utf8_chars(t);
    if (n < minchars || n > maxchars) {
        *why = n < minchars ? "is empty" : "is too long";
        return SY_EVALIDATION;
    }
    *s = t;
    return 0;
}

static bool
lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int
sy_tenancy_check_slug(sy_str s, const char **why)
{
    bool ok = s.len >= 1 && s.len <= 63 && lower_alnum(s.p[0]) &&
              lower_alnum(s.p[s.len - 1]);
    for (size_t i = 0; ok && i < s.len; i++)
        ok = lower_alnum(s.p[i]) || s.p[i] == '-';
    if (!ok)
        *why = "must be 1 to 63 characters of a-z, 0-9 and inner hyphens";
    return ok ? 0 : SY_EVALIDATION;
}

int
sy_tenancy_check_website(sy_str s, const char **why)
{
    bool ok =
        s.len <= WEBSITE_MAX && ((sy_str_starts(s, "http://") && s.len > 7) ||
                                 (sy_str_starts(s, "https://") && s.len > 8));
    for (size_t i = 0; ok && i < s.len; i++)
        ok = s.p[i] > ' ' && s.p[i] < 0x7f; /* char may be signed */
    if (!ok)
        *why = "must be an http:// or https:// URL of printable ASCII "
               "(percent-encode the rest), at most 2048 bytes";
    return ok ? 0 : SY_EVALIDATION;
}

int
sy_tenancy_check_plan(sy_str s, const char **why)
{
    bool ok = s.len >= 1 && s.len <= 32 && s.p[0] >= 'a' && s.p[0] <= 'z';
    for (size_t i = 0; ok && i < s.len; i++)
        ok = lower_alnum(s.p[i]) || s.p[i] == '_';
    if (!ok)
        *why = "names no plan (see GET /api/v1/plans)";
    return ok ? 0 : SY_EVALIDATION;
}

static char
lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* A DNS name of [a-z0-9-] labels (1-63, no outer hyphens), or an IPv4
 * address, which is such a name too. */
static bool
dns_host(sy_str h)
{
    size_t label = 0;
    if (h.len == 0 || h.len > 253)
        return false;
    for (size_t i = 0; i <= h.len; i++) {
        if (i == h.len || h.p[i] == '.') {
            if (label == 0 || label > 63 || h.p[i - 1] == '-' ||
                h.p[i - label] == '-')
                return false;
            label = 0;
        } else if (lower_alnum(h.p[i]) || h.p[i] == '-') {
            label++;
        } else {
            return false;
        }
    }
    return true;
}

static bool
ipv6_host(sy_str h)
{
    if (h.len < 4 || h.p[0] != '[' || h.p[h.len - 1] != ']')
        return false;
    for (size_t i = 1; i + 1 < h.len; i++) {
        char c = h.p[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        if (!hex && c != ':' && c != '.')
            return false;
    }
    return true;
}

/* ":NNNN" after the host: 1-65535, no leading zero; 0 when absent. */
static bool
origin_port(sy_str p, int64_t *port)
{
    *port = 0;
    if (p.len == 0)
        return true;
    if (p.p[0] != ':' || p.len < 2 || p.p[1] == '0')
        return false;
    return sy_parse_i64((sy_str){p.p + 1, p.len - 1}, 1, 65535, port) == 0;
}

int
sy_tenancy_origin(sy_str in, char *out, size_t outlen, const char **why)
{
    char buf[SY_TENANCY_ORIGIN_MAX + 1];
    *why = "must be scheme://host[:port] (http or https, no path, no "
           "trailing slash)";
    if (in.len == 0 || in.len > SY_TENANCY_ORIGIN_MAX)
        return SY_EVALIDATION;
    for (size_t i = 0; i < in.len; i++)
        buf[i] = lower(in.p[i]);
    sy_str s = {buf, in.len};
    bool https = sy_str_starts(s, "https://");
    if (!https && !sy_str_starts(s, "http://"))
        return SY_EVALIDATION;
    size_t skip = https ? 8 : 7;
    sy_str rest = {s.p + skip, s.len - skip};
    /* the port starts at the last ':' outside an [IPv6] literal */
    const char *close = memchr(rest.p, ']', rest.len);
    const char *from = close ? close : rest.p;
    const char *colon = memchr(from, ':', rest.len - (size_t)(from - rest.p));
    sy_str host = {rest.p, colon ? (size_t)(colon - rest.p) : rest.len};
    sy_str port = {host.p + host.len, rest.len - host.len};
    int64_t pn;
    if (!(dns_host(host) || ipv6_host(host)) || !origin_port(port, &pn))
        return SY_EVALIDATION;
    /* browsers leave the scheme's default port out of Origin */
    if ((https && pn == 443) || (!https && pn == 80))
        s.len -= port.len;
    if (s.len >= outlen)
        return SY_EVALIDATION;
    memcpy(out, s.p, s.len);
    out[s.len] = '\0';
    return 0;
}

/* ------------------------------------------------------------ rendering */

static json_object *
str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

/* A JSON array text (to_json of an array) as a json-c value. */
static json_object *
json_array_text(const char *s)
{
    json_object *v = s ? json_tokener_parse(s) : NULL;
    return v ? v : json_object_new_array();
}

json_object *
sy_tenancy_tenant_json(const sy_tenant *t)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", str_or_null(t->id));
    json_object_object_add(o, "name", str_or_null(t->name));
    json_object_object_add(o, "slug", str_or_null(t->slug));
    json_object_object_add(o, "website", str_or_null(t->website));
    json_object_object_add(o, "plan", str_or_null(t->plan));
    json_object_object_add(o, "active", json_object_new_boolean(t->active));
    json_object_object_add(o, "allowed_origins",
                           json_array_text(t->allowed_origins));
    json_object_object_add(o, "created_at", str_or_null(t->created_at));
    json_object_object_add(o, "updated_at", str_or_null(t->updated_at));
    return o;
}

json_object *
sy_tenancy_plan_json(const sy_plan *p)
{
    static const char *const classes[] = {"read", "write", "ai",
                                          "ai_tenant"};
    json_object *o = json_object_new_object();
    json_object *limits = json_object_new_object();
    json_object_object_add(o, "id", str_or_null(p->id));
    json_object_object_add(o, "name", str_or_null(p->name));
    for (int c = 0; c < 4; c++)
        json_object_object_add(limits, classes[c],
                               json_object_new_int64(p->limits[c]));
    json_object_object_add(o, "limits", limits);
    return o;
}

/* ------------------------------------------------------------ bodies */

/* Fold the results of several readers: a hard error wins, then a
 * validation error; absent fields are fine. */
static int
fold(int acc, int rc)
{
    if (acc == SY_ENOTFOUND)
        acc = 0;
    if (rc == SY_ENOTFOUND)
        rc = 0;
    if (acc < 0 && acc != SY_EVALIDATION)
        return acc;
    return rc < 0 ? rc : acc;
}

/* A string field checked by check(); 0, SY_ENOTFOUND, or SY_EVALIDATION
 * (recorded). */
static int
read_str(sy_arena *a, json_object *body, const char *field, bool required,
         int (*check)(sy_str, const char **), sy_errs *e, const char **out)
{
    sy_str s;
    const char *why;
    int rc = sy_json_str(e, body, field, required, 0, 4096, &s);
    if (rc < 0)
        return rc;
    if (check(s, &why) < 0)
        return sy_errs_field(e, field, why);
    *out = sy_str_dup(a, s);
    return *out ? 0 : SY_ENOMEM;
}

static int
check_name(sy_arena *a, sy_str s, sy_errs *e, const char **out)
{
    const char *why;
    if (sy_tenancy_text(&s, true, 1, NAME_MAX_CHARS, &why) < 0)
        return sy_errs_field(e, "name",
                             "must be 1 to 200 characters, not only "
                             "spaces, without control characters");
    *out = sy_str_dup(a, s);
    return *out ? 0 : SY_ENOMEM;
}

static int
read_name(sy_arena *a, json_object *body, bool required, sy_errs *e,
          sy_tenant_change *c)
{
    sy_str s;
    int rc = sy_json_str(e, body, "name", required, 0, 4 * 1024, &s);
    return rc < 0 ? rc : check_name(a, s, e, &c->name);
}

/* website: a URL, or null to clear it. */
static int
read_website(sy_arena *a, json_object *body, sy_errs *e, sy_tenant_change *c)
{
    json_object *v;
    if (!json_object_object_get_ex(body, "website", &v))
        return SY_ENOTFOUND;
    c->set_website = true;
    if (json_object_is_type(v, json_type_null))
        return 0;
    return read_str(a, body, "website", true, sy_tenancy_check_website, e,
                    &c->website);
}

static int
read_active(json_object *body, sy_errs *e, sy_tenant_change *c)
{
    bool b;
    int rc = sy_json_bool(e, body, "active", false, &b);
    if (rc == 0)
        c->active = b ? "true" : "false";
    return rc;
}

/* One origin, normalised into list (a duplicate is kept once). */
static int
add_origin(sy_errs *e, json_object *list, sy_str in, const char *field)
{
    char origin[SY_TENANCY_ORIGIN_MAX + 1];
    const char *why;
    if (sy_tenancy_origin(in, origin, sizeof(origin), &why) < 0)
        return sy_errs_field(e, field, why);
    for (size_t k = 0; k < json_object_array_length(list); k++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(list, k)),
                   origin) == 0)
            return 0;
    json_object_array_add(list, json_object_new_string(origin));
    return 0;
}

/* The normalised list as JSON text into *out, then freed. */
static int
origins_text(sy_arena *a, json_object *list, const char **out)
{
    size_t len;
    const char *text =
        json_object_to_json_string_length(list, JSON_C_TO_STRING_PLAIN, &len);
    *out = text ? sy_arena_strndup(a, text, len) : NULL;
    json_object_put(list);
    return *out ? 0 : SY_ENOMEM;
}

/* allowed_origins: an array of origins, each normalised; every bad entry
 * is reported with its index. */
static int
read_origins(sy_arena *a, json_object *body, sy_errs *e, sy_tenant_change *c)
{
    json_object *v;
    if (!json_object_object_get_ex(body, "allowed_origins", &v))
        return SY_ENOTFOUND;
    if (!json_object_is_type(v, json_type_array))
        return sy_errs_field(e, "allowed_origins",
                             "must be an array of origins");
    size_t n = json_object_array_length(v);
    if (n > SY_TENANCY_ORIGINS_MAX)
        return sy_errs_field(e, "allowed_origins",
                             "may hold at most 100 origins");
    json_object *list = json_object_new_array();
    if (!list)
        return SY_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(v, i);
        char field[40];
        snprintf(field, sizeof(field), "allowed_origins[%zu]", i);
        if (!json_object_is_type(o, json_type_string))
            rc = sy_errs_field(e, field, "must be a string");
        else if (add_origin(e, list,
                            (sy_str){json_object_get_string(o),
                                     (size_t)json_object_get_string_len(o)},
                            field) < 0)
            rc = SY_EVALIDATION;
    }
    if (rc < 0) {
        json_object_put(list);
        return rc;
    }
    return origins_text(a, list, &c->origins);
}

static int
unknown_plan(sy_errs *e)
{
    return sy_errs_field(e, "plan",
                         "names no plan (see GET /api/v1/plans)");
}

static int
not_found(sy_errs *e)
{
    return sy_errs_fail(e, SY_ENOTFOUND, "not_found",
                        "No tenant has this id.");
}

/* ------------------------------------------------------------ creating */

static int
insert(sy_arena *a, const sy_tenant_change *c, const char *slug, sy_errs *e,
       sy_tenant *out)
{
    int rc = sy_tenants_insert(a, c, slug, out);
    if (rc == SY_ECONFLICT)
        return sy_errs_fail(e, rc, "conflict",
                            "A tenant with this slug already exists.");
    if (rc == SY_ENOTFOUND)
        return unknown_plan(e);
    return rc;
}

int
sy_tenancy_create(sy_arena *a, json_object *body, sy_errs *e, sy_tenant *out)
{
    sy_tenant_change c = {0};
    const char *slug = NULL;
    int rc = read_name(a, body, true, e, &c);
    rc = fold(rc, read_str(a, body, "slug", true, sy_tenancy_check_slug, e,
                           &slug));
    rc = fold(rc, read_website(a, body, e, &c));
    rc = fold(rc, read_str(a, body, "plan", true, sy_tenancy_check_plan, e,
                           &c.plan));
    rc = fold(rc, read_origins(a, body, e, &c));
    if (rc < 0)
        return rc;
    return insert(a, &c, slug, e, out);
}

/* A command-line value through a checker: field error named after opt. */
static int
plain(sy_arena *a, const char *field, const char *v,
      int (*check)(sy_str, const char **), sy_errs *e, const char **out)
{
    const char *why;
    if (!v)
        return 0;
    if (check(sy_str_c(v), &why) < 0)
        return sy_errs_field(e, field, why);
    *out = sy_str_dup(a, sy_str_c(v));
    return *out ? 0 : SY_ENOMEM;
}

int
sy_tenancy_create_plain(sy_arena *a, const sy_tenancy_new *t, sy_errs *e,
                        sy_tenant *out)
{
    sy_tenant_change c = {.set_website = t->website != NULL};
    const char *slug = NULL;
    int rc = check_name(a, sy_str_c(t->name), e, &c.name);
    rc = fold(rc, plain(a, "slug", t->slug, sy_tenancy_check_slug, e, &slug));
    rc = fold(rc, plain(a, "plan", t->plan, sy_tenancy_check_plan, e,
                        &c.plan));
    rc = fold(rc, plain(a, "website", t->website, sy_tenancy_check_website,
                        e, &c.website));
    json_object *list = json_object_new_array();
    if (!list)
        return SY_ENOMEM;
    for (int i = 0; i < t->norigins; i++)
        if (add_origin(e, list, sy_str_c(t->origins[i]), "origin") < 0)
            rc = fold(rc, SY_EVALIDATION);
    if (rc < 0) {
        json_object_put(list);
        return rc;
    }
    if (origins_text(a, list, &c.origins) < 0) /* puts the list */
        return SY_ENOMEM;
    return insert(a, &c, slug, e, out);
}

/* ------------------------------------------------------------ reading */

int
sy_tenancy_get(sy_arena *a, const char *id, sy_errs *e, sy_tenant *out)
{
    if (!sy_text_uuid(id))
        return not_found(e);
    int rc = sy_tenants_get(a, id, out);
    return rc == SY_ENOTFOUND ? not_found(e) : rc;
}

int
sy_tenancy_by_slug(sy_arena *a, const char *slug, sy_errs *e, sy_tenant *out)
{
    int rc = sy_tenants_by_slug(a, slug, out);
    if (rc == SY_ENOTFOUND)
        return sy_errs_fail(e, rc, "not_found", "No tenant has this slug.");
    return rc;
}

/* ------------------------------------------------------------ changing */

/* Deactivated: end every live session of the tenant's users, so their
 * access tokens stop now rather than at expiry. */
static int
end_sessions(sy_arena *a, const char *tid)
{
    sy_db_list l;
    int rc = sy_sessions_live_of_tenant(a, tid, &l);
    for (int i = 0; rc == 0 && i < l.n; i++)
        rc = sy_session_revoke(a, l.v[i], "deactivated");
    return rc;
}

/* After a committed change: keys pick it up at once, and a deactivated
 * tenant's users are signed out.  The database is the truth: when Redis
 * cannot be told, every lookup goes to PostgreSQL anyway, so a cache
 * failure is logged, not returned.  A session that could not be ended is
 * a 503 the client may safely retry (the PATCH is idempotent). */
static int
propagate(sy_arena *a, const char *tid, const sy_tenant_change *c)
{
    if (c->plan || c->active || c->origins) {
        int rc = sy_apikey_forget_tenant(a, tid);
        if (rc < 0)
            sy_log(SY_LOG_WARN, "apikey_forget_failed",
                   "tenant %s changed; its cached key lookups were not "
                   "dropped: %s",
                   tid, sy_strerror(rc));
    }
    if (c->active && strcmp(c->active, "false") == 0)
        return end_sessions(a, tid);
    return 0;
}

static bool
has_field(json_object *body, const char *field)
{
    return json_object_object_get_ex(body, field, NULL);
}

static int
read_change(sy_arena *a, json_object *body, bool platform, sy_errs *e,
            sy_tenant_change *c)
{
    static const char only_sysadmin[] =
        "only a sysadmin may change this (PATCH /api/v1/tenants/{id})";
    int rc = 0;
    if (!platform && has_field(body, "plan"))
        rc = sy_errs_field(e, "plan", only_sysadmin);
    if (!platform && has_field(body, "active"))
        rc = sy_errs_field(e, "active", only_sysadmin);
    rc = fold(rc, read_name(a, body, false, e, c));
    rc = fold(rc, read_website(a, body, e, c));
    if (platform) {
        rc = fold(rc, read_str(a, body, "plan", false, sy_tenancy_check_plan,
                               e, &c->plan));
        rc = fold(rc, read_active(body, e, c));
    }
    return fold(rc, read_origins(a, body, e, c));
}

int
sy_tenancy_update(sy_arena *a, const char *id, json_object *body,
                  bool platform_fields, sy_errs *e, sy_tenant *out)
{
    sy_tenant_change c = {0};
    if (!sy_text_uuid(id))
        return not_found(e);
    int rc = read_change(a, body, platform_fields, e, &c);
    if (rc < 0)
        return rc;
    if (c.plan) {
        bool exists = false;
        if ((rc = sy_plans_exists(a, c.plan, &exists)) < 0)
            return rc;
        if (!exists)
            return unknown_plan(e);
    }
    rc = sy_tenants_update(a, id, &c, out);
    if (rc == SY_ENOTFOUND)
        return not_found(e);
    if (rc < 0)
        return rc;
    return propagate(a, id, &c);
}
