/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * analysis.h - colour analysis of an upload (app/domain/analysis.c):
 * the tenant's upload, decoded to SY_CHROMATIC_SIDE, through the local
 * chromatic analyser (chromatic.h).  Synchronous; nothing is cached or
 * stored yet (the result cache and the analysis history come later), so
 * every answer is computed.
 *
 * Refusals: a body without a valid upload_id is 422 validation_failed;
 * an unknown, expired or other tenant's upload 404 upload_not_found; a
 * photo with too little skin to measure 422 no_skin_found.
 */
#ifndef SYNTHIA_ANALYSIS_H
#define SYNTHIA_ANALYSIS_H

#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/chromatic.h"
#include "synthia/errs.h"

struct json_object;

#define SY_ANALYSIS_PROVIDER_LOCAL "local"

typedef struct sy_analysis {
    char id[37];          /* UUID of this analysis */
    char upload_id[37];
    sy_chromatic result;
    int64_t duration_us;  /* decode and analysis */
} sy_analysis;

/* Analyse the upload named by body's upload_id for the tenant.  0 and
 * *out; SY_EVALIDATION, SY_ENOTFOUND (reason in e); SY_EREDIS;
 * SY_ENOMEM. */
int sy_analysis_chromatic(sy_arena *a, const char *tenant_id,
                          struct json_object *body, sy_errs *e,
                          sy_analysis *out);

/* {id, type, upload_id, season, undertone, value, contrast, chroma,
 * skin, palette, avoid, provider, method, cached, duration_ms}. */
struct json_object *sy_analysis_json(const sy_analysis *an);

#endif
