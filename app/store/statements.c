/*
 * statements.c - the one table of named SQL statements.
 *
 * Every query the responders run is listed here, indexed by enum sy_stmt
 * (db.h), with its parameter count so sy_db_exec() can refuse a call with
 * the wrong number of parameters.  Parameters are always bound ($1, $2,
 * ...), never spliced into the text.  By convention a tenant-owned query
 * takes tenant_id as $1.
 */
#include "synthia/db.h"

const sy_db_stmt sy_db_statements[SY_SQL__COUNT] = {
    [SY_SQL_PING] = {"ping", "SELECT 1", 0},
    /* Fails with 42P01 before the first migration: callers treat that as
     * version 0 (see sy_db_last_sqlstate). */
    [SY_SQL_MIGRATION_VERSION] =
        {"migration_version",
         "SELECT coalesce(max(version), 0) FROM schema_migrations", 0},
};
