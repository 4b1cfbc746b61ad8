/*
 * tenants.c - plans and tenants (API.md "Tenants, plans, keys"):
 * GET /plans, the sysadmin's POST/GET /tenants and GET/PATCH
 * /tenants/{id}, and a tenant's own GET/PATCH /tenant; plus the tenant
 * rules of tenancy.h that `synthia admin` shares.
 *
 * A change of plan, active flag or origins must reach every responder at
 * once: the API-key lookups of the tenant are dropped from the cache in
 * the same request (sy_apikey_forget_tenant), and deactivation also ends
 * every session of the tenant's users, so tokens stop with the keys.
 * GET /tenant by API key is answered from a per-responder cache for up
 * to a second (see "key cache" below).  Who may call what is the route
 * table's business, never checked here.
 */
#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/apikey.h"
#include "synthia/authn.h"
#include "synthia/clock.h"
#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/log.h"
#include "synthia/problem.h"
#include "synthia/routes.h"
#include "synthia/session.h"
#include "synthia/tenancy.h"

#define NAME_MAX_CHARS 200
#define WEBSITE_MAX 2048
#define ETAG_SIZE 35 /* "\"" + 32 hex + "\"" + NUL */

/* ------------------------------------------------------------ the rules */

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
sy_tenancy_text(sy_str *s, bool trim, size_t minchars, size_t maxchars,
                const char **why)
{
    sy_str t = *s;
    while (trim && t.len && is_space(t.p[0])) {
        t.p++;
        t.len--;
    }
    while (trim && t.len && is_space(t.p[t.len - 1]))
        t.len--;
    size_t n = sy_str_utf8_chars(t);
    for (size_t i = 0; i < t.len; i++) {
        if ((unsigned char)t.p[i] < ' ' || t.p[i] == 0x7f) {
            *why = "must not contain control characters";
            return SY_EVALIDATION;
        }
    }
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
        *why = "is not a known plan (see GET /api/v1/plans)";
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

static const char *
col(const PGresult *r, int row, const char *name)
{
    int c = PQfnumber(r, name);
    if (c < 0 || PQgetisnull(r, row, c))
        return NULL;
    return PQgetvalue(r, row, c);
}

static json_object *
str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

/* A json column (to_json of an array) as a json-c value. */
static json_object *
json_col(const PGresult *r, int row, const char *name)
{
    const char *s = col(r, row, name);
    json_object *v = s ? json_tokener_parse(s) : NULL;
    return v ? v : json_object_new_array();
}

json_object *
sy_tenancy_tenant_json(const PGresult *r, int row)
{
    json_object *o = json_object_new_object();
    const char *active = col(r, row, "active");
    json_object_object_add(o, "id", str_or_null(col(r, row, "id")));
    json_object_object_add(o, "name", str_or_null(col(r, row, "name")));
    json_object_object_add(o, "slug", str_or_null(col(r, row, "slug")));
    json_object_object_add(o, "website", str_or_null(col(r, row, "website")));
    json_object_object_add(o, "plan", str_or_null(col(r, row, "plan")));
    json_object_object_add(o, "active",
                           json_object_new_boolean(active && active[0] == 't'));
    json_object_object_add(o, "allowed_origins",
                           json_col(r, row, "allowed_origins"));
    json_object_object_add(o, "created_at",
                           str_or_null(col(r, row, "created_at")));
    json_object_object_add(o, "updated_at",
                           str_or_null(col(r, row, "updated_at")));
    return o;
}

/* ------------------------------------------------------------ bodies */

/* What a tenant body asks for; NULL: not given.  Strings are arena
 * copies, NUL-terminated. */
typedef struct tenant_input {
    const char *name;
    const char *slug;
    bool set_website;
    const char *website; /* NULL with set_website: clear it */
    const char *plan;
    const char *active;  /* "true" / "false" */
    const char *origins; /* JSON array text */
} tenant_input;

static bool
has_field(json_object *body, const char *field)
{
    return json_object_object_get_ex(body, field, NULL);
}

/* A string field checked by check(); 0, SY_ENOTFOUND, or SY_EVALIDATION
 * (recorded). */
static int
read_str(sy_req *req, sy_res *res, const char *field, bool required,
         int (*check)(sy_str, const char **), const char **out)
{
    sy_str s;
    const char *why;
    int rc = sy_json_str(res, req->json, field, required, 0, 4096, &s);
    if (rc < 0)
        return rc;
    if (check(s, &why) < 0)
        return sy_problem_field(res, field, why);
    *out = sy_str_dup(req->arena, s);
    return *out ? 0 : SY_ENOMEM;
}

static int
read_name(sy_req *req, sy_res *res, bool required, tenant_input *in)
{
    sy_str s;
    const char *why;
    int rc = sy_json_str(res, req->json, "name", required, 0, 4 * 1024, &s);
    if (rc < 0)
        return rc;
    if (sy_tenancy_text(&s, true, 1, NAME_MAX_CHARS, &why) < 0)
        return sy_problem_field(res, "name",
                                "must be 1 to 200 characters, not only "
                                "spaces, without control characters");
    in->name = sy_str_dup(req->arena, s);
    return in->name ? 0 : SY_ENOMEM;
}

/* website: a URL, or null to clear it (PATCH). */
static int
read_website(sy_req *req, sy_res *res, tenant_input *in)
{
    json_object *v;
    if (!json_object_object_get_ex(req->json, "website", &v))
        return SY_ENOTFOUND;
    in->set_website = true;
    if (json_object_is_type(v, json_type_null))
        return 0;
    return read_str(req, res, "website", true, sy_tenancy_check_website,
                    &in->website);
}

static int
read_active(sy_req *req, sy_res *res, tenant_input *in)
{
    bool b;
    int rc = sy_json_bool(res, req->json, "active", false, &b);
    if (rc == 0)
        in->active = b ? "true" : "false";
    return rc;
}

static int
add_origin(sy_res *res, json_object *list, json_object *v, size_t i)
{
    char field[40], origin[SY_TENANCY_ORIGIN_MAX + 1];
    const char *why = "must be a string";
    snprintf(field, sizeof(field), "allowed_origins[%zu]", i);
    if (!json_object_is_type(v, json_type_string) ||
        sy_tenancy_origin((sy_str){json_object_get_string(v),
                                   (size_t)json_object_get_string_len(v)},
                          origin, sizeof(origin), &why) < 0)
        return sy_problem_field(res, field, why);
    for (size_t k = 0; k < json_object_array_length(list); k++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(list, k)),
                   origin) == 0)
            return 0; /* listed twice: keep one */
    json_object_array_add(list, json_object_new_string(origin));
    return 0;
}

