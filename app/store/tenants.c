/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tenants.c - plan, tenant and API-key rows (tenants.h).
 *
 * Tenant rows are TENANT_COLS, key rows KEY_COLS, in the column order of
 * the enums below.  Keys are stored as their SHA-256 only; a row never
 * carries the hash back except where a cached lookup must be dropped
 * (rotation, revocation).
 */
#include "synthia/tenants.h"

#include <stdio.h>
#include <string.h>

#include "synthia/error.h"
#include "synthia/inval.h"

#define TENANT_COLS                                                       \
    "t.id, t.name, t.slug, t.website, t.plan_id, t.active, "              \
    "to_json(t.allowed_origins), " SY_DB_RFC3339("t.created_at") ", "     \
    SY_DB_RFC3339("t.updated_at")
enum { T_ID, T_NAME, T_SLUG, T_WEBSITE, T_PLAN, T_ACTIVE, T_ORIGINS,
       T_CREATED, T_UPDATED };

#define KEY_COLS(k)                                                       \
    k "id, " k "name, " k "kind, " k "prefix, to_json(" k "scopes), "     \
    SY_DB_RFC3339(k "created_at") ", " SY_DB_RFC3339(k "last_used_at")    \
    ", " SY_DB_RFC3339(k "expires_at") ", "                               \
    SY_DB_RFC3339(k "revoked_at") ", " k "replaced_by"
enum { K_ID, K_NAME, K_KIND, K_PREFIX, K_SCOPES, K_CREATED, K_USED,
       K_EXPIRES, K_REVOKED, K_REPLACED, K_OLD_HASH, K_OLD_EXPIRES };

static sy_db_stmt plans_list_stmt = SY_DB_STMT(
    "plans_list",
    "SELECT id, name, read_per_min, write_per_min, ai_per_min, "
    "ai_tenant_per_min FROM plans ORDER BY read_per_min, id",
    0);
static sy_db_stmt plan_exists_stmt =
    SY_DB_STMT("plan_exists", "SELECT 1 FROM plans WHERE id = $1", 1);
/* $1 name, $2 slug, $3 website, $4 plan, $5 origins (JSON array).  No
 * row: the plan does not exist.  23505: the slug is taken. */
static sy_db_stmt insert_stmt = SY_DB_STMT_DURABLE(
    "tenant_insert",
    "INSERT INTO tenants AS t "
    "(name, slug, website, plan_id, allowed_origins) "
    "SELECT $1, $2, $3, p.id, "
    "ARRAY(SELECT json_array_elements_text($5::json)) "
    "FROM plans p WHERE p.id = $4 RETURNING " TENANT_COLS,
    5);
static sy_db_stmt get_stmt = SY_DB_STMT(
    "tenant_get",
    "SELECT " TENANT_COLS " FROM tenants t WHERE t.id = $1::uuid", 1);
static sy_db_stmt by_slug_stmt = SY_DB_STMT(
    "tenant_by_slug",
    "SELECT " TENANT_COLS " FROM tenants t WHERE t.slug = $1", 1);
static sy_db_stmt active_by_slug_stmt = SY_DB_STMT(
    "tenant_active_by_slug",
    "SELECT id FROM tenants WHERE slug = $1 AND active", 1);
/* $1 active filter (NULL: all), $2/$3 after (created_at, id), $4 fetch. */
static sy_db_stmt list_stmt = SY_DB_STMT(
    "tenants_list",
    "SELECT " TENANT_COLS " FROM tenants t "
    "WHERE ($1::boolean IS NULL OR t.active = $1::boolean) "
    "AND (t.created_at, t.id) > ($2::timestamptz, $3::uuid) "
    "ORDER BY t.created_at, t.id LIMIT $4::integer",
    4);
/* $1 id; NULL leaves a field alone: $2 name, $4 website (written only
 * when $3 is true, so that it can be cleared), $5 plan (checked with
 * plan_exists first), $6 active, $7 origins (JSON array). */
static sy_db_stmt update_stmt = SY_DB_STMT_DURABLE(
    "tenant_update",
    "UPDATE tenants AS t SET name = coalesce($2, t.name), "
    "website = CASE WHEN $3::boolean THEN $4 ELSE t.website END, "
    "plan_id = coalesce($5, t.plan_id), "
    "active = coalesce($6::boolean, t.active), "
    "allowed_origins = CASE WHEN $7::json IS NULL "
    "THEN t.allowed_origins "
    "ELSE ARRAY(SELECT json_array_elements_text($7::json)) END "
    "WHERE t.id = $1::uuid RETURNING " TENANT_COLS,
    7);
/* Preflights carry no key, so the tenant is unknown: is the origin
 * allowed by any active tenant? */
