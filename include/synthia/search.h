/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * search.h - catalog search (app/domain/search.c): a query's rules and
 * its ranking in three modes, over the tenant's active products.
 *
 * text: PostgreSQL full text with the tenant's configuration, topped up
 * with trigram typo matches when it finds fewer than limit.  semantic:
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

typedef struct sy_search_query {
    const char *q; /* trimmed, arena memory */
    size_t qlen;
    int mode;      /* enum sy_search_mode */
    int limit;
    const sy_catver *catver; /* what the request knows of the tenant's
                                catalog version (cache.h), or NULL */
} sy_search_query;

/* A product found: its JSON as the API shows it and a score in [0, 1]. */
typedef struct sy_search_hit {
    sy_str product;
    double score;
} sy_search_hit;

/* No q yet, mode text, limit SY_SEARCH_LIMIT_DEFAULT. */
void sy_search_init(sy_search_query *s);

/* Set q: 1 to 200 characters after trimming, without control
 * characters.  0, or SY_EVALIDATION recorded in e for field "q";
 * SY_ENOMEM. */
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
 * hits, best first, into *hits (arena memory), *n of them.  0, SY_EDB,
 * SY_ENOMEM. */
int sy_search_run(sy_arena *a, const char *tenant, const sy_search_query *s,
                  sy_search_hit **hits, int *n);

#endif