/* allowed_origins: an array of origins, each normalised (tenancy.h);
 * every bad entry is reported with its index. */
static int
read_origins(sy_req *req, sy_res *res, tenant_input *in)
{
    json_object *v;
    if (!json_object_object_get_ex(req->json, "allowed_origins", &v))
        return SY_ENOTFOUND;
    if (!json_object_is_type(v, json_type_array))
        return sy_problem_field(res, "allowed_origins",
                                "must be an array of origins");
    size_t n = json_object_array_length(v);
    if (n > SY_TENANCY_ORIGINS_MAX)
        return sy_problem_field(res, "allowed_origins",
                                "may hold at most 100 origins");
    json_object *list = json_object_new_array();
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        if (add_origin(res, list, json_object_array_get_idx(v, i), i) < 0)
            rc = SY_EVALIDATION;
    if (rc == 0) {
        size_t len;
        const char *text = json_object_to_json_string_length(
            list, JSON_C_TO_STRING_PLAIN, &len);
        in->origins = sy_arena_strndup(req->arena, text, len);
    }
    json_object_put(list);
    if (rc == 0 && !in->origins)
        rc = SY_ENOMEM;
    return rc;
}

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

/* ------------------------------------------------------------ helpers */

static int
tenant_not_found(sy_res *res)
{
    return sy_problem(res, 404, "not_found", "No tenant has this id.");
}

/* The ETag of a tenant row: its id and updated_at (which the database
 * moves on every change). */
static void
tenant_etag(const PGresult *r, char tag[ETAG_SIZE])
{
    unsigned char d[SY_SHA256_LEN];
    char raw[128], hex[2 * SY_SHA256_LEN + 1];
    int n = snprintf(raw, sizeof(raw), "%s|%s", col(r, 0, "id"),
                     col(r, 0, "updated_at"));
    sy_sha256(raw, n > 0 ? (size_t)n : 0, d);
    sy_hex(hex, d, sizeof(d));
    snprintf(tag, ETAG_SIZE, "\"%.32s\"", hex);
}

/* status with the tenant; a 200 carries its ETag and honours
 * If-None-Match.  etag (ETAG_SIZE, may be NULL) receives the tag. */
static int
respond_tenant(sy_req *req, sy_res *res, int status, const PGresult *r,
               char *etag)
{
    if (status == 200) {
        char tag[ETAG_SIZE];
        tenant_etag(r, tag);
        if (etag)
            memcpy(etag, tag, sizeof(tag));
        int rc = sy_res_etag(res, sy_str_c(tag));
        if (rc < 0)
            return rc;
    }
    return sy_res_json(res, status, sy_tenancy_tenant_json(r, 0));
}

