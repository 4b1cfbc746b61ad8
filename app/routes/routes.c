/*
 * routes.c - the route table: every route of the API in one place.
 *
 * Columns: method, pattern, handler, auth level, rate class, body limit
 * (0: server.max_body), flags.  The index of a route here is its metrics
 * row, so keep the table under SY_METRICS_MAX_ROUTES entries.
 */
#include "synthia/router.h"
#include "synthia/routes.h"

const sy_route sy_routes[] = {
    /* Health and operations (API.md) */
    {"GET", "/health", sy_route_health_get, SY_AUTH_PUBLIC, SY_RATE_NONE, 0,
     0},
    {"GET", "/health/live", sy_route_health_live, SY_AUTH_PUBLIC,
     SY_RATE_NONE, 0, 0},
    {"GET", "/health/ready", sy_route_health_ready, SY_AUTH_PUBLIC,
     SY_RATE_NONE, 0, 0},
    {"GET", "/health/detailed", sy_route_health_detailed, SY_AUTH_TRUSTED,
     SY_RATE_NONE, 0, 0},
    {"GET", "/health/storage", sy_route_health_storage, SY_AUTH_PUBLIC,
     SY_RATE_NONE, 0, 0},
    {"GET", "/metrics", sy_route_metrics_get, SY_AUTH_TRUSTED, SY_RATE_NONE,
     0, 0},

    /* Documentation */
    {"GET", "/api/v1/openapi.json", sy_route_docs_openapi, SY_AUTH_PUBLIC,
     SY_RATE_NONE, 0, 0},
};

const size_t sy_nroutes = sizeof(sy_routes) / sizeof(sy_routes[0]);

_Static_assert(sizeof(sy_routes) / sizeof(sy_routes[0]) <=
                   127 /* SY_METRICS_MAX_ROUTES */,
               "more routes than metrics rows");
