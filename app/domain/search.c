/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * search.c (domain) - catalog search (search.h): the rules of a query
 * and the three rankings.
 *
 * text: full text first; the typo arm (products_db.h explains the
 * scoring) runs only when the full text found fewer than limit, not for
 * every one-word query: it costs far more than the full text on a large
 * catalog, and a correctly spelled word that fills the page needs no
 * help.
 * semantic: the local embedding of q against the tenant's vectors.
 * hybrid: reciprocal rank fusion of both rankings, sum over lists of
 * 1 / (60 + rank), divided by its maximum 2 / 61.
 * Every mode sees the tenant's active products only, and takes their JSON
 * from the product cache (keyed by id under the catalog version, so a
 * write retires it), reading only the missing ones from PostgreSQL.
 *
 * Choices where API.md is silent: q is 1 to 200 characters after
 * trimming; limit is 1 to 50 (default 10); mode defaults to text.
 */
#include "synthia/search.h"

#include <stdlib.h>
#include <string.h>

#include "synthia/cache.h"
#include "synthia/embed.h"
#include "synthia/error.h"
#include "synthia/products.h"
#include "synthia/products_db.h"
#include "synthia/tenancy.h"
#include "synthia/vectors.h"

#define Q_MAX_CHARS 200
#define RRF_K 60
#define VEC_SLACK 8 /* extra vector hits, for products deactivated since
                       this responder loaded its vectors */

static const char *const mode_names[] = {"text", "semantic", "hybrid"};

/* One ranked product: id, score, and its JSON once loaded. */
typedef struct ranked {
    const char *id;
    double score;
    sy_str json;
} ranked;

/* ------------------------------------------------------------ query */

void
sy_search_init(sy_search_query *s)
{
    *s = (sy_search_query){.mode = SY_SEARCH_TEXT,
                           .limit = SY_SEARCH_LIMIT_DEFAULT};
}

int
sy_search_set_q(sy_arena *a, sy_errs *e, sy_str q, sy_search_query *s)
{
    const char *why;
    if (sy_tenancy_text(&q, true, 1, Q_MAX_CHARS, &why) < 0)
        return sy_errs_field(e, "q",
                             "must be 1 to 200 characters, without control "
                             "characters");
    s->q = sy_str_dup(a, q);
    s->qlen = q.len;
    return s->q ? 0 : SY_ENOMEM;
}

int
sy_search_set_mode(sy_errs *e, sy_str mode, sy_search_query *s)
{
    for (int m = SY_SEARCH_TEXT; mode.p && m <= SY_SEARCH_HYBRID; m++) {
        if (sy_str_eqc(mode, mode_names[m])) {
            s->mode = m;
            return 0;
        }
    }
    return sy_errs_field(e, "mode", "must be text, semantic or hybrid");
}

int
sy_search_set_limit(sy_errs *e, sy_str limit, sy_search_query *s)
{
    int64_t n;
    if (!limit.p || sy_parse_i64(limit, 1, SY_SEARCH_LIMIT_MAX, &n) < 0)
        return sy_errs_field(e, "limit", "must be an integer from 1 to 50");
    s->limit = (int)n;
    return 0;
}

const char *
sy_search_mode_name(int mode)
{
    return mode >= SY_SEARCH_TEXT && mode <= SY_SEARCH_HYBRID
               ? mode_names[mode]
               : "text";
}

/* ------------------------------------------------------------ rankings */

/* Append the ranked rows that are not in out yet, up to limit. */
static void
add_rows(const sy_product_score *r, int nr, const sy_search_query *s,
         ranked *out, int *n)
{
    for (int row = 0; row < nr && *n < s->limit; row++) {
        int i = 0;
        while (i < *n && strcmp(out[i].id, r[row].id) != 0)
            i++;
        if (i < *n)
            continue;
        out[(*n)++] = (ranked){r[row].id, r[row].score, SY_STR_NULL};
    }
}

/* The full-text ranking, topped up with typo matches (which score below
 * every full-text hit) when it finds fewer than limit: *n products. */
static int
rank_text(sy_arena *a, const char *tid, const sy_search_query *s,
          ranked *out, int *n)
{
    sy_product_score *r;
    int nr;
    int rc = sy_products_db_search_text(a, tid, s->q, s->limit, &r, &nr);
    if (rc < 0)
        return rc;
    *n = 0;
    add_rows(r, nr, s, out, n);
    if (*n == s->limit)
        return 0;
    rc = sy_products_db_search_typo(a, tid, s->q, s->limit, &r, &nr);
    if (rc < 0)
        return rc;
    add_rows(r, nr, s, out, n);
    return 0;
}

