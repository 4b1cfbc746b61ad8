/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * embed.h - text embeddings for semantic search.
 *
 * The built-in local embedder needs no network: hashed character n-grams
 * (and words) into SY_EMBED_DIMS buckets with signed hashing, then L2
 * normalisation.  It measures lexical similarity (shared spellings and
 * word pieces), not meaning; an embedding provider (a later issue) gives
 * real semantics through the same interface.
 */
#ifndef SYNTHIA_EMBED_H
#define SYNTHIA_EMBED_H

#include "synthia/str.h"

#define SY_EMBED_DIMS 256
#define SY_EMBED_LOCAL_MODEL "local-ngram-v1"

/* Embed text (UTF-8; case and accents folded) into out[SY_EMBED_DIMS],
 * L2-normalised (all zeros for text without letters or digits). */
void sy_embed_local(sy_str text, float out[SY_EMBED_DIMS]);

/* Cosine similarity of two L2-normalised vectors, clamped to [0, 1]. */
float sy_embed_similarity(const float *a, const float *b, int dims);

#endif
