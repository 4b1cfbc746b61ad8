/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * users.c - user rows (users.h): the statements and the one reader of
 * their rows.
 *
 * Every statement that returns users yields USER_COLS first, times as
 * RFC 3339 UTC with microseconds (which also serve as exact page
 * cursors).  Sysadmins live in the tenant-less namespace: "tenant_id IS
 * NOT DISTINCT FROM $1" with a NULL $1, and the users_tenant_email_key
 * index's coalesce() form where an email is looked up.  The "keepers" of
 * a namespace are its active owners (sysadmins for the tenant-less one):
 * statements that could remove the last one lock them all, in id order.
 */
#include "synthia/users.h"

#include <string.h>

#include "synthia/error.h"
#include "synthia/inval.h"
#include "synthia/memcache.h"

#define USER_COLS                                                         \
    "u.id, u.email, u.name, u.role, u.tenant_id, u.active, "              \
    SY_DB_RFC3339("u.created_at") ", " SY_DB_RFC3339("u.updated_at")      \
    ", " SY_DB_RFC3339("u.last_login_at")
#define KEEPER "AND role IN ('owner', 'sysadmin') AND active"

/* Column order of USER_COLS, then what a statement adds. */
enum { C_ID, C_EMAIL, C_NAME, C_ROLE, C_TENANT, C_ACTIVE, C_CREATED,
       C_UPDATED, C_LOGIN, C_EXTRA };

/* $1 tenant (NULL: sysadmin), $2 email, $3 name, $4 role, $5 hash.
 * 23503: no such tenant; 23505: the email is taken there. */
static sy_db_stmt insert_stmt = SY_DB_STMT_DURABLE(
    "user_insert",
    "INSERT INTO users AS u (tenant_id, email, name, role, password_hash) "
    "VALUES ($1::uuid, $2, $3, $4, $5) RETURNING " USER_COLS,
    5);
static sy_db_stmt login_tenant_stmt = SY_DB_STMT(
    "user_login_tenant",
    "SELECT " USER_COLS ", u.password_hash FROM users u "
    "JOIN tenants t ON t.id = u.tenant_id "
    "WHERE coalesce(u.tenant_id, " SY_DB_ZERO_UUID ") = $1::uuid "
    "AND lower(u.email) = lower($2) AND u.active AND t.active "
    "AND ($3::text IS NULL OR t.slug = $3)",
    3);
static sy_db_stmt login_sysadmin_stmt = SY_DB_STMT(
    "user_login_sysadmin",
    "SELECT " USER_COLS ", u.password_hash FROM users u "
    "WHERE coalesce(u.tenant_id, " SY_DB_ZERO_UUID ") = " SY_DB_ZERO_UUID
    " AND lower(u.email) = lower($1) AND u.active",
    1);
static sy_db_stmt logged_in_stmt = SY_DB_STMT(
    "user_logged_in",
    "UPDATE users u SET last_login_at = now(), "
    "password_hash = coalesce($3, u.password_hash) "
    "WHERE u.id = $2 AND u.tenant_id IS NOT DISTINCT FROM $1::uuid "
    "AND u.active RETURNING " USER_COLS,
    3);
static sy_db_stmt get_stmt = SY_DB_STMT(
    "user_get",
    "SELECT " USER_COLS " FROM users u WHERE u.id = $2 "
    "AND u.tenant_id IS NOT DISTINCT FROM $1::uuid",
    2);
static sy_db_stmt get_live_stmt = SY_DB_STMT(
    "user_get_live",
    "SELECT " USER_COLS " FROM users u "
    "LEFT JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $2 "
    "AND u.tenant_id IS NOT DISTINCT FROM $1::uuid AND u.active "
    "AND (u.tenant_id IS NULL OR t.active)",
    2);
static sy_db_stmt secret_stmt = SY_DB_STMT(
    "user_secret",
    "SELECT " USER_COLS ", u.password_hash FROM users u WHERE u.id = $2 "
    "AND u.tenant_id IS NOT DISTINCT FROM $1::uuid AND u.active",
    2);
static sy_db_stmt update_self_stmt = SY_DB_STMT_DURABLE(
    "user_update_self",
    "UPDATE users u SET name = coalesce($3, u.name), "
    "password_hash = coalesce($4, u.password_hash) WHERE u.id = $2 "
    "AND u.tenant_id IS NOT DISTINCT FROM $1::uuid AND u.active "
    "RETURNING " USER_COLS,
    4);
