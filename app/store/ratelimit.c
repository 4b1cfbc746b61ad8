/* PLACEHOLDER: being written; every function fails until then. */
#include "synthia/ratelimit.h"

#include "synthia/error.h"

int
sy_ratelimit_check(sy_req *req, sy_res *res)
{
    return SY_EINTERNAL;
}

bool
sy_ratelimit_degraded(void)
{
    return false;
}

int
sy_login_guard_check(sy_req *req, sy_res *res, sy_str email,
                     const char *tenant)
{
    return SY_EINTERNAL;
}

void
sy_login_guard_record(sy_req *req, sy_str email, const char *tenant,
                      bool success)
{
}
