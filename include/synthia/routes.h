/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * routes.h - every route handler of the application.  The route table
 * that maps method + pattern to these lives in routes.c.
 */
#ifndef SYNTHIA_ROUTES_H
#define SYNTHIA_ROUTES_H

#include "synthia/request.h"
#include "synthia/response.h"

/* health.c */
int sy_route_health_get(sy_req *req, sy_res *res);
int sy_route_health_live(sy_req *req, sy_res *res);
int sy_route_health_ready(sy_req *req, sy_res *res);
int sy_route_health_detailed(sy_req *req, sy_res *res);
int sy_route_health_storage(sy_req *req, sy_res *res);

/* metrics.c */
int sy_route_metrics_get(sy_req *req, sy_res *res);

/* auth.c */
int sy_route_auth_register(sy_req *req, sy_res *res);
int sy_route_auth_login(sy_req *req, sy_res *res);
int sy_route_auth_refresh(sy_req *req, sy_res *res);
int sy_route_auth_logout(sy_req *req, sy_res *res);
int sy_route_auth_logout_all(sy_req *req, sy_res *res);
int sy_route_auth_me(sy_req *req, sy_res *res);

/* wellknown.c */
int sy_route_wellknown_jwks(sy_req *req, sy_res *res);

/* users.c */
int sy_route_users_me_patch(sy_req *req, sy_res *res);
int sy_route_users_me_delete(sy_req *req, sy_res *res);
int sy_route_users_list(sy_req *req, sy_res *res);
int sy_route_users_create(sy_req *req, sy_res *res);
int sy_route_users_patch(sy_req *req, sy_res *res);

/* tenants.c */
int sy_route_plans_list(sy_req *req, sy_res *res);
int sy_route_tenants_create(sy_req *req, sy_res *res);
int sy_route_tenants_list(sy_req *req, sy_res *res);
int sy_route_tenants_get(sy_req *req, sy_res *res);
int sy_route_tenants_patch(sy_req *req, sy_res *res);
int sy_route_tenant_get(sy_req *req, sy_res *res);
int sy_route_tenant_patch(sy_req *req, sy_res *res);

/* keys.c */
int sy_route_tenant_keys_list(sy_req *req, sy_res *res);
int sy_route_tenant_keys_create(sy_req *req, sy_res *res);
int sy_route_tenant_keys_rotate(sy_req *req, sy_res *res);
int sy_route_tenant_keys_delete(sy_req *req, sy_res *res);

/* products.c */
int sy_route_products_list(sy_req *req, sy_res *res);
int sy_route_products_get(sy_req *req, sy_res *res);
int sy_route_products_create(sy_req *req, sy_res *res);
int sy_route_products_patch(sy_req *req, sy_res *res);
int sy_route_products_delete(sy_req *req, sy_res *res);
int sy_route_categories_list(sy_req *req, sy_res *res);
/* prodimages.c: a product's stored image */
int sy_route_products_image_put(sy_req *req, sy_res *res);
int sy_route_products_image_get(sy_req *req, sy_res *res);
int sy_route_products_image_delete(sy_req *req, sy_res *res);

/* Import sessions (app/routes/imports.c) */
int sy_route_imports_create(sy_req *req, sy_res *res);
int sy_route_imports_get(sy_req *req, sy_res *res);
int sy_route_imports_ops(sy_req *req, sy_res *res);
int sy_route_imports_undo(sy_req *req, sy_res *res);
int sy_route_imports_versions(sy_req *req, sy_res *res);
int sy_route_imports_audit(sy_req *req, sy_res *res);
int sy_route_imports_commit(sy_req *req, sy_res *res);
int sy_route_imports_delete(sy_req *req, sy_res *res);

/* search.c */
int sy_route_products_search(sy_req *req, sy_res *res);

/* orders.c */
int sy_route_orders_create(sy_req *req, sy_res *res);
int sy_route_orders_list(sy_req *req, sy_res *res);
int sy_route_orders_get(sy_req *req, sy_res *res);
int sy_route_orders_transition(sy_req *req, sy_res *res);

/* tryon.c */
int sy_route_tryon_create(sy_req *req, sy_res *res);
int sy_route_jobs_cancel(sy_req *req, sy_res *res);
int sy_route_jobs_result(sy_req *req, sy_res *res);

/* analysis.c (routes) */
int sy_route_analysis_get(sy_req *req, sy_res *res);
int sy_route_analysis_list(sy_req *req, sy_res *res);
int sy_route_feedback_create(sy_req *req, sy_res *res);
int sy_route_feedback_list(sy_req *req, sy_res *res);
int sy_route_recommendations(sy_req *req, sy_res *res);
int sy_route_stylist_ask(sy_req *req, sy_res *res);

/* cache.c (routes) */
int sy_route_cache_stats(sy_req *req, sy_res *res);

/* AI providers */
int sy_route_providers_list(sy_req *req, sy_res *res);
int sy_route_cache_delete(sy_req *req, sy_res *res);

/* uploads.c */
int sy_route_uploads_create(sy_req *req, sy_res *res);

/* analysis.c (routes) */
int sy_route_analysis_chromatic(sy_req *req, sy_res *res);
int sy_route_analysis_facial(sy_req *req, sy_res *res);

/* events.c (routes): events and the analytics read from them */
int sy_route_events_create(sy_req *req, sy_res *res);
int sy_route_metrics_timeseries(sy_req *req, sy_res *res);
int sy_route_metrics_summary(sy_req *req, sy_res *res);

/* jobs.c (routes): a try-on job's status, ?wait= parks */
int sy_route_jobs_get(sy_req *req, sy_res *res);

/* docs.c */
int sy_route_docs_openapi(sy_req *req, sy_res *res);

#endif
