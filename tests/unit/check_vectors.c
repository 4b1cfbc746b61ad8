/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_vectors.c - unit tests of the vector store's scan
 * (sy_vectors_topk): order, ties, clamping, bounds, agreement with a
 * full sort on a larger random set, and with a dense dot product for
 * sparse queries.  The tests write their vectors row-major and hand the
 * scan their dimension-major transpose (cols()).  Loading from
 * PostgreSQL and the reload on catalog writes are covered by the
 * integration tests.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sycheck.h"
#include "synthia/embed.h"
#include "synthia/vectors.h"

#define D SY_EMBED_DIMS

/* The dimension-major copy of n row-major vectors, as the scan takes
 * them: cols[d * n + i] = rows[i * D + d]. */
static float *
cols(const float *rows, int n)
{
    float *c = malloc((size_t)n * D * sizeof(float));
    ck_assert_ptr_nonnull(c);
    for (int i = 0; i < n; i++)
        for (int d = 0; d < D; d++)
            c[(size_t)d * n + i] = rows[(size_t)i * D + d];
    return c;
}

/* Row-major: vecs[i] = the unit vector along axis i (n <= D). */
static float *
axes(int n)
{
    float *v = calloc((size_t)n * D, sizeof(float));
    for (int i = 0; i < n; i++)
        v[(size_t)i * D + i] = 1.0f;
    return v;
}

START_TEST(test_topk_returns_best_first)
{
    float *rows = axes(5), *v = cols(rows, 5), q[D] = {0};
    int idx[3];
    float score[3];
    q[1] = 0.2f;
    q[3] = 0.9f;
    q[4] = 0.4f;
    ck_assert_int_eq(sy_vectors_topk(v, 5, q, 3, idx, score), 3);
    ck_assert_int_eq(idx[0], 3);
    ck_assert_int_eq(idx[1], 4);
    ck_assert_int_eq(idx[2], 1);
    ck_assert_float_eq_tol(score[0], 0.9f, 1e-6f);
    ck_assert_float_eq_tol(score[1], 0.4f, 1e-6f);
    ck_assert_float_eq_tol(score[2], 0.2f, 1e-6f);
    free(v);
    free(rows);
}
END_TEST

START_TEST(test_topk_ties_rank_lower_index_first)
{
    float *rows = axes(6), *v = cols(rows, 6), q[D] = {0};
    int idx[4];
    float score[4];
    for (int i = 0; i < 6; i++)
        q[i] = 0.5f;
    q[4] = 0.7f;
    ck_assert_int_eq(sy_vectors_topk(v, 6, q, 4, idx, score), 4);
    ck_assert_int_eq(idx[0], 4);
    ck_assert_int_eq(idx[1], 0);
    ck_assert_int_eq(idx[2], 1);
    ck_assert_int_eq(idx[3], 2);
    free(v);
    free(rows);
}
END_TEST

START_TEST(test_topk_clamps_scores_to_unit_interval)
{
    float *rows = axes(3), *v = cols(rows, 3), q[D] = {0};
    int idx[3];
    float score[3];
    q[0] = -0.8f;
    q[1] = 2.0f;
    ck_assert_int_eq(sy_vectors_topk(v, 3, q, 3, idx, score), 3);
    ck_assert_int_eq(idx[0], 1);
    ck_assert_float_eq(score[0], 1.0f);
    /* Index 0 (negative) and 2 (zero) both clamp to 0: index order. */
    ck_assert_int_eq(idx[1], 0);
    ck_assert_float_eq(score[1], 0.0f);
    ck_assert_int_eq(idx[2], 2);
    ck_assert_float_eq(score[2], 0.0f);
    free(v);
    free(rows);
}
END_TEST

START_TEST(test_topk_with_k_over_n_returns_all)
{
    float *rows = axes(3), *v = cols(rows, 3), q[D] = {0};
    int idx[10];
    float score[10];
    q[2] = 0.3f;
    ck_assert_int_eq(sy_vectors_topk(v, 3, q, 10, idx, score), 3);
    ck_assert_int_eq(idx[0], 2);
    free(v);
    free(rows);
}
END_TEST

