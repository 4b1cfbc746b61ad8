/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tenancy.h - the rules of tenants and plans (app/domain/tenancy.c) and
 * of API keys (app/domain/keys.c), shared by their routes (tenants.c,
 * keys.c) and by `synthia admin` and `synthia seed-demo`, so that a
 * tenant or key made from the command line passes exactly the checks the
 * API applies and prints exactly what the API returns.
 *
 * Checkers return 0, or SY_EVALIDATION with a static sentence in *why
 * (meant for a client or an operator, never containing the input).
 * Operations take a parsed body or plain values, record what is wrong in
 * e (errs.h), and return 0 or a negative SY_E* code.
 *
 * A change of plan, active flag or origins reaches every responder at
 * once: the tenant's cached key lookups are dropped after the commit
 * (apikey.h), and deactivation also ends every session of the tenant's
 * users, so tokens stop with the keys.
 */
#ifndef SYNTHIA_TENANCY_H
#define SYNTHIA_TENANCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synthia/apikey.h"
#include "synthia/arena.h"
#include "synthia/db.h"
#include "synthia/errs.h"
#include "synthia/principal.h"
#include "synthia/str.h"
#include "synthia/tenants.h"

struct json_object;

#define SY_TENANCY_ORIGIN_MAX 255            /* one normalised origin */
#define SY_TENANCY_ORIGINS_MAX 100           /* per tenant (the SQL CHECK) */
#define SY_TENANCY_GRACE_MAX (7 * 24 * 3600) /* key rotation, seconds */

/* ------------------------------------------------------------ checkers */

/* Text of minchars..maxchars code points, valid UTF-8 without control
 * characters; with trim, *s loses its leading and trailing white space
 * first. */
int sy_tenancy_text(sy_str *s, bool trim, size_t minchars, size_t maxchars,
                    const char **why);

/* A slug is a DNS label: [a-z0-9], inner hyphens, 1-63 characters. */
int sy_tenancy_check_slug(sy_str slug, const char **why);

/* http(s)://... in printable ASCII without spaces, at most 2048 bytes. */
int sy_tenancy_check_website(sy_str url, const char **why);

/* A plan id as the plans table allows ([a-z][a-z0-9_]{0,31}); whether
 * the plan exists is the database's to say. */
int sy_tenancy_check_plan(sy_str plan, const char **why);

/* An origin as browsers send it: http or https, a host (DNS name, IPv4
 * or [IPv6]), an optional port, nothing else.  Written to out
 * (SY_TENANCY_ORIGIN_MAX + 1 bytes) in the form sy_cors_origin_listed
 * compares exactly: scheme and host in lower case, default port
 * dropped. */
int sy_tenancy_origin(sy_str in, char *out, size_t outlen, const char **why);

/* ------------------------------------------------------------ tenants */

/* The API's form of a tenant, a plan.  New objects the caller owns. */
struct json_object *sy_tenancy_tenant_json(const sy_tenant *t);
struct json_object *sy_tenancy_plan_json(const sy_plan *p);

/* POST /tenants: body {name, slug, website?, plan, allowed_origins?}.
 * SY_ECONFLICT when the slug is taken; an unknown plan is a field
 * error. */
int sy_tenancy_create(sy_arena *a, struct json_object *body, sy_errs *e,
                      sy_tenant *out);

/* The same from the command line's values (origins: n strings). */
typedef struct sy_tenancy_new {
    const char *name, *slug, *plan, *website;
    const char *const *origins;
    int norigins;
} sy_tenancy_new;
int sy_tenancy_create_plain(sy_arena *a, const sy_tenancy_new *t, sy_errs *e,
                            sy_tenant *out);

/* One tenant: SY_ENOTFOUND (with the API's sentence) for no such id. */
int sy_tenancy_get(sy_arena *a, const char *id, sy_errs *e, sy_tenant *out);

/* A tenant by slug (the CLI): SY_ENOTFOUND for no such slug. */
int sy_tenancy_by_slug(sy_arena *a, const char *slug, sy_errs *e,
                       sy_tenant *out);

/* PATCH: body {name?, website?, allowed_origins?} and, when
 * platform_fields (a sysadmin), {plan?, active?}; an owner naming plan
 * or active gets a field error each. */
int sy_tenancy_update(sy_arena *a, const char *id, struct json_object *body,
                      bool platform_fields, sy_errs *e, sy_tenant *out);

/* ------------------------------------------------------------ API keys */

/* Key kinds by name: "publishable" / "secret" -> SY_KEY_*, 0 if neither. */
int sy_tenancy_key_kind(sy_str name);
const char *sy_tenancy_key_kind_name(int kind);

/* Every scope a key of this kind may hold (the default scopes). */
uint32_t sy_tenancy_key_scopes(int kind);

/* The bit of one requested scope, or 0 with *why when it is unknown or
 * not allowed for the kind. */
uint32_t sy_tenancy_key_scope(int kind, sy_str name, const char **why);

/* The scope names of a mask as a JSON array text in arena memory (for
 * the statements' json parameters), or NULL. */
const char *sy_tenancy_scopes_text(sy_arena *a, uint32_t mask);

/* The API's form of a key row: never the key or its hash.  New object. */
struct json_object *sy_tenancy_key_json(const sy_key_row *k);

/* A key made now: its row and, this once, the key itself. */
typedef struct sy_tenancy_key {
    sy_key_row row;
    char key[SY_APIKEY_LEN + 1];
} sy_tenancy_key;

/* POST /tenant/keys: body {name?, kind, scopes?}.  creator: the user
 * making it, or NULL.  SY_ENOTFOUND for no such tenant. */
int sy_tenancy_key_create(sy_arena *a, const char *tenant,
                          struct json_object *body, const char *creator,
                          sy_errs *e, sy_tenancy_key *out);

/* The same from the command line's values. */
int sy_tenancy_key_create_plain(sy_arena *a, const char *tenant,
                                const char *name, const char *kind,
                                const char *const *scopes, int nscopes,
                                sy_errs *e, sy_tenancy_key *out);

/* Rotate key id: body {grace_seconds?} (default an hour).  SY_ENOTFOUND
 * for no such key, SY_ECONFLICT when it is revoked, expired or already
 * rotated.  out->row has old_expires_at. */
int sy_tenancy_key_rotate(sy_arena *a, const char *tenant, const char *id,
                          struct json_object *body, const char *creator,
                          sy_errs *e, sy_tenancy_key *out);

/* Revoke key id now (idempotent).  SY_ENOTFOUND for no such key. */
int sy_tenancy_key_revoke(sy_arena *a, const char *tenant, const char *id,
                          sy_errs *e);

#endif
