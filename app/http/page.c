/* PLACEHOLDER: being written; every function fails until then. */
#include "synthia/page.h"

#include "synthia/error.h"

int
sy_page_parse(sy_req *req, sy_res *res, sy_page *out)
{
    return SY_EINTERNAL;
}

int
sy_page_cursor(sy_arena *a, const char *ts, const char *id, char **out)
{
    return SY_EINTERNAL;
}
