/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * demo.c (store) - the statements of seed-demo that belong to no other
 * concept's store (demo_db.h).
 */
#include "synthia/demo_db.h"

#include <libpq-fe.h>

#include "synthia/db.h"
#include "synthia/error.h"

/* $2 text-search configuration. */
static sy_db_stmt sql_search_config =
    SY_DB_STMT("seed_tenant_config",
     "UPDATE tenants SET search_config = $2::regconfig "
     "WHERE id = $1::uuid",
     2);
/* What a tenant holds.  Columns: its number of products, its users
 * (JSON array of {email, role}). */
static sy_db_stmt sql_summary =
    SY_DB_STMT("seed_tenant_summary",
     "SELECT (SELECT count(*) FROM products WHERE tenant_id = $1::uuid), "
     "(SELECT coalesce(json_agg(json_build_object('email', email, "
     "'role', role) ORDER BY role, email), '[]')::text FROM users "
     "WHERE tenant_id = $1::uuid)",
     1);

int
sy_demo_db_search_config(sy_arena *a, const char *tenant, const char *config)
{
    const char *params[2] = {tenant, config};
    PGresult *r;
    return sy_db_exec(a, &sql_search_config, params, 2, &r);
}

int
sy_demo_db_summary(sy_arena *a, const char *tenant, int64_t *products,
                   sy_str *users)
{
    const char *params[1] = {tenant};
    PGresult *r;
    int rc = sy_db_exec_row(a, &sql_summary, params, 1, &r);
    if (rc == 0) {
        *products = sy_db_i64(r, 0, 0);
        *users = sy_db_str(r, 0, 1);
    }
    return rc == SY_ENOTFOUND ? SY_EINTERNAL : rc;
}
