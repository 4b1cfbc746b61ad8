/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tsquery.c - full-text queries and documents read from PostgreSQL's
 * text output, matched and ranked as PostgreSQL does (tsquery.h).
 *
 * Grammar of tsquery text output (priorities as PostgreSQL's parser:
 * ! over <N> over & over |, binary operators left-associative):
 *   or     := and ('|' and)*
 *   and    := phrase ('&' phrase)*
 *   phrase := unary ('<->' | '<N>' unary)*
 *   unary  := '!' unary | '(' or ')' | 'lexeme'
 * A lexeme is quoted, with ' and \ doubled.  The phrase evaluation
 * follows positions: an operand gives its positions (width 0); L <N> R
 * gives the positions r of R for which some l of L has l + N + width(R)
 * == r, width N + width(L) + width(R).
 */
#include "synthia/tsquery.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/error.h"

#define MAX_DEPTH 32
#define MAX_POS 256 /* PostgreSQL keeps at most 256 positions a lexeme */
#define POS_MAX 16383

/* ------------------------------------------------------------ parsing */

typedef struct parser {
    sy_arena *a;
    const char *p, *end;
    sy_tsq_node *nodes;
    int n;
    const char **vals; /* per VAL node: its lexeme, until indexed */
    int depth;
} parser;

static void
skip_space(parser *ps)
{
    while (ps->p < ps->end && *ps->p == ' ')
        ps->p++;
}

/* Read a quoted lexeme at p into out (room for end - p), NUL-terminated;
 * returns the byte after the closing quote, or NULL if malformed. */
static const char *
read_quoted(const char *p, const char *end, char *out, size_t *len)
{
    size_t o = 0;
    if (p >= end || *p != '\'')
        return NULL;
    for (p++; p < end; p++) {
        if (*p == '\\') {
            if (++p >= end)
                return NULL;
        } else if (*p == '\'') {
            if (p + 1 < end && p[1] == '\'') {
                p++;
            } else {
                out[o] = '\0';
                *len = o;
                return o ? p + 1 : NULL; /* PostgreSQL has no empty lexeme */
            }
        }
        if (*p == '\0')
            return NULL; /* escaped or not (make fuzz found '\<NUL>') */
        out[o++] = *p;
    }
    return NULL;
}

static int
add_node(parser *ps, sy_tsq_node node)
{
    if (ps->n >= SY_TSQ_MAX_NODES)
        return SY_EINVAL;
    ps->nodes[ps->n] = node;
    return ps->n++;
}

static int parse_or(parser *ps);

static int
parse_unary(parser *ps)
{
    int rc;
    skip_space(ps);
    if (ps->p >= ps->end)
        return SY_EINVAL;
    if (++ps->depth > MAX_DEPTH)
        return SY_EINVAL;
    if (*ps->p == '!') {
        ps->p++;
        if ((rc = parse_unary(ps)) < 0)
            return rc;
        rc = add_node(ps, (sy_tsq_node){.type = SY_TSQ_NOT, .left = rc,
                                        .right = -1});
    } else if (*ps->p == '(') {
        ps->p++;
        if ((rc = parse_or(ps)) < 0)
            return rc;
        skip_space(ps);
        if (ps->p >= ps->end || *ps->p != ')')
            return SY_EINVAL;
        ps->p++;
    } else {
        size_t len;
        char *lex = sy_arena_alloc(ps->a, (size_t)(ps->end - ps->p) + 1);
        if (!lex)
            return SY_ENOMEM;
        const char *after = read_quoted(ps->p, ps->end, lex, &len);
        if (!after || (after < ps->end && *after == ':'))
            return SY_EINVAL; /* malformed; prefix or weights */
        ps->p = after;
        rc = add_node(ps, (sy_tsq_node){.type = SY_TSQ_VAL, .left = -1,
                                        .right = -1});
        if (rc >= 0)
            ps->vals[rc] = lex;
    }
    ps->depth--;
    return rc;
}

