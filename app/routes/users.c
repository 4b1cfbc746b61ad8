/* PLACEHOLDER: being written; every function fails until then. */
#include "synthia/routes.h"

#include "synthia/error.h"

int
sy_route_users_me_patch(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}

int
sy_route_users_me_delete(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}

int
sy_route_users_list(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}

int
sy_route_users_create(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}

int
sy_route_users_patch(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}
