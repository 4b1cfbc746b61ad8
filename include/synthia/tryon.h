/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tryon.h - the rules of try-on jobs (app/domain/tryon.c): accepting a
 * job (POST /tryon), canceling it and reading its result.  No HTTP.
 *
 * A job is accepted in one transaction: its Idempotency-Key record, the
 * answer of an identical finished job (the tenant's, within 24 h: 200
 * with that job), else the ai charge, the job row and a copy of its
 * input images (uploads live in Redis, which may lose them); after the
 * commit its id goes on the tenant's stream (jobq.h).  Refusals:
 *   422 validation_failed   field errors (ids, 1..4 garments, an
 *                           unknown or expired upload, no such product)
 *   422 product_image_missing  a product garment without a stored image
 *   422 idempotency_mismatch, 409 conflict (idemclaim.h)
 *   429 rate_limited        the ai class (aicharge.h)
 *   403 forbidden           a sysadmin (jobs belong to a tenant's users
 *                           and keys)
 */
#ifndef SYNTHIA_TRYON_H
#define SYNTHIA_TRYON_H

#include <stdbool.h>

#include "synthia/analysis.h"
#include "synthia/arena.h"
#include "synthia/errs.h"
#include "synthia/idempotency.h"
#include "synthia/jobq.h"
#include "synthia/principal.h"
#include "synthia/provider.h"

struct json_object;

#define SY_TRYON_DEDUPE_MS (24LL * 3600 * 1000)

/* A try-on request as asked for: ids lower-cased. */
typedef struct sy_tryon_in {
    char person[SY_UUID_LEN + 1];
    char products[SY_AI_TRYON_MAX_GARMENTS][SY_UUID_LEN + 1];
    int nproducts;
    char uploads[SY_AI_TRYON_MAX_GARMENTS][SY_UUID_LEN + 1];
    int nuploads;
} sy_tryon_in;

/* Read {person_upload_id, garment_product_ids?, garment_upload_ids?}
 * (1 to 4 garments in all), every problem recorded in e.  0 or
 * SY_EVALIDATION. */
int sy_tryon_read(struct json_object *body, sy_errs *e, sy_tryon_in *out);

/* Who acts on jobs (principal.h): the owner filter of reads and
 * cancels.  Shoppers see their own jobs, staff, owners and sysadmins
 * the tenant's, API keys the jobs made by API keys. */
sy_jobq_owner sy_tryon_owner(const sy_principal *p);

/* Accept who's job (see above).  0 with the response in *out (202
 * {job_id, status} and Location, or 200 with the finished identical
 * job), *replayed when it is the Idempotency-Key's recorded one. */
int sy_tryon_submit(sy_arena *a, const char *tenant, const sy_principal *p,
                    const sy_ai_caller *who, const sy_tryon_in *in,
                    const sy_idem_key *key, sy_errs *e,
                    sy_idem_response *out, bool *replayed);

/* Cancel a queued job: 0; 404 not_found; 409 conflict (running or
 * finished) recorded in e. */
int sy_tryon_cancel(sy_arena *a, const char *tenant, const char *id,
                    const sy_jobq_owner *owner, sy_errs *e);

/* A done job's result image: 0 and *out; 404 not_found (unknown, not
 * done yet, or past jobs.result_retention). */
int sy_tryon_result(sy_arena *a, const char *tenant, const char *id,
                    const sy_jobq_owner *owner, sy_errs *e,
                    sy_jobq_result *out);

/* The queue as operators see it (/metrics, /health/detailed): totals
 * and, per tenant with work, its jobs queued, waiting and running. */
typedef struct sy_tryon_queue {
    sy_jobq_totals t;
    sy_jobq_depth *tenants;
    int ntenants;
} sy_tryon_queue;
int sy_tryon_queue_get(sy_arena *a, sy_tryon_queue *out);

/* The `queue` block of /health/detailed: {depth, backoff, in_flight,
 * retries, dead, tenants_waiting} (a new object the caller owns). */
int sy_tryon_queue_json(sy_arena *a, struct json_object **out);

/* The back-off before attempt attempts + 1 after attempts failed ones
 * (1..): base doubled per failed attempt, at most max, with "equal
 * jitter" (a uniform draw in its upper half, from r in [0, 1)), so
 * workers that failed together do not retry together. */
int64_t sy_tryon_backoff_ms(int attempts, int64_t base_ms, int64_t max_ms,
                            double r);

#endif
