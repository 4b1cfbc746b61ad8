/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reembed.h - product vectors for the external embedders of [ai]
 * embeddings (app/domain/reembed.c): what `synthia reembed` runs after
 * the configured embedder changes (the jobs issue moves it to the
 * worker).
 *
 * For each external link (openai:MODEL, gemini:MODEL) of the chain, the
 * tenant's active products that lack a vector of that embedder+model
 * (new ones, changed ones: a product write drops its external vectors
 * when its text changes, see vectors.h) are embedded in batches through
 * that link alone (no fallback: a vector must come from the embedder it
 * is filed under) and stored, each batch on its own, so a run that stops
 * (a provider failure, a kill) keeps what it did and the next run goes
 * on from there; a run with nothing missing calls no provider.  Then
 * the vectors of embedders no longer in the chain are deleted, and when
 * anything changed the tenant's catalog version moves, so searches and
 * their cached answers follow at once.
 */
#ifndef SYNTHIA_REEMBED_H
#define SYNTHIA_REEMBED_H

#include "synthia/arena.h"
#include "synthia/config.h"
#include "synthia/errs.h"
#include "synthia/provider.h"

#define SY_REEMBED_BATCH_DEFAULT 64

/* What a run did for one embedder+model of one tenant. */
typedef struct sy_reembed_link {
    const char *embedder;
    const char *model;
    int embedded; /* vectors stored */
    int skipped;  /* products written while embedded: left for a rerun */
    int calls;    /* provider calls (retries included) */
} sy_reembed_link;

typedef struct sy_reembed_result {
    int nlinks;
    sy_reembed_link links[SY_AI_CHAIN_MAX];
    int pruned; /* vectors of embedders no longer configured */
    sy_ai_outcome failed; /* when a provider failed: its outcome */
} sy_reembed_result;

/* One tenant, batches of batch (1 to SY_AI_EMBED_MAX_TEXTS) products.
 * 0 and *out; SY_EPROVIDER (recorded in e, out->failed says which and
 * why; what was stored before stays), SY_EDB, SY_ENOMEM, SY_EINVAL. */
int sy_reembed_tenant(sy_arena *a, const char *tenant, int batch,
                      sy_errs *e, sy_reembed_result *out);

#endif