/* The vector ranking (ids and cosines, no JSON yet). */
static int
rank_semantic(sy_arena *a, const char *tid, const sy_search_query *s,
              ranked *out, int *n)
{
    float q[SY_EMBED_DIMS];
    int k = s->limit + VEC_SLACK, got = 0;
    sy_vec_hit *hits = sy_arena_alloc(a, (size_t)k * sizeof(*hits));
    if (!hits)
        return SY_ENOMEM;
    sy_embed_local((sy_str){s->q, s->qlen}, q);
    int rc = sy_vectors_search(a, s->catver, tid, q, k, hits, &got);
    if (rc < 0)
        return rc;
    *n = 0;
    for (int i = 0; i < got; i++) {
        if (hits[i].score <= 0.0f)
            break; /* nothing in common with q */
        out[*n].id = sy_arena_strndup(a, hits[i].product_id, SY_UUID_LEN);
        out[*n].score = hits[i].score;
        out[*n].json = SY_STR_NULL;
        if (!out[(*n)++].id)
            return SY_ENOMEM;
    }
    return 0;
}

static void
rrf_add(ranked *fused, int *n, const ranked *list, int len)
{
    for (int rank = 0; rank < len; rank++) {
        int i = 0;
        while (i < *n && strcmp(fused[i].id, list[rank].id) != 0)
            i++;
        if (i == *n)
            fused[(*n)++] = (ranked){list[rank].id, 0.0, list[rank].json};
        fused[i].score += 1.0 / (RRF_K + rank + 1);
    }
}

static int
by_score(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return strcmp(x->id, y->id);
}

/* Reciprocal rank fusion of the text and semantic rankings. */
static int
rank_hybrid(sy_arena *a, const char *tid, const sy_search_query *s,
            ranked *out, int *n)
{
    int cap = s->limit + VEC_SLACK, nt = 0, ns = 0;
    ranked *text = sy_arena_alloc(a, (size_t)cap * sizeof(ranked));
    ranked *sem = sy_arena_alloc(a, (size_t)cap * sizeof(ranked));
    if (!text || !sem)
        return SY_ENOMEM;
    int rc = rank_text(a, tid, s, text, &nt);
    if (rc < 0 || (rc = rank_semantic(a, tid, s, sem, &ns)) < 0)
        return rc;
    *n = 0;
    rrf_add(out, n, text, nt);
    rrf_add(out, n, sem, ns);
    for (int i = 0; i < *n; i++)
        out[i].score /= 2.0 / (RRF_K + 1);
    qsort(out, (size_t)*n, sizeof(ranked), by_score);
    return 0;
}

/* ------------------------------------------------------------ products */

/* The JSON of the products in list (products.h: the product cache, the
 * rest from PostgreSQL); products that are gone or inactive keep a NULL
 * JSON. */
static int
load_json(sy_arena *a, const sy_catver *cv, const char *tid, ranked *list,
          int n)
{
    const char **ids = sy_arena_alloc(a, (size_t)(n ? n : 1) * sizeof(*ids));
    sy_str *got = sy_arena_alloc(a, (size_t)(n ? n : 1) * sizeof(*got));
    if (!ids || !got)
        return SY_ENOMEM;
    for (int i = 0; i < n; i++)
        ids[i] = list[i].id;
    int rc = sy_products_json_many(a, cv, tid, ids, n, got);
    for (int i = 0; rc == 0 && i < n; i++)
        list[i].json = got[i];
    return rc;
}

static int
rank(sy_arena *a, const char *tid, const sy_search_query *s, ranked *list,
     int *n)
{
    int rc;
    switch (s->mode) {
    case SY_SEARCH_TEXT:
        rc = rank_text(a, tid, s, list, n);
        break;
    case SY_SEARCH_SEMANTIC:
        rc = rank_semantic(a, tid, s, list, n);
        break;
    default:
        rc = rank_hybrid(a, tid, s, list, n);
        break;
    }
    if (rc == 0 && *n > s->limit + VEC_SLACK)
        *n = s->limit + VEC_SLACK;
    return rc < 0 || *n == 0 ? rc : load_json(a, s->catver, tid, list, *n);
}

/* The products that have JSON (the others are gone or inactive), at most
 * limit, scores clamped to [0, 1]. */
static int
hits_of(sy_arena *a, const sy_search_query *s, const ranked *list, int n,
        sy_search_hit **hits, int *nhits)
{
    sy_search_hit *out = sy_arena_alloc(a, (size_t)s->limit * sizeof(*out));
    int shown = 0;
    if (!out)
        return SY_ENOMEM;
    for (int i = 0; i < n && shown < s->limit; i++) {
        if (!list[i].json.p)
            continue;
        double score = list[i].score > 1.0 ? 1.0 : list[i].score;
        out[shown++] = (sy_search_hit){list[i].json, score < 0.0 ? 0.0
                                                                 : score};
    }
    *hits = out;
    *nhits = shown;
    return 0;
}

int
sy_search_run(sy_arena *a, const char *tenant, const sy_search_query *s,
              sy_search_hit **hits, int *n)
{
    /* hybrid fuses two lists of up to limit + slack each */
    int count = 0, cap = 2 * (s->limit + VEC_SLACK);
    ranked *list = sy_arena_alloc(a, (size_t)cap * sizeof(ranked));
    if (!list)
        return SY_ENOMEM;
    int rc = rank(a, tenant, s, list, &count);
    return rc < 0 ? rc : hits_of(a, s, list, count, hits, n);
}
