/*
 * routes.c - the route table: every route of the API in one place.
 *
 * Columns: method, pattern, handler, auth level, rate class, body limit
 * (0: server.max_body), flags, API-key scope.  Access control happens in
 * authn.c from these columns only, never in handlers.  The index of a
 * route here is its metrics row: keep it under SY_METRICS_MAX_ROUTES.
 */
#include "synthia/router.h"
#include "synthia/routes.h"

#define PUB SY_AUTH_PUBLIC
#define J SY_ROUTE_JSON
#define R SY_RATE_READ
#define W SY_RATE_WRITE

const sy_route sy_routes[] = {
    /* Health and operations */
    {"GET", "/health", sy_route_health_get, PUB, 0, 0, 0, 0},
    {"GET", "/health/live", sy_route_health_live, PUB, 0, 0, 0, 0},
    {"GET", "/health/ready", sy_route_health_ready, PUB, 0, 0, 0, 0},
    {"GET", "/health/detailed", sy_route_health_detailed, SY_AUTH_TRUSTED, 0,
     0, 0, 0},
    {"GET", "/health/storage", sy_route_health_storage, PUB, 0, 0, 0, 0},
    {"GET", "/metrics", sy_route_metrics_get, SY_AUTH_TRUSTED, 0, 0, 0, 0},

    /* Identity */
    {"POST", "/api/v1/auth/register", sy_route_auth_register, SY_AUTH_KEY,
     W, 0, J, SY_SCOPE_AUTH_REGISTER},
    {"POST", "/api/v1/auth/login", sy_route_auth_login, PUB, W, 0,
     J | SY_ROUTE_KEY_OPTIONAL, SY_SCOPE_AUTH_LOGIN},
    {"POST", "/api/v1/auth/refresh", sy_route_auth_refresh, PUB, 0, 0, 0, 0},
    {"POST", "/api/v1/auth/logout", sy_route_auth_logout, SY_AUTH_USER, 0, 0,
     0, 0},
    {"POST", "/api/v1/auth/logout-all", sy_route_auth_logout_all,
     SY_AUTH_USER, 0, 0, 0, 0},
    {"GET", "/api/v1/auth/me", sy_route_auth_me, SY_AUTH_USER, 0, 0, 0, 0},
    {"GET", "/.well-known/jwks.json", sy_route_wellknown_jwks, PUB, 0, 0, 0,
     0},
    {"PATCH", "/api/v1/users/me", sy_route_users_me_patch, SY_AUTH_USER, 0,
     0, J, 0},
    {"DELETE", "/api/v1/users/me", sy_route_users_me_delete, SY_AUTH_USER, 0,
     0, 0, 0},
    {"GET", "/api/v1/users", sy_route_users_list, SY_AUTH_STAFF, 0, 0, 0, 0},
    {"POST", "/api/v1/users", sy_route_users_create, SY_AUTH_OWNER, 0, 0, J,
     0},
    {"PATCH", "/api/v1/users/{id}", sy_route_users_patch, SY_AUTH_OWNER, 0,
     0, J, 0},

    /* Tenants, plans, keys */
    {"GET", "/api/v1/plans", sy_route_plans_list, PUB, 0, 0, 0, 0},
    {"POST", "/api/v1/tenants", sy_route_tenants_create, SY_AUTH_SYSADMIN, 0,
     0, J, 0},
    {"GET", "/api/v1/tenants", sy_route_tenants_list, SY_AUTH_SYSADMIN, 0, 0,
     0, 0},
    {"GET", "/api/v1/tenants/{id}", sy_route_tenants_get, SY_AUTH_SYSADMIN,
     0, 0, 0, 0},
    {"PATCH", "/api/v1/tenants/{id}", sy_route_tenants_patch,
     SY_AUTH_SYSADMIN, 0, 0, J, 0},
    {"GET", "/api/v1/tenant", sy_route_tenant_get, SY_AUTH_STAFF, R, 0, 0,
     SY_SCOPE_TENANT_READ},
    {"PATCH", "/api/v1/tenant", sy_route_tenant_patch, SY_AUTH_OWNER, 0, 0,
     J, 0},
    {"GET", "/api/v1/tenant/keys", sy_route_tenant_keys_list, SY_AUTH_OWNER,
     0, 0, 0, 0},
    {"POST", "/api/v1/tenant/keys", sy_route_tenant_keys_create,
     SY_AUTH_OWNER, 0, 0, J, 0},
    {"POST", "/api/v1/tenant/keys/{id}/rotate", sy_route_tenant_keys_rotate,
     SY_AUTH_OWNER, 0, 0, J | SY_ROUTE_JSON_OPTIONAL, 0},
    {"DELETE", "/api/v1/tenant/keys/{id}", sy_route_tenant_keys_delete,
     SY_AUTH_OWNER, 0, 0, 0, 0},

    /* Catalog, search, orders */
    {"GET", "/api/v1/products", sy_route_products_list, SY_AUTH_KEY_OR_USER,
     R, 0, SY_ROUTE_CATVER, SY_SCOPE_CATALOG_READ},
    {"GET", "/api/v1/products/search", sy_route_products_search,
     SY_AUTH_KEY_OR_USER, R, 0, SY_ROUTE_CATVER, SY_SCOPE_CATALOG_READ},
    {"GET", "/api/v1/products/{id}", sy_route_products_get,
     SY_AUTH_KEY_OR_USER, R, 0, 0, SY_SCOPE_CATALOG_READ},
    {"POST", "/api/v1/products", sy_route_products_create, SY_AUTH_STAFF, W,
     0, J, SY_SCOPE_CATALOG_WRITE},
    {"PATCH", "/api/v1/products/{id}", sy_route_products_patch,
     SY_AUTH_STAFF, W, 0, J, SY_SCOPE_CATALOG_WRITE},
    {"DELETE", "/api/v1/products/{id}", sy_route_products_delete,
     SY_AUTH_STAFF, W, 0, 0, SY_SCOPE_CATALOG_WRITE},
    {"GET", "/api/v1/categories", sy_route_categories_list,
     SY_AUTH_KEY_OR_USER, R, 0, 0, SY_SCOPE_CATALOG_READ},
    {"POST", "/api/v1/orders", sy_route_orders_create, SY_AUTH_USER, 0, 0, J,
     0},
    {"GET", "/api/v1/orders", sy_route_orders_list, SY_AUTH_USER, 0, 0, 0,
     0},
    {"GET", "/api/v1/orders/{id}", sy_route_orders_get, SY_AUTH_USER, 0, 0,
     0, 0},
    {"POST", "/api/v1/orders/{id}/transition", sy_route_orders_transition,
     SY_AUTH_USER, 0, 0, J, 0},

    /* Result cache */
    {"GET", "/api/v1/cache/stats", sy_route_cache_stats, SY_AUTH_STAFF, 0, 0,
     0, 0},
    {"DELETE", "/api/v1/cache", sy_route_cache_delete, SY_AUTH_STAFF, 0, 0, 0,
     0},

    /* Documentation */
    {"GET", "/api/v1/openapi.json", sy_route_docs_openapi, PUB, 0, 0, 0, 0},
};

const size_t sy_nroutes = sizeof(sy_routes) / sizeof(sy_routes[0]);

_Static_assert(sizeof(sy_routes) / sizeof(sy_routes[0]) <=
                   127 /* SY_METRICS_MAX_ROUTES */,
               "more routes than metrics rows");
