/*
 * tenancy.h - the rules and JSON shapes of tenants and API keys, shared
 * by their routes (tenants.c, keys.c) and by `synthia admin` (admin.c),
 * so that a tenant or key made from the command line passes exactly the
 * checks the API applies and prints exactly what the API returns.
 *
 * Checkers return 0, or SY_EVALIDATION with a static sentence in *why
 * (meant for a client or an operator, never containing the input).
 */
#ifndef SYNTHIA_TENANCY_H
#define SYNTHIA_TENANCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synthia/page.h"
#include "synthia/response.h"
#include "synthia/str.h"

struct json_object;
struct pg_result;

#define SY_TENANCY_ORIGIN_MAX 255            /* one normalised origin */
#define SY_TENANCY_ORIGINS_MAX 100           /* per tenant (the SQL CHECK) */
#define SY_TENANCY_GRACE_MAX (7 * 24 * 3600) /* key rotation, seconds */

/* Text of minchars..maxchars code points, without control characters;
 * with trim, *s loses its leading and trailing white space first. */
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

/* A tenant row (columns id, name, slug, website, plan, active,
 * allowed_origins, created_at, updated_at) as the API shows it.  NULL
 * on allocation failure; the caller owns the object. */
struct json_object *sy_tenancy_tenant_json(const struct pg_result *r, int row);

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

/* A key row (columns id, name, kind, prefix, scopes, created_at,
 * last_used_at, expires_at, revoked_at, replaced_by) as the API shows
 * it: never the key or its hash. */
struct json_object *sy_tenancy_key_json(const struct pg_result *r, int row);

#endif