static sy_db_stmt origin_stmt = SY_DB_STMT(
    "tenant_origin_allowed",
    "SELECT EXISTS (SELECT 1 FROM tenants t, unnest(t.allowed_origins) o "
    "WHERE t.active AND lower(o) = lower($1))",
    1);

static sy_db_stmt keys_list_stmt = SY_DB_STMT(
    "keys_list",
    "SELECT " KEY_COLS("k.") " FROM api_keys k "
    "WHERE k.tenant_id = $1::uuid "
    "AND (k.created_at, k.id) > ($2::timestamptz, $3::uuid) "
    "ORDER BY k.created_at, k.id LIMIT $4::integer",
    4);
/* $1 tenant, $2 name, $3 kind, $4 prefix, $5 hex SHA-256, $6 scopes
 * (JSON array), $7 created_by.  No row: no such tenant. */
static sy_db_stmt key_insert_stmt = SY_DB_STMT_DURABLE(
    "key_insert",
    "INSERT INTO api_keys AS k "
    "(tenant_id, name, kind, prefix, key_hash, scopes, created_by) "
    "SELECT t.id, $2, $3, $4, decode($5, 'hex'), "
    "ARRAY(SELECT json_array_elements_text($6::json)), $7::uuid "
    "FROM tenants t WHERE t.id = $1::uuid RETURNING " KEY_COLS("k."),
    7);
static sy_db_stmt key_get_stmt = SY_DB_STMT(
    "key_get",
    "SELECT k.kind, (k.revoked_at IS NOT NULL "
    "OR k.replaced_by IS NOT NULL "
    "OR coalesce(k.expires_at <= now(), false)) "
    "FROM api_keys k WHERE k.tenant_id = $1::uuid AND k.id = $2::uuid",
    2);
/* One statement, so a rotation is all or nothing and two at once cannot
 * both succeed (FOR UPDATE, then the second finds replaced_by set): $1
 * tenant, $2 old key, $3 prefix and $4 hex SHA-256 of the new key, $5
 * created_by, $6 grace seconds, $7 the old key's kind.  The old key ends
 * after the grace, or earlier if it already did. */
static sy_db_stmt key_rotate_stmt = SY_DB_STMT_DURABLE(
    "key_rotate",
    "WITH old AS (SELECT id, name, kind, scopes FROM api_keys "
    "WHERE tenant_id = $1::uuid AND id = $2::uuid AND kind = $7 "
    "AND revoked_at IS NULL AND replaced_by IS NULL "
    "AND (expires_at IS NULL OR expires_at > now()) FOR UPDATE), "
    "k AS (INSERT INTO api_keys "
    "(tenant_id, name, kind, prefix, key_hash, scopes, created_by) "
    "SELECT $1::uuid, name, kind, $3, decode($4, 'hex'), scopes, "
    "$5::uuid FROM old RETURNING *), "
    "upd AS (UPDATE api_keys o SET replaced_by = k.id, "
    "expires_at = least(coalesce(o.expires_at, 'infinity'), "
    "now() + $6::integer * interval '1 second') "
    "FROM k WHERE o.tenant_id = $1::uuid AND o.id = $2::uuid "
    "RETURNING o.key_hash, o.expires_at) "
    "SELECT " KEY_COLS("k.") ", encode(upd.key_hash, 'hex'), "
    SY_DB_RFC3339("upd.expires_at") " FROM k, upd",
    7);
static sy_db_stmt key_revoke_stmt = SY_DB_STMT_DURABLE(
    "key_revoke",
    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
    "WHERE tenant_id = $1::uuid AND id = $2::uuid "
    "RETURNING encode(key_hash, 'hex')",
    2);
/* $1: hex SHA-256 of the presented key.  Usable keys only. */
static sy_db_stmt key_lookup_stmt = SY_DB_STMT(
    "apikey_lookup",
    "SELECT k.id, k.tenant_id, k.kind, "
    "array_to_string(k.scopes, ' '), t.plan_id, p.read_per_min, "
    "p.write_per_min, p.ai_per_min, "
    "array_to_string(t.allowed_origins, ' '), "
    "coalesce((extract(epoch FROM k.expires_at) * 1000)::bigint, 0) "
    "FROM api_keys k JOIN tenants t ON t.id = k.tenant_id "
    "JOIN plans p ON p.id = t.plan_id "
    "WHERE k.key_hash = decode($1, 'hex') AND k.revoked_at IS NULL "
    "AND (k.expires_at IS NULL OR k.expires_at > now()) AND t.active",
    1);
static sy_db_stmt key_touch_stmt = SY_DB_STMT(
    "apikey_touch",
    "UPDATE api_keys SET last_used_at = now() WHERE id = ANY($1::uuid[])",
    1);

