/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * providers.c - GET /api/v1/providers (staff and up): each configured AI
 * provider's circuit, last error and median latency.
 */
#include <json-c/json.h>

#include "synthia/providers.h"
#include "synthia/routes.h"

int
sy_route_providers_list(sy_req *req, sy_res *res)
{
    json_object *out;
    int rc = sy_providers_list(req->arena, &out);
    return rc < 0 ? rc : sy_res_json(res, 200, out);
}
