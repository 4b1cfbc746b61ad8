/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * search.h - catalog search (app/domain/search.c): a query's rules and
 * its ranking in three modes, over the tenant's active products.
 *
 * A query is normalised first (sy_search_normalise): equivalent spellings
 * of one query (other separators, case, runs of punctuation) become the
 * same text, so they share the result cache, and its cost is bounded
 * (words kept, one-letter words, word length) before it reaches
 * PostgreSQL.
 *
 * text: PostgreSQL full text with the tenant's configuration (ranked
 * in memory from the tenant's tsvectors when it can be exactly,
 * textidx.h, else in PostgreSQL), topped up with typo matches when it
 * finds fewer than limit; what runs in PostgreSQL runs under the search
 * statement timeout (config search.statement_timeout).  semantic:
 * the local embedding of q against the tenant's product vectors
 * (vectors.h), score = cosine.  hybrid: reciprocal rank fusion of both.
 * Hits carry each product's JSON from the product cache (cache.h,
 * SY_CACHE_PRODUCT), the missing ones read from PostgreSQL.  No HTTP:
 * the route renders the hits and keeps whole answers in the result
 * cache.
 */
#ifndef SYNTHIA_SEARCH_H
#define SYNTHIA_SEARCH_H

#include <stddef.h>

#include "synthia/arena.h"
#include "synthia/cache.h"
#include "synthia/errs.h"
#include "synthia/str.h"

enum sy_search_mode { SY_SEARCH_TEXT, SY_SEARCH_SEMANTIC, SY_SEARCH_HYBRID };

#define SY_SEARCH_LIMIT_DEFAULT 10
#define SY_SEARCH_LIMIT_MAX 50

/* The cost bound of a query (config [search]). */
typedef struct sy_search_limits {
    int max_terms;       /* words kept (each part of a hyphenated word
                            counts); more refuse the query */
    int max_short_terms; /* one-character words kept; the rest dropped */
    int max_word_chars;  /* a longer word refuses the query */
} sy_search_limits;

typedef struct sy_search_query {
    const char *q; /* normalised (sy_search_normalise), arena memory;
                      "" when no word is left */
    size_t qlen;
    int mode;      /* enum sy_search_mode */
    int limit;
    const sy_catver *catver; /* what the request knows of the tenant's
                                catalog version (cache.h), or NULL */
    sy_search_limits limits;
} sy_search_query;

/* A product found: its JSON as the API shows it and a score in [0, 1]. */
typedef struct sy_search_hit {
    sy_str product;
    double score;
} sy_search_hit;

/* No q yet, mode text, limit SY_SEARCH_LIMIT_DEFAULT, limits from
 * sy_conf (their defaults without one). */
void sy_search_init(sy_search_query *s);

/* Normalise a query (any bytes): words are runs of letters and digits
 * (ASCII lower-cased, Latin-1 capitals too); everything else separates
 * them, Unicode spaces and punctuation included (U+00A0, U+200B, ...),
 * while soft hyphens, zero-width joiners and BOMs are dropped; invalid
 * UTF-8 separates.  A run of hyphens (or dashes) counts as one: inside
 * a word it joins parts ("t-shirt", at most 3 parts; a longer chain
 * becomes separate words), before a word it excludes the word ("-wool");
 * elsewhere it separates.  Double quotes (ASCII or typographic) make
 * phrases, kept whole and quoted when of two words or more.  Then a word
 * already kept is dropped, one-character words past
 * lim->max_short_terms are dropped, and a query without a word to look
 * for (only exclusions) keeps none.  *out: the words kept, space-
 * separated (arena memory; "" for none), at most q.len + 1 bytes (a
 * phrase left open is closed); *nterms: their parts.  0, or
 * SY_EVALIDATION with *why (a sentence for the client) when a word has
 * more than lim->max_word_chars characters or more than lim->max_terms
 * parts are left; SY_ENOMEM.  Outputs are written only on success. */
int sy_search_normalise(sy_arena *a, sy_str q, const sy_search_limits *lim,
                        sy_str *out, int *nterms, const char **why);

/* Set q: 1 to 200 characters after trimming, without control
 * characters, then normalised.  0; SY_EVALIDATION recorded in e for
 * field "q", or as the refusal query_too_complex (e->code) when the
 * query is over its cost bound; SY_ENOMEM. */
int sy_search_set_q(sy_arena *a, sy_errs *e, sy_str q, sy_search_query *s);

/* Set the mode by name (text, semantic, hybrid; SY_STR_NULL is none of
 * them), or record why not for field "mode". */
int sy_search_set_mode(sy_errs *e, sy_str mode, sy_search_query *s);

/* Set the limit from its decimal text (1 to SY_SEARCH_LIMIT_MAX;
 * SY_STR_NULL is not a number), or record why not for field "limit". */
int sy_search_set_limit(sy_errs *e, sy_str limit, sy_search_query *s);

/* "text", "semantic" or "hybrid". */
const char *sy_search_mode_name(int mode);

/* Rank the tenant's active products for s (q set): at most s->limit
 * hits, best first, into *hits (arena memory), *n of them.  While it
 * ranks, the search holds one of the tenant's search.max_concurrent
 * leases (lease.h), given back on every path; when none is free it
 * refuses with SY_ERATE, code too_many_searches and a Retry-After in e.
 * 0, SY_ERATE, SY_ETIMEOUT (a ranking ran out of
 * search.statement_timeout), SY_EDB, SY_ENOMEM. */
int sy_search_run(sy_arena *a, sy_errs *e, const char *tenant,
                  const sy_search_query *s, sy_search_hit **hits, int *n);

#endif
