/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * routes.c - the route table: every route of the API in one place.
 *
 * Each row names its fields (router.h): .method, .path (a pattern with
 * {captures}), .handler, .auth level, the API-key .scope, the .rate
 * class, .max_body (absent: server.max_body) and .flags.  Access control
 * happens in authn.c from these fields only, never in handlers.  Handlers
 * live in app/routes/<resource>.c; the catalog search is the exception,
 * in search.c beside products.c.  The index of a route here is its
 * metrics row: keep it under SY_METRICS_MAX_ROUTES.
 */
#include "synthia/config.h"
#include "synthia/events.h"
#include "synthia/router.h"
#include "synthia/routes.h"
#include "synthia/uploads.h"

const sy_route sy_routes[] = {
    /* Health and operations */
    {.method = "GET", .path = "/health",
     .handler = sy_route_health_get, .auth = SY_AUTH_PUBLIC},
    {.method = "GET", .path = "/health/live",
     .handler = sy_route_health_live, .auth = SY_AUTH_PUBLIC},
    {.method = "GET", .path = "/health/ready",
     .handler = sy_route_health_ready, .auth = SY_AUTH_PUBLIC},
    {.method = "GET", .path = "/health/detailed",
     .handler = sy_route_health_detailed, .auth = SY_AUTH_TRUSTED},
    {.method = "GET", .path = "/health/storage",
     .handler = sy_route_health_storage, .auth = SY_AUTH_PUBLIC},
    {.method = "GET", .path = "/metrics",
     .handler = sy_route_metrics_get, .auth = SY_AUTH_TRUSTED},

    /* Identity */
    {.method = "POST", .path = "/api/v1/auth/register",
     .handler = sy_route_auth_register, .auth = SY_AUTH_KEY,
     .scope = SY_SCOPE_AUTH_REGISTER, .rate = SY_RATE_WRITE,
     .flags = SY_ROUTE_JSON},
    {.method = "POST", .path = "/api/v1/auth/login",
     .handler = sy_route_auth_login, .auth = SY_AUTH_PUBLIC,
     .scope = SY_SCOPE_AUTH_LOGIN, .rate = SY_RATE_WRITE,
     .flags = SY_ROUTE_JSON | SY_ROUTE_KEY_OPTIONAL},
    {.method = "POST", .path = "/api/v1/auth/refresh",
     .handler = sy_route_auth_refresh, .auth = SY_AUTH_PUBLIC},
    {.method = "POST", .path = "/api/v1/auth/logout",
     .handler = sy_route_auth_logout, .auth = SY_AUTH_USER},
    {.method = "POST", .path = "/api/v1/auth/logout-all",
     .handler = sy_route_auth_logout_all, .auth = SY_AUTH_USER},
    {.method = "GET", .path = "/api/v1/auth/me",
     .handler = sy_route_auth_me, .auth = SY_AUTH_USER},
    {.method = "GET", .path = "/.well-known/jwks.json",
     .handler = sy_route_wellknown_jwks, .auth = SY_AUTH_PUBLIC},
    {.method = "PATCH", .path = "/api/v1/users/me",
     .handler = sy_route_users_me_patch, .auth = SY_AUTH_USER,
     .flags = SY_ROUTE_JSON},
    {.method = "DELETE", .path = "/api/v1/users/me",
     .handler = sy_route_users_me_delete, .auth = SY_AUTH_USER},
    {.method = "GET", .path = "/api/v1/users",
     .handler = sy_route_users_list, .auth = SY_AUTH_STAFF},
    {.method = "POST", .path = "/api/v1/users",
     .handler = sy_route_users_create, .auth = SY_AUTH_OWNER,
     .flags = SY_ROUTE_JSON},
    {.method = "PATCH", .path = "/api/v1/users/{id}",
     .handler = sy_route_users_patch, .auth = SY_AUTH_OWNER,
     .flags = SY_ROUTE_JSON},

    /* Tenants, plans, keys */
    {.method = "GET", .path = "/api/v1/plans",
     .handler = sy_route_plans_list, .auth = SY_AUTH_PUBLIC},
    {.method = "POST", .path = "/api/v1/tenants",
     .handler = sy_route_tenants_create, .auth = SY_AUTH_SYSADMIN,
     .flags = SY_ROUTE_JSON},
    {.method = "GET", .path = "/api/v1/tenants",
     .handler = sy_route_tenants_list, .auth = SY_AUTH_SYSADMIN},
    {.method = "GET", .path = "/api/v1/tenants/{id}",
     .handler = sy_route_tenants_get, .auth = SY_AUTH_SYSADMIN},
    {.method = "PATCH", .path = "/api/v1/tenants/{id}",
     .handler = sy_route_tenants_patch, .auth = SY_AUTH_SYSADMIN,
     .flags = SY_ROUTE_JSON},
    {.method = "GET", .path = "/api/v1/tenant",
     .handler = sy_route_tenant_get, .auth = SY_AUTH_STAFF,
     .scope = SY_SCOPE_TENANT_READ, .rate = SY_RATE_READ},
    {.method = "PATCH", .path = "/api/v1/tenant",
     .handler = sy_route_tenant_patch, .auth = SY_AUTH_OWNER,
     .flags = SY_ROUTE_JSON},
    {.method = "GET", .path = "/api/v1/tenant/keys",
     .handler = sy_route_tenant_keys_list, .auth = SY_AUTH_OWNER},
    {.method = "POST", .path = "/api/v1/tenant/keys",
     .handler = sy_route_tenant_keys_create, .auth = SY_AUTH_OWNER,
     .flags = SY_ROUTE_JSON},
    {.method = "POST", .path = "/api/v1/tenant/keys/{id}/rotate",
     .handler = sy_route_tenant_keys_rotate, .auth = SY_AUTH_OWNER,
     .flags = SY_ROUTE_JSON | SY_ROUTE_JSON_OPTIONAL},
    {.method = "DELETE", .path = "/api/v1/tenant/keys/{id}",
     .handler = sy_route_tenant_keys_delete, .auth = SY_AUTH_OWNER},

    /* Catalog, search, orders */
    {.method = "GET", .path = "/api/v1/products",
     .handler = sy_route_products_list, .auth = SY_AUTH_KEY_OR_USER,
     .scope = SY_SCOPE_CATALOG_READ, .rate = SY_RATE_READ,
     .flags = SY_ROUTE_CATVER},
    {.method = "GET", .path = "/api/v1/products/search",
     .handler = sy_route_products_search, .auth = SY_AUTH_KEY_OR_USER,
     .scope = SY_SCOPE_CATALOG_READ, .rate = SY_RATE_READ,
     .flags = SY_ROUTE_CATVER},
    {.method = "GET", .path = "/api/v1/products/{id}",
     .handler = sy_route_products_get, .auth = SY_AUTH_KEY_OR_USER,
     .scope = SY_SCOPE_CATALOG_READ, .rate = SY_RATE_READ,
     .flags = SY_ROUTE_CATVER},
    {.method = "POST", .path = "/api/v1/products",
     .handler = sy_route_products_create, .auth = SY_AUTH_STAFF,
     .scope = SY_SCOPE_CATALOG_WRITE, .rate = SY_RATE_WRITE,
     .flags = SY_ROUTE_JSON},
    {.method = "PATCH", .path = "/api/v1/products/{id}",
     .handler = sy_route_products_patch, .auth = SY_AUTH_STAFF,
     .scope = SY_SCOPE_CATALOG_WRITE, .rate = SY_RATE_WRITE,
     .flags = SY_ROUTE_JSON},
    {.method = "DELETE", .path = "/api/v1/products/{id}",
     .handler = sy_route_products_delete, .auth = SY_AUTH_STAFF,
     .scope = SY_SCOPE_CATALOG_WRITE, .rate = SY_RATE_WRITE},
    /* a product's stored image (the body limit is uploads.max_bytes,
     * checked by the handler; this is its ceiling) */
    {.method = "PUT", .path = "/api/v1/products/{id}/image",
     .handler = sy_route_products_image_put, .auth = SY_AUTH_STAFF,
     .scope = SY_SCOPE_CATALOG_WRITE, .rate = SY_RATE_WRITE,
     .max_body = SY_CONFIG_UPLOAD_MAX_BYTES + SY_UPLOADS_FORM_SLACK},
    {.method = "GET", .path = "/api/v1/products/{id}/image",
     .handler = sy_route_products_image_get, .auth = SY_AUTH_KEY_OR_USER,
     .scope = SY_SCOPE_CATALOG_READ, .rate = SY_RATE_READ},
    {.method = "DELETE", .path = "/api/v1/products/{id}/image",
     .handler = sy_route_products_image_delete, .auth = SY_AUTH_STAFF,
     .scope = SY_SCOPE_CATALOG_WRITE, .rate = SY_RATE_WRITE},
    {.method = "GET", .path = "/api/v1/categories",
     .handler = sy_route_categories_list, .auth = SY_AUTH_KEY_OR_USER,
     .scope = SY_SCOPE_CATALOG_READ, .rate = SY_RATE_READ},
    {.method = "POST", .path = "/api/v1/orders",
     .handler = sy_route_orders_create, .auth = SY_AUTH_USER,
     .flags = SY_ROUTE_JSON},
    {.method = "GET", .path = "/api/v1/orders",
     .handler = sy_route_orders_list, .auth = SY_AUTH_USER},
    {.method = "GET", .path = "/api/v1/orders/{id}",
     .handler = sy_route_orders_get, .auth = SY_AUTH_USER},
    {.method = "POST", .path = "/api/v1/orders/{id}/transition",
     .handler = sy_route_orders_transition, .auth = SY_AUTH_USER,
     .flags = SY_ROUTE_JSON},

    /* Analyses, recommendations and feedback */
    /* admitted as read: the ai class is charged when the analyser or a
     * provider runs (a miss of the AI result cache) */
    {.method = "POST", .path = "/api/v1/analysis/chromatic",
     .handler = sy_route_analysis_chromatic, .auth = SY_AUTH_KEY_OR_USER,
     .scope = SY_SCOPE_ANALYSIS_WRITE, .rate = SY_RATE_READ,
     .flags = SY_ROUTE_JSON},
    {.method = "POST", .path = "/api/v1/analysis/facial",
     .handler = sy_route_analysis_facial, .auth = SY_AUTH_KEY_OR_USER,
     .scope = SY_SCOPE_ANALYSIS_WRITE, .rate = SY_RATE_READ,
     .flags = SY_ROUTE_JSON},
    {.method = "GET", .path = "/api/v1/analysis",
     .handler = sy_route_analysis_list, .auth = SY_AUTH_USER},
    {.method = "GET", .path = "/api/v1/analysis/{id}",
     .handler = sy_route_analysis_get, .auth = SY_AUTH_USER},
    {.method = "GET", .path = "/api/v1/recommendations",
     .handler = sy_route_recommendations, .auth = SY_AUTH_KEY_OR_USER,
     .scope = SY_SCOPE_CATALOG_READ, .rate = SY_RATE_READ,
     .flags = SY_ROUTE_CATVER},
    /* Stylist: a chat provider answers from the catalog (stylist.h);
     * admitted as read, the ai class charged before the chat call */
    {.method = "POST", .path = "/api/v1/stylist",
     .handler = sy_route_stylist_ask, .auth = SY_AUTH_KEY_OR_USER,
     .scope = SY_SCOPE_ANALYSIS_WRITE, .rate = SY_RATE_READ,
     .flags = SY_ROUTE_JSON | SY_ROUTE_CATVER},
    {.method = "POST", .path = "/api/v1/feedback",
     .handler = sy_route_feedback_create, .auth = SY_AUTH_KEY_OR_USER,
     .scope = SY_SCOPE_ANALYSIS_WRITE, .rate = SY_RATE_WRITE,
     .flags = SY_ROUTE_JSON},
    {.method = "GET", .path = "/api/v1/feedback",
     .handler = sy_route_feedback_list, .auth = SY_AUTH_STAFF},
    /* Import sessions: the upload's own limit is imports.max_bytes,
     * checked by the handler (the row's bound only stops the generic
     * server.max_body from applying first) */
    {.method = "POST", .path = "/api/v1/imports",
     .handler = sy_route_imports_create, .auth = SY_AUTH_STAFF,
     .max_body = (size_t)1 << 30},
    {.method = "GET", .path = "/api/v1/imports/{id}",
     .handler = sy_route_imports_get, .auth = SY_AUTH_STAFF},
    {.method = "DELETE", .path = "/api/v1/imports/{id}",
     .handler = sy_route_imports_delete, .auth = SY_AUTH_STAFF},
    {.method = "POST", .path = "/api/v1/imports/{id}/ops",
     .handler = sy_route_imports_ops, .auth = SY_AUTH_STAFF,
     .flags = SY_ROUTE_JSON},
    {.method = "POST", .path = "/api/v1/imports/{id}/undo",
     .handler = sy_route_imports_undo, .auth = SY_AUTH_STAFF},
    {.method = "GET", .path = "/api/v1/imports/{id}/versions",
     .handler = sy_route_imports_versions, .auth = SY_AUTH_STAFF},
    {.method = "GET", .path = "/api/v1/imports/{id}/audit",
     .handler = sy_route_imports_audit, .auth = SY_AUTH_STAFF},
    {.method = "POST", .path = "/api/v1/imports/{id}/commit",
     .handler = sy_route_imports_commit, .auth = SY_AUTH_STAFF},
    /* Uploads (the body limit is uploads.max_bytes, checked by the
     * handler; this is its ceiling) */
    {.method = "POST", .path = "/api/v1/uploads",
     .handler = sy_route_uploads_create, .auth = SY_AUTH_KEY_OR_USER,
     .scope = SY_SCOPE_UPLOADS_WRITE, .rate = SY_RATE_WRITE,
     .max_body = SY_CONFIG_UPLOAD_MAX_BYTES + SY_UPLOADS_FORM_SLACK},
    /* Try-on jobs: the status (?wait= parks the request, park.h) */
    {.method = "GET", .path = "/api/v1/jobs/{id}",
     .handler = sy_route_jobs_get, .auth = SY_AUTH_KEY_OR_USER,
     .scope = SY_SCOPE_TRYON_WRITE, .rate = SY_RATE_READ},


    /* Result cache */
    {.method = "GET", .path = "/api/v1/cache/stats",
     .handler = sy_route_cache_stats, .auth = SY_AUTH_STAFF},
    {.method = "DELETE", .path = "/api/v1/cache",
     .handler = sy_route_cache_delete, .auth = SY_AUTH_STAFF},

    /* AI providers */
    {.method = "GET", .path = "/api/v1/providers",
     .handler = sy_route_providers_list, .auth = SY_AUTH_STAFF},

    /* Try-on jobs (tryon.h): admitted as write; the ai class is charged
     * when a job is accepted (not for a finished identical one) */
    {.method = "POST", .path = "/api/v1/tryon",
     .handler = sy_route_tryon_create, .auth = SY_AUTH_KEY_OR_USER,
     .scope = SY_SCOPE_TRYON_WRITE, .rate = SY_RATE_WRITE,
     .flags = SY_ROUTE_JSON},
    {.method = "DELETE", .path = "/api/v1/jobs/{id}",
     .handler = sy_route_jobs_cancel, .auth = SY_AUTH_KEY_OR_USER,
     .scope = SY_SCOPE_TRYON_WRITE, .rate = SY_RATE_WRITE},
    {.method = "GET", .path = "/api/v1/jobs/{id}/result",
     .handler = sy_route_jobs_result, .auth = SY_AUTH_KEY_OR_USER,
     .scope = SY_SCOPE_TRYON_WRITE, .rate = SY_RATE_READ},

    /* Events and analytics (events.h: a batch's own limit is
     * SY_EVENTS_MAX_BODY; one write unit per call) */
    {.method = "POST", .path = "/api/v1/events",
     .handler = sy_route_events_create, .auth = SY_AUTH_KEY,
     .scope = SY_SCOPE_EVENTS_WRITE, .rate = SY_RATE_WRITE,
     .max_body = SY_EVENTS_MAX_BODY, .flags = SY_ROUTE_JSON},
    {.method = "GET", .path = "/api/v1/metrics/timeseries",
     .handler = sy_route_metrics_timeseries, .auth = SY_AUTH_STAFF,
     .scope = SY_SCOPE_METRICS_READ, .rate = SY_RATE_READ},
    {.method = "GET", .path = "/api/v1/metrics/summary",
     .handler = sy_route_metrics_summary, .auth = SY_AUTH_STAFF,
     .scope = SY_SCOPE_METRICS_READ, .rate = SY_RATE_READ},

    /* Documentation */
    {.method = "GET", .path = "/api/v1/openapi.json",
     .handler = sy_route_docs_openapi, .auth = SY_AUTH_PUBLIC},
};

const size_t sy_nroutes = sizeof(sy_routes) / sizeof(sy_routes[0]);

_Static_assert(sizeof(sy_routes) / sizeof(sy_routes[0]) <=
                   127 /* SY_METRICS_MAX_ROUTES */,
               "more routes than metrics rows");
