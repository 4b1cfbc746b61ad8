/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sessions.c - session and refresh-token rows (sessions.h).
 */
#include "synthia/sessions.h"

#include <stdio.h>
#include <string.h>

#include "synthia/error.h"
#include "synthia/principal.h"

/* $1 tenant (NULL: sysadmin), $2 user, $3 cookie, $4 refresh ttl,
 * $5 token hash, $6 nonce.  No row: the user is not (or no longer) an
 * active user of that tenant. */
static sy_db_stmt start_stmt = SY_DB_STMT_DURABLE(
    "session_start",
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
static sy_db_stmt lookup_stmt = SY_DB_STMT(
    "refresh_lookup",
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
static sy_db_stmt of_token_stmt = SY_DB_STMT(
    "refresh_session",
    "SELECT session_id FROM refresh_tokens WHERE token_hash = $1::bytea", 1);
/* A statement of its own: a successor committed while the lookup waited
 * for the lock is not in the lookup's snapshot. */
static sy_db_stmt token_hash_stmt = SY_DB_STMT(
    "refresh_token_hash",
    "SELECT encode(token_hash, 'hex') FROM refresh_tokens "
    "WHERE id = $1::uuid",
    1);
/* $1 session, $2 used token, $3 successor hash, $4 successor nonce,
 * $5 refresh ttl.  The session slides with its newest token. */
static sy_db_stmt rotate_stmt = SY_DB_STMT(
    "refresh_rotate",
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
static sy_db_stmt revoke_reuse_stmt = SY_DB_STMT(
    "session_revoke_reuse",
    "UPDATE sessions SET revoked_at = now(), revoked_reason = 'reuse' "
    "WHERE id = $1::uuid AND revoked_at IS NULL",
    1);
static sy_db_stmt revoke_stmt = SY_DB_STMT_DURABLE(
    "session_revoke",
    "UPDATE sessions SET revoked_at = coalesce(revoked_at, now()),"
    " revoked_reason = coalesce(revoked_reason, $2) "
    "WHERE id = $1::uuid RETURNING id",
    2);
static sy_db_stmt revoke_user_stmt = SY_DB_STMT_DURABLE(
    "session_revoke_user",
    "UPDATE sessions SET revoked_at = now(), revoked_reason = $2 "
    "WHERE user_id = $1::uuid AND revoked_at IS NULL RETURNING id",
    2);
static sy_db_stmt revoked_stmt = SY_DB_STMT(
    "session_revoked",
    "SELECT revoked_at IS NOT NULL FROM sessions WHERE id = $1::uuid", 1);
static sy_db_stmt recently_revoked_stmt = SY_DB_STMT(
    "sessions_recently_revoked",
    "SELECT id FROM sessions "
    "WHERE revoked_at > now() - $1::bigint * interval '1 millisecond'",
    1);
static sy_db_stmt live_of_user_stmt = SY_DB_STMT(
    "sessions_live_of_user",
    "SELECT id FROM sessions WHERE user_id = $2 "
    "AND tenant_id IS NOT DISTINCT FROM $1::uuid "
    "AND ($3::uuid IS NULL OR id <> $3::uuid) "
    "AND revoked_at IS NULL AND expires_at > now()",
    3);
static sy_db_stmt live_of_tenant_stmt = SY_DB_STMT(
    "sessions_live_of_tenant",
    "SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id "
    "WHERE u.tenant_id = $1::uuid AND s.revoked_at IS NULL "
    "AND s.expires_at > now()",
    1);
static sy_db_stmt housekeeping_stmt = SY_DB_STMT(
    "refresh_housekeeping",
    "DELETE FROM refresh_tokens WHERE ctid = ANY (ARRAY("
    "SELECT ctid FROM refresh_tokens "
    "WHERE expires_at < now() - interval '1 day' LIMIT 1000))",
    0);

static void
millis(char out[24], int64_t ms)
{
    snprintf(out, 24, "%lld", (long long)ms);
}

/* A statement whose first column lists ids (out may be NULL). */
static int
ids(sy_arena *a, sy_db_stmt *s, const char *const *p, int n,
    sy_db_list *out)
{
    struct pg_result *r;
    int rc = sy_db_exec(a, s, p, n, &r);
    if (rc < 0 || !out)
        return rc;
    return sy_db_column(a, r, 0, out);
}

int
sy_sessions_insert(sy_arena *a, const char *tenant, const char *user,
                   bool cookie, int64_t ttl_ms, const char *token_hash,
                   const char *nonce, char *sid)
{
    char ttl[24];
    millis(ttl, ttl_ms);
    const char *p[6] = {tenant, user, cookie ? "t" : "f", ttl, token_hash,
                        nonce};
    struct pg_result *r;
    int rc = sy_db_exec(a, &start_stmt, p, 6, &r);
    if (rc < 0)
        return rc;
    if (sy_db_rows(r) != 1)
        return SY_ENOTFOUND;
    snprintf(sid, SY_UUID_LEN + 1, "%s", sy_db_cstr(r, 0, 0));
    return 0;
}

enum { L_ID, L_SESSION, L_NONCE, L_USED, L_IN_GRACE, L_TOKEN_LIVE,
       L_SESSION_LIVE, L_COOKIE, L_USER, L_TENANT, L_ROLE, L_USER_ACTIVE,
       L_SUCCESSOR };

int
sy_sessions_refresh_lookup(sy_arena *a, const char *token_hash,
                           int64_t grace_ms, sy_refresh_row *out)
{
    char grace[24];
    millis(grace, grace_ms);
    const char *p[2] = {token_hash, grace};
    struct pg_result *r;
    int rc = sy_db_exec(a, &lookup_stmt, p, 2, &r);
    if (rc < 0)
        return rc;
    if (sy_db_rows(r) != 1)
        return SY_ENOTFOUND;
    *out = (sy_refresh_row){
        .id = sy_db_cstr(r, 0, L_ID),
        .session = sy_db_cstr(r, 0, L_SESSION),
        .nonce_hex = sy_db_cstr(r, 0, L_NONCE),
        .used = sy_db_bool(r, 0, L_USED),
        .in_grace = sy_db_bool(r, 0, L_IN_GRACE),
        .token_live = sy_db_bool(r, 0, L_TOKEN_LIVE),
        .session_live = sy_db_bool(r, 0, L_SESSION_LIVE),
        .cookie = sy_db_bool(r, 0, L_COOKIE),
        .user = sy_db_cstr(r, 0, L_USER),
        .tenant = sy_db_cstr(r, 0, L_TENANT),
        .role = sy_db_cstr(r, 0, L_ROLE),
        .user_active = sy_db_bool(r, 0, L_USER_ACTIVE),
        .successor = sy_db_cstr(r, 0, L_SUCCESSOR),
    };
    return 0;
}

int
sy_sessions_of_token(sy_arena *a, const char *token_hash, const char **sid)
{
    return sy_db_one_text(a, &of_token_stmt, &token_hash, 1, sid);
}

int
sy_sessions_token_hash(sy_arena *a, const char *id, const char **hex)
{
    return sy_db_one_text(a, &token_hash_stmt, &id, 1, hex);
}

int
sy_sessions_rotate(sy_arena *a, const char *session, const char *used,
                   const char *hash, const char *nonce, int64_t ttl_ms)
{
    char ttl[24];
    millis(ttl, ttl_ms);
    const char *p[5] = {session, used, hash, nonce, ttl};
    return ids(a, &rotate_stmt, p, 5, NULL);
}

int
sy_sessions_revoke(sy_arena *a, const char *sid, const char *reason,
                   sy_db_list *out)
{
    const char *p[2] = {sid, reason};
    return ids(a, &revoke_stmt, p, 2, out);
}

int
sy_sessions_revoke_reuse(sy_arena *a, const char *sid)
{
    return ids(a, &revoke_reuse_stmt, &sid, 1, NULL);
}

int
sy_sessions_revoke_user(sy_arena *a, const char *user, const char *reason,
                        sy_db_list *out)
{
    const char *p[2] = {user, reason};
    return ids(a, &revoke_user_stmt, p, 2, out);
}

int
sy_sessions_revoked(sy_arena *a, const char *sid, bool *revoked)
{
    struct pg_result *r;
    int rc = sy_db_exec(a, &revoked_stmt, &sid, 1, &r);
    if (rc < 0)
        return rc;
    *revoked = sy_db_rows(r) != 1 || sy_db_bool(r, 0, 0);
    return 0;
}

int
sy_sessions_recently_revoked(sy_arena *a, int64_t window_ms,
                             sy_db_list *out)
{
    char w[24];
    millis(w, window_ms);
    const char *p[1] = {w};
    return ids(a, &recently_revoked_stmt, p, 1, out);
}

int
sy_sessions_live_of_user(sy_arena *a, const char *tenant, const char *user,
                         const char *except, sy_db_list *out)
{
    const char *p[3] = {tenant, user, except};
    return ids(a, &live_of_user_stmt, p, 3, out);
}

int
sy_sessions_live_of_tenant(sy_arena *a, const char *tenant, sy_db_list *out)
{
    return ids(a, &live_of_tenant_stmt, &tenant, 1, out);
}

int
sy_sessions_housekeeping(sy_arena *a, int64_t *deleted)
{
    struct pg_result *r;
    int rc = sy_db_exec(a, &housekeeping_stmt, NULL, 0, &r);
    if (rc == 0)
        *deleted = sy_db_changed(r);
    return rc;
}
