/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * users.h - user rows in PostgreSQL (app/store/users.c).
 *
 * Plain values in and out: the statements that read and write users and
 * the struct their rows fill.  Sysadmins live in the tenant-less
 * namespace: a NULL tenant names it.  Every statement names the tenant,
 * so another tenant's user is simply not found.  The rules (who may do
 * what to whom) are the domain's (accounts.h); the "last keeper" guard
 * (a namespace never loses its last active owner, the platform its last
 * sysadmin) is enforced here too, inside the statements, so that two
 * owners demoting each other at once cannot both succeed.
 *
 * Functions return 0, SY_ENOTFOUND (no such row in that namespace),
 * SY_ECONFLICT (a unique email taken) or SY_EDB.  Strings of a sy_user
 * point into the result and live until the arena is reset.
 */
#ifndef SYNTHIA_USERS_H
#define SYNTHIA_USERS_H

#include <stdbool.h>

#include "synthia/arena.h"
#include "synthia/db.h"

typedef struct sy_user {
    const char *id;
    const char *email;
    const char *name;
    const char *role;          /* "shopper" ... "sysadmin" */
    const char *tenant_id;     /* NULL for sysadmins */
    bool active;
    const char *created_at;    /* RFC 3339 UTC, microseconds */
    const char *updated_at;
    const char *last_login_at; /* NULL before the first login */
    const char *password_hash; /* login and secret lookups only */
    const char *prev_role;     /* sy_users_patch: the role before */
} sy_user;

typedef struct sy_user_list {
    int n;
    sy_user *v;
} sy_user_list;

/* A new user in tenant (NULL: a sysadmin).  SY_ENOTFOUND when the tenant
 * does not exist, SY_ECONFLICT when the email is taken there. */
int sy_users_insert(sy_arena *a, const char *tenant, const char *email,
                    const char *name, const char *role,
                    const char *password_hash, sy_user *out);

/* The active user with this email (case-insensitive) in tenant (NULL:
 * sysadmins), with its password hash; with slug, the tenant must also
 * have that slug (a key's login naming its tenant).  The tenant must be
 * active. */
int sy_users_find_login(sy_arena *a, const char *tenant, const char *email,
                        const char *slug, sy_user *out);

/* A login succeeded: last_login_at, and the password hash when new_hash
 * is not NULL.  SY_ENOTFOUND when the user is gone or inactive. */
int sy_users_logged_in(sy_arena *a, const char *tenant, const char *id,
                       const char *new_hash, sy_user *out);

/* One user; with live, only an active user of an active tenant. */
int sy_users_get(sy_arena *a, const char *tenant, const char *id, bool live,
                 sy_user *out);

/* An active user's email and password hash (password changes). */
int sy_users_secret(sy_arena *a, const char *tenant, const char *id,
                    sy_user *out);

/* A user changes their own name and/or password hash (NULL: unchanged). */
int sy_users_update_self(sy_arena *a, const char *tenant, const char *id,
                         const char *name, const char *password_hash,
                         sy_user *out);

/* A tenant's users, optionally of one role, a page at a time. */
int sy_users_list(sy_arena *a, const char *tenant, const char *role,
                  const sy_keyset *page, sy_user_list *out);

/* An owner changes a user's role and/or active flag (NULL: unchanged).
 * SY_ENOTFOUND when nothing changed: no such user, or the change would
 * leave the tenant without an active owner (sy_users_get tells which).
 * out->prev_role is the role before. */
int sy_users_patch(sy_arena *a, const char *tenant, const char *id,
                   const char *role, const char *active, sy_user *out);

/* Is this user the last active owner of its tenant (the last active
 * sysadmin of the platform)? */
int sy_users_last_keeper(sy_arena *a, const char *tenant, const char *id,
                         bool *out);

/* Delete a user (its sessions and owned rows cascade).  SY_ENOTFOUND when
 * no such user, or it is the last keeper. */
int sy_users_erase(sy_arena *a, const char *tenant, const char *id);

#endif