/* $1 tenant, $2 role or NULL, $3 fetch, $4/$5 after (db.h's keyset). */
static sy_db_stmt list_stmt = SY_DB_STMT(
    "users_list",
    "SELECT " USER_COLS " FROM users u WHERE u.tenant_id = $1 "
    "AND ($2::text IS NULL OR u.role = $2) "
    "AND (u.created_at, u.id) > ($4::timestamptz, $5::uuid) "
    "ORDER BY u.created_at, u.id LIMIT $3::integer",
    5);
/* Extra last column: the role before the change. */
static sy_db_stmt patch_stmt = SY_DB_STMT_DURABLE(
    "user_patch",
    "WITH keepers AS (SELECT id FROM users WHERE tenant_id = $1 "
    "AND role = 'owner' AND active ORDER BY id FOR UPDATE), "
    "target AS (SELECT id, role FROM users WHERE tenant_id = $1 "
    "AND id = $2) "
    "UPDATE users u SET role = coalesce($3, u.role), "
    "active = coalesce($4::boolean, u.active) FROM target "
    "WHERE u.id = target.id AND u.tenant_id = $1 "
    "AND (NOT EXISTS (SELECT 1 FROM keepers k WHERE k.id = $2) "
    "OR (coalesce($3, 'owner') = 'owner' "
    "AND coalesce($4::boolean, true)) "
    "OR EXISTS (SELECT 1 FROM keepers k WHERE k.id <> $2)) "
    "RETURNING " USER_COLS ", target.role",
    4);
static sy_db_stmt last_keeper_stmt = SY_DB_STMT(
    "user_last_keeper",
    "SELECT EXISTS (SELECT 1 FROM users WHERE id = $2 "
    "AND tenant_id IS NOT DISTINCT FROM $1::uuid " KEEPER ") "
    "AND NOT EXISTS (SELECT 1 FROM users WHERE "
    "coalesce(tenant_id, " SY_DB_ZERO_UUID ") = coalesce($1::uuid, "
    SY_DB_ZERO_UUID ") " KEEPER " AND id <> $2)",
    2);
static sy_db_stmt erase_stmt = SY_DB_STMT_DURABLE(
    "user_erase",
    "WITH keepers AS (SELECT id FROM users WHERE "
    "coalesce(tenant_id, " SY_DB_ZERO_UUID ") = coalesce($1::uuid, "
    SY_DB_ZERO_UUID ") " KEEPER " ORDER BY id FOR UPDATE) "
    "DELETE FROM users u WHERE u.id = $2 "
    "AND u.tenant_id IS NOT DISTINCT FROM $1::uuid "
    "AND (NOT EXISTS (SELECT 1 FROM keepers k WHERE k.id = $2) "
    "OR EXISTS (SELECT 1 FROM keepers k WHERE k.id <> $2)) "
    "RETURNING u.id",
    2);

static void user_changed(const char *id);

static void
read_user(const struct pg_result *r, int row, void *elem)
{
    sy_user *u = elem;
    memset(u, 0, sizeof(*u));
    u->id = sy_db_cstr(r, row, C_ID);
    u->email = sy_db_cstr(r, row, C_EMAIL);
    u->name = sy_db_cstr(r, row, C_NAME);
    u->role = sy_db_cstr(r, row, C_ROLE);
    u->tenant_id = sy_db_cstr(r, row, C_TENANT);
    u->active = sy_db_bool(r, row, C_ACTIVE);
    u->created_at = sy_db_cstr(r, row, C_CREATED);
    u->updated_at = sy_db_cstr(r, row, C_UPDATED);
    u->last_login_at = sy_db_cstr(r, row, C_LOGIN);
}

/* Run a statement expected to return at most one user: SY_ENOTFOUND
 * when it returns none.  extra: the statement's column after USER_COLS
 * goes to *extra (NULL: none). */
static int
one(sy_arena *a, sy_db_stmt *s, const char *const *p, int n, sy_user *out,
    const char **extra)
{
    struct pg_result *r;
    int rc = sy_db_exec(a, s, p, n, &r);
    if (rc < 0)
        return rc;
    if (sy_db_rows(r) != 1)
        return SY_ENOTFOUND;
    read_user(r, 0, out);
    if (extra)
        *extra = sy_db_cstr(r, 0, C_EXTRA);
    return 0;
}

