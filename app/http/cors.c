/* PLACEHOLDER: being written; every function fails until then. */
#include "synthia/cors.h"

#include "synthia/error.h"

bool
sy_cors_is_preflight(const sy_req *req)
{
    return false;
}

int
sy_cors_preflight(sy_req *req, sy_res *res, const char *allow)
{
    return SY_EINTERNAL;
}

void
sy_cors_headers(const sy_req *req, sy_res *res)
{
}

bool
sy_cors_origin_listed(const char *list, sy_str origin)
{
    return false;
}
