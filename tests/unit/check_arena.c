/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_arena.c - unit tests of the per-request bump allocator: alignment,
 * the budget, chunk reuse across resets, deferred destructors and the
 * torture switch that fails the Nth allocation.
 */
#include <check.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sycheck.h"
#include "synthia/arena.h"
#include "synthia/error.h"

#define CHUNK 4096

static sy_arena A;

static void
setup(void)
{
    sy_arena_init(&A, CHUNK, 0);
}

static void
teardown(void)
{
    sy_arena_fail_after(0);
    sy_arena_cleanup(&A);
}

static bool
aligned16(const void *p)
{
    return ((uintptr_t)p & 15) == 0;
}

/* Destructor log: each call appends its argument's value. */
static int calls[16];
static int ncalls;

static void
record_call(void *p)
{
    if (ncalls < 16)
        calls[ncalls] = *(int *)p;
    ncalls++;
}

static void
reset_calls(void)
{
    ncalls = 0;
    memset(calls, 0, sizeof(calls));
}

/* ------------------------------------------------------------ alloc */

START_TEST(test_alloc_returns_16_byte_aligned_memory)
{
    static const size_t sizes[] = {1, 3, 15, 16, 17, 100, 1000, 5000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        void *p = sy_arena_alloc(&A, sizes[i]);
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(aligned16(p), "size %zu gave %p", sizes[i], p);
    }
}
END_TEST

START_TEST(test_alloc_zero_bytes_gives_distinct_pointers)
{
    void *a = sy_arena_alloc(&A, 0);
    void *b = sy_arena_alloc(&A, 0);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_ne(a, b);
}
END_TEST

START_TEST(test_allocations_do_not_overlap)
{
    unsigned char *p[64];
    for (int i = 0; i < 64; i++) {
        size_t n = (size_t)(i * 37 % 300) + 1;
        p[i] = sy_arena_alloc(&A, n);
        ck_assert_ptr_nonnull(p[i]);
        memset(p[i], i, n);
    }
    for (int i = 0; i < 64; i++) {
        size_t n = (size_t)(i * 37 % 300) + 1;
        for (size_t j = 0; j < n; j++)
            ck_assert_uint_eq(p[i][j], (unsigned)i);
    }
}
END_TEST

START_TEST(test_used_counts_rounded_bytes)
{
    ck_assert_uint_eq(sy_arena_used(&A), 0);
    sy_arena_alloc(&A, 1);
    ck_assert_uint_eq(sy_arena_used(&A), 16);
    sy_arena_alloc(&A, 17);
    ck_assert_uint_eq(sy_arena_used(&A), 48);
}
END_TEST

START_TEST(test_chunk_size_has_a_floor_of_1024)
{
    sy_arena a;
    sy_arena_init(&a, 10, 0);
    ck_assert_uint_eq(a.chunk_size, 1024);
    ck_assert_ptr_null(a.head);
    sy_arena_cleanup(&a);
}
END_TEST

START_TEST(test_allocation_larger_than_chunk_succeeds)
{
    size_t n = 10 * CHUNK + 3;
    unsigned char *p = sy_arena_alloc(&A, n);
    ck_assert_ptr_nonnull(p);
    memset(p, 0x5a, n); /* ASan/valgrind catch a short block */
    ck_assert_uint_eq(p[n - 1], 0x5a);
}
END_TEST

START_TEST(test_big_allocation_keeps_free_space_of_current_chunk)
{
    /* leave 512 bytes free in the first chunk, then ask for more than a
     * quarter chunk: it gets its own block and the free space stays */
    char *filler = sy_arena_alloc(&A, CHUNK - 512);
    char *big = sy_arena_alloc(&A, CHUNK / 4 + 16);
    char *small = sy_arena_alloc(&A, 16);
    ck_assert_ptr_nonnull(big);
    ck_assert_ptr_eq(small, filler + CHUNK - 512);
    ck_assert_uint_eq(sy_arena_used(&A), CHUNK - 512 + CHUNK / 4 + 32);
}
END_TEST

