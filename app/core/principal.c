/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * principal.c - scope names (principal.h): the vocabulary of who is
 * calling, shared by every layer.
 */
#include "synthia/principal.h"

static const struct {
    uint32_t bit;
    const char *name;
} scopes[] = {
    {SY_SCOPE_CATALOG_READ, "catalog:read"},
    {SY_SCOPE_CATALOG_WRITE, "catalog:write"},
    {SY_SCOPE_ORDERS_READ, "orders:read"},
    {SY_SCOPE_ORDERS_WRITE, "orders:write"},
    {SY_SCOPE_UPLOADS_WRITE, "uploads:write"},
    {SY_SCOPE_ANALYSIS_WRITE, "analysis:write"},
    {SY_SCOPE_TRYON_WRITE, "tryon:write"},
    {SY_SCOPE_EVENTS_WRITE, "events:write"},
    {SY_SCOPE_AUTH_REGISTER, "auth:register"},
    {SY_SCOPE_AUTH_LOGIN, "auth:login"},
    {SY_SCOPE_TENANT_READ, "tenant:read"},
    {SY_SCOPE_METRICS_READ, "metrics:read"},
    {SY_SCOPE_IMPORTS_WRITE, "imports:write"},
};

uint32_t
sy_scope_parse(sy_str name)
{
    for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
        if (sy_str_eqc(name, scopes[i].name))
            return scopes[i].bit;
    return 0;
}

const char *
sy_scope_name(uint32_t bit)
{
    for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
        if (scopes[i].bit == bit)
            return scopes[i].name;
    return NULL;
}
