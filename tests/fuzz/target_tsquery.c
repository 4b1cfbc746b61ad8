/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target_tsquery.c - the reader of PostgreSQL's tsquery and tsvector
 * text output (tsquery.h), with the matching and ranking over what it
 * read.
 *
 * Input: a tsquery text, optionally a newline and a tsvector text.  An
 * accepted query has its lexemes distinct and in byte order, every node
 * index in range, and phrases over lexemes and phrases only; a document
 * read entry by entry matches or not, and ranks in [0, 1).
 */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "synthia/error.h"
#include "synthia/tsquery.h"

const char fz_target_name[] = "tsquery";

#define MAX_ENTRIES 64
#define MAX_POS 256

int
fz_init(void)
{
    return 0;
}

static void
check_query(const sy_tsquery *q)
{
    if (q->root < 0) {
        if (q->nlex || q->nnodes)
            fz_fail("empty query with lexemes or nodes");
        return;
    }
    if (q->root >= q->nnodes || q->nnodes > SY_TSQ_MAX_NODES)
        fz_fail("root %d of %d nodes", q->root, q->nnodes);
    for (int i = 1; i < q->nlex; i++)
        if (strcmp(q->lex[i - 1], q->lex[i]) >= 0)
            fz_fail("lexemes not distinct and sorted");
    for (int i = 0; i < q->nnodes; i++) {
        const sy_tsq_node *n = &q->nodes[i];
        if (n->type == SY_TSQ_VAL) {
            if (n->lex < 0 || n->lex >= q->nlex || !q->lex[n->lex][0])
                fz_fail("operand %d: lexeme %d", i, n->lex);
            continue;
        }
        if (n->left < 0 || n->left >= i ||
            (n->type != SY_TSQ_NOT && (n->right < 0 || n->right >= i)))
            fz_fail("operator %d: children %d %d", i, n->left, n->right);
        if (n->type == SY_TSQ_PHRASE &&
            ((q->nodes[n->left].type != SY_TSQ_VAL &&
              q->nodes[n->left].type != SY_TSQ_PHRASE) ||
             (q->nodes[n->right].type != SY_TSQ_VAL &&
              q->nodes[n->right].type != SY_TSQ_PHRASE)))
            fz_fail("phrase %d over another operator", i);
    }
}

void
fz_run(const uint8_t *data, size_t size, sy_buf *t)
{
    sy_str in = {(const char *)data, size}, qtext, vtext;
    sy_arena a;
    sy_arena_init(&a, 4096, 1 << 20);
    fz_split(in, '\n', &qtext, &vtext);
    sy_tsquery q = {.root = -7};
    int rc = sy_tsquery_parse(&a, qtext, &q);
    if (rc != 0 && rc != SY_EINVAL && rc != SY_ENOMEM)
        fz_fail("sy_tsquery_parse returned %d", rc);
    if (rc != 0 && q.root != -7)
        fz_fail("sy_tsquery_parse wrote its result and failed");
    fz_puti(t, "parse", rc, rc == 0 ? q.nlex : -1);
    if (rc != 0) {
        sy_arena_cleanup(&a);
        return;
    }
    check_query(&q);
    for (int i = 0; i < q.nlex; i++)
        fz_putc(t, "lexeme", 0, q.lex[i]);

    /* the document: its entries for the query's lexemes */
    static uint16_t pos[MAX_ENTRIES][MAX_POS];
    const uint16_t *dpos[SY_TSQ_MAX_NODES];
    int dn[SY_TSQ_MAX_NODES] = {0}, entries = 0;
    const char *p = vtext.p ? vtext.p : "", *end = p + (vtext.p ? vtext.len : 0);
    char *lex = sy_arena_alloc(&a, (size_t)(end - p) + 1);
    if (!lex) {
        fz_puti(t, "vector", SY_ENOMEM, 0);
        sy_arena_cleanup(&a);
        return;
    }
    for (;;) {
        size_t llen;
        int npos;
        if (entries >= MAX_ENTRIES)
            break;
        rc = sy_tsvector_next(&p, end, lex, &llen, pos[entries], MAX_POS,
                              &npos);
        if (rc <= 0)
            break;
        if (strlen(lex) != llen || npos < 0 || npos > MAX_POS)
            fz_fail("entry of %zu bytes, %d positions", llen, npos);
        for (int i = 0; i < q.nlex; i++)
            if (strcmp(q.lex[i], lex) == 0 && !dn[i]) {
                dpos[i] = pos[entries];
                dn[i] = npos;
            }
        entries++;
    }
    fz_puti(t, "vector", rc, entries);
    sy_tsdoc d = {dpos, dn};
    bool m = sy_tsquery_match(&q, &d);
    float r = sy_tsquery_rank(&q, &d, entries == 0);
    if (!(r >= 0.0f && r < 1.0f) || isnan(r))
        fz_fail("rank %g out of [0, 1)", (double)r);
    fz_puti(t, "match", 0, m);
    fz_puti(t, "empty", 0, sy_tsquery_matches_empty(&q));
    fz_puti(t, "rank_ppm", 0, (int64_t)(r * 1e6f));
    sy_arena_cleanup(&a);
}
