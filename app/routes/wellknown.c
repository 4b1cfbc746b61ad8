/* PLACEHOLDER: being written; every function fails until then. */
#include "synthia/routes.h"

#include "synthia/error.h"

int
sy_route_wellknown_jwks(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}
