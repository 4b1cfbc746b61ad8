/* PLACEHOLDER: being written; every function fails until then. */
#include "synthia/routes.h"

#include "synthia/error.h"

int
sy_route_plans_list(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}

int
sy_route_tenants_create(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}

int
sy_route_tenants_list(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}

int
sy_route_tenants_get(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}

int
sy_route_tenants_patch(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}

int
sy_route_tenant_get(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}

int
sy_route_tenant_patch(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}
