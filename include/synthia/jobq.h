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
#include "synthia/crypto.h"
#include "synthia/pubsub.h"
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

/* The channel a job's changes are published on: "sy:job:<id>" (id as
 * stored, lower case); parked ?wait= requests subscribe to it. */
void sy_jobq_channel(const char *id, char out[SY_PUBSUB_CHANNEL_MAX]);

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



/* ------------------------------------------------------------ worker */

/* What a claim gives the worker. */
typedef struct sy_jobq_claim {
    char tenant[SY_UUID_LEN + 1];
    int attempts;      /* this attempt's number (1..) */
    int max_attempts;
    const char *provider;        /* of an earlier attempt, or NULL */
    const char *model;
    const char *provider_job_id; /* a job at the provider to resume; NULL
                                    with a provider: a submit to it was
                                    started and may have reached it */
    int64_t created_ms;          /* the job's created_at, Unix ms */
} sy_jobq_claimed;

/* Take job id for owner if it is queued and due and its tenant has
 * fewer than cap jobs running: running, attempts + 1, a lease of
 * lease_ms.  0 with *out; SY_ENOTFOUND when it is not claimable
 * (*busy: it is queued and due, but the tenant is at its cap). */
int sy_jobq_claim(sy_arena *a, const char *id, const char *owner,
                  int64_t lease_ms, int cap, sy_jobq_claimed *out,
                  bool *busy);

/* Renew owner's leases of ids (n of them) to now + lease_ms; *kept gets
 * the number still held. */
int sy_jobq_heartbeat(sy_arena *a, const char *owner, const char *const *ids,
                      int n, int64_t lease_ms, int *kept);

/* Note the provider's job of a running attempt (so that a later attempt
 * resumes it instead of submitting again); with provider_job_id NULL,
 * the intent before a submit: it goes to provider and model (a later
 * attempt that finds no id looks the job up there when the provider
 * can be asked, provider.h sy_ai_tryon_find_start). */
int sy_jobq_set_provider(sy_arena *a, const char *id, const char *owner,
                         const char *provider, const char *model,
                         const char *provider_job_id);

/* A finished attempt's outcome. */
typedef struct sy_jobq_done {
    const char *content_type;
    sy_str data;
    int64_t retention_ms;
    int64_t duration_ms, provider_duration_ms;
    bool cold_start;
    const char *provider, *model;
} sy_jobq_done;

/* done, if owner still holds it running (exactly once: a job done is
 * never done again): 0; SY_ENOTFOUND when the lease was lost. */
int sy_jobq_complete(sy_arena *a, const char *id, const char *owner,
                     const sy_jobq_done *d);

/* A failed attempt of owner's running job: back to queued, due in
 * delay_ms, or error (dead-lettered) when it was the last attempt or
 * permanent.  forget_provider: the next attempt submits anew.  0 with
 * *status ("queued" or "error"); SY_ENOTFOUND when the lease was lost. */
int sy_jobq_fail(sy_arena *a, const char *id, const char *owner,
                 const char *error, int64_t delay_ms, bool permanent,
                 bool forget_provider, const char **status);

/* Give owner's running job back (the worker stops): queued, due now,
 * the attempt not counted, the provider's job kept to resume. */
int sy_jobq_release(sy_arena *a, const char *id, const char *owner);

/* A job's input images in order (ord 0 the person). */
int sy_jobq_inputs(sy_arena *a, const char *id, sy_jobq_input **out,
                   int *n);

/* Stalled jobs: running with a lease that lapsed.  Up to max of them:
 * ids[], attempts[] (arena). */
typedef struct sy_jobq_stalled {
    char id[SY_UUID_LEN + 1];
    char tenant[SY_UUID_LEN + 1];
    int attempts;
} sy_jobq_stalled;
int sy_jobq_stalled_list(sy_arena *a, int max, sy_jobq_stalled **out,
                         int *n);

/* Fail a stalled job (as sy_jobq_fail, if its lease still lapsed). */
int sy_jobq_fail_stalled(sy_arena *a, const char *id, const char *error,
                         int64_t delay_ms, const char **status);

/* Queued jobs whose back-off is over: marked due (next_attempt_at
 * cleared) and XADDed to their tenants' streams; *n of them. */
int sy_jobq_enqueue_due(sy_arena *a, int max, int *n);

/* The lost-stream check: for each tenant whose stream holds fewer
 * entries than it has jobs queued (due) or running, XADD every one of
 * its due queued jobs again (a duplicate entry is dropped by the claim).
 * *n: jobs enqueued again. */
int sy_jobq_repair_streams(sy_arena *a, int *n);

/* ----- the worker's Redis side */

/* The tenants with a stream (SY_JOBQ_TENANTS_KEY), their group made
 * where missing.  *out: arena array of ids. */
int sy_jobq_tenants(sy_arena *a, const char ***out, int *n);

/* One entry for consumer from the tenant's stream: new ones first, else
 * (reclaim_ms > 0) one that another consumer held idle for reclaim_ms
 * (XAUTOCLAIM: its worker died).  0 with entry and job ids (arena),
 * SY_ENOTFOUND when none, SY_EREDIS. */
int sy_jobq_next(sy_arena *a, const char *tenant, const char *consumer,
                 int64_t reclaim_ms, const char **entry, const char **job);

/* Done with an entry: XACK and XDEL. */
int sy_jobq_ack(sy_arena *a, const char *tenant, const char *entry);

/* Per tenant: jobs queued (due) and running, for /metrics and
 * /health/detailed. */
typedef struct sy_jobq_depth {
    const char *tenant;
    int64_t queued, running, delayed;
} sy_jobq_depth;
int sy_jobq_depths(sy_arena *a, sy_jobq_depth **out, int *n);

/* Over every tenant: jobs queued and due, waiting for their back-off,
 * running, dead-lettered (status error), and attempts beyond the first
 * of those jobs (retries).  Reads those rows only (an index on status):
 * cheap whatever the number of finished jobs, for every /metrics
 * scrape. */
typedef struct sy_jobq_totals {
    int64_t queued, delayed, running, dead, retries;
} sy_jobq_totals;
int sy_jobq_totals_get(sy_arena *a, sy_jobq_totals *out);

/* Try-on generations of the tenant (NULL: every tenant) created in the
 * last hours: counts by status and the p50 and p95 of done jobs'
 * duration_ms (-1: none done). */
typedef struct sy_jobq_generations {
    int64_t queued, running, done, error, canceled;
    int64_t p50_ms, p95_ms;
} sy_jobq_generations;
int sy_jobq_generations_get(sy_arena *a, const char *tenant, int hours,
                            sy_jobq_generations *out);

/* Dead-lettered jobs (status error), newest first: id, tenant, attempts,
 * error, completed_at as one JSON object per row (arena). */
int sy_jobq_dead(sy_arena *a, int limit, const char ***json, int *n);

/* Requeue a dead-lettered job: queued, attempts 0, due now, enqueued.
 * 0; SY_ENOTFOUND when it is not in status error. */
int sy_jobq_requeue(sy_arena *a, const char *id);
#endif
