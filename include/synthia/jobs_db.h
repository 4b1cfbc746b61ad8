/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jobs_db.h - reading a try-on job's row (app/store/jobs.c); the writes
 * (accepting, leasing, finishing, cancelling) are the queue's
 * (app/store/jobq.c).
 *
 * Plain values out.  Times are RFC 3339 UTC; a nullable number reads as
 * -1 when NULL.  Who may see which job is the domain's (jobs.h).
 */
#ifndef SYNTHIA_JOBS_DB_H
#define SYNTHIA_JOBS_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"

/* A job as a client may see it (strings: arena memory, NULL for NULL). */
typedef struct sy_job {
    const char *id, *tenant_id, *user_id, *key_id;
    const char *status;     /* queued running done error canceled */
    int64_t version;        /* moves on every change a client can see */
    int64_t attempts;
    const char *provider, *error;
    bool has_result;        /* a result image is kept (not expired) */
    int64_t duration_ms, provider_duration_ms; /* -1: NULL */
    int cold_start;         /* -1 NULL, 0 false, 1 true */
    const char *created_at, *completed_at;
} sy_job;

/* The job id of tenant, if owner (a user id) is NULL or owns it, and,
 * with keys_only, if it was made with an API key (no user).
 * 0 and *out; SY_ENOTFOUND; SY_EDB. */
int sy_jobs_db_get(sy_arena *a, const char *tenant, const char *id,
                   const char *owner, bool keys_only, sy_job *out);

#endif
