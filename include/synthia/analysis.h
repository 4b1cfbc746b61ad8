/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * analysis.h - the rules of analyses and feedback (app/domain/analysis.c),
 * without HTTP: making a colour analysis of an upload, who may read
 * which analysis, what feedback is valid and on what.
 *
 * A caller is a user (a shopper sees only their own analyses; staff and
 * owners the tenant's) or an API key (the shop's storefront, acting for
 * anonymous shoppers: its analyses carry no user).
 */
#ifndef SYNTHIA_ANALYSIS_H
#define SYNTHIA_ANALYSIS_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/analyses_db.h"
#include "synthia/arena.h"
#include "synthia/errs.h"
#include "synthia/str.h"

struct json_object;

struct sy_ai_charged;

typedef struct sy_ai_caller {
    const char *user_id; /* NULL for API keys */
    const char *key_id;  /* NULL for users */
    bool shopper;        /* a user below staff: sees only their own */
    int64_t ai_limit;    /* the caller's ai class per minute (plan); -1:
                            no window of its own (sysadmins) */
    struct sy_ai_charged *charge; /* what sy_ai_charge decided (aicharge.h),
                                     NULL: not wanted */
} sy_ai_caller;

#define SY_FEEDBACK_COMMENT_MAX 2000 /* characters */
#define SY_ANALYSIS_PROVIDER_LOCAL "local"

/* Where an analysis came from (the X-Cache header). */
enum sy_analysis_xcache {
    SY_ANALYSIS_MISS = 0, /* the analyser or provider was asked */
    SY_ANALYSIS_HIT,      /* the AI result cache answered */
    SY_ANALYSIS_STALE,    /* every provider failed: the last good result */
};

/* POST /analysis/chromatic's body {upload_id}: the tenant's upload (a
 * shopper's own, or one made with an API key), decoded to
 * SY_CHROMATIC_SIDE, through the local chromatic analyser (chromatic.h;
 * charged to the ai class right before it runs: aicharge.h), stored
 * with the caller (analyses_db.h).  Answers come from the AI result
 * cache when it holds one (*xcache says HIT: the analysis the miss
 * stored, same id, cached true, no row written; for a caller other than
 * the one it was stored for, recorded anew for them); identical
 * requests in flight make one analysis.  0 and the analysis's JSON
 * (with upload_id); SY_EVALIDATION (a bad upload_id, or 422
 * no_skin_found, cached as a refusal for ai.cache_negative_ttl);
 * SY_ENOTFOUND (404 upload_not_found: unknown, expired, another
 * tenant's or another shopper's); SY_ETIMEOUT (an identical analysis
 * outlasted the wait); SY_ERATE (429: the ai class); SY_EREDIS; SY_EDB. */
int sy_analysis_chromatic(sy_arena *a, const char *tenant,
                          const sy_ai_caller *who, struct json_object *body,
                          sy_errs *e, sy_str *json, int *xcache);

/* POST /analysis/facial's body {upload_id}: as chromatic, through the
 * vision chain (provider.h) with a strict JSON schema ({face_shape,
 * features, confidence}).  Beyond chromatic's: SY_EPROVIDER (503
 * provider_unavailable: no vision provider configured, naming ai.vision,
 * or none could answer and no last good result was kept); SY_EVALIDATION
 * 422 image_rejected when a provider refused the image with a 400, 413,
 * 415 or 422 (cached as a refusal).  *xcache STALE: every provider
 * failed with a retryable class (or had its circuit open) and the last
 * good result of the same request was served. */
int sy_analysis_facial(sy_arena *a, const char *tenant,
                       const sy_ai_caller *who, struct json_object *body,
                       sy_errs *e, sy_str *json, int *xcache);

/* The canonical description of an AI request within a tenant, the AI
 * result cache's key (airesult.h hashes it with the user):
 *   "ai1\ncapability=<c>\nprovider=<p>\nmodel=<m>\nparams=<json>\n"
 *   "sha256=<hex>"
 * with params as canonical JSON (members sorted by name at every level,
 * no spaces; NULL: {}) and the input's sha256 in lower case.  capability,
 * provider and model are 1 to 128 printable ASCII characters without
 * spaces.  0 and *out (arena memory); SY_EINVAL; SY_ENOMEM. */
int sy_analysis_cache_what(sy_arena *a, const char *capability,
                           const char *provider, const char *model,
                           struct json_object *params, const char *sha256,
                           sy_str *out);

/* Analysis id as the caller may see it: 0 and its JSON; SY_ENOTFOUND
 * (recorded in e) for another user's, another tenant's, or none. */
int sy_analysis_get(sy_arena *a, const char *tenant, const char *id,
                    const sy_ai_caller *who, sy_errs *e, sy_str *json);

/* The caller's history (staff: the tenant's), a page. */
int sy_analysis_list(sy_arena *a, const char *tenant, const sy_ai_caller *who,
                     const sy_keyset *k, sy_analysis_row **rows, int *n);

/* POST /feedback's body: {target_type, target_id, rating, comment?}.
 * Validated (field errors in e), then stored if the target exists in the
 * tenant and the caller may see it (a shopper: their own analysis);
 * "generation" targets (try-on results) are refused until try-on jobs
 * exist.  0 and the feedback's JSON; SY_EVALIDATION; SY_ENOTFOUND. */
int sy_feedback_give(sy_arena *a, const char *tenant, const sy_ai_caller *who,
                     struct json_object *body, sy_errs *e, sy_str *json);

/* The tenant's feedback, a page (target_type NULL: every type), and its
 * summary per target type (analyses_db.h). */
int sy_feedback_list(sy_arena *a, const char *tenant, const char *target_type,
                     const sy_keyset *k, sy_analysis_row **rows, int *n,
                     sy_str *summary);

/* "analysis" | "generation" | "recommendation" (a static string), or
 * NULL. */
const char *sy_feedback_target_type(sy_str s);

#endif