/* ------------------------------------------------------------ plans */

static void
read_plan(const struct pg_result *r, int row, void *elem)
{
    sy_plan *p = elem;
    p->id = sy_db_cstr(r, row, 0);
    p->name = sy_db_cstr(r, row, 1);
    for (int c = 0; c < 4; c++)
        p->limits[c] = sy_db_i64(r, row, 2 + c);
}

int
sy_plans_list(sy_arena *a, sy_plan_list *out)
{
    struct pg_result *r;
    int rc = sy_db_exec(a, &plans_list_stmt, NULL, 0, &r);
    if (rc < 0)
        return rc;
    return sy_db_read_rows(a, r, sizeof(*out->v), read_plan,
                           (void **)&out->v, &out->n);
}

int
sy_plans_exists(sy_arena *a, const char *id, bool *out)
{
    struct pg_result *r;
    int rc = sy_db_exec(a, &plan_exists_stmt, &id, 1, &r);
    if (rc == 0)
        *out = sy_db_rows(r) > 0;
    return rc;
}

/* ------------------------------------------------------------ tenants */

static void
read_tenant(const struct pg_result *r, int row, void *elem)
{
    sy_tenant *t = elem;
    t->id = sy_db_cstr(r, row, T_ID);
    t->name = sy_db_cstr(r, row, T_NAME);
    t->slug = sy_db_cstr(r, row, T_SLUG);
    t->website = sy_db_cstr(r, row, T_WEBSITE);
    t->plan = sy_db_cstr(r, row, T_PLAN);
    t->active = sy_db_bool(r, row, T_ACTIVE);
    t->allowed_origins = sy_db_cstr(r, row, T_ORIGINS);
    t->created_at = sy_db_cstr(r, row, T_CREATED);
    t->updated_at = sy_db_cstr(r, row, T_UPDATED);
}

static int
one_tenant(sy_arena *a, sy_db_stmt *s, const char *const *p, int n,
           sy_tenant *out)
{
    struct pg_result *r;
    int rc = sy_db_exec(a, s, p, n, &r);
    if (rc < 0)
        return rc;
    if (sy_db_rows(r) != 1)
        return SY_ENOTFOUND;
    read_tenant(r, 0, out);
    return 0;
}

int
sy_tenants_insert(sy_arena *a, const sy_tenant_change *t, const char *slug,
                  sy_tenant *out)
{
    const char *p[5] = {t->name, slug, t->website, t->plan,
                        t->origins ? t->origins : "[]"};
    return one_tenant(a, &insert_stmt, p, 5, out);
}

int
sy_tenants_get(sy_arena *a, const char *id, sy_tenant *out)
{
    return one_tenant(a, &get_stmt, &id, 1, out);
}

int
sy_tenants_by_slug(sy_arena *a, const char *slug, sy_tenant *out)
{
    return one_tenant(a, &by_slug_stmt, &slug, 1, out);
}

int
sy_tenants_active_by_slug(sy_arena *a, const char *slug, const char **id)
{
    return sy_db_one_text(a, &active_by_slug_stmt, &slug, 1, id);
}

int
sy_tenants_list(sy_arena *a, const char *active, const sy_keyset *page,
                sy_tenant_list *out)
{
    const char *p[4] = {active, page->after_ts, page->after_id, page->fetch};
    return sy_db_fetch_all(a, &list_stmt, p, 4, sizeof(*out->v), read_tenant,
                      (void **)&out->v, &out->n);
}

int
sy_tenants_update(sy_arena *a, const char *id, const sy_tenant_change *c,
                  sy_tenant *out)
{
    const char *p[7] = {id,      c->name, c->set_website ? "true" : "false",
                        c->website, c->plan, c->active,
                        c->origins};
    int rc = one_tenant(a, &update_stmt, p, 7, out);
    if (rc == 0) /* committed: users' and plans' memory entries go */
        sy_inval_publish("tenant", id);
    return rc;
}

int
sy_tenants_origin_allowed(sy_arena *a, const char *origin, bool *out)
{
    struct pg_result *r;
    int rc = sy_db_exec(a, &origin_stmt, &origin, 1, &r);
    if (rc == 0)
        *out = sy_db_rows(r) == 1 && sy_db_bool(r, 0, 0);
    return rc;
}

/* ------------------------------------------------------------ keys */

