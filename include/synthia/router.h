/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * router.h - the route table and its matcher.
 *
 * One static table (routes.c) lists every route: method, pattern with
 * {param} captures, handler, auth level, rate class, body limit, flags.
 * Handlers are named sy_route_<resource>_<verb>, so URL -> table ->
 * function is two greps.
 */
#ifndef SYNTHIA_ROUTER_H
#define SYNTHIA_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "synthia/request.h"
#include "synthia/response.h"

typedef int (*sy_handler)(sy_req *req, sy_res *res);

/* Who may call a route.  A route that also names a scope (column
 * `scope`) additionally admits API keys holding that scope; SY_AUTH_KEY
 * admits only keys.  Sysadmins pass every user level. */
enum sy_auth_level {
    SY_AUTH_PUBLIC = 0,  /* anyone */
    SY_AUTH_TRUSTED,     /* trusted network or sysadmin token */
    SY_AUTH_KEY,         /* API key with the route's scope */
    SY_AUTH_KEY_OR_USER, /* API key with the scope, or signed-in user */
    SY_AUTH_USER,        /* any signed-in user */
    SY_AUTH_STAFF,       /* staff, owner or sysadmin */
    SY_AUTH_OWNER,       /* owner or sysadmin */
    SY_AUTH_SYSADMIN,
};

enum sy_route_flags {
    SY_ROUTE_JSON = 1 << 0,   /* body must be application/json, parsed */
    SY_ROUTE_NOLOG = 1 << 1,  /* no access-log line (probes) */
    SY_ROUTE_KEY_OPTIONAL = 1 << 2, /* PUBLIC route that uses a key when
                                       one is sent (login) */
    SY_ROUTE_JSON_OPTIONAL = 1 << 3, /* with SY_ROUTE_JSON: no body at all
                                        reads as {} (every field optional) */
    SY_ROUTE_CATVER = 1 << 4, /* reads the tenant's catalog version: an
                                 API key's rate-limit call fetches it */
};

typedef struct sy_route {
    const char *method;  /* "GET", "POST", ... */
    const char *path;    /* pattern: "/api/v1/products/{id}" */
    sy_handler handler;
    int auth;            /* enum sy_auth_level */
    int rate;            /* enum sy_rate_class */
    size_t max_body;     /* 0: server.max_body */
    unsigned flags;
    uint32_t scope;      /* SY_SCOPE_* an API key needs (0: keys refused
                            unless auth is SY_AUTH_PUBLIC) */
} sy_route;

typedef struct sy_route_match {
    int index;                        /* route index, -1 if none */
    sy_str params[SY_REQ_MAX_PARAMS]; /* raw (still encoded) captures */
    int nparams;
    char allow[64];                   /* for 405: "GET, HEAD" */
} sy_route_match;

/* Match method and raw path against table.  Returns 0 with m->index set,
 * SY_ENOTFOUND when no pattern matches the path, SY_EMETHOD when one does
 * but not for this method (m->allow lists the methods).  GET routes also
 * answer HEAD. */
int sy_router_match(const sy_route *table, size_t n, sy_str method,
                    sy_str path, sy_route_match *m);

/* The application's table (routes.c). */
extern const sy_route sy_routes[];
extern const size_t sy_nroutes;

#endif
