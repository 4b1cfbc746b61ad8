/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vectors.h - the responders' read-only store of a tenant's product
 * vectors and its cosine top-k search.
 *
 * A tenant's vectors of one embedder+model (see below) are read from
 * product_embeddings (binary transfer) into one block: float32,
 * SY_EMBED_DIMS each (1 KiB per product) and the product ids.  The block
 * is a file under server.runtime_dir, built once per catalog version by
 * the first responder that needs it and mapped read-only by every
 * responder of the host, so it costs its memory once per host, and a
 * fresh responder searches without reloading from PostgreSQL (vectors.c
 * says how versions, builders and broken files are handled).  When
 * runtime_dir is empty or not writable each responder keeps its own
 * block in its heap.  A responder checks the tenant's catalog version
 * (cache.h) before a search and moves to a new block only when the stored
 * vectors really changed.  At most SY_VECTORS_TENANTS tenant+embedder
 * sets (and SY_VECTORS_MAX_BYTES) are held, least recently used first
 * out, plus one 4-byte scratch score per product of the largest tenant
 * searched.  The block is dimension-major, so search reads only the
 * columns of the query's non-zero dimensions (20-60 of SY_EMBED_DIMS for
 * the local embedder: 4 bytes per product each), then keeps the best with
 * a bounded heap: some 30-90 us per 10,000 products, linear in products.
 * When that is not enough, an ANN index (pgvector's HNSW) is the next
 * step.
 */
#ifndef SYNTHIA_VECTORS_H
#define SYNTHIA_VECTORS_H

#include <stdbool.h>

#include "synthia/arena.h"
#include "synthia/cache.h"
#include "synthia/embed.h"
#include "synthia/principal.h"

#define SY_VECTORS_MAX_K 100
#define SY_VECTORS_TENANTS 8
#define SY_VECTORS_MAX_BYTES (64 * 1024 * 1024)

typedef struct sy_vec_hit {
    char product_id[SY_UUID_LEN + 1];
    float score; /* cosine similarity in (0, 1] */
} sy_vec_hit;

/* Vectors are kept per embedder and model (embedder "local", model
 * SY_EMBED_LOCAL_MODEL: the built-in one; "openai" or "gemini" and the
 * provider's model: those `synthia reembed` made), all of SY_EMBED_DIMS
 * dimensions; one search reads one embedder+model's vectors only, so
 * vectors of two embedders are never compared. */

/* The periodic fingerprint check of a copy (against a lost bump, every
 * 60-90 s) that a search finds due waits for a moment when the responder
 * has nothing to serve, up to 2 s (the copy serves meanwhile: it is at
 * the current catalog version); past that, the search does it.  The
 * responder's loop asks sy_vectors_idle_due() for its poll timeout (0
 * when due) and calls sy_vectors_idle() when a poll finds nothing to
 * serve: the check, then a load's scratch given back to the system. */
bool sy_vectors_idle_due(void);
void sy_vectors_idle(sy_arena *a);

/* Load (or check) the tenant's vectors of embedder+model, and say
 * whether they cover every active product of the tenant (*complete;
 * false when there are none).  A search should use an external
 * embedder only when its vectors are complete: products written since
 * the last reembed have only the local vector.  0, SY_EINVAL, SY_EDB,
 * SY_ENOMEM. */
int sy_vectors_ready(sy_arena *a, const sy_catver *cv, const char *tenant,
                     const char *embedder, const char *model,
                     bool *complete);

/* The k (at most SY_VECTORS_MAX_K) active products of tenant whose
 * embedder+model vectors are most similar to q (which that same
 * embedder+model made; best first; equal scores in a stable order) into
 * out (room for k); *n gets the count.  Products with nothing in common
 * with q (score 0) are left out.  cv: what the request knows of the
 * tenant's catalog version (may be NULL).  0, SY_EINVAL, SY_EDB, or
 * SY_ENOMEM. */
int sy_vectors_search(sy_arena *a, const sy_catver *cv, const char *tenant,
                      const char *embedder, const char *model,
                      const float *q, int k, sy_vec_hit *out, int *n);

/* Write the local embedding of a product's text (on the current
 * connection, so inside the caller's transaction when one is open).
 * When it changed (the text did), the product's vectors of other
 * embedders are deleted: they described the old text.  0, SY_EDB, or
 * SY_ENOMEM. */
int sy_vectors_store(sy_arena *a, const char *tenant, const char *product_id,
                     sy_str text);

/* sy_vectors_store for n products at once (ids[i] with texts[i]), in one
 * statement: what a bulk write (an import's commit) calls.  0, SY_EDB,
 * or SY_ENOMEM. */
int sy_vectors_store_many(sy_arena *a, const char *tenant,
                          const char *const *ids, const sy_str *texts,
                          int n);

/* The local embeddings of texts[0..n) in the form product_embeddings
 * stores them: SY_VECTORS_LOCAL_BYTES each (SY_EMBED_DIMS little-endian
 * float32 values), one after the other from out, for a statement that
 * writes them itself (an import commit's inserts, in the same statement
 * as their products: model SY_EMBED_LOCAL_MODEL, embedder 'local'). */
#define SY_VECTORS_LOCAL_BYTES (SY_EMBED_DIMS * 4)
void sy_vectors_local_bytes(const sy_str *texts, int n, unsigned char *out);

/* Remove a product's vectors, every embedder's (deactivated: searches
 * must not find it); on the current connection, like sy_vectors_store.
 * 0 or SY_EDB. */
int sy_vectors_delete(sy_arena *a, const char *tenant, const char *product_id);

/* An active product that lacks a vector of some embedder+model. */
typedef struct sy_vec_todo {
    const char *product_id;
    sy_str text;            /* what its local vector is made of */
    const char *written_at; /* its updated_at, as read with the text */
} sy_vec_todo;

/* Up to limit such products of tenant for embedder+model, in id order,
 * after product id after (NULL: from the start), into *out (arena
 * memory), *n of them.  0, SY_EDB, SY_ENOMEM. */
int sy_vectors_missing(sy_arena *a, const char *tenant, const char *embedder,
                       const char *model, const char *after, int limit,
                       sy_vec_todo **out, int *n);

/* Store n vectors (v: n x SY_EMBED_DIMS floats, made by embedder+model
 * from rows[i].text) for rows[i].product_id, each only when the product
 * is still active and unchanged since rows[i].written_at (a product
 * written meanwhile stays missing); *stored: how many were.  0, SY_EDB,
 * SY_ENOMEM. */
int sy_vectors_store_other(sy_arena *a, const char *tenant,
                           const char *embedder, const char *model,
                           const sy_vec_todo *rows, const float *v, int n,
                           int *stored);

/* The ids of the tenants that have active products (arena memory), in
 * id order.  0, SY_EDB, SY_ENOMEM. */
int sy_vectors_tenants(sy_arena *a, const char ***ids, int *n);

/* Delete the tenant's vectors of every external embedder+model not in
 * keep ("embedder:model" strings); the local vectors stay.  *deleted:
 * how many rows went.  0, SY_EDB, SY_ENOMEM. */
int sy_vectors_prune(sy_arena *a, const char *tenant,
                     const char *const *keep, int nkeep, int *deleted);

/* The scan itself.  cols holds n vectors dimension-major (column-major):
 * the n values of dimension d are contiguous at cols[d * n + i], i < n,
 * for d < SY_EMBED_DIMS (a single vector, n = 1, is the same in either
 * layout).  Of the n, the min(k, n) with the highest dot product with q,
 * best first, ties by lower index; their indexes into idx and scores
 * (clamped to [0, 1]) into score, both with room for k.  Dimensions where
 * q is 0 are skipped and the rest summed in ascending order, so a
 * product's score does not depend on n or its position.  Uses a scratch
 * array of n floats kept for the process (not thread-safe).  Returns the
 * count, or -1 when that array cannot grow (ENOMEM). */
int sy_vectors_topk(const float *cols, int n, const float *q, int k, int *idx,
                    float *score);

#endif
