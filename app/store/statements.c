/*
 * statements.c - the one table of named SQL statements.
 *
 * Every query the responders run is listed here, indexed by enum sy_stmt
 * (db.h), with its parameter count so sy_db_exec() can refuse a call with
 * the wrong number of parameters.  Parameters are always bound ($1, $2,
 * ...), never spliced into the text.  By convention a tenant-owned query
 * takes tenant_id as $1.
 */
#include "synthia/db.h"
#include "synthia/statements.h"

/* --- identity routes: column list and fragments of their statements */
#define ZERO_UUID "'00000000-0000-0000-0000-000000000000'::uuid"
#define RFC3339(col)                                                      \
    "to_char(" col " AT TIME ZONE 'UTC', "                               \
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define USER_COLS                                                         \
    "u.id, u.email, u.name, u.role, u.tenant_id, u.active, "              \
    RFC3339("u.created_at") ", " RFC3339("u.updated_at") ", "             \
    RFC3339("u.last_login_at")
#define KEEPER "AND role IN ('owner', 'sysadmin') AND active"
/* --- end of identity routes */

sy_db_stmt sy_sql_ping = SY_DB_STMT("ping", "SELECT 1", 0);

/* --- API keys and CORS (apikey.c, cors.c) */
/* $1: hex SHA-256 of the presented key.  Usable keys only: not
 * revoked, not expired, of an active tenant.  Columns: id,
 * tenant_id, kind, scopes (space-separated), plan_id, read, write
 * and ai limits, allowed origins (space-separated), expires_at in
 * epoch milliseconds (0: never). */
