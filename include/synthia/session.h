/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * session.h - sessions and their rotating refresh tokens (PostgreSQL),
 * and the fast "is this session revoked" check used on every token
 * request (Redis, falling back to PostgreSQL when Redis is down).
 */
#ifndef SYNTHIA_SESSION_H
#define SYNTHIA_SESSION_H

#include <stdbool.h>

#include "synthia/arena.h"
#include "synthia/principal.h"
#include "synthia/str.h"

#define SY_REFRESH_TOKEN_LEN 43 /* base64url of 32 bytes, no padding */

typedef struct sy_session_user {
    char user_id[SY_UUID_LEN + 1];
    char tenant_id[SY_UUID_LEN + 1];
    int role;
    char sid[SY_UUID_LEN + 1];
    bool cookie;
    char refresh[SY_REFRESH_TOKEN_LEN + 1]; /* the new refresh token */
} sy_session_user;

/* Start a session for a user who just logged in; out->refresh is its
 * first refresh token. */
int sy_session_start(sy_arena *a, const char *tenant_id, const char *user_id,
                     int role, bool cookie, sy_session_user *out);

/* Rotate a refresh token.  0 with the user and the successor token;
 * within the reuse grace a second use returns the same successor; after
 * it, the whole session is revoked (security log line) and SY_EUNAUTH
 * returned, as for unknown, expired or revoked tokens and inactive users. */
int sy_session_refresh(sy_arena *a, sy_str token, sy_session_user *out);

/* The session a refresh token belongs to, without using the token: for
 * checking a cookie client's CSRF token before it is rotated.  0 with
 * *sid, SY_EUNAUTH for an unknown token. */
int sy_session_of_refresh(sy_arena *a, sy_str token,
                          char sid[SY_UUID_LEN + 1]);

/* The CSRF token of a session: base64url HMAC-SHA256 of its id under the
 * JWT secret.  Cookie clients echo it in X-CSRF-Token on unsafe requests;
 * derived from the session, a value planted in the sy_csrf cookie by
 * another site is worthless.  0, or SY_EINVAL for a malformed sid. */
#define SY_SESSION_CSRF_LEN 43
int sy_session_csrf(const char *sid, char out[SY_SESSION_CSRF_LEN + 1]);

/* Revoke one session / every session of a user, effective at once for
 * their access tokens.  reason is one of sessions.revoked_reason. */
int sy_session_revoke(sy_arena *a, const char *sid, const char *reason);
int sy_session_revoke_user(sy_arena *a, const char *user_id,
                           const char *reason);

/* Is the session of an access token revoked?  0 (live), SY_EUNAUTH
 * (revoked), or SY_EDB when neither Redis nor PostgreSQL can tell. */
int sy_session_check(sy_arena *a, const char *sid);

#endif
