/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * analyses_db.h - analyses and the feedback on them in PostgreSQL
 * (app/store/analyses.c).
 *
 * Plain values in and out.  An analysis is read as the JSON the API
 * shows, built by PostgreSQL: the provider's result object with the
 * record's own fields on top (id, type, provider, model, cached,
 * duration_ms, created_at).  Times are RFC 3339 UTC with microseconds,
 * which are also the page cursors.  Who may see what is the domain's.
 */
#ifndef SYNTHIA_ANALYSES_DB_H
#define SYNTHIA_ANALYSES_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/db.h"
#include "synthia/str.h"

/* A new analysis.  user_id or key_id names who asked (either may be
 * NULL); result is a JSON object's text. */
typedef struct sy_analysis_new {
    const char *user_id, *key_id;
    const char *type;          /* "chromatic", "facial" */
    const char *upload_sha256; /* 64 lower-case hex digits */
    const char *provider, *model;
    sy_str result;
    int64_t duration_ms;
    bool cached;
} sy_analysis_new;

/* A row of a list: its JSON and its sort key. */
typedef struct sy_analysis_row {
    sy_str json;
    const char *created_at, *id;
} sy_analysis_row;

/* Store n; 0 and the analysis as JSON text (arena memory). */
int sy_analyses_db_insert(sy_arena *a, const char *tenant,
                          const sy_analysis_new *n, sy_str *json);

/* Analysis id of the tenant (owner non-NULL: only if that user's).
 * 0, SY_ENOTFOUND, SY_EDB. */
int sy_analyses_db_get(sy_arena *a, const char *tenant, const char *id,
                       const char *owner, sy_str *json);

/* A page by (created_at, id); owner non-NULL: that user's only. */
int sy_analyses_db_list(sy_arena *a, const char *tenant, const char *owner,
                        const sy_keyset *k, sy_analysis_row **rows, int *n);

/* Feedback as given (user_id or key_id may be NULL; comment too). */
typedef struct sy_feedback_new {
    const char *user_id, *key_id;
    const char *target_type, *target_id;
    int64_t rating;
    const char *comment;
} sy_feedback_new;

/* Store f if its target exists in the tenant (for "analysis" and
 * "recommendation" an analysis; owner non-NULL: that user's): 0 and the
 * feedback as JSON text; SY_ENOTFOUND when the target does not. */
int sy_feedback_db_insert(sy_arena *a, const char *tenant,
                          const sy_feedback_new *f, const char *owner,
                          sy_str *json);

/* A page of the tenant's feedback (target_type NULL: every type). */
int sy_feedback_db_list(sy_arena *a, const char *tenant,
                        const char *target_type, const sy_keyset *k,
                        sy_analysis_row **rows, int *n);

/* {"<type>": {"count": n, "average_rating": x | null}} for each of the
 * three target types, as JSON text. */
int sy_feedback_db_summary(sy_arena *a, const char *tenant, sy_str *json);

#endif
