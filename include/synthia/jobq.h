/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jobq.h - try-on job rows and their queue (app/store/jobq.c): the
 * writes of POST /tryon (the job row and its copied inputs), cancel,
 * the result image, and the Redis side (the tenant's stream that
 * carries job ids, and the sy:job:<id> channel a status change is
 * published on).  The schema is sql/011_jobs.sql: the row is the truth,
 * the stream only a hint that the worker's sweep can rebuild.
 *
 *   sy:{t:<tenant>}:jobs    stream of {job: <id>}; consumer group
 *                           "workers" (the worker creates it)
 *   sy:jobs:tenants         set of tenants that ever had a job queued
 *                           (the worker's list of streams to read)
 *   sy:job:<id>             channel: the job's new status
 */
#ifndef SYNTHIA_JOBQ_H
#define SYNTHIA_JOBQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/str.h"

#define SY_JOBQ_TENANTS_KEY "sy:jobs:tenants"
#define SY_JOBQ_GROUP "workers"

/* A new job as accepted. */
typedef struct sy_jobq_new {
    const char *tenant;
    const char *user_id;  /* NULL for an API key */
    const char *key_id;   /* NULL for a user */
    int max_attempts;
    char input_hash[65];
    const char *product_ids; /* uuid[] literal "{...}" ("{}": none) */
} sy_jobq_new;

/* One input image (ord 0: the person, 1..: garments). */
typedef struct sy_jobq_input {
    const char *role; /* "person" or "garment" */
    const char *content_type;
    char sha256[65];
    sy_str data;
} sy_jobq_input;

/* Who may see a job: everyone of the tenant (both NULL and !keys_only),
 * only a user's own (user_id), or only jobs made by API keys
 * (keys_only: user_id IS NULL). */
typedef struct sy_jobq_owner {
    const char *user_id;
    bool keys_only;
} sy_jobq_owner;

/* The newest job of the tenant with input_hash that is done, finished
 * after now - max_age_ms and still has its result: 0 with its id
 * (arena), SY_ENOTFOUND, SY_EDB. */
int sy_jobq_find_done(sy_arena *a, const char *tenant, const char *hash,
                      int64_t max_age_ms, const char **id);

/* Inside the caller's transaction: the job row, then its inputs.  0
 * with *id (arena), SY_EDB, SY_ENOMEM. */
int sy_jobq_insert(sy_arena *a, const sy_jobq_new *j,
                   const sy_jobq_input *in, int n, const char **id);

/* After the commit: XADD the job id to the tenant's stream (and the
 * tenant to SY_JOBQ_TENANTS_KEY).  0 or SY_EREDIS (the job stays queued
 * in PostgreSQL: the worker's sweep enqueues it). */
int sy_jobq_enqueue(sy_arena *a, const char *tenant, const char *id);

/* After the commit of a change: PUBLISH status on sy:job:<id>
 * (best effort: a parked client also times out and reads the row). */
void sy_jobq_publish(sy_arena *a, const char *id, const char *status);

/* Cancel the tenant's job id if owner may see it and it is queued:
 * 0 (canceled, version bumped); SY_ENOTFOUND (not there, or not
 * owner's); SY_ECONFLICT with its status in *status (static string);
 * SY_EDB. */
int sy_jobq_cancel(sy_arena *a, const char *tenant, const char *id,
                   const sy_jobq_owner *owner, const char **status);

/* A finished job's result image. */
typedef struct sy_jobq_result {
    const char *content_type;
    sy_str data;
    char sha256[65]; /* of data: the ETag */
} sy_jobq_result;

/* The tenant's job id's result, if owner may see the job, it is done
 * and its result is still kept: 0 and *out; SY_ENOTFOUND; SY_EDB;
 * SY_ENOMEM. */
int sy_jobq_result_get(sy_arena *a, const char *tenant, const char *id,
                       const sy_jobq_owner *owner, sy_jobq_result *out);

#endif