int
sy_users_insert(sy_arena *a, const char *tenant, const char *email,
                const char *name, const char *role, const char *password_hash,
                sy_user *out)
{
    const char *p[5] = {tenant, email, name, role, password_hash};
    return one(a, &insert_stmt, p, 5, out, NULL);
}

int
sy_users_find_login(sy_arena *a, const char *tenant, const char *email,
                    const char *slug, sy_user *out)
{
    if (!tenant)
        return one(a, &login_sysadmin_stmt, &email, 1, out,
                   &out->password_hash);
    const char *p[3] = {tenant, email, slug};
    return one(a, &login_tenant_stmt, p, 3, out, &out->password_hash);
}

int
sy_users_logged_in(sy_arena *a, const char *tenant, const char *id,
                   const char *new_hash, sy_user *out)
{
    const char *p[3] = {tenant, id, new_hash};
    int rc = one(a, &logged_in_stmt, p, 3, out, NULL);
    if (rc == 0)
        user_changed(id);
    return rc;
}

/* ------------------------------------------------- live users in memory */

/* The live rows this responder read (GET /auth/me and every signed-in
 * read of one's own row), with the invalidation epoch read before the
 * SELECT (inval.h).  Every write here publishes "user <id>" after it has
 * committed, a tenant's update "tenant <id>" (tenants.c), and a message
 * drops the entries: a trusted entry is served with no statement.  The
 * row read by a request that started before a message is dropped when
 * the next request applies it (messages are read only between requests'
 * admissions), so a fill racing a write never outlives it.  An edit
 * made in the database behind the API's back is seen within the TTL. */
#define USERS_MEMORY_TTL_MS 5000
static sy_memcache live_users = SY_MEMCACHE("users", 1024, 1024 * 512,
                                            USERS_MEMORY_TTL_MS);
SY_MEMCACHE_REGISTER(live_users)

enum { U_ID, U_EMAIL, U_NAME, U_ROLE, U_TENANT, U_CREATED, U_UPDATED,
       U_LOGIN, U__COUNT };

typedef struct user_entry {
    uint64_t epoch;
    bool active;
    int32_t len[U__COUNT]; /* -1: NULL */
    char data[];
} user_entry;

static const char **
user_field(sy_user *u, int i)
{
    const char **f[U__COUNT] = {&u->id,        &u->email,      &u->name,
                                &u->role,      &u->tenant_id,  &u->created_at,
                                &u->updated_at, &u->last_login_at};
    return f[i];
}

static void
user_put(sy_arena *a, sy_user *u, uint64_t epoch)
{
    size_t n = 0;
    for (int i = 0; i < U__COUNT; i++)
        n += *user_field(u, i) ? strlen(*user_field(u, i)) : 0;
    user_entry *e = sy_arena_alloc(a, sizeof(*e) + n);
    if (!e || !u->id)
        return;
    e->epoch = epoch;
    e->active = u->active;
    n = 0;
    for (int i = 0; i < U__COUNT; i++) {
        const char *v = *user_field(u, i);
        e->len[i] = v ? (int32_t)strlen(v) : -1;
        if (v)
            memcpy(e->data + n, v, (size_t)e->len[i]);
        n += v ? (size_t)e->len[i] : 0;
    }
    sy_memcache_put(&live_users, u->id, strlen(u->id), e, sizeof(*e) + n);
}

/* The trusted entry of (tenant, id) into out: 0, or SY_ENOTFOUND. */
static int
user_get(sy_arena *a, const char *tenant, const char *id, sy_user *out)
{
    size_t vlen = 0;
    const user_entry *e =
        sy_memcache_get(&live_users, id, strlen(id), &vlen);
    if (!e || vlen < sizeof(*e) || !sy_inval_trusted(e->epoch))
        return SY_ENOTFOUND;
    int32_t tl = e->len[U_TENANT];
    size_t off = 0;
    for (int i = 0; i < U_TENANT; i++)
        off += e->len[i] > 0 ? (size_t)e->len[i] : 0;
    if (tenant ? tl != (int32_t)strlen(tenant) ||
                     memcmp(e->data + off, tenant, (size_t)tl) != 0
               : tl != -1)
        return SY_ENOTFOUND;
    memset(out, 0, sizeof(*out));
    out->active = e->active;
    off = 0;
    for (int i = 0; i < U__COUNT; i++) {
        if (e->len[i] < 0)
            continue;
        char *v = sy_arena_strndup(a, e->data + off, (size_t)e->len[i]);
        if (!v)
            return SY_ENOMEM;
        *user_field(out, i) = v;
        off += (size_t)e->len[i];
    }
    return 0;
}