/* A phrase operator at p: its distance, or -1 when none is there. */
static int
phrase_op(parser *ps)
{
    const char *p = ps->p;
    if (p >= ps->end || *p != '<')
        return -1;
    p++;
    if (p < ps->end && *p == '-') {
        if (p + 2 > ps->end || p[1] != '>')
            return -1;
        ps->p = p + 2;
        return 1;
    }
    int d = 0, digits = 0;
    while (p < ps->end && *p >= '0' && *p <= '9' && digits < 6) {
        d = d * 10 + (*p++ - '0');
        digits++;
    }
    if (!digits || p >= ps->end || *p != '>' || d > POS_MAX)
        return -1;
    ps->p = p + 1;
    return d;
}

static int
parse_phrase(parser *ps)
{
    int left = parse_unary(ps);
    while (left >= 0) {
        skip_space(ps);
        int d = phrase_op(ps);
        if (d < 0)
            break;
        int right = parse_unary(ps);
        if (right < 0)
            return right;
        left = add_node(ps, (sy_tsq_node){.type = SY_TSQ_PHRASE,
                                          .left = left, .right = right,
                                          .dist = d});
    }
    return left;
}

static int
parse_binary(parser *ps, char op, int type, int (*sub)(parser *))
{
    int left = sub(ps);
    while (left >= 0) {
        skip_space(ps);
        if (ps->p >= ps->end || *ps->p != op)
            break;
        ps->p++;
        int right = sub(ps);
        if (right < 0)
            return right;
        left = add_node(ps, (sy_tsq_node){.type = type, .left = left,
                                          .right = right});
    }
    return left;
}

static int
parse_and(parser *ps)
{
    return parse_binary(ps, '&', SY_TSQ_AND, parse_phrase);
}

static int
parse_or(parser *ps)
{
    return parse_binary(ps, '|', SY_TSQ_OR, parse_and);
}

/* Whether every operand under a phrase is a lexeme or a phrase, nested
 * at most MAX_DEPTH deep. */
static bool
phrase_ok(const sy_tsq_node *nodes, int i, bool in_phrase, int depth)
{
    const sy_tsq_node *n = &nodes[i];
    if (depth > MAX_DEPTH)
        return false;
    if (n->type == SY_TSQ_VAL)
        return true;
    if (in_phrase && n->type != SY_TSQ_PHRASE)
        return false;
    bool sub = n->type == SY_TSQ_PHRASE;
    return phrase_ok(nodes, n->left, sub, depth + 1) &&
           (n->type == SY_TSQ_NOT ||
            phrase_ok(nodes, n->right, sub, depth + 1));
}

static int
by_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

int
sy_tsquery_parse(sy_arena *a, sy_str text, sy_tsquery *q)
{
    parser ps = {.a = a, .p = text.p, .end = text.p + text.len};
    const char *s = text.p;
    while (s < ps.end && *s == ' ')
        s++;
    if (s == ps.end) { /* only stop words */
        *q = (sy_tsquery){.root = -1};
        return 0;
    }
    ps.nodes = sy_arena_alloc(a, SY_TSQ_MAX_NODES * sizeof(*ps.nodes));
    ps.vals = sy_arena_alloc(a, SY_TSQ_MAX_NODES * sizeof(*ps.vals));
    if (!ps.nodes || !ps.vals)
        return SY_ENOMEM;
    int root = parse_or(&ps);
    if (root < 0)
        return root;
    skip_space(&ps);
    if (ps.p != ps.end || !phrase_ok(ps.nodes, root, false, 0))
        return SY_EINVAL;
    /* the distinct lexemes in byte order (as ts_rank walks them) */
    const char **lex = sy_arena_alloc(a, (size_t)ps.n * sizeof(*lex));
    if (!lex)
        return SY_ENOMEM;
    int nv = 0, nlex = 0;
    for (int i = 0; i < ps.n; i++)
        if (ps.nodes[i].type == SY_TSQ_VAL)
            lex[nv++] = ps.vals[i];
    qsort(lex, (size_t)nv, sizeof(*lex), by_str);
    for (int i = 0; i < nv; i++)
        if (!nlex || strcmp(lex[nlex - 1], lex[i]) != 0)
            lex[nlex++] = lex[i];
    for (int i = 0; i < ps.n; i++) {
        if (ps.nodes[i].type != SY_TSQ_VAL)
            continue;
        const char **f = bsearch(&ps.vals[i], lex, (size_t)nlex,
                                 sizeof(*lex), by_str);
        ps.nodes[i].lex = (int)(f - lex);
    }
    *q = (sy_tsquery){.nodes = ps.nodes, .nnodes = ps.n, .root = root,
                      .lex = lex, .nlex = nlex};
    return 0;
}

