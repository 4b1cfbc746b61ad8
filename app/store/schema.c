/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * schema.c - the applied schema version (schema.h).  Applying
 * migrations is cli/migrate.c's, on a connection of its own.
 */
#include "synthia/schema.h"

#include <stdint.h>
#include <string.h>

#include "synthia/db.h"
#include "synthia/error.h"

/* Fails with 42P01 before the first migration: version 0. */
static sy_db_stmt sql_version =
    SY_DB_STMT("migration_version",
     "SELECT coalesce(max(version), 0) FROM schema_migrations", 0);

int
sy_schema_version(sy_arena *a, int *out)
{
    struct pg_result *r;
    int rc = sy_db_exec(a, &sql_version, NULL, 0, &r);
    if (rc < 0 && strcmp(sy_db_last_sqlstate(), "42P01") == 0) {
        *out = 0;
        return 0;
    }
    if (rc < 0)
        return rc;
    int64_t v = sy_db_i64(r, 0, 0);
    if (sy_db_rows(r) != 1 || v < 0 || v > INT32_MAX)
        return SY_EDB;
    *out = (int)v;
    return 0;
}
