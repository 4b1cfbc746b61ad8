/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reembed.c (domain) - the tenant's product vectors for every external
 * embedder of [ai] embeddings (reembed.h).
 *
 * Each batch has an arena of its own: a catalog of 100,000 products is
 * some 1,500 batches, whose texts, vectors and results need not be held
 * at once.
 */
#include "synthia/reembed.h"

#include <stdio.h>
#include <string.h>

#include "synthia/cache.h"
#include "synthia/crypto.h"
#include "synthia/embed.h"
#include "synthia/error.h"
#include "synthia/metrics.h"
#include "synthia/vectors.h"

#define BATCH_ARENA (1 << 20)

static sy_metric m_embedded = {
    .name = "synthia_reembed_vectors_total",
    .help = "Product vectors made by external embedders (synthia "
            "reembed)."};
SY_METRICS_REGISTER(&m_embedded)

/* One batch of link i after product *after: *done false when none was
 * missing.  The cursor moves past every product of the batch, stored or
 * skipped, so a run ends. */
static int
batch_of(const char *tenant, int i, sy_reembed_link *l, int batch,
         char after[SY_UUID_LEN + 1], bool *done, sy_errs *e,
         sy_ai_outcome *failed)
{
    sy_arena b;
    sy_vec_todo *rows;
    sy_ai_vectors v;
    sy_ai_outcome oc;
    int n = 0, stored = 0;

    sy_arena_init(&b, BATCH_ARENA, 0);
    int rc = sy_vectors_missing(&b, tenant, l->embedder, l->model,
                                after[0] ? after : NULL, batch, &rows, &n);
    if (rc < 0 || (*done = n == 0))
        goto out;
    sy_str *texts = sy_arena_alloc(&b, (size_t)n * sizeof(*texts));
    if (!texts) {
        rc = SY_ENOMEM;
        goto out;
    }
    for (int k = 0; k < n; k++)
        texts[k] = rows[k].text;
    sy_ai_opts o = {.deadline_us = 0, .max_tokens = 0};
    rc = sy_ai_embed_link(&b, i, texts, n, SY_EMBED_DIMS, &o, &v, &oc);
    l->calls += oc.calls;
    if (rc == SY_EPROVIDER) {
        *failed = oc;
        /* the outcome's strings live in the batch's arena */
        failed->provider = l->embedder;
        failed->model = l->model;
        rc = sy_errs_fail(e, SY_EPROVIDER, "provider_unavailable",
                          sy_ai_err_name(oc.err));
        goto out;
    }
    if (rc < 0)
        goto out;
    rc = sy_vectors_store_other(&b, tenant, l->embedder, l->model, rows, v.v,
                                n, &stored);
    if (rc < 0)
        goto out;
    l->embedded += stored;
    l->skipped += n - stored;
    sy_counter_add(&m_embedded, 0, (uint64_t)stored);
    memcpy(after, rows[n - 1].product_id, SY_UUID_LEN + 1);
out:
    sy_arena_cleanup(&b);
    return rc;
}

int
sy_reembed_tenant(sy_arena *a, const char *tenant, int batch, sy_errs *e,
                  sy_reembed_result *out)
{
    const char *keep[SY_AI_CHAIN_MAX];
    int links = sy_conf->ai_nchain[SY_AI_EMBEDDINGS], rc = 0;

    memset(out, 0, sizeof(*out));
    if (batch < 1 || batch > SY_AI_EMBED_MAX_TEXTS ||
        strlen(tenant) != SY_UUID_LEN)
        return SY_EINVAL;
    for (int i = 0; i < links; i++) {
        const sy_ai_link *link = &sy_conf->ai_chain[SY_AI_EMBEDDINGS][i];
        if (link->kind == SY_AI_LOCAL)
            continue; /* every product write keeps the local vectors */
        sy_reembed_link *l = &out->links[out->nlinks++];
        l->embedder = sy_ai_kind_name(link->kind);
        l->model = link->model;
        char *k = sy_arena_alloc(a, strlen(l->embedder) + strlen(l->model) +
                                        2);
        if (!k)
            return SY_ENOMEM;
        snprintf(k, strlen(l->embedder) + strlen(l->model) + 2, "%s:%s",
                 l->embedder, l->model);
        keep[out->nlinks - 1] = k;
        char after[SY_UUID_LEN + 1] = "";
        bool done = false;
        while (!done && rc == 0)
            rc = batch_of(tenant, i, l, batch, after, &done, e,
                          &out->failed);
        if (rc < 0)
            break;
    }
    if (rc == 0)
        rc = sy_vectors_prune(a, tenant, keep, out->nlinks, &out->pruned);
    bool changed = out->pruned > 0;
    for (int i = 0; i < out->nlinks; i++)
        changed = changed || out->links[i].embedded > 0;
    if (changed) /* searches (and their cached answers) follow */
        sy_cache_catalog_bump(a, NULL, tenant);
    return rc;
}