/* ------------------------------------------------------------ matching */

static bool
needs_lexeme(const sy_tsquery *q, int i)
{
    const sy_tsq_node *n = &q->nodes[i];
    switch (n->type) {
    case SY_TSQ_VAL:
        return true;
    case SY_TSQ_NOT:
        return false;
    case SY_TSQ_OR:
        return needs_lexeme(q, n->left) && needs_lexeme(q, n->right);
    default: /* AND, PHRASE */
        return needs_lexeme(q, n->left) || needs_lexeme(q, n->right);
    }
}

bool
sy_tsquery_matches_empty(const sy_tsquery *q)
{
    return q->root >= 0 && !needs_lexeme(q, q->root);
}

/* The end positions of a phrase (or operand) i in d into out (room for
 * MAX_POS, ascending), *width its width; returns how many. */
static int
phrase_positions(const sy_tsquery *q, const sy_tsdoc *d, int i, int *out,
                 int *width)
{
    const sy_tsq_node *n = &q->nodes[i];
    if (n->type == SY_TSQ_VAL) {
        int k = d->npos[n->lex];
        if (k > MAX_POS)
            k = MAX_POS;
        for (int j = 0; j < k; j++)
            out[j] = SY_TSPOS_POS(d->pos[n->lex][j]);
        *width = 0;
        return k;
    }
    int l[MAX_POS], lw, rw;
    int nl = phrase_positions(q, d, n->left, l, &lw);
    if (!nl)
        return 0;
    int nr = phrase_positions(q, d, n->right, out, &rw);
    int m = 0, li = 0;
    /* both ascending: keep r when some l has l + dist + rw == r */
    for (int ri = 0; ri < nr; ri++) {
        int want = out[ri] - n->dist - rw;
        while (li < nl && l[li] < want)
            li++;
        if (li < nl && l[li] == want)
            out[m++] = out[ri];
    }
    *width = n->dist + lw + rw;
    return m;
}

static bool
eval(const sy_tsquery *q, const sy_tsdoc *d, int i)
{
    const sy_tsq_node *n = &q->nodes[i];
    int buf[MAX_POS], w;
    switch (n->type) {
    case SY_TSQ_VAL:
        return d->npos[n->lex] > 0;
    case SY_TSQ_AND:
        return eval(q, d, n->left) && eval(q, d, n->right);
    case SY_TSQ_OR:
        return eval(q, d, n->left) || eval(q, d, n->right);
    case SY_TSQ_NOT:
        return !eval(q, d, n->left);
    default:
        return phrase_positions(q, d, i, buf, &w) > 0;
    }
}

bool
sy_tsquery_match(const sy_tsquery *q, const sy_tsdoc *d)
{
    return q->root >= 0 && eval(q, d, q->root);
}

/* ------------------------------------------------------------ ranking */

/* ts_rank's default weights, by SY_TSPOS_WEIGHT (D, C, B, A). */
static const float weights[4] = {0.1f, 0.2f, 0.4f, 1.0f};

/* The proximity factor of two occurrences dist apart. */
static float
distance_factor(int dist)
{
    if (dist > 100)
        return 1e-30f;
    return (float)(1.0 / (1.005 + 0.05 * exp((double)dist / 1.5 - 2)));
}