/* ------------------------------------------------------------ key cache */

/* GET /tenant by API key (servers reading their tenant, the benchmark's
 * keyed route) is answered from a per-responder cache for up to
 * TCACHE_TTL_US, sparing PostgreSQL a query per request.  An entry
 * serves only a principal with the plan and origins it was made for:
 * those come from the key lookup, which every change of plan, origins or
 * activation invalidates at once (apikey.h), so they are never stale.
 * Name and website may be, for at most TCACHE_TTL_US and only on
 * responders other than the one that took the PATCH (DESIGN.md allows
 * caches stale "for a stated, short time").  Users always read
 * PostgreSQL, so a dashboard sees its own changes at once. */
#define TCACHE_SLOTS 64
#define TCACHE_TTL_US 1000000
#define TCACHE_MAX_BODY 16384

typedef struct tcache_entry {
    char tenant_id[SY_UUID_LEN + 1];
    unsigned char made_for[SY_SHA256_LEN]; /* plan and origins */
    int64_t at_us;
    char etag[ETAG_SIZE];
    char *body; /* heap */
    size_t len;
} tcache_entry;

static tcache_entry tcache[TCACHE_SLOTS];

static tcache_entry *
tcache_slot(const char *tid)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = tid; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return &tcache[h % TCACHE_SLOTS];
}

static void
made_for(const sy_principal *w, unsigned char out[SY_SHA256_LEN])
{
    /* "plan\norigins": bytes past the plan's NUL are not ours to hash */
    char buf[sizeof(w->plan) + 1 + SY_SHA256_LEN];
    size_t n = strnlen(w->plan, sizeof(w->plan));
    const char *origins = w->origins ? w->origins : "";
    memcpy(buf, w->plan, n);
    buf[n++] = '\n';
    sy_sha256(origins, strlen(origins), (unsigned char *)buf + n);
    sy_sha256(buf, n + SY_SHA256_LEN, out);
}

static void
tcache_drop(const char *tid)
{
    tcache_entry *e = tcache_slot(tid);
    if (strcmp(e->tenant_id, tid) == 0)
        e->tenant_id[0] = '\0';
}

/* Answer from the cache: true when it did (with *rc). */
static bool
tcache_get(sy_req *req, sy_res *res, const char *tid, int *rc)
{
    tcache_entry *e = tcache_slot(tid);
    unsigned char want[SY_SHA256_LEN];
    if (req->who.kind != SY_WHO_KEY || strcmp(e->tenant_id, tid) != 0 ||
        sy_mono_us() - e->at_us > TCACHE_TTL_US)
        return false;
    made_for(&req->who, want);
    if (memcmp(want, e->made_for, sizeof(want)) != 0)
        return false;
    *rc = sy_res_etag(res, sy_str_c(e->etag));
    if (*rc == 0)
        *rc = sy_res_bytes(res, 200, "application/json", e->body, e->len);
    return true;
}

static void
tcache_put(const sy_req *req, const sy_res *res, const char *tid,
           const char *etag)
{
    tcache_entry *e = tcache_slot(tid);
    if (req->who.kind != SY_WHO_KEY || res->status != 200 ||
        res->body.len > TCACHE_MAX_BODY)
        return;
    char *body = realloc(e->body, res->body.len ? res->body.len : 1);
    if (!body)
        abort(); /* as the arena does: the master replaces us */
    memcpy(body, res->body.p, res->body.len);
    e->body = body;
    e->len = res->body.len;
    made_for(&req->who, e->made_for);
    memcpy(e->etag, etag, ETAG_SIZE);
    memcpy(e->tenant_id, tid, sizeof(e->tenant_id));
    e->at_us = sy_mono_us();
}

static int
load_tenant(sy_req *req, sy_res *res, const char *id, PGresult **out)
{
    const char *params[1] = {id};
    int rc = sy_db_exec(req->arena, SY_SQL_TENANT_GET, params, 1, out);
    if (rc == 0 && PQntuples(*out) == 0)
        return tenant_not_found(res);
    return rc;
}

static int
check_plan_exists(sy_req *req, sy_res *res, const char *plan)
{
    PGresult *r;
    const char *params[1] = {plan};
    int rc = sy_db_exec(req->arena, SY_SQL_PLAN_EXISTS, params, 1, &r);
    if (rc == 0 && PQntuples(r) == 0)
        return sy_problem_field(res, "plan",
                                "is not a known plan (see GET "
                                "/api/v1/plans)");
    return rc;
}

