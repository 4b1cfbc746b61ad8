/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tenants.h - plan, tenant and API-key rows in PostgreSQL
 * (app/store/tenants.c).  Plain values in and out; the rules are
 * tenancy.h's.  Times are RFC 3339 UTC with microseconds (also the form
 * of a page cursor).  Functions return 0, SY_ENOTFOUND (no such row),
 * SY_ECONFLICT (a unique slug taken) or SY_EDB; strings point into the
 * result and live until the arena is reset.
 */
#ifndef SYNTHIA_TENANTS_H
#define SYNTHIA_TENANTS_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/db.h"

typedef struct sy_plan {
    const char *id;
    const char *name;
    int64_t limits[4]; /* read, write, ai per minute (per key or user);
                          the tenant's ai budget per minute */
} sy_plan;

typedef struct sy_plan_list {
    int n;
    sy_plan *v;
} sy_plan_list;

typedef struct sy_tenant {
    const char *id;
    const char *name;
    const char *slug;
    const char *website; /* NULL: none */
    const char *plan;
    bool active;
    const char *allowed_origins; /* JSON array text */
    const char *created_at;
    const char *updated_at;
} sy_tenant;

typedef struct sy_tenant_list {
    int n;
    sy_tenant *v;
} sy_tenant_list;

/* A change of a tenant: NULL leaves a field alone; website is written
 * only with set_website (NULL then clears it); origins is a JSON array
 * of normalised origins. */
typedef struct sy_tenant_change {
    const char *name;
    bool set_website;
    const char *website;
    const char *plan;
    const char *active; /* "true" / "false" */
    const char *origins;
} sy_tenant_change;

int sy_plans_list(sy_arena *a, sy_plan_list *out);
int sy_plans_exists(sy_arena *a, const char *id, bool *out);

/* SY_ENOTFOUND: the plan does not exist; SY_ECONFLICT: the slug is
 * taken. */
int sy_tenants_insert(sy_arena *a, const sy_tenant_change *t,
                      const char *slug, sy_tenant *out);
int sy_tenants_get(sy_arena *a, const char *id, sy_tenant *out);
int sy_tenants_by_slug(sy_arena *a, const char *slug, sy_tenant *out);
/* The id of the active tenant with this slug (login). */
int sy_tenants_active_by_slug(sy_arena *a, const char *slug,
                              const char **id);
/* active: "true", "false" or NULL (all). */
int sy_tenants_list(sy_arena *a, const char *active, const sy_keyset *page,
                    sy_tenant_list *out);
int sy_tenants_update(sy_arena *a, const char *id, const sy_tenant_change *c,
                      sy_tenant *out);
/* Does any active tenant allow this origin (scheme and host compared
 * case-insensitively)? */
int sy_tenants_origin_allowed(sy_arena *a, const char *origin, bool *out);

/* ------------------------------------------------------------ API keys */

typedef struct sy_key_row {
    const char *id;
    const char *name;
    const char *kind;
    const char *prefix;
    const char *scopes; /* JSON array text */
    const char *created_at;
    const char *last_used_at;
    const char *expires_at;
    const char *revoked_at;
    const char *replaced_by;
    const char *old_hash;       /* rotation: the old key's hex SHA-256 */
    const char *old_expires_at; /* rotation: when the old key ends */
} sy_key_row;

typedef struct sy_key_list {
    int n;
    sy_key_row *v;
} sy_key_list;

/* A new key of tenant.  created_by: the user who made it (NULL from the
 * CLI).  SY_ENOTFOUND when the tenant does not exist. */
typedef struct sy_key_new {
    const char *name;
    const char *kind;
    const char *prefix;
    const char *hash_hex;
    const char *scopes; /* JSON array text */
    const char *created_by;
} sy_key_new;

int sy_keys_list(sy_arena *a, const char *tenant, const sy_keyset *page,
                 sy_key_list *out);
int sy_keys_insert(sy_arena *a, const char *tenant, const sy_key_new *k,
                   sy_key_row *out);
/* A key's kind, and whether it can no longer be rotated (revoked,
 * expired or already rotated). */
int sy_keys_get(sy_arena *a, const char *tenant, const char *id,
                const char **kind, bool *spent);
/* Rotate key id (of kind) into the new key k, the old one ending after
 * grace_s; all or nothing.  SY_ENOTFOUND: nothing to rotate (rotated or
 * revoked meanwhile).  out has old_hash and old_expires_at. */
int sy_keys_rotate(sy_arena *a, const char *tenant, const char *id,
                   const sy_key_new *k, int64_t grace_s, sy_key_row *out);
/* Revoke now (idempotent); *hash_hex gets the key's hex SHA-256. */
int sy_keys_revoke(sy_arena *a, const char *tenant, const char *id,
                   const char **hash_hex);

/* A usable key by the hex SHA-256 of its text: not revoked, not expired,
 * of an active tenant, with the tenant's plan limits and origins. */
typedef struct sy_key_auth {
    const char *id;
    const char *tenant_id;
    const char *kind;
    const char *scopes;  /* space-separated */
    const char *plan;
    int64_t limits[3];   /* read, write, ai per minute */
    const char *origins; /* space-separated */
    int64_t expires_ms;  /* epoch milliseconds, 0: never */
} sy_key_auth;

int sy_keys_lookup(sy_arena *a, const char *hash_hex, sy_key_auth *out);
/* last_used_at = now() for the keys of a uuid[] literal. */
int sy_keys_touch(sy_arena *a, const char *ids_literal);

#endif
