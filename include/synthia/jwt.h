/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jwt.h - access tokens (libjwt 1.10).
 *
 * Signing: HS256 with the secret of auth.jwt_secret_file, or RS256/ES256
 * with auth.jwt_private_key_file (auth.jwt_algorithm).  Every token has a
 * kid header.  Verification accepts the current key and the older keys of
 * auth.jwt_verify_keys (kid=path ...), so signing keys rotate without
 * logging anyone out.  The header is checked BEFORE any signature check:
 * the kid must be known and the alg must be exactly that key's algorithm,
 * so "alg: none" and HS/RS confusion are refused by construction.  Then
 * signature, iss, exp, nbf and iat (each within auth.jwt_leeway) and the
 * claim types.
 */
#ifndef SYNTHIA_JWT_H
#define SYNTHIA_JWT_H

#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/principal.h"
#include "synthia/str.h"

typedef struct sy_claims {
    char sub[SY_UUID_LEN + 1]; /* user id */
    char tid[SY_UUID_LEN + 1]; /* tenant id, "" for sysadmins */
    int role;                  /* enum sy_role */
    char sid[SY_UUID_LEN + 1]; /* session (refresh family) */
    char jti[SY_UUID_LEN + 1];
    int64_t iat;
    int64_t exp;
} sy_claims;

/* Load the keys named by sy_conf (once per process; idempotent).  0 or
 * SY_ECONFIG with a log line naming the key. */
int sy_jwt_load(void);

/* Forget the loaded keys (wiping the secrets); the next call loads them
 * again from sy_conf.  For a process that switches configs (tests, a
 * master validating a reload). */
void sy_jwt_unload(void);

/* Sign an access token for c (iat/exp/jti filled in here from now and
 * auth.access_ttl; c is updated).  *token is arena memory. */
int sy_jwt_issue(sy_arena *a, sy_claims *c, char **token);

/* Verify token; 0 with the claims, SY_EUNAUTH on any defect (the reason
 * goes to the debug log, never to the client). */
int sy_jwt_verify(sy_arena *a, sy_str token, sy_claims *out);

/* The JWKS document ({"keys":[...]}) of the public keys: every RS256 and
 * ES256 verification key; empty for HS256 (secrets are never published). */
int sy_jwt_jwks(sy_buf *out);

/* "shopper" <-> SY_ROLE_SHOPPER ... (0 / NULL when unknown). */
int sy_role_parse(sy_str s);
const char *sy_role_name(int role);

#endif
