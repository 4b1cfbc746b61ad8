/* PLACEHOLDER: being written; every function fails until then. */
#include "synthia/jwt.h"

#include "synthia/error.h"

int
sy_jwt_load(void)
{
    return SY_EINTERNAL;
}

int
sy_jwt_issue(sy_arena *a, sy_claims *c, char **token)
{
    return SY_EINTERNAL;
}

int
sy_jwt_verify(sy_arena *a, sy_str token, sy_claims *out)
{
    return SY_EINTERNAL;
}

int
sy_jwt_jwks(sy_buf *out)
{
    return SY_EINTERNAL;
}

int
sy_role_parse(sy_str s)
{
    return SY_EINTERNAL;
}

const char *
sy_role_name(int role)
{
    return NULL;
}