START_TEST(test_topk_of_nothing_is_empty)
{
    float *rows = axes(3), *v = cols(rows, 3), q[D] = {0};
    int idx[1] = {-1};
    float score[1];
    ck_assert_int_eq(sy_vectors_topk(v, 3, q, 0, idx, score), 0);
    ck_assert_int_eq(sy_vectors_topk(NULL, 0, q, 1, idx, score), 0);
    ck_assert_int_eq(idx[0], -1);
    free(v);
    free(rows);
}
END_TEST

/* A product's own name finds it first, with score 1. */
START_TEST(test_topk_finds_own_text_first)
{
    const char *names[] = {
        "Red leather biker jacket", "Blue denim jacket",
        "Linen summer dress",       "Vestido de lino rojo",
        "Wool winter coat",         "Leather ankle boots",
        "Cotton crew socks",        "Silk evening blouse",
    };
    int n = (int)(sizeof(names) / sizeof(*names));
    float *rows = malloc((size_t)n * D * sizeof(float)), *v, q[D];
    int idx[3];
    float score[3];
    for (int i = 0; i < n; i++)
        sy_embed_local(sy_str_c(names[i]), rows + (size_t)i * D);
    v = cols(rows, n);
    for (int i = 0; i < n; i++) {
        sy_embed_local(sy_str_c(names[i]), q);
        ck_assert_int_eq(sy_vectors_topk(v, n, q, 3, idx, score), 3);
        ck_assert_int_eq(idx[0], i);
        ck_assert_float_eq_tol(score[0], 1.0f, 1e-5f);
        ck_assert_float_lt(score[1], score[0]);
    }
    sy_embed_local(SY_STR("leather jacket"), q);
    ck_assert_int_eq(sy_vectors_topk(v, n, q, 3, idx, score), 3);
    /* Both words first, then the products with one of them. */
    ck_assert_int_eq(idx[0], 0);
    ck_assert_int_eq(idx[1] + idx[2], 1 + 5);
    ck_assert_int_eq(idx[1] * idx[2], 1 * 5);
    free(v);
    free(rows);
}
END_TEST

typedef struct ranked {
    float s;
    int i;
} ranked;

static int
by_rank(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->s != b->s)
        return a->s > b->s ? -1 : 1;
    return a->i - b->i;
}

/* Compared with a full sort, including many exact ties (duplicates). */
START_TEST(test_topk_agrees_with_full_sort)
{
    enum { N = 3000, K = 100 };
    float *rows = malloc((size_t)N * D * sizeof(float)), *v, q[D];
    ranked *all = malloc(N * sizeof(*all));
    int idx[K];
    float score[K];
    unsigned seed = 12345;

    for (int i = 0; i < N; i++) {
        float *vi = rows + (size_t)i * D;
        if (i % 7 == 3) {
            memcpy(vi, rows + (size_t)(i / 2) * D, D * sizeof(float));
            continue;
        }
        for (int j = 0; j < D; j++) {
            seed = seed * 1103515245u + 12345u;
            vi[j] = (float)((seed >> 8) & 0xffff) / 65536.0f / 8.0f;
        }
    }
    v = cols(rows, N);
    for (int j = 0; j < D; j++)
        q[j] = (j % 3) ? 0.05f : 0.02f;
    ck_assert_int_eq(sy_vectors_topk(v, N, q, K, idx, score), K);
    /* One vector alone is the same in either layout. */
    for (int i = 0; i < N; i++) {
        all[i].i = i;
        ck_assert_int_eq(sy_vectors_topk(rows + (size_t)i * D, 1, q, 1,
                                         &(int){0}, &all[i].s),
                         1);
    }
    qsort(all, N, sizeof(*all), by_rank);
    for (int r = 0; r < K; r++) {
        ck_assert_int_eq(idx[r], all[r].i);
        ck_assert_float_eq(score[r], all[r].s);
    }
    free(all);
    free(v);
    free(rows);
}
END_TEST

