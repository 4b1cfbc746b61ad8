/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * accounts.h - the rules of user accounts (app/domain/accounts.c):
 * sign-up, login, refresh, the user's own profile and erasure, and a
 * tenant's user management.  No HTTP: the routes (auth.c, users.c) and
 * `synthia admin` call these with plain values and a parsed JSON body,
 * and render what comes back.
 *
 * Every function returns 0 or a negative SY_E* code; what is wrong with
 * the input is recorded in e (field errors, or a refusal's code and
 * sentence).  Login answers every mismatch (unknown email, wrong
 * password, inactive user or tenant, unknown tenant slug) with the same
 * SY_EUNAUTH after the same argon2 work.
 *
 * Choices where API.md is silent:
 * - Emails are ASCII (an internationalised domain is given in punycode),
 *   kept as typed but unique and looked up case-insensitively.
 * - A name is 1-200 characters after trimming, without control
 *   characters; it is required when an account is created.
 * - Changing one's password needs current_password (422 when missing); a
 *   wrong one is 403, not 401 (the caller's credential is fine), and
 *   counts as a failed login for the account.  A new password ends every
 *   other session of the user.
 * - The last active owner of a tenant (the last sysadmin of the platform)
 *   can neither be demoted nor deactivated nor erased: 409.
 * - Deactivation and demotion end the user's sessions at once; a
 *   promotion takes effect at the next sign-in.
 */
#ifndef SYNTHIA_ACCOUNTS_H
#define SYNTHIA_ACCOUNTS_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/db.h"
#include "synthia/errs.h"
#include "synthia/principal.h"
#include "synthia/session.h"
#include "synthia/str.h"
#include "synthia/users.h"

struct json_object;

/* The public form of a user: {id, email, name, role, tenant_id, active,
 * created_at, updated_at, last_login_at}; never the password hash.  A
 * new object the caller owns (NULL when out of memory). */
struct json_object *sy_accounts_json(const sy_user *u);

/* Trim white space around an email address and check its syntax (ASCII,
 * dot-atom local part of at most 64 characters, a domain of at least two
 * DNS labels, at most 254 characters in all).  0 with the trimmed view,
 * or SY_EVALIDATION. */
int sy_accounts_email(sy_str in, sy_str *out);

/* The key an email is throttled and looked up by: trimmed and ASCII
 * lower-cased.  Arena memory; an empty view when out of memory. */
sy_str sy_accounts_email_key(sy_arena *a, sy_str email);

/* shopper, staff or owner (the roles a tenant's users may have) ->
 * SY_ROLE_*, 0 for anything else. */
int sy_accounts_tenant_role(sy_str s);

/* A new account in tenant (NULL: a sysadmin) with role from body's
 * email, password and name (all required).  Field errors already in e
 * (the caller's own fields) count too: with any, nothing is created and
 * SY_EVALIDATION returned.  SY_ECONFLICT when the email is taken there,
 * SY_ENOTFOUND when the tenant does not exist. */
int sy_accounts_create(sy_arena *a, const char *tenant,
                       struct json_object *body, int role, sy_errs *e,
                       sy_user *out);

/* The same from plain values (the CLI): email, name (may be empty from
 * the command line), role and a password that the caller read. */
int sy_accounts_create_plain(sy_arena *a, const char *tenant, sy_str email,
                             sy_str name, int role, sy_str password,
                             sy_errs *e, sy_user *out);

/* A signed-in session: the user, the session and its access token. */
typedef struct sy_signin {
    sy_user user;
    sy_session_user session;  /* sid and the new refresh token */
    char *access_token;       /* arena memory */
    int64_t expires_in;       /* seconds */
    bool cookie;              /* cookie mode was asked for */
} sy_signin;

/* Login from body {email, password, tenant?: slug, cookie?}.  The
 * namespace: key_tenant (an API key's tenant; a `tenant` slug naming
 * another is a mismatch), else the slug's tenant, else the sysadmins'.
 * client is the address the login guard keys on.  SY_EUNAUTH for any
 * mismatch, SY_ERATE (retry_after in e) when throttled. */
int sy_accounts_login(sy_arena *a, struct json_object *body,
                      const char *key_tenant, sy_str client, sy_errs *e,
                      sy_signin *out);

/* Rotate a refresh token into a new access token for the user's current
 * role.  SY_EUNAUTH when the token is not valid, has expired, was
 * revoked, or its user is gone or inactive. */
int sy_accounts_refresh(sy_arena *a, sy_str token, sy_errs *e,
                        sy_signin *out);

/* The caller's own account, afresh: SY_EUNAUTH once deleted or
 * deactivated. */
int sy_accounts_me(sy_arena *a, const sy_principal *who, sy_errs *e,
                   sy_user *out);

/* PATCH /users/me: body {name?, password?, current_password}. */
int sy_accounts_update_self(sy_arena *a, const sy_principal *who,
                            struct json_object *body, sy_str client,
                            sy_errs *e, sy_user *out);

/* Erasure of the caller's account: first their uploads (Redis) and
 * their cached AI results (the result cache's analysis entries tagged
 * with them), while the caller can still retry (SY_EREDIS: nothing else
 * was done); then their sessions end; then the user row goes, and with
 * it (ON DELETE CASCADE) their analyses and feedback; orders are kept,
 * anonymised. */
int sy_accounts_erase(sy_arena *a, const sy_principal *who, sy_errs *e);

/* End the caller's session, or every session of the caller. */
int sy_accounts_logout(sy_arena *a, const sy_principal *who, bool all);

/* A tenant's users, optionally of role_filter ("shopper" ...; NULL: all).
 * An unknown role is a field error on "role". */
int sy_accounts_list(sy_arena *a, const char *tenant, const char *role_filter,
                     const sy_keyset *page, sy_errs *e, sy_user_list *out);

/* An owner changes a user: body {role?, active?}.  Deactivation and
 * demotion end the user's sessions.  SY_ENOTFOUND for no such user in
 * the tenant; SY_ECONFLICT for the last owner. */
int sy_accounts_change(sy_arena *a, const char *tenant, const char *id,
                       struct json_object *body, sy_errs *e, sy_user *out);

#endif
