/*
 * check_vectors.c - unit tests of the vector store's scan
 * (sy_vectors_topk): order, ties, clamping, bounds, and agreement with a
 * full sort on a larger random set.  Loading from PostgreSQL and the
 * reload on catalog writes are covered by the integration tests.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/embed.h"
#include "synthia/vectors.h"

#define D SY_EMBED_DIMS

/* vecs[i] = the unit vector along axis i (n <= D). */
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
    float *v = axes(5), q[D] = {0};
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
}
END_TEST

START_TEST(test_topk_ties_rank_lower_index_first)
{
    float *v = axes(6), q[D] = {0};
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
}
END_TEST

START_TEST(test_topk_clamps_scores_to_unit_interval)
{
    float *v = axes(3), q[D] = {0};
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
}
END_TEST

START_TEST(test_topk_with_k_over_n_returns_all)
{
    float *v = axes(3), q[D] = {0};
    int idx[10];
    float score[10];
    q[2] = 0.3f;
    ck_assert_int_eq(sy_vectors_topk(v, 3, q, 10, idx, score), 3);
    ck_assert_int_eq(idx[0], 2);
    free(v);
}
END_TEST

START_TEST(test_topk_of_nothing_is_empty)
{
    float *v = axes(3), q[D] = {0};
    int idx[1] = {-1};
    float score[1];
    ck_assert_int_eq(sy_vectors_topk(v, 3, q, 0, idx, score), 0);
    ck_assert_int_eq(sy_vectors_topk(NULL, 0, q, 1, idx, score), 0);
    ck_assert_int_eq(idx[0], -1);
    free(v);
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
    float *v = malloc((size_t)n * D * sizeof(float)), q[D];
    int idx[3];
    float score[3];
    for (int i = 0; i < n; i++)
        sy_embed_local(sy_str_c(names[i]), v + (size_t)i * D);
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
    float *v = malloc((size_t)N * D * sizeof(float)), q[D];
    ranked *all = malloc(N * sizeof(*all));
    int idx[K];
    float score[K];
    unsigned seed = 12345;

    for (int i = 0; i < N; i++) {
        float *vi = v + (size_t)i * D;
        if (i % 7 == 3) {
            memcpy(vi, v + (size_t)(i / 2) * D, D * sizeof(float));
            continue;
        }
        for (int j = 0; j < D; j++) {
            seed = seed * 1103515245u + 12345u;
            vi[j] = (float)((seed >> 8) & 0xffff) / 65536.0f / 8.0f;
        }
    }
    for (int j = 0; j < D; j++)
        q[j] = (j % 3) ? 0.05f : 0.02f;
    ck_assert_int_eq(sy_vectors_topk(v, N, q, K, idx, score), K);
    for (int i = 0; i < N; i++) {
        all[i].i = i;
        ck_assert_int_eq(
            sy_vectors_topk(v + (size_t)i * D, 1, q, 1, &(int){0}, &all[i].s),
            1);
    }
    qsort(all, N, sizeof(*all), by_rank);
    for (int r = 0; r < K; r++) {
        ck_assert_int_eq(idx[r], all[r].i);
        ck_assert_float_eq(score[r], all[r].s);
    }
    free(all);
    free(v);
}
END_TEST

static Suite *
vectors_suite(void)
{
    Suite *s = suite_create("vectors");
    TCase *tc = tcase_create("topk");
    tcase_add_test(tc, test_topk_returns_best_first);
    tcase_add_test(tc, test_topk_ties_rank_lower_index_first);
    tcase_add_test(tc, test_topk_clamps_scores_to_unit_interval);
    tcase_add_test(tc, test_topk_with_k_over_n_returns_all);
    tcase_add_test(tc, test_topk_of_nothing_is_empty);
    tcase_add_test(tc, test_topk_finds_own_text_first);
    tcase_add_test(tc, test_topk_agrees_with_full_sort);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(vectors_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
