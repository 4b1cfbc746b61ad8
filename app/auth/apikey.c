/* PLACEHOLDER: being written; every function fails until then. */
#include "synthia/apikey.h"

#include "synthia/error.h"

void
sy_apikey_generate(int kind, char *key, char *prefix, unsigned char hash[32])
{
}

int
sy_apikey_resolve(sy_arena *a, sy_str key, sy_principal *who)
{
    return SY_EINTERNAL;
}

int
sy_apikey_forget(sy_arena *a, const unsigned char hash[32])
{
    return SY_EINTERNAL;
}

int
sy_apikey_forget_tenant(sy_arena *a, const char *tenant_id)
{
    return SY_EINTERNAL;
}