sy_db_stmt sy_sql_apikey_lookup =
    SY_DB_STMT("apikey_lookup",
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
/* $1: uuid[] literal of keys used since the last flush. */
sy_db_stmt sy_sql_apikey_touch =
    SY_DB_STMT("apikey_touch",
     "UPDATE api_keys SET last_used_at = now() "
     "WHERE id = ANY($1::uuid[])",
     1);
/* $1: an Origin.  Is it allowed by any active tenant (preflights
 * carry no key, so the tenant is unknown)?  Scheme and host compare
 * case-insensitively. */
sy_db_stmt sy_sql_cors_tenant_origin =
    SY_DB_STMT("cors_tenant_origin",
     "SELECT EXISTS (SELECT 1 FROM tenants t, "
     "unnest(t.allowed_origins) o "
     "WHERE t.active AND lower(o) = lower($1))",
     1);
/* --- end of API keys and CORS */

/* --- identity routes (auth.c, users.c) ---------------------------
 * Users are returned as USER_COLS (the SY_USER_COL_* order of
 * users.h), times as RFC 3339 UTC with microseconds, which also
 * serve as exact pagination cursors.  Sysadmins live in the
 * tenant-less namespace: "tenant_id IS NOT DISTINCT FROM $1" with a
 * NULL $1, and the users_tenant_email_key index's coalesce() form
 * where an email is looked up.  The "keepers" of a namespace are its
 * active owners (sysadmins for the tenant-less one): statements that
 * could remove the last one lock them all, in id order, so that two
 * owners demoting each other at once cannot both succeed. */
sy_db_stmt sy_sql_user_insert =
    SY_DB_STMT("user_insert",
     "INSERT INTO users AS u (tenant_id, email, name, role, "
     "password_hash) SELECT t.id, $2, $3, $4, $5 FROM tenants t "
     "WHERE t.id = $1 RETURNING " USER_COLS, 5);
sy_db_stmt sy_sql_login_tenant_slug =
    SY_DB_STMT("login_tenant_slug",
     "SELECT id FROM tenants WHERE slug = $1 AND active", 1);
sy_db_stmt sy_sql_user_login_tenant =
    SY_DB_STMT("user_login_tenant",
     "SELECT " USER_COLS ", u.password_hash FROM users u "
     "JOIN tenants t ON t.id = u.tenant_id "
     "WHERE coalesce(u.tenant_id, " ZERO_UUID ") = $1::uuid "
     "AND lower(u.email) = lower($2) AND u.active AND t.active "
     "AND ($3::text IS NULL OR t.slug = $3)", 3);
sy_db_stmt sy_sql_user_login_sysadmin =
    SY_DB_STMT("user_login_sysadmin",
     "SELECT " USER_COLS ", u.password_hash FROM users u "
     "WHERE coalesce(u.tenant_id, " ZERO_UUID ") = " ZERO_UUID " "
     "AND lower(u.email) = lower($1) AND u.active", 1);
sy_db_stmt sy_sql_user_logged_in =
    SY_DB_STMT("user_logged_in",
     "UPDATE users u SET last_login_at = now(), "
     "password_hash = coalesce($3, u.password_hash) "
     "WHERE u.id = $2 AND u.tenant_id IS NOT DISTINCT FROM $1::uuid "
     "AND u.active RETURNING " USER_COLS, 3);
sy_db_stmt sy_sql_user_get =
    SY_DB_STMT("user_get",
     "SELECT " USER_COLS " FROM users u WHERE u.id = $2 "
     "AND u.tenant_id IS NOT DISTINCT FROM $1::uuid", 2);
sy_db_stmt sy_sql_user_get_live =
    SY_DB_STMT("user_get_live",
     "SELECT " USER_COLS " FROM users u "
     "LEFT JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $2 "
     "AND u.tenant_id IS NOT DISTINCT FROM $1::uuid AND u.active "
     "AND (u.tenant_id IS NULL OR t.active)", 2);
sy_db_stmt sy_sql_user_secret =
    SY_DB_STMT("user_secret",
     "SELECT u.email, u.password_hash FROM users u WHERE u.id = $2 "
     "AND u.tenant_id IS NOT DISTINCT FROM $1::uuid AND u.active", 2);
sy_db_stmt sy_sql_user_update_self =
    SY_DB_STMT("user_update_self",
     "UPDATE users u SET name = coalesce($3, u.name), "
     "password_hash = coalesce($4, u.password_hash) WHERE u.id = $2 "
     "AND u.tenant_id IS NOT DISTINCT FROM $1::uuid AND u.active "
     "RETURNING " USER_COLS, 4);
sy_db_stmt sy_sql_user_other_sessions =
    SY_DB_STMT("user_other_sessions",
     "SELECT id FROM sessions WHERE user_id = $2 "
     "AND tenant_id IS NOT DISTINCT FROM $1::uuid AND id <> $3::uuid "
     "AND revoked_at IS NULL AND expires_at > now()", 3);
/* $1 tenant, $2 role or NULL, $3 limit + 1, $4/$5 after (page.h) */
sy_db_stmt sy_sql_users_list =
    SY_DB_STMT("users_list",
     "SELECT " USER_COLS " FROM users u WHERE u.tenant_id = $1 "
     "AND ($2::text IS NULL OR u.role = $2) "
     "AND (u.created_at, u.id) > ($4::timestamptz, $5::uuid) "
     "ORDER BY u.created_at, u.id LIMIT $3::integer", 5);
/* Extra last column: the role before the change. */
sy_db_stmt sy_sql_user_patch =
    SY_DB_STMT("user_patch",
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
     "RETURNING " USER_COLS ", target.role", 4);
sy_db_stmt sy_sql_user_last_keeper =
    SY_DB_STMT("user_last_keeper",
     "SELECT EXISTS (SELECT 1 FROM users WHERE id = $2 "
     "AND tenant_id IS NOT DISTINCT FROM $1::uuid " KEEPER ") "
     "AND NOT EXISTS (SELECT 1 FROM users WHERE "
     "coalesce(tenant_id, " ZERO_UUID ") = coalesce($1::uuid, "
     ZERO_UUID ") " KEEPER " AND id <> $2)", 2);
sy_db_stmt sy_sql_user_erase =
    SY_DB_STMT("user_erase",
     "WITH keepers AS (SELECT id FROM users WHERE "
     "coalesce(tenant_id, " ZERO_UUID ") = coalesce($1::uuid, "
     ZERO_UUID ") " KEEPER " ORDER BY id FOR UPDATE) "
     "DELETE FROM users u WHERE u.id = $2 "
     "AND u.tenant_id IS NOT DISTINCT FROM $1::uuid "
     "AND (NOT EXISTS (SELECT 1 FROM keepers k WHERE k.id = $2) "
     "OR EXISTS (SELECT 1 FROM keepers k WHERE k.id <> $2)) "
     "RETURNING u.id", 2);
/* --- end of identity routes */

/* --- tenants, plans, keys (tenants.c, keys.c, admin.c).  Times are
 * printed as RFC 3339 UTC with microseconds, which is also the form
 * of a page cursor (page.c).  Tenant rows yield TENANCY_TENANT_COLS,
 * key rows TENANCY_KEY_COLS, as tenancy.h's renderers expect. */
#define TENANCY_TS(col)                                                   \
"to_char(" col " AT TIME ZONE 'UTC', "                               \
"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define TENANCY_TENANT_COLS                                               \
"t.id, t.name, t.slug, t.website, t.plan_id AS plan, t.active, "     \
"to_json(t.allowed_origins) AS allowed_origins, "                    \
TENANCY_TS("t.created_at") " AS created_at, "                        \
TENANCY_TS("t.updated_at") " AS updated_at"
#define TENANCY_KEY_COLS(k)                                               \
k "id, " k "name, " k "kind, " k "prefix, "                          \
"to_json(" k "scopes) AS scopes, "                                   \
TENANCY_TS(k "created_at") " AS created_at, "                        \
TENANCY_TS(k "last_used_at") " AS last_used_at, "                    \
TENANCY_TS(k "expires_at") " AS expires_at, "                        \
TENANCY_TS(k "revoked_at") " AS revoked_at, "                        \
k "replaced_by"
sy_db_stmt sy_sql_plans_list =
    SY_DB_STMT("plans_list",
     "SELECT id, name, read_per_min, write_per_min, ai_per_min "
     "FROM plans ORDER BY read_per_min, id",
     0);
sy_db_stmt sy_sql_plan_exists =
    SY_DB_STMT("plan_exists", "SELECT 1 FROM plans WHERE id = $1", 1);
/* $1 name, $2 slug, $3 website, $4 plan, $5 origins (JSON array of
 * strings).  No row: the plan does not exist.  23505: the slug is
 * taken. */
sy_db_stmt sy_sql_tenant_insert =
    SY_DB_STMT("tenant_insert",
     "INSERT INTO tenants AS t "
     "(name, slug, website, plan_id, allowed_origins) "
     "SELECT $1, $2, $3, p.id, "
     "ARRAY(SELECT json_array_elements_text($5::json)) "
     "FROM plans p WHERE p.id = $4 "
     "RETURNING " TENANCY_TENANT_COLS,
     5);
sy_db_stmt sy_sql_tenant_get =
    SY_DB_STMT("tenant_get",
     "SELECT " TENANCY_TENANT_COLS " FROM tenants t "
     "WHERE t.id = $1::uuid",
     1);
sy_db_stmt sy_sql_tenant_by_slug =
    SY_DB_STMT("tenant_by_slug",
     "SELECT " TENANCY_TENANT_COLS " FROM tenants t WHERE t.slug = $1",
     1);
/* $1 active filter (NULL: all), $2/$3 after (created_at, id), $4
 * limit (page size + 1). */
sy_db_stmt sy_sql_tenants_list =
    SY_DB_STMT("tenants_list",
     "SELECT " TENANCY_TENANT_COLS " FROM tenants t "
     "WHERE ($1::boolean IS NULL OR t.active = $1::boolean) "
     "AND (t.created_at, t.id) > ($2::timestamptz, $3::uuid) "
     "ORDER BY t.created_at, t.id LIMIT $4::integer",
     4);
/* $1 id; NULL leaves a field alone: $2 name, $4 website (written
 * only when $3 is true, so that it can be cleared), $5 plan (checked
 * with plan_exists first), $6 active, $7 origins (JSON array). */
sy_db_stmt sy_sql_tenant_update =
    SY_DB_STMT("tenant_update",
     "UPDATE tenants AS t SET name = coalesce($2, t.name), "
     "website = CASE WHEN $3::boolean THEN $4 ELSE t.website END, "
     "plan_id = coalesce($5, t.plan_id), "
     "active = coalesce($6::boolean, t.active), "
     "allowed_origins = CASE WHEN $7::json IS NULL "
     "THEN t.allowed_origins "
     "ELSE ARRAY(SELECT json_array_elements_text($7::json)) END "
     "WHERE t.id = $1::uuid RETURNING " TENANCY_TENANT_COLS,
     7);
/* Live sessions of a tenant's users, to end on deactivation. */
sy_db_stmt sy_sql_tenant_live_sessions =
    SY_DB_STMT("tenant_live_sessions",
     "SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id "
     "WHERE u.tenant_id = $1::uuid AND s.revoked_at IS NULL "
     "AND s.expires_at > now()",
     1);
/* $1 tenant, $2/$3 after (created_at, id), $4 limit + 1. */
sy_db_stmt sy_sql_keys_list =
    SY_DB_STMT("keys_list",
     "SELECT " TENANCY_KEY_COLS("k.") " FROM api_keys k "
     "WHERE k.tenant_id = $1::uuid "
     "AND (k.created_at, k.id) > ($2::timestamptz, $3::uuid) "
     "ORDER BY k.created_at, k.id LIMIT $4::integer",
     4);
/* $1 tenant, $2 name, $3 kind, $4 prefix, $5 hex SHA-256, $6 scopes
 * (JSON array), $7 created_by (NULL from the CLI).  No row: no such
 * tenant. */
sy_db_stmt sy_sql_key_insert =
    SY_DB_STMT("key_insert",
     "INSERT INTO api_keys AS k "
     "(tenant_id, name, kind, prefix, key_hash, scopes, created_by) "
     "SELECT t.id, $2, $3, $4, decode($5, 'hex'), "
     "ARRAY(SELECT json_array_elements_text($6::json)), $7::uuid "
     "FROM tenants t WHERE t.id = $1::uuid "
     "RETURNING " TENANCY_KEY_COLS("k."),
     7);
/* $1 tenant, $2 key: its kind, and whether it can no longer be
 * rotated (revoked, expired or already rotated). */
sy_db_stmt sy_sql_key_get =
    SY_DB_STMT("key_get",
     "SELECT k.kind, (k.revoked_at IS NOT NULL "
     "OR k.replaced_by IS NOT NULL "
     "OR coalesce(k.expires_at <= now(), false)) AS spent "
     "FROM api_keys k WHERE k.tenant_id = $1::uuid AND k.id = $2::uuid",
     2);
/* One statement, so a rotation is all or nothing and two at once
 * cannot both succeed (FOR UPDATE, then the second finds replaced_by
 * set): $1 tenant, $2 old key, $3 prefix and $4 hex SHA-256 of the
 * new key, $5 created_by, $6 grace seconds, $7 the old key's kind.
 * The old key ends after the grace, or earlier if it already did;
 * returns the new key, the old key's hash (to drop its cached
 * lookup) and its new expiry.  No row: nothing to rotate. */
sy_db_stmt sy_sql_key_rotate =
    SY_DB_STMT("key_rotate",
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
     "SELECT " TENANCY_KEY_COLS("k.") ", "
     "encode(upd.key_hash, 'hex') AS old_hash, "
     TENANCY_TS("upd.expires_at") " AS old_expires_at FROM k, upd",
     7);
/* $1 tenant, $2 key.  Idempotent: a revoked key keeps its time. */
sy_db_stmt sy_sql_key_revoke =
    SY_DB_STMT("key_revoke",
     "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
     "WHERE tenant_id = $1::uuid AND id = $2::uuid "
     "RETURNING encode(key_hash, 'hex')",
     2);
/* `synthia admin create-sysadmin | create-user`: $1 tenant (NULL for
 * a sysadmin), $2 email, $3 name, $4 role, $5 password hash.  23505:
 * the email is taken in that tenant.  Columns: account.h's
 * SY_USER_COL_* order, for sy_account_json. */
sy_db_stmt sy_sql_admin_user_insert =
    SY_DB_STMT("admin_user_insert",
     "INSERT INTO users (tenant_id, email, name, role, password_hash) "
     "VALUES ($1::uuid, $2, $3, $4, $5) "
     "RETURNING id, email, name, role, tenant_id, active, "
     TENANCY_TS("created_at") ", " TENANCY_TS("updated_at") ", "
     TENANCY_TS("last_login_at"),
     5);
#undef TENANCY_KEY_COLS
#undef TENANCY_TENANT_COLS
#undef TENANCY_TS
/* --- end of tenants, plans, keys */
/* --- sessions and refresh tokens (session.c).  Durations are
 * milliseconds; bytea parameters are '\x<hex>'. */
/* $1 tenant (NULL: sysadmin), $2 user, $3 cookie, $4 refresh ttl,
 * $5 token hash, $6 nonce.  No row: the user is not (or no longer) an
 * active user of that tenant. */
sy_db_stmt sy_sql_session_start =
    SY_DB_STMT("session_start",
     "WITH s AS ("
     " INSERT INTO sessions (tenant_id, user_id, cookie, expires_at)"
     " SELECT u.tenant_id, u.id, $3::boolean,"
     "  now() + $4::bigint * interval '1 millisecond'"
     " FROM users u WHERE u.id = $2::uuid"
     "  AND u.tenant_id IS NOT DISTINCT FROM $1::uuid AND u.active"
     " RETURNING id, expires_at) "
     "INSERT INTO refresh_tokens (session_id, token_hash, nonce, "
     "expires_at) "
     "SELECT id, $5::bytea, $6::bytea, expires_at FROM s "
     "RETURNING session_id",
     6);
/* $1 token hash, $2 reuse grace.  Locks the token and its session, so
 * concurrent uses of one token (and a revocation) take turns. */
sy_db_stmt sy_sql_refresh_lookup =
    SY_DB_STMT("refresh_lookup",
     "SELECT rt.id, rt.session_id, encode(rt.nonce, 'hex'),"
     " rt.used_at IS NOT NULL,"
     " coalesce(rt.used_at > now() - $2::bigint * interval "
     "'1 millisecond', false),"
     " rt.expires_at > now(),"
     " s.revoked_at IS NULL AND s.expires_at > now(),"
     " s.cookie, u.id, u.tenant_id, u.role,"
     " u.active AND coalesce(t.active, true), rt.successor_id "
     "FROM refresh_tokens rt"
     " JOIN sessions s ON s.id = rt.session_id"
     " JOIN users u ON u.id = s.user_id"
     " LEFT JOIN tenants t ON t.id = u.tenant_id "
     "WHERE rt.token_hash = $1::bytea "
     "FOR UPDATE OF rt, s",
     2);
/* $1 successor.  A statement of its own: a successor committed while
 * the lookup waited for the lock is not in the lookup's snapshot. */
sy_db_stmt sy_sql_refresh_successor =
    SY_DB_STMT("refresh_successor",
     "SELECT encode(token_hash, 'hex') FROM refresh_tokens "
     "WHERE id = $1::uuid",
     1);
/* $1 session, $2 used token, $3 successor hash, $4 successor nonce,
 * $5 refresh ttl.  The session slides with its newest token. */
sy_db_stmt sy_sql_refresh_rotate =
    SY_DB_STMT("refresh_rotate",
     "WITH n AS ("
     " INSERT INTO refresh_tokens (session_id, token_hash, nonce,"
     "  parent_id, expires_at)"
     " VALUES ($1::uuid, $3::bytea, $4::bytea, $2::uuid,"
     "  now() + $5::bigint * interval '1 millisecond')"
     " RETURNING id, expires_at), "
     "o AS (UPDATE refresh_tokens SET used_at = now(), successor_id = n.id"
     " FROM n WHERE refresh_tokens.id = $2::uuid), "
     "s AS (UPDATE sessions SET last_used_at = now(),"
     " expires_at = n.expires_at FROM n WHERE sessions.id = $1::uuid) "
     "SELECT id FROM n",
     5);
/* $1 session: reuse detected (inside the refresh transaction). */
sy_db_stmt sy_sql_session_revoke_reuse =
    SY_DB_STMT("session_revoke_reuse",
     "UPDATE sessions SET revoked_at = now(), revoked_reason = 'reuse' "
     "WHERE id = $1::uuid AND revoked_at IS NULL",
     1);
/* $1 session, $2 reason.  Idempotent: a revoked session keeps its
 * first time and reason. */
sy_db_stmt sy_sql_session_revoke =
    SY_DB_STMT("session_revoke",
     "UPDATE sessions SET revoked_at = coalesce(revoked_at, now()),"
     " revoked_reason = coalesce(revoked_reason, $2) "
     "WHERE id = $1::uuid RETURNING id",
     2);
/* $1 user, $2 reason: every live session of the user. */
sy_db_stmt sy_sql_session_revoke_user =
    SY_DB_STMT("session_revoke_user",
     "UPDATE sessions SET revoked_at = now(), revoked_reason = $2 "
     "WHERE user_id = $1::uuid AND revoked_at IS NULL RETURNING id",
     2);
/* $1 session.  No row: gone (the user was erased), i.e. revoked. */
sy_db_stmt sy_sql_session_revoked =
    SY_DB_STMT("session_revoked",
     "SELECT revoked_at IS NOT NULL FROM sessions WHERE id = $1::uuid",
     1);
/* $1 window: sessions whose access tokens may still be alive. */
sy_db_stmt sy_sql_sessions_recently_revoked =
    SY_DB_STMT("sessions_recently_revoked",
     "SELECT id FROM sessions "
     "WHERE revoked_at > now() - $1::bigint * interval '1 millisecond'",
     1);
/* Expired refresh tokens, a bounded batch (housekeeping). */
sy_db_stmt sy_sql_refresh_housekeeping =
    SY_DB_STMT("refresh_housekeeping",
     "DELETE FROM refresh_tokens WHERE ctid = ANY (ARRAY("
     "SELECT ctid FROM refresh_tokens "
     "WHERE expires_at < now() - interval '1 day' LIMIT 1000))",
     0);
/* --- end of sessions and refresh tokens */

