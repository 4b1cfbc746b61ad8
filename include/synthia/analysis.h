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

/* POST /analysis/chromatic's body {upload_id}: the tenant's upload (a
 * shopper's own, or one made with an API key), decoded to
 * SY_CHROMATIC_SIDE, through the local chromatic analyser (chromatic.h;
 * charged to the ai class right before it runs: aicharge.h), stored
 * with the caller (analyses_db.h).  0 and the analysis's JSON
 * (with upload_id); SY_EVALIDATION (a bad upload_id, or 422
 * no_skin_found); SY_ENOTFOUND (404 upload_not_found: unknown, expired,
 * another tenant's or another shopper's); SY_ERATE (429: the ai class);
 * SY_EREDIS; SY_EDB. */
int sy_analysis_chromatic(sy_arena *a, const char *tenant,
                          const sy_ai_caller *who, struct json_object *body,
                          sy_errs *e, sy_str *json);

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
