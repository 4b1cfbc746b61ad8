/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * textidx.h - the responders' in-memory full-text index of a tenant's
 * active products (app/store/textidx.c), ranked as sql_search_text
 * ranks (products_db.h) without PostgreSQL on the hot path.
 *
 * Per tenant and catalog version: every active product's tsvector
 * (products.search, as PostgreSQL computed it with the tenant's
 * search_config) read once as text, kept as posting lists (lexeme ->
 * products in storage order, each with its positions and weights).
 * Shared per host: a file per tenant and catalog version under
 * server.runtime_dir (shfile.h), built by the first responder that needs
 * it and mapped read-only by the others; each responder's own heap copy
 * when that directory cannot be written.  At most SY_TEXTIDX_TENANTS
 * tenants and SY_TEXTIDX_MAX_BYTES in all per responder, least recently
 * used out (about 3 MiB for 10,000 demo products: ~310 bytes each); a
 * tenant whose index alone would be larger keeps searching in
 * PostgreSQL.  A query's lexemes stay PostgreSQL's:
 * websearch_to_tsquery(config, sy_unaccent(q)) is asked once per
 * normalised query and configuration and kept in the "tsquery" memory
 * cache (memcache.h); matching and ts_rank are tsquery.h's.
 */
#ifndef SYNTHIA_TEXTIDX_H
#define SYNTHIA_TEXTIDX_H

#include "synthia/arena.h"
#include "synthia/cache.h"
#include "synthia/crypto.h"
#include "synthia/products_db.h"

#define SY_TEXTIDX_TENANTS 4
#define SY_TEXTIDX_MAX_BYTES (8u << 20)
/* sy_textidx_search could not rank in memory: use sql_search_text. */
#define SY_TEXTIDX_FALLBACK 1

/* The full-text ranking of sy_products_db_search_text (same matches,
 * scores 0.5 + 0.5 x ts_rank(search, tq, 32), order score descending
 * then id, at most candidates matches taken in storage order before
 * ranking, at most limit rows) from memory.  cv: what the request knows
 * of the catalog version (may be NULL).  0 with *rows (arena memory);
 * SY_TEXTIDX_FALLBACK when it cannot answer exactly (no catalog version
 * known, a query form it does not reproduce, more than candidates
 * matches, a tenant over the memory bound, PostgreSQL away while
 * loading); SY_ENOMEM. */
int sy_textidx_search(sy_arena *a, const sy_catver *cv, const char *tenant,
                      const char *q, int limit, int candidates,
                      sy_product_score **rows, int *n);

/* A search that finds its tenant's index due for a load (a new catalog
 * version, a first search) or for its periodic fingerprint check leaves
 * it to a moment when the responder has nothing to serve, up to 2 s
 * (searches go to SQL meanwhile; past that, the search does it).  The
 * responder's loop asks sy_textidx_idle_due() for its poll timeout (0
 * when due) and calls sy_textidx_idle() when a poll finds nothing to
 * serve: the load, then giving its scratch back to the system. */
bool sy_textidx_idle_due(void);
void sy_textidx_idle(sy_arena *a);

/* Whether the size bytes at p (8-byte aligned) are a whole, consistent
 * index file as textidx.c writes them under server.runtime_dir: header,
 * layout, checksum, and every offset and product number in range, so
 * that a search can trust a file that passes.  What a responder checks
 * before it maps another's file (and the fuzz target's entry). */
bool sy_textidx_block_check(const void *p, size_t size);

/* For the fuzz target: check the block at p, then look every lexeme up
 * and rank a search for its first lexemes (or "!'a'") over it, as a
 * responder would over a mapped file.  0 with *hits (-1: past the
 * candidate bound); SY_EINVAL when the check refuses it or a lexeme is
 * not found where it is; SY_ENOMEM. */
int sy_textidx_block_probe(sy_arena *a, const void *p, size_t size,
                           int *hits);

#endif
