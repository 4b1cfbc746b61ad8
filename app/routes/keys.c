/* PLACEHOLDER: being written; every function fails until then. */
#include "synthia/routes.h"

#include "synthia/error.h"

int
sy_route_tenant_keys_list(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}

int
sy_route_tenant_keys_create(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}

int
sy_route_tenant_keys_rotate(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}

int
sy_route_tenant_keys_delete(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}