/* Deactivated: end every live session of the tenant's users, so their
 * access tokens stop now rather than at expiry. */
static int
end_sessions(sy_req *req, const char *tid)
{
    PGresult *r;
    const char *params[1] = {tid};
    int rc = sy_db_exec(req->arena, SY_SQL_TENANT_LIVE_SESSIONS, params, 1, &r);
    for (int i = 0; rc == 0 && i < PQntuples(r); i++)
        rc = sy_session_revoke(req->arena, PQgetvalue(r, i, 0), "deactivated");
    return rc;
}

/* After a committed change: keys pick it up at once, and a deactivated
 * tenant's users are signed out.  The database is the truth: when Redis
 * cannot be told, every lookup goes to PostgreSQL anyway, so a cache
 * failure is logged, not returned.  A session that could not be ended is
 * a 503 the client may safely retry (the PATCH is idempotent). */
static int
propagate(sy_req *req, const char *tid, const tenant_input *in)
{
    if (in->plan || in->active || in->origins) {
        int rc = sy_apikey_forget_tenant(req->arena, tid);
        if (rc < 0)
            sy_log(SY_LOG_WARN, "apikey_forget_failed",
                   "tenant %s changed; its cached key lookups were not "
                   "dropped: %s",
                   tid, sy_strerror(rc));
    }
    if (in->active && strcmp(in->active, "false") == 0)
        return end_sessions(req, tid);
    return 0;
}

static int
update_tenant(sy_req *req, sy_res *res, const char *tid, const tenant_input *in)
{
    PGresult *r;
    const char *params[7] = {
        tid,         in->name, in->set_website ? "true" : "false",
        in->website, in->plan, in->active,
        in->origins};
    int rc = in->plan ? check_plan_exists(req, res, in->plan) : 0;
    if (rc == 0)
        rc = sy_db_exec_durable(req->arena, SY_SQL_TENANT_UPDATE, params, 7,
                                &r);
    if (rc == 0 && PQntuples(r) == 0)
        return tenant_not_found(res);
    tcache_drop(tid);
    if (rc == 0)
        rc = propagate(req, tid, in);
    return rc < 0 ? rc : respond_tenant(req, res, 200, r, NULL);
}

/* ------------------------------------------------------------ routes */

static json_object *
plan_json(const PGresult *r, int row)
{
    static const char *const classes[] = {"read", "write", "ai"};
    json_object *o = json_object_new_object();
    json_object *limits = json_object_new_object();
    json_object_object_add(o, "id",
                           json_object_new_string(PQgetvalue(r, row, 0)));
    json_object_object_add(o, "name",
                           json_object_new_string(PQgetvalue(r, row, 1)));
    for (int c = 0; c < 3; c++) {
        int64_t v = 0;
        sy_parse_i64(sy_str_c(PQgetvalue(r, row, 2 + c)), 0, INT64_MAX, &v);
        json_object_object_add(limits, classes[c], json_object_new_int64(v));
    }
    json_object_object_add(o, "limits", limits);
    return o;
}

/* GET /api/v1/plans: every plan, by read limit; per-minute limits. */
int
sy_route_plans_list(sy_req *req, sy_res *res)
{
    PGresult *r;
    int rc = sy_db_exec(req->arena, SY_SQL_PLANS_LIST, NULL, 0, &r);
    if (rc < 0)
        return rc;
    json_object *items = json_object_new_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_object_array_add(items, plan_json(r, i));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "items", items);
    json_object_object_add(o, "next_cursor", NULL);
    return sy_res_json(res, 200, o);
}

static int
read_new_tenant(sy_req *req, sy_res *res, tenant_input *in)
{
    int rc = read_name(req, res, true, in);
    rc = fold(
        rc, read_str(req, res, "slug", true, sy_tenancy_check_slug, &in->slug));
    rc = fold(rc, read_website(req, res, in));
    rc = fold(
        rc, read_str(req, res, "plan", true, sy_tenancy_check_plan, &in->plan));
    rc = fold(rc, read_origins(req, res, in));
    return rc;
}

/* POST /api/v1/tenants (sysadmin). */
int
sy_route_tenants_create(sy_req *req, sy_res *res)
{
    tenant_input in = {0};
    int rc = read_new_tenant(req, res, &in);
    if (rc < 0)
        return rc;
    PGresult *r;
    const char *params[5] = {in.name, in.slug, in.website, in.plan,
                             in.origins ? in.origins : "[]"};
    rc = sy_db_exec_durable(req->arena, SY_SQL_TENANT_INSERT, params, 5, &r);
    if (rc == SY_ECONFLICT)
        return sy_problem(res, 409, "conflict",
                          "A tenant with this slug already exists.");
    if (rc < 0)
        return rc;
    if (PQntuples(r) == 0)
        return sy_problem_field(res, "plan",
                                "is not a known plan (see GET "
                                "/api/v1/plans)");
    char loc[64];
    snprintf(loc, sizeof(loc), "/api/v1/tenants/%s", col(r, 0, "id"));
    sy_res_header(res, "Location", sy_str_c(loc));
    return respond_tenant(req, res, 201, r, NULL);
}