/* Uniform in [-1, 1). */
static float
rnd(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void
normalise(float *v)
{
    double ss = 0;
    for (int j = 0; j < D; j++)
        ss += (double)v[j] * v[j];
    for (int j = 0; j < D; j++)
        v[j] = (float)(v[j] / sqrt(ss));
}

/* A sparse query (the embedder's, and a random one) ranks ~1,000 random
 * unit vectors as a dense dot product over all D dimensions does: the
 * same order as one summed in float in ascending dimension order (the
 * scan's documented order, so ties and near ties fall the same), scores
 * within 1e-6 of one summed in double.  Also after a smaller scan, so the
 * scratch scores grow. */
START_TEST(test_topk_sparse_query_matches_dense_dot)
{
    enum { N = 1000, K = 50 };
    float *rows = malloc((size_t)N * D * sizeof(float)), q[2][D] = {{0}};
    ranked *all = malloc(N * sizeof(*all));
    double *exact = malloc(N * sizeof(*exact));
    int idx[K], sizes[] = {10, N};
    float score[K];
    unsigned seed = 4242;

    for (int i = 0; i < N; i++) {
        for (int j = 0; j < D; j++)
            rows[(size_t)i * D + j] = rnd(&seed);
        normalise(rows + (size_t)i * D);
    }
    sy_embed_local(SY_STR("navy wool blazer"), q[0]);
    for (int j = 0; j < 24; j++) {
        seed = seed * 1103515245u + 12345u;
        q[1][(seed >> 8) % D] = rnd(&seed);
    }
    normalise(q[1]);

    for (int t = 0; t < 2; t++) {
        int nz = 0;
        for (int j = 0; j < D; j++)
            nz += q[t][j] != 0.0f;
        ck_assert_int_gt(nz, 0);
        ck_assert_int_lt(nz, D / 4);
        for (int z = 0; z < 2; z++) {
            int n = sizes[z], k = n < K ? n : K;
            float *v = cols(rows, n);
            for (int i = 0; i < n; i++) {
                const float *vi = rows + (size_t)i * D;
                float s = 0;
                double e = 0;
                for (int j = 0; j < D; j++) {
                    s += vi[j] * q[t][j];
                    e += (double)vi[j] * q[t][j];
                }
                all[i].s = s < 0 ? 0 : s > 1 ? 1 : s;
                all[i].i = i;
                exact[i] = e < 0 ? 0 : e > 1 ? 1 : e;
            }
            qsort(all, (size_t)n, sizeof(*all), by_rank);
            ck_assert_int_eq(sy_vectors_topk(v, n, q[t], k, idx, score), k);
            for (int j = 0; j < k; j++) {
                ck_assert_int_eq(idx[j], all[j].i);
                ck_assert_float_eq_tol(score[j], all[j].s, 1e-6f);
                ck_assert_double_eq_tol(score[j], exact[idx[j]], 1e-6);
            }
            ck_assert_float_gt(score[0], 0.0f);
            free(v);
        }
    }
    free(exact);
    free(all);
    free(rows);
}
END_TEST

/* A query with nothing in it scores every product 0 (clamped), ties in
 * index order, and reads nothing it should not. */
START_TEST(test_topk_zero_query_scores_zero)
{
    enum { N = 100, K = 5 };
    float *rows = malloc((size_t)N * D * sizeof(float)), *v, q[D] = {0};
    int idx[K];
    float score[K];
    unsigned seed = 99;

    for (int i = 0; i < N; i++) {
        for (int j = 0; j < D; j++)
            rows[(size_t)i * D + j] = rnd(&seed);
        normalise(rows + (size_t)i * D);
    }
    v = cols(rows, N);
    ck_assert_int_eq(sy_vectors_topk(v, N, q, K, idx, score), K);
    for (int j = 0; j < K; j++) {
        ck_assert_int_eq(idx[j], j);
        ck_assert_float_eq(score[j], 0.0f);
    }
    free(v);
    free(rows);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("vectors");
    const TTest *const topk_tests[] = {
        test_topk_returns_best_first, test_topk_ties_rank_lower_index_first,
        test_topk_clamps_scores_to_unit_interval,
        test_topk_with_k_over_n_returns_all, test_topk_of_nothing_is_empty,
        test_topk_finds_own_text_first, test_topk_agrees_with_full_sort,
        test_topk_sparse_query_matches_dense_dot,
        test_topk_zero_query_scores_zero, NULL};
    sy_check_tcase(s, "topk", NULL, NULL, topk_tests);
    return sy_check_run(s);
}
