/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jobs.h - try-on jobs as clients see them (app/domain/jobs.c): who may
 * see which job, its view, its validator, and what a wait for its next
 * change listens to.
 *
 * A user sees only the jobs they submitted; an API key sees every job of
 * its tenant (the storefront's server polls for its shoppers); a
 * sysadmin acts on the tenant it names.  Another tenant's job, or
 * another user's, is not found (404, never 403).
 */
#ifndef SYNTHIA_JOBS_H
#define SYNTHIA_JOBS_H

#include <stdbool.h>

#include "synthia/arena.h"
#include "synthia/errs.h"
#include "synthia/jobq.h"
#include "synthia/jobs_db.h"
#include "synthia/principal.h"
#include "synthia/str.h"

struct json_object;

#define SY_JOBS_WAIT_MAX 30 /* seconds a GET /jobs/{id}?wait= may hold */
#define SY_JOBS_ETAG_MAX 64

/* The job id of tenant if owner may see it (sy_tryon_owner: a shopper
 * their own jobs, an API key the jobs made with keys, staff and above
 * every job of the tenant).  0 and *out; SY_ENOTFOUND recorded in e
 * (also for an id that is not a UUID); SY_EDB. */
int sy_jobs_get(sy_arena *a, const char *tenant, const char *id,
                const sy_jobq_owner *owner, sy_errs *e, sy_job *out);

/* done, error or canceled: it will not change again. */
bool sy_jobs_finished(const sy_job *j);

/* {id, status, attempts, provider, result_url, error, duration_ms,
 * provider_duration_ms, cold_start, created_at, completed_at}; NULL on
 * no memory.  The caller owns the object. */
struct json_object *sy_jobs_view(const sy_job *j);

/* The job's strong validator, "\"<id>.<version>\"", into out. */
void sy_jobs_etag(const sy_job *j, char out[SY_JOBS_ETAG_MAX]);

/* ?wait=N: 0..SY_JOBS_WAIT_MAX seconds; else a field error in e
 * (SY_EVALIDATION). */
int sy_jobs_wait_parse(sy_str v, sy_errs *e, int *secs);

#endif