/* GET /api/v1/tenants[?active=true|false] (sysadmin), oldest first. */
int
sy_route_tenants_list(sy_req *req, sy_res *res)
{
    sy_page p;
    int rc = sy_page_parse(req, res, &p);
    if (rc < 0)
        return rc;
    sy_str a;
    bool active = false;
    const char *filter = NULL;
    rc = sy_req_query(req, "active", &a);
    if (rc != SY_ENOTFOUND) {
        if (rc < 0 || sy_parse_bool(a, &active) < 0)
            return sy_problem_field(res, "active", "must be true or false");
        filter = active ? "true" : "false";
    }
    PGresult *r;
    const char *params[4] = {filter, p.after_ts, p.after_id, p.limit_text};
    rc = sy_db_exec(req->arena, SY_SQL_TENANTS_LIST, params, 4, &r);
    if (rc < 0)
        return rc;
    return sy_page_respond(res, &p, r, PQfnumber(r, "created_at"),
                           PQfnumber(r, "id"), sy_tenancy_tenant_json);
}

/* The {id} of the path, or a 404 for anything that is not a uuid. */
static int
path_tenant(sy_req *req, sy_res *res, const char **id)
{
    if (req->nparams < 1 ||
        !sy_uuid_valid(req->params[0].p, req->params[0].len))
        return tenant_not_found(res);
    *id = req->params[0].p;
    return 0;
}

/* GET /api/v1/tenants/{id} (sysadmin). */
int
sy_route_tenants_get(sy_req *req, sy_res *res)
{
    const char *id = NULL;
    PGresult *r;
    int rc = path_tenant(req, res, &id);
    if (rc == 0)
        rc = load_tenant(req, res, id, &r);
    return rc < 0 ? rc : respond_tenant(req, res, 200, r, NULL);
}

/* PATCH /api/v1/tenants/{id} (sysadmin): name, website, plan, active,
 * allowed_origins. */
int
sy_route_tenants_patch(sy_req *req, sy_res *res)
{
    tenant_input in = {0};
    const char *id = NULL;
    int rc = path_tenant(req, res, &id);
    if (rc < 0)
        return rc;
    rc = fold(0, read_name(req, res, false, &in));
    rc = fold(rc, read_website(req, res, &in));
    rc = fold(
        rc, read_str(req, res, "plan", false, sy_tenancy_check_plan, &in.plan));
    rc = fold(rc, read_active(req, res, &in));
    rc = fold(rc, read_origins(req, res, &in));
    if (rc < 0)
        return rc;
    return update_tenant(req, res, id, &in);
}

/* GET /api/v1/tenant: the caller's tenant (a sysadmin names one with
 * ?tenant_id=); API keys may be answered from the key cache above. */
int
sy_route_tenant_get(sy_req *req, sy_res *res)
{
    const char *tid = NULL;
    char etag[ETAG_SIZE];
    PGresult *r;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0 || tcache_get(req, res, tid, &rc))
        return rc;
    rc = load_tenant(req, res, tid, &r);
    if (rc == 0)
        rc = respond_tenant(req, res, 200, r, etag);
    if (rc == 0)
        tcache_put(req, res, tid, etag);
    return rc;
}

/* PATCH /api/v1/tenant (owner): name, website, allowed_origins.  The
 * plan and the active flag are the platform's: asking to change them
 * here is an error, not silently ignored. */
int
sy_route_tenant_patch(sy_req *req, sy_res *res)
{
    static const char only_sysadmin[] =
        "only a sysadmin may change this (PATCH /api/v1/tenants/{id})";
    tenant_input in = {0};
    const char *tid;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0)
        return rc;
    if (has_field(req->json, "plan"))
        rc = sy_problem_field(res, "plan", only_sysadmin);
    if (has_field(req->json, "active"))
        rc = sy_problem_field(res, "active", only_sysadmin);
    rc = fold(rc, read_name(req, res, false, &in));
    rc = fold(rc, read_website(req, res, &in));
    rc = fold(rc, read_origins(req, res, &in));
    if (rc < 0)
        return rc;
    return update_tenant(req, res, tid, &in);
}