START_TEST(test_oversized_request_returns_null)
{
    ck_assert_ptr_null(sy_arena_alloc(&A, SIZE_MAX));
    ck_assert_ptr_null(sy_arena_alloc(&A, SIZE_MAX / 2 + 1));
    ck_assert_uint_eq(sy_arena_used(&A), 0);
}
END_TEST

START_TEST(test_calloc_zeroes_reused_memory)
{
    unsigned char *p = sy_arena_alloc(&A, 200);
    memset(p, 0xaa, 200);
    sy_arena_reset(&A);
    unsigned char *q = sy_arena_calloc(&A, 200);
    ck_assert_ptr_eq(q, p); /* same chunk, same spot */
    for (int i = 0; i < 200; i++)
        ck_assert_uint_eq(q[i], 0);
}
END_TEST

START_TEST(test_strndup_copies_n_bytes_and_terminates)
{
    char *s = sy_arena_strndup(&A, "hello world", 5);
    ck_assert_str_eq(s, "hello");
    char *e = sy_arena_strndup(&A, "x", 0);
    ck_assert_str_eq(e, "");
}
END_TEST

START_TEST(test_strndup_keeps_embedded_nul)
{
    char *s = sy_arena_strndup(&A, "a\0b", 3);
    ck_assert_mem_eq(s, "a\0b\0", 4);
}
END_TEST

/* ------------------------------------------------------------ budget */

START_TEST(test_budget_allows_exact_fill)
{
    sy_arena a;
    sy_arena_init(&a, 1024, 256);
    ck_assert_ptr_nonnull(sy_arena_alloc(&a, 128));
    ck_assert_ptr_nonnull(sy_arena_alloc(&a, 128));
    ck_assert_uint_eq(sy_arena_used(&a), 256);
    sy_arena_cleanup(&a);
}
END_TEST

START_TEST(test_budget_refuses_allocation_past_limit)
{
    sy_arena a;
    sy_arena_init(&a, 1024, 256);
    ck_assert_ptr_nonnull(sy_arena_alloc(&a, 250)); /* 256 rounded */
    ck_assert_ptr_null(sy_arena_alloc(&a, 1));
    ck_assert_uint_eq(sy_arena_used(&a), 256);
    sy_arena_cleanup(&a);
}
END_TEST

START_TEST(test_budget_counts_rounding_not_requested_bytes)
{
    sy_arena a;
    sy_arena_init(&a, 1024, 40);
    ck_assert_ptr_nonnull(sy_arena_alloc(&a, 17)); /* 32 */
    ck_assert_ptr_null(sy_arena_alloc(&a, 1));     /* would be 48 */
    sy_arena_cleanup(&a);
}
END_TEST

START_TEST(test_budget_is_restored_by_reset)
{
    sy_arena a;
    sy_arena_init(&a, 1024, 512);
    ck_assert_ptr_nonnull(sy_arena_alloc(&a, 512));
    ck_assert_ptr_null(sy_arena_alloc(&a, 16));
    sy_arena_reset(&a);
    ck_assert_uint_eq(sy_arena_used(&a), 0);
    ck_assert_ptr_nonnull(sy_arena_alloc(&a, 512));
    sy_arena_cleanup(&a);
}
END_TEST

START_TEST(test_zero_budget_means_unlimited)
{
    for (int i = 0; i < 64; i++)
        ck_assert_ptr_nonnull(sy_arena_alloc(&A, 64 * 1024));
    ck_assert_uint_eq(sy_arena_used(&A), 64u * 64 * 1024);
}
END_TEST

/* ------------------------------------------------------------ reset */

START_TEST(test_reset_reuses_first_chunk)
{
    void *p = sy_arena_alloc(&A, 64);
    sy_arena_reset(&A);
    ck_assert_uint_eq(sy_arena_used(&A), 0);
    ck_assert_ptr_eq(sy_arena_alloc(&A, 64), p);
}
END_TEST

START_TEST(test_reset_after_many_chunks_reuses_the_oldest)
{
    void *first = sy_arena_alloc(&A, CHUNK / 5);
    for (int i = 0; i < 20; i++) /* several ordinary chunks */
        ck_assert_ptr_nonnull(sy_arena_alloc(&A, CHUNK / 5));
    sy_arena_reset(&A);
    ck_assert_uint_eq(sy_arena_used(&A), 0);
    ck_assert_ptr_eq(sy_arena_alloc(&A, CHUNK / 5), first);
}
END_TEST