static void
read_key(const struct pg_result *r, int row, sy_key_row *k, bool rotation)
{
    memset(k, 0, sizeof(*k));
    k->id = sy_db_cstr(r, row, K_ID);
    k->name = sy_db_cstr(r, row, K_NAME);
    k->kind = sy_db_cstr(r, row, K_KIND);
    k->prefix = sy_db_cstr(r, row, K_PREFIX);
    k->scopes = sy_db_cstr(r, row, K_SCOPES);
    k->created_at = sy_db_cstr(r, row, K_CREATED);
    k->last_used_at = sy_db_cstr(r, row, K_USED);
    k->expires_at = sy_db_cstr(r, row, K_EXPIRES);
    k->revoked_at = sy_db_cstr(r, row, K_REVOKED);
    k->replaced_by = sy_db_cstr(r, row, K_REPLACED);
    if (rotation) {
        k->old_hash = sy_db_cstr(r, row, K_OLD_HASH);
        k->old_expires_at = sy_db_cstr(r, row, K_OLD_EXPIRES);
    }
}

static void
read_listed_key(const struct pg_result *r, int row, void *elem)
{
    read_key(r, row, elem, false);
}

int
sy_keys_list(sy_arena *a, const char *tenant, const sy_keyset *page,
             sy_key_list *out)
{
    const char *p[4] = {tenant, page->after_ts, page->after_id, page->fetch};
    return sy_db_fetch_all(a, &keys_list_stmt, p, 4, sizeof(*out->v), read_listed_key,
                      (void **)&out->v, &out->n);
}

int
sy_keys_insert(sy_arena *a, const char *tenant, const sy_key_new *k,
               sy_key_row *out)
{
    const char *p[7] = {tenant,      k->name,   k->kind,     k->prefix,
                        k->hash_hex, k->scopes, k->created_by};
    struct pg_result *r;
    int rc = sy_db_exec(a, &key_insert_stmt, p, 7, &r);
    if (rc < 0)
        return rc;
    if (sy_db_rows(r) != 1)
        return SY_ENOTFOUND;
    read_key(r, 0, out, false);
    return 0;
}

int
sy_keys_get(sy_arena *a, const char *tenant, const char *id,
            const char **kind, bool *spent)
{
    const char *p[2] = {tenant, id};
    struct pg_result *r;
    int rc = sy_db_exec(a, &key_get_stmt, p, 2, &r);
    if (rc < 0)
        return rc;
    if (sy_db_rows(r) != 1)
        return SY_ENOTFOUND;
    *kind = sy_db_cstr(r, 0, 0);
    *spent = sy_db_bool(r, 0, 1);
    return 0;
}

int
sy_keys_rotate(sy_arena *a, const char *tenant, const char *id,
               const sy_key_new *k, int64_t grace_s, sy_key_row *out)
{
    char grace[24];
    snprintf(grace, sizeof(grace), "%lld", (long long)grace_s);
    const char *p[7] = {tenant,        id,    k->prefix, k->hash_hex,
                        k->created_by, grace, k->kind};
    struct pg_result *r;
    int rc = sy_db_exec(a, &key_rotate_stmt, p, 7, &r);
    if (rc < 0)
        return rc;
    if (sy_db_rows(r) != 1)
        return SY_ENOTFOUND;
    read_key(r, 0, out, true);
    return 0;
}

int
sy_keys_revoke(sy_arena *a, const char *tenant, const char *id,
               const char **hash_hex)
{
    const char *p[2] = {tenant, id};
    struct pg_result *r;
    int rc = sy_db_exec(a, &key_revoke_stmt, p, 2, &r);
    if (rc < 0)
        return rc;
    if (sy_db_rows(r) != 1)
        return SY_ENOTFOUND;
    *hash_hex = sy_db_cstr(r, 0, 0);
    return 0;
}

int
sy_keys_lookup(sy_arena *a, const char *hash_hex, sy_key_auth *out)
{
    struct pg_result *r;
    int rc = sy_db_exec(a, &key_lookup_stmt, &hash_hex, 1, &r);
    if (rc < 0)
        return rc;
    if (sy_db_rows(r) != 1)
        return SY_ENOTFOUND;
    *out = (sy_key_auth){
        .id = sy_db_cstr(r, 0, 0),
        .tenant_id = sy_db_cstr(r, 0, 1),
        .kind = sy_db_cstr(r, 0, 2),
        .scopes = sy_db_cstr(r, 0, 3),
        .plan = sy_db_cstr(r, 0, 4),
        .limits = {sy_db_i64(r, 0, 5), sy_db_i64(r, 0, 6),
                   sy_db_i64(r, 0, 7)},
        .origins = sy_db_cstr(r, 0, 8),
        .expires_ms = sy_db_i64(r, 0, 9),
    };
    return 0;
}

int
sy_keys_touch(sy_arena *a, const char *ids_literal)
{
    struct pg_result *r;
    return sy_db_exec(a, &key_touch_stmt, &ids_literal, 1, &r);
}
