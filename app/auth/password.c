/* PLACEHOLDER: being written; every function fails until then. */
#include "synthia/password.h"

#include "synthia/error.h"

int
sy_password_hash(sy_str pw, char *out, size_t outlen)
{
    return SY_EINTERNAL;
}

int
sy_password_verify(const char *encoded, sy_str pw, bool *needs_rehash)
{
    return SY_EINTERNAL;
}

void
sy_password_burn(sy_str pw)
{
}

int
sy_password_policy(sy_str pw, const char **why)
{
    return SY_EINTERNAL;
}
