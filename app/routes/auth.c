/* PLACEHOLDER: being written; every function fails until then. */
#include "synthia/routes.h"

#include "synthia/error.h"

int
sy_route_auth_register(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}

int
sy_route_auth_login(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}

int
sy_route_auth_refresh(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}

int
sy_route_auth_logout(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}

int
sy_route_auth_logout_all(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}

int
sy_route_auth_me(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}