START_TEST(test_reset_keeps_ordinary_chunk_after_big_allocation)
{
    /* a request with one big block (a body, say) must not cost the
     * responder its warm first chunk */
    sy_arena_alloc(&A, 64);
    sy_arena_alloc(&A, CHUNK * 2);
    sy_arena_reset(&A);
    ck_assert_msg(A.head != NULL,
                  "reset freed the ordinary chunk after a big allocation");
}
END_TEST

START_TEST(test_reset_drops_chunk_that_was_only_big)
{
    /* a first allocation larger than a chunk is not worth keeping */
    sy_arena_alloc(&A, CHUNK * 4);
    sy_arena_reset(&A);
    ck_assert_ptr_null(A.head);
    ck_assert_ptr_nonnull(sy_arena_alloc(&A, 16));
}
END_TEST

START_TEST(test_arena_is_usable_after_cleanup)
{
    sy_arena_alloc(&A, 100);
    sy_arena_cleanup(&A);
    ck_assert_ptr_null(A.head);
    ck_assert_uint_eq(sy_arena_used(&A), 0);
    ck_assert_ptr_nonnull(sy_arena_alloc(&A, 100));
}
END_TEST

/* ------------------------------------------------------------ defer */

START_TEST(test_reset_runs_destructors_last_registered_first)
{
    static int v[3] = {1, 2, 3};
    reset_calls();
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(sy_arena_defer(&A, record_call, &v[i]), 0);
    ck_assert_int_eq(ncalls, 0);
    sy_arena_reset(&A);
    ck_assert_int_eq(ncalls, 3);
    ck_assert_int_eq(calls[0], 3);
    ck_assert_int_eq(calls[1], 2);
    ck_assert_int_eq(calls[2], 1);
}
END_TEST

START_TEST(test_destructors_run_once)
{
    static int v = 7;
    reset_calls();
    sy_arena_defer(&A, record_call, &v);
    sy_arena_reset(&A);
    sy_arena_reset(&A);
    sy_arena_cleanup(&A);
    ck_assert_int_eq(ncalls, 1);
}
END_TEST

START_TEST(test_cleanup_runs_pending_destructors)
{
    static int v = 9;
    reset_calls();
    sy_arena_defer(&A, record_call, &v);
    sy_arena_cleanup(&A);
    ck_assert_int_eq(ncalls, 1);
    ck_assert_int_eq(calls[0], 9);
}
END_TEST

START_TEST(test_destructor_frees_heap_object_at_reset)
{
    /* valgrind/ASan report a leak if free never runs */
    char *heap = malloc(100);
    ck_assert_ptr_nonnull(heap);
    ck_assert_int_eq(sy_arena_defer(&A, free, heap), 0);
    sy_arena_reset(&A);
}
END_TEST

START_TEST(test_defer_out_of_budget_runs_destructor_now)
{
    static int v = 5;
    sy_arena a;
    sy_arena_init(&a, 1024, 64);
    ck_assert_ptr_nonnull(sy_arena_alloc(&a, 64));
    reset_calls();
    ck_assert_int_eq(sy_arena_defer(&a, record_call, &v), SY_ENOMEM);
    ck_assert_int_eq(ncalls, 1);
    sy_arena_cleanup(&a);
    ck_assert_int_eq(ncalls, 1); /* not a second time */
}
END_TEST

/* ------------------------------------------------------------ torture */

START_TEST(test_fail_after_fails_exactly_the_nth_allocation)
{
    sy_arena_fail_after(3);
    ck_assert_ptr_nonnull(sy_arena_alloc(&A, 8));
    ck_assert_ptr_nonnull(sy_arena_alloc(&A, 8));
    ck_assert_ptr_null(sy_arena_alloc(&A, 8));
    ck_assert_ptr_nonnull(sy_arena_alloc(&A, 8));
    ck_assert_ptr_nonnull(sy_arena_alloc(&A, 8));
}
END_TEST

