/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tsquery.h - PostgreSQL full-text queries and documents as their text
 * output reads, matched and ranked in memory (app/core/tsquery.c).
 *
 * The in-memory text index (textidx.h) keeps each product's tsvector
 * (lexemes, positions, weights) as PostgreSQL computed it, and asks
 * PostgreSQL only for websearch_to_tsquery's output (its stemming is
 * the tenant's search configuration).  This module reads both texts
 * and reimplements what the SQL ranking computed:
 *   match: `search @@ tq` (&, |, !, phrases <N> with their position
 *          arithmetic);
 *   rank:  ts_rank(search, tq, 32): weights {D 0.1, C 0.2, B 0.4,
 *          A 1.0}; a query whose top operator is & or a phrase scores
 *          the proximity of every pair of its distinct lexemes
 *          (1 - prod(1 - sqrt(w1 w2 / (1.005 + 0.05 e^(d/1.5 - 2))))),
 *          any other query the mean over its distinct lexemes (excluded
 *          ones included) of the weighted occurrences (sum w_j / j^2,
 *          the largest weight counted as first) / (pi^2 / 6); then
 *          rank / (rank + 1).  Computed in single precision in the same
 *          order, so equal inputs give PostgreSQL's float4 exactly and
 *          others differ by a rounding at most.
 * What it does not reproduce is refused (SY_EINVAL from the parser:
 * prefix operands ':*', weight restrictions ':AB', an operator other
 * than a phrase under a phrase), and the caller falls back to SQL.
 */
#ifndef SYNTHIA_TSQUERY_H
#define SYNTHIA_TSQUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/str.h"

/* A position as stored: the weight (D 0, C 1, B 2, A 3) in the top two
 * bits, the position (1 .. 16383) in the other fourteen. */
#define SY_TSPOS(pos, weight) ((uint16_t)((weight) << 14 | ((pos) & 0x3FFF)))
#define SY_TSPOS_POS(p) ((int)((p) & 0x3FFF))
#define SY_TSPOS_WEIGHT(p) ((int)((p) >> 14))
#define SY_TSQ_MAX_NODES 256

enum sy_tsq_type { SY_TSQ_VAL, SY_TSQ_AND, SY_TSQ_OR, SY_TSQ_NOT,
                   SY_TSQ_PHRASE };

typedef struct sy_tsq_node {
    int type;        /* enum sy_tsq_type */
    int left, right; /* children (node indices); NOT: left only */
    int dist;        /* PHRASE: <dist> */
    int lex;         /* VAL: index into sy_tsquery.lex */
} sy_tsq_node;

typedef struct sy_tsquery {
    sy_tsq_node *nodes;
    int nnodes;
    int root;         /* -1: an empty query (only stop words): no match */
    const char **lex; /* the distinct lexemes, in byte order */
    int nlex;
} sy_tsquery;

/* One document's entries for the query's lexemes: pos[i] and npos[i]
 * for lex[i] (npos[i] 0: the document does not have it). */
typedef struct sy_tsdoc {
    const uint16_t *const *pos;
    const int *npos;
} sy_tsdoc;

/* Parse tsquery text output ("'a' & !'b' | 'c' <-> 'd'", "" for an
 * empty query).  0 with *q (arena memory); SY_EINVAL for a text that is
 * malformed or has what this module does not reproduce (see above);
 * SY_ENOMEM.  *q is written only on success. */
int sy_tsquery_parse(sy_arena *a, sy_str text, sy_tsquery *q);

/* Whether the query can match a document without any of its lexemes
 * ("!'a'"): then every document is a candidate, else only those with
 * at least one. */
bool sy_tsquery_matches_empty(const sy_tsquery *q);

/* `doc @@ q`. */
bool sy_tsquery_match(const sy_tsquery *q, const sy_tsdoc *d);

/* ts_rank(doc, q, 32) as PostgreSQL computes it (float4).  empty: the
 * document has no lexeme at all (PostgreSQL then ranks 0). */
float sy_tsquery_rank(const sy_tsquery *q, const sy_tsdoc *d, bool empty);

/* Read one tsvector entry of tsvector text output at *p (end: the end
 * of the text): its lexeme unquoted into lex (room for the text's
 * length + 1; NUL-terminated, *llen its length) and its positions into
 * pos (room for max; more are refused), *npos of them (0: none stored).
 * Returns 1 with *p past the entry, 0 at the end, SY_EINVAL when
 * malformed. */
int sy_tsvector_next(const char **p, const char *end, char *lex,
                     size_t *llen, uint16_t *pos, int max, int *npos);

#endif