/* OR: the mean over the query's lexemes of their weighted occurrences. */
static float
rank_or(const sy_tsquery *q, const sy_tsdoc *d)
{
    float res = 0.0f;
    for (int i = 0; i < q->nlex; i++) {
        int k = d->npos[i];
        if (!k)
            continue;
        float sum = 0.0f, wmax = -1.0f;
        int jmax = 0;
        for (int j = 0; j < k; j++) {
            float w = weights[SY_TSPOS_WEIGHT(d->pos[i][j])];
            sum = sum + w / (float)((j + 1) * (j + 1));
            if (w > wmax) {
                wmax = w;
                jmax = j;
            }
        }
        /* divided by the limit of sum 1 / j^2, pi^2 / 6 */
        res = (float)((double)res +
                      (double)(wmax + sum -
                               wmax / (float)((jmax + 1) * (jmax + 1))) /
                          1.64493406685);
    }
    if (q->nlex > 0)
        res = res / (float)q->nlex;
    return res;
}

/* AND and phrases: the proximity of every pair of occurrences of two
 * distinct lexemes, combined as independent probabilities. */
static float
rank_and(const sy_tsquery *q, const sy_tsdoc *d)
{
    float res = -1.0f;
    if (q->nlex < 2)
        return rank_or(q, d);
    for (int i = 0; i < q->nlex; i++) {
        if (!d->npos[i])
            continue;
        for (int k = 0; k < i; k++) {
            if (!d->npos[k])
                continue;
            for (int l = 0; l < d->npos[i]; l++) {
                uint16_t pi = d->pos[i][l];
                for (int p = 0; p < d->npos[k]; p++) {
                    uint16_t pk = d->pos[k][p];
                    int dist = abs(SY_TSPOS_POS(pi) - SY_TSPOS_POS(pk));
                    if (!dist)
                        continue; /* both have positions: no pair */
                    float f = weights[SY_TSPOS_WEIGHT(pi)] *
                              weights[SY_TSPOS_WEIGHT(pk)] *
                              distance_factor(dist);
                    float cur = (float)sqrt((double)f);
                    res = res < 0.0f ? cur
                                     : (float)(1.0 - (1.0 - (double)res) *
                                                         (1.0 - (double)cur));
                }
            }
        }
    }
    return res;
}

float
sy_tsquery_rank(const sy_tsquery *q, const sy_tsdoc *d, bool empty)
{
    if (q->root < 0 || empty)
        return 0.0f;
    int top = q->nodes[q->root].type;
    float res = top == SY_TSQ_AND || top == SY_TSQ_PHRASE ? rank_and(q, d)
                                                          : rank_or(q, d);
    if (res < 0.0f)
        res = 1e-20f;
    if (res > 0.0f)
        res = res / (res + 1.0f); /* normalisation 32 */
    return res;
}

/* ------------------------------------------------------------ tsvector */

int
sy_tsvector_next(const char **p, const char *end, char *lex, size_t *llen,
                 uint16_t *pos, int max, int *npos)
{
    const char *s = *p;
    while (s < end && *s == ' ')
        s++;
    if (s >= end) {
        *p = s;
        return 0;
    }
    s = read_quoted(s, end, lex, llen);
    if (!s)
        return SY_EINVAL;
    int k = 0;
    if (s < end && *s == ':') {
        do {
            int v = 0, digits = 0, w = 0;
            s++;
            while (s < end && *s >= '0' && *s <= '9' && digits < 6) {
                v = v * 10 + (*s++ - '0');
                digits++;
            }
            if (!digits || v < 1 || v > POS_MAX || k >= max)
                return SY_EINVAL;
            if (s < end && *s >= 'A' && *s <= 'D')
                w = 'D' - *s++;
            pos[k++] = SY_TSPOS(v, w);
        } while (s < end && *s == ',');
    }
    if (s < end && *s != ' ')
        return SY_EINVAL;
    *npos = k;
    *p = s;
    return 1;
}
