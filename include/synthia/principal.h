/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * principal.h - who is calling: a signed-in user (access token) or an API
 * key, with role, tenant, scopes and limits.  Authentication (authn.c)
 * fills one per request; the domain layer takes it as a plain value, so
 * rules can ask "who" without seeing the request.
 */
#ifndef SYNTHIA_PRINCIPAL_H
#define SYNTHIA_PRINCIPAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synthia/crypto.h"
#include "synthia/str.h"

/* API-key scopes.  Publishable keys get at most SY_SCOPES_PUBLISHABLE. */
enum sy_scope {
    SY_SCOPE_CATALOG_READ = 1u << 0,   /* catalog:read */
    SY_SCOPE_CATALOG_WRITE = 1u << 1,  /* catalog:write */
    SY_SCOPE_ORDERS_READ = 1u << 2,    /* orders:read */
    SY_SCOPE_ORDERS_WRITE = 1u << 3,   /* orders:write */
    SY_SCOPE_UPLOADS_WRITE = 1u << 4,  /* uploads:write */
    SY_SCOPE_ANALYSIS_WRITE = 1u << 5, /* analysis:write */
    SY_SCOPE_TRYON_WRITE = 1u << 6,    /* tryon:write */
    SY_SCOPE_EVENTS_WRITE = 1u << 7,   /* events:write */
    SY_SCOPE_AUTH_REGISTER = 1u << 8,  /* auth:register */
    SY_SCOPE_AUTH_LOGIN = 1u << 9,     /* auth:login */
    SY_SCOPE_TENANT_READ = 1u << 10,   /* tenant:read */
    SY_SCOPE_METRICS_READ = 1u << 11,  /* metrics:read */
    SY_SCOPE_IMPORTS_WRITE = 1u << 12, /* imports:write */
};
#define SY_SCOPES_PUBLISHABLE                                                \
    (SY_SCOPE_CATALOG_READ | SY_SCOPE_UPLOADS_WRITE |                        \
     SY_SCOPE_ANALYSIS_WRITE | SY_SCOPE_TRYON_WRITE | SY_SCOPE_EVENTS_WRITE | \
     SY_SCOPE_AUTH_REGISTER | SY_SCOPE_AUTH_LOGIN)
#define SY_SCOPES_ALL 0x1fffu

/* "catalog:read" <-> SY_SCOPE_CATALOG_READ.  0 / NULL when unknown. */
uint32_t sy_scope_parse(sy_str name);
const char *sy_scope_name(uint32_t bit);

/* Cost classes of rate limits (a route's .rate). */
enum sy_rate_class {
    SY_RATE_NONE = 0,
    SY_RATE_READ,
    SY_RATE_WRITE,
    SY_RATE_AI,
};

/* Who is calling, filled in by authentication (authn.c). */
enum sy_who {
    SY_WHO_NONE = 0, /* anonymous */
    SY_WHO_USER,     /* access token (Bearer or cookie) */
    SY_WHO_KEY,      /* API key */
};

/* Roles are ordered: a higher role may do what a lower one may. */
enum sy_role {
    SY_ROLE_NONE = 0,
    SY_ROLE_SHOPPER = 1,
    SY_ROLE_STAFF = 2,
    SY_ROLE_OWNER = 3,
    SY_ROLE_SYSADMIN = 4,
};

enum sy_key_kind {
    SY_KEY_PUBLISHABLE = 1,
    SY_KEY_SECRET = 2,
};

typedef struct sy_principal {
    int kind;                        /* enum sy_who */
    char tenant_id[SY_UUID_LEN + 1]; /* "" for sysadmins and anonymous */
    char user_id[SY_UUID_LEN + 1];   /* users only */
    int role;                        /* enum sy_role (users) */
    bool via_cookie;                 /* token came from the sy_access cookie */
    char sid[SY_UUID_LEN + 1];       /* session of the access token */
    char jti[SY_UUID_LEN + 1];
    int64_t exp;                     /* access token expiry, epoch seconds */
    char key_id[SY_UUID_LEN + 1];    /* API keys only */
    int key_kind;                    /* enum sy_key_kind */
    uint32_t scopes;                 /* SY_SCOPE_* bits (keys) */
    char plan[33];                   /* tenant's plan (keys) */
    int64_t limits[4];               /* per minute, by enum sy_rate_class */
    const char *origins;             /* tenant's allowed origins, space-
                                        separated (keys; arena memory) */
    const char *key_record;          /* key served from this responder's
                                        memory: the record to confirm
                                        against Redis (NULL otherwise) */
    size_t key_record_len;
    char key_ikey[64];               /* the record's Redis name */
    char key_hash[65];               /* the key's SHA-256 in hex */
    uint64_t key_epoch;              /* inval.h epoch when resolved */
    bool key_trusted;                /* memory entry trusted: pushed
                                        invalidations keep it current,
                                        no confirmation (inval.h) */
} sy_principal;

/* The tenant of a signed-in principal as a SQL parameter: its id, or
 * NULL for sysadmins (the tenant-less namespace). */
static inline const char *
sy_principal_tenant(const sy_principal *w)
{
    return w->tenant_id[0] ? w->tenant_id : NULL;
}

#endif
