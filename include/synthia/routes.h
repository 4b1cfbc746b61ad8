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

/* docs.c */
int sy_route_docs_openapi(sy_req *req, sy_res *res);

#endif
