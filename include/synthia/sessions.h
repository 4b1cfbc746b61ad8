/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sessions.h - session and refresh-token rows in PostgreSQL
 * (app/store/sessions.c).  The rules (rotation, reuse grace, deny marks
 * in Redis) are session.c's; this is only the data.  Durations are
 * milliseconds; token hashes and nonces are bytea parameters written
 * '\x<hex>'.  Functions return 0, SY_ENOTFOUND (no such row) or SY_EDB.
 */
#ifndef SYNTHIA_SESSIONS_H
#define SYNTHIA_SESSIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/db.h"

/* A new session for an active user of tenant (NULL: a sysadmin) with its
 * first refresh token; *sid (SY_UUID_LEN + 1 bytes) gets its id.
 * SY_ENOTFOUND when the user is not (or no longer) active there. */
int sy_sessions_insert(sy_arena *a, const char *tenant, const char *user,
                       bool cookie, int64_t ttl_ms, const char *token_hash,
                       const char *nonce, char *sid);

/* A refresh token, its session and user, locked (FOR UPDATE) inside the
 * caller's transaction. */
typedef struct sy_refresh_row {
    const char *id;
    const char *session;
    const char *nonce_hex;
    bool used;         /* rotated already */
    bool in_grace;     /* ... within the reuse grace */
    bool token_live;   /* not expired */
    bool session_live; /* not revoked, not expired */
    bool cookie;
    const char *user;
    const char *tenant; /* NULL for sysadmins */
    const char *role;
    bool user_active;   /* user and tenant active */
    const char *successor; /* id of its successor, or NULL */
} sy_refresh_row;

int sy_sessions_refresh_lookup(sy_arena *a, const char *token_hash,
                               int64_t grace_ms, sy_refresh_row *out);

/* The session of a refresh token by its hash (no lock, no use). */
int sy_sessions_of_token(sy_arena *a, const char *token_hash,
                         const char **sid);

/* The hex SHA-256 of a refresh token by id. */
int sy_sessions_token_hash(sy_arena *a, const char *id, const char **hex);

/* Mark token `used` used and add its successor (hash, nonce) to the
 * session, which slides with it. */
int sy_sessions_rotate(sy_arena *a, const char *session, const char *used,
                       const char *hash, const char *nonce, int64_t ttl_ms);

/* Revoke: one session (idempotent: the first time and reason stay), a
 * session for refresh-token reuse, every live session of a user.  out
 * (may be NULL) gets the ids of the sessions revoked. */
int sy_sessions_revoke(sy_arena *a, const char *sid, const char *reason,
                       sy_db_list *out);
int sy_sessions_revoke_reuse(sy_arena *a, const char *sid);
int sy_sessions_revoke_user(sy_arena *a, const char *user, const char *reason,
                            sy_db_list *out);

/* Is the session revoked?  A session that is gone counts as revoked. */
int sy_sessions_revoked(sy_arena *a, const char *sid, bool *revoked);

/* Sessions revoked within the last window_ms. */
int sy_sessions_recently_revoked(sy_arena *a, int64_t window_ms,
                                 sy_db_list *out);

/* Live sessions of a user but `except` (NULL: none), of a tenant. */
int sy_sessions_live_of_user(sy_arena *a, const char *tenant,
                             const char *user, const char *except,
                             sy_db_list *out);
int sy_sessions_live_of_tenant(sy_arena *a, const char *tenant,
                               sy_db_list *out);

/* Delete a bounded batch of long-expired refresh tokens. */
int sy_sessions_housekeeping(sy_arena *a, int64_t *deleted);

#endif
