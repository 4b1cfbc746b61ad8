/*
 * vectors.h - the per-responder store of a tenant's product vectors and
 * its cosine top-k search.
 *
 * A responder loads a tenant's vectors from product_embeddings once and
 * keeps them in memory (float32, SY_EMBED_DIMS each: 1 KiB per product,
 * about 100 MiB per 100,000 products per responder), reloading when the
 * tenant's catalog version (cache.h) moves and the stored vectors really
 * changed.  At most SY_VECTORS_TENANTS tenants (and SY_VECTORS_MAX_BYTES)
 * are held, least recently used first out.  Search is a linear scan with
 * a bounded heap, which stays in single milliseconds to ~50,000 products;
 * past that, an ANN index (pgvector's HNSW) is the next step.
 */
#ifndef SYNTHIA_VECTORS_H
#define SYNTHIA_VECTORS_H

#include "synthia/arena.h"
#include "synthia/embed.h"
#include "synthia/request.h"

#define SY_VECTORS_MAX_K 100
#define SY_VECTORS_TENANTS 4
#define SY_VECTORS_MAX_BYTES (64 * 1024 * 1024)

typedef struct sy_vec_hit {
    char product_id[SY_UUID_LEN + 1];
    float score; /* cosine similarity in (0, 1] */
} sy_vec_hit;

/* The k (at most SY_VECTORS_MAX_K) active products of tenant most similar
 * to q (best first; equal scores in a stable order) into out (room for
 * k); *n gets the count.  Products with nothing in common with q (score
 * 0) are left out.  0, SY_EDB, or SY_ENOMEM. */
int sy_vectors_search(sy_arena *a, const char *tenant, const float *q, int k,
                      sy_vec_hit *out, int *n);

/* Write the local embedding of a product's text (on the current
 * connection, so inside the caller's transaction when one is open).
 * 0, SY_EDB, or SY_ENOMEM. */
int sy_vectors_store(sy_arena *a, const char *tenant, const char *product_id,
                     sy_str text);

/* The scan itself: of n vectors (SY_EMBED_DIMS floats each, contiguous),
 * the min(k, n) with the highest dot product with q, best first, ties by
 * lower index; their indexes into idx and scores (clamped to [0, 1])
 * into score, both with room for k.  Returns the count. */
int sy_vectors_topk(const float *vecs, int n, const float *q, int k, int *idx,
                    float *score);

#endif
