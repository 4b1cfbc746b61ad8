/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jobs.c (store) - reading a try-on job's row (jobs_db.h).
 */
#include "synthia/jobs_db.h"

#include <libpq-fe.h>

#include "synthia/db.h"
#include "synthia/error.h"

/* $1 tenant, $2 id, $3 owner or NULL, $4 non-NULL: jobs made with API
 * keys only (no user).  A result past result_expires_at
 * is as good as gone (the retention sweep deletes it). */
static sy_db_stmt sql_get = SY_DB_STMT(
    "job_get",
    "SELECT id, tenant_id, user_id, key_id, status, version, attempts, "
    "provider, error, (result IS NOT NULL AND (result_expires_at IS NULL "
    "OR result_expires_at > now())), coalesce(duration_ms, -1), "
    "coalesce(provider_duration_ms, -1), "
    "CASE WHEN cold_start IS NULL THEN -1 WHEN cold_start THEN 1 ELSE 0 "
    "END, " SY_DB_RFC3339("created_at") ", "
    SY_DB_RFC3339("completed_at") " FROM jobs WHERE tenant_id = $1::uuid "
    "AND id = $2::uuid AND ($3::uuid IS NULL OR user_id = $3::uuid) "
    "AND ($4::text IS NULL OR user_id IS NULL)",
    4);

int
sy_jobs_db_get(sy_arena *a, const char *tenant, const char *id,
               const char *owner, bool keys_only, sy_job *out)
{
    const char *p[4] = {tenant, id, owner, keys_only ? "k" : NULL};
    PGresult *r;
    int rc = sy_db_exec_row(a, &sql_get, p, 4, &r);
    if (rc < 0)
        return rc;
    *out = (sy_job){
        .id = sy_db_cstr(r, 0, 0),
        .tenant_id = sy_db_cstr(r, 0, 1),
        .user_id = sy_db_cstr(r, 0, 2),
        .key_id = sy_db_cstr(r, 0, 3),
        .status = sy_db_cstr(r, 0, 4),
        .version = sy_db_i64(r, 0, 5),
        .attempts = sy_db_i64(r, 0, 6),
        .provider = sy_db_cstr(r, 0, 7),
        .error = sy_db_cstr(r, 0, 8),
        .has_result = sy_db_bool(r, 0, 9),
        .duration_ms = sy_db_i64(r, 0, 10),
        .provider_duration_ms = sy_db_i64(r, 0, 11),
        .cold_start = (int)sy_db_i64(r, 0, 12),
        .created_at = sy_db_cstr(r, 0, 13),
        .completed_at = sy_db_cstr(r, 0, 14),
    };
    return 0;
}