/* After a committed write of user id: here at once, elsewhere by the
 * message (before the writing request answers). */
static void
user_changed(const char *id)
{
    if (!id)
        return;
    sy_memcache_drop(&live_users, id, strlen(id));
    sy_inval_publish("user", id);
}

/* "user <id>" */
static void
on_user(sy_str arg)
{
    sy_memcache_drop(&live_users, arg.p, arg.len);
}
SY_INVAL_HANDLER("user", on_user)

static bool
of_tenant(const void *key, size_t klen, const void *val, size_t vlen,
          void *ud)
{
    const user_entry *e = val;
    const sy_str *t = ud;
    (void)key;
    (void)klen;
    if (vlen < sizeof(*e))
        return true;
    size_t off = 0;
    for (int i = 0; i < U_TENANT; i++)
        off += e->len[i] > 0 ? (size_t)e->len[i] : 0;
    return e->len[U_TENANT] == (int32_t)t->len &&
           memcmp(e->data + off, t->p, t->len) == 0;
}

/* "tenant <id>": the tenant changed (its users may be live no more). */
static void
on_tenant(sy_str arg)
{
    sy_memcache_drop_if(&live_users, of_tenant, &arg);
}
SY_INVAL_HANDLER("tenant", on_tenant)

int
sy_users_get(sy_arena *a, const char *tenant, const char *id, bool live,
             sy_user *out)
{
    const char *p[2] = {tenant, id};
    if (!live)
        return one(a, &get_stmt, p, 2, out, NULL);
    if (user_get(a, tenant, id, out) == 0)
        return 0;
    uint64_t epoch = sy_inval_epoch(); /* before the SELECT */
    int rc = one(a, &get_live_stmt, p, 2, out, NULL);
    if (rc == 0 && epoch)
        user_put(a, out, epoch);
    return rc;
}

int
sy_users_secret(sy_arena *a, const char *tenant, const char *id, sy_user *out)
{
    const char *p[2] = {tenant, id};
    return one(a, &secret_stmt, p, 2, out, &out->password_hash);
}

int
sy_users_update_self(sy_arena *a, const char *tenant, const char *id,
                     const char *name, const char *password_hash,
                     sy_user *out)
{
    const char *p[4] = {tenant, id, name, password_hash};
    int rc = one(a, &update_self_stmt, p, 4, out, NULL);
    if (rc == 0)
        user_changed(id);
    return rc;
}

int
sy_users_list(sy_arena *a, const char *tenant, const char *role,
              const sy_keyset *page, sy_user_list *out)
{
    const char *p[5] = {tenant, role, page->fetch, page->after_ts,
                        page->after_id};
    return sy_db_fetch_all(a, &list_stmt, p, 5, sizeof(*out->v), read_user,
                      (void **)&out->v, &out->n);
}

int
sy_users_patch(sy_arena *a, const char *tenant, const char *id,
               const char *role, const char *active, sy_user *out)
{
    const char *p[4] = {tenant, id, role, active};
    int rc = one(a, &patch_stmt, p, 4, out, &out->prev_role);
    if (rc == 0)
        user_changed(id);
    return rc;
}

int
sy_users_last_keeper(sy_arena *a, const char *tenant, const char *id,
                     bool *out)
{
    const char *p[2] = {tenant, id};
    struct pg_result *r;
    int rc = sy_db_exec(a, &last_keeper_stmt, p, 2, &r);
    if (rc < 0)
        return rc;
    *out = sy_db_rows(r) == 1 && sy_db_bool(r, 0, 0);
    return 0;
}

int
sy_users_erase(sy_arena *a, const char *tenant, const char *id)
{
    const char *p[2] = {tenant, id};
    struct pg_result *r;
    int rc = sy_db_exec(a, &erase_stmt, p, 2, &r);
    if (rc < 0)
        return rc;
    if (sy_db_rows(r) != 1)
        return SY_ENOTFOUND;
    user_changed(id);
    return 0;
}