START_TEST(test_fail_after_one_fails_the_next_allocation)
{
    sy_arena_fail_after(1);
    ck_assert_ptr_null(sy_arena_calloc(&A, 8));
    ck_assert_uint_eq(sy_arena_used(&A), 0);
    ck_assert_ptr_nonnull(sy_arena_calloc(&A, 8));
}
END_TEST

START_TEST(test_fail_after_zero_disables_torture)
{
    sy_arena_fail_after(2);
    sy_arena_fail_after(0);
    for (int i = 0; i < 10; i++)
        ck_assert_ptr_nonnull(sy_arena_alloc(&A, 8));
}
END_TEST

START_TEST(test_fail_after_reports_whether_it_fired)
{
    sy_arena_fail_after(3);
    ck_assert_ptr_nonnull(sy_arena_alloc(&A, 8));
    ck_assert_int_eq(sy_arena_fail_after(LONG_MAX), 2); /* not fired */
    for (int i = 0; i < 5; i++)
        ck_assert_ptr_nonnull(sy_arena_alloc(&A, 8));
    ck_assert_int_eq(LONG_MAX - sy_arena_fail_after(2), 5); /* counted */
    ck_assert_ptr_nonnull(sy_arena_alloc(&A, 8));
    ck_assert_ptr_null(sy_arena_alloc(&A, 8));
    ck_assert_int_eq(sy_arena_fail_after(0), 0); /* fired */
}
END_TEST

START_TEST(test_torture_failure_reaches_strndup_and_defer)
{
    static int v = 4;
    sy_arena_fail_after(1);
    ck_assert_ptr_null(sy_arena_strndup(&A, "abc", 3));
    reset_calls();
    sy_arena_fail_after(1);
    ck_assert_int_eq(sy_arena_defer(&A, record_call, &v), SY_ENOMEM);
    ck_assert_int_eq(ncalls, 1);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("arena");
    const TTest *const alloc_tests[] = {
        test_alloc_returns_16_byte_aligned_memory,
        test_alloc_zero_bytes_gives_distinct_pointers,
        test_allocations_do_not_overlap, test_used_counts_rounded_bytes,
        test_chunk_size_has_a_floor_of_1024,
        test_allocation_larger_than_chunk_succeeds,
        test_big_allocation_keeps_free_space_of_current_chunk,
        test_oversized_request_returns_null, test_calloc_zeroes_reused_memory,
        test_strndup_copies_n_bytes_and_terminates,
        test_strndup_keeps_embedded_nul, NULL};
    sy_check_tcase(s, "alloc", setup, teardown, alloc_tests);
    const TTest *const budget_tests[] = {
        test_budget_allows_exact_fill,
        test_budget_refuses_allocation_past_limit,
        test_budget_counts_rounding_not_requested_bytes,
        test_budget_is_restored_by_reset, test_zero_budget_means_unlimited,
        NULL};
    sy_check_tcase(s, "budget", setup, teardown, budget_tests);
    const TTest *const reset_tests[] = {
        test_reset_reuses_first_chunk,
        test_reset_after_many_chunks_reuses_the_oldest,
        test_reset_keeps_ordinary_chunk_after_big_allocation,
        test_reset_drops_chunk_that_was_only_big,
        test_arena_is_usable_after_cleanup, NULL};
    sy_check_tcase(s, "reset", setup, teardown, reset_tests);
    const TTest *const defer_tests[] = {
        test_reset_runs_destructors_last_registered_first,
        test_destructors_run_once, test_cleanup_runs_pending_destructors,
        test_destructor_frees_heap_object_at_reset,
        test_defer_out_of_budget_runs_destructor_now, NULL};
    sy_check_tcase(s, "defer", setup, teardown, defer_tests);
    const TTest *const torture_tests[] = {
        test_fail_after_fails_exactly_the_nth_allocation,
        test_fail_after_one_fails_the_next_allocation,
        test_fail_after_zero_disables_torture,
        test_fail_after_reports_whether_it_fired,
        test_torture_failure_reaches_strndup_and_defer, NULL};
    sy_check_tcase(s, "torture", setup, teardown, torture_tests);
    return sy_check_run(s);
}
