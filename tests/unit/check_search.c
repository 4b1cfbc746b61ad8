/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_search.c - unit tests of the rules of a search query
 * (search.h): q, mode and limit, their defaults and their refusals.
 * The rankings are covered by tests/integration/test_search.py.
 */
#include <check.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/arena.h"
#include "synthia/error.h"
#include "synthia/errs.h"
#include "synthia/search.h"

static sy_arena A;
static sy_errs E;
static sy_search_query S;

static void
setup(void)
{
    sy_arena_init(&A, 1 << 16, 0);
    sy_errs_init(&E, &A);
    sy_search_init(&S);
}

static void
teardown(void)
{
    sy_arena_cleanup(&A);
}

/* The field of the only recorded error. */
static const char *
only_error(void)
{
    ck_assert_ptr_nonnull(E.fields);
    ck_assert_uint_eq(json_object_array_length(E.fields), 1);
    json_object *f;
    json_object_object_get_ex(json_object_array_get_idx(E.fields, 0),
                              "field", &f);
    return json_object_get_string(f);
}

/* q of n copies of s. */
static sy_str
repeat(const char *s, int n)
{
    sy_buf b;
    sy_buf_init(&b, &A, 4096);
    for (int i = 0; i < n; i++)
        sy_buf_puts(&b, s);
    return sy_str_c(sy_buf_cstr(&b));
}

START_TEST(test_defaults_are_text_and_ten)
{
    ck_assert_ptr_null(S.q);
    ck_assert_int_eq(S.mode, SY_SEARCH_TEXT);
    ck_assert_int_eq(S.limit, 10);
    ck_assert_str_eq(sy_search_mode_name(S.mode), "text");
}
END_TEST

START_TEST(test_q_is_trimmed_and_counted_in_characters)
{
    ck_assert_int_eq(sy_search_set_q(&A, &E, SY_STR("  linen shirt \t"), &S),
                     0);
    ck_assert_str_eq(S.q, "linen shirt");
    ck_assert_uint_eq(S.qlen, 11);
    ck_assert_int_eq(sy_search_set_q(&A, &E, repeat("\xc3\xa9", 200), &S), 0);
    ck_assert_uint_eq(S.qlen, 400);
    ck_assert(!sy_errs_any(&E));
}
END_TEST

START_TEST(test_bad_q_is_refused)
{
    const char *bad[] = {"", "   ", "bell\a", "new\nline"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sy_errs_init(&E, &A);
        ck_assert_int_eq(sy_search_set_q(&A, &E, sy_str_c(bad[i]), &S),
                         SY_EVALIDATION);
        ck_assert_str_eq(only_error(), "q");
    }
    sy_errs_init(&E, &A);
    ck_assert_int_eq(sy_search_set_q(&A, &E, repeat("a", 201), &S),
                     SY_EVALIDATION);
    ck_assert_str_eq(only_error(), "q");
}
END_TEST

START_TEST(test_modes_by_name)
{
    ck_assert_int_eq(sy_search_set_mode(&E, SY_STR("semantic"), &S), 0);
    ck_assert_int_eq(S.mode, SY_SEARCH_SEMANTIC);
    ck_assert_int_eq(sy_search_set_mode(&E, SY_STR("hybrid"), &S), 0);
    ck_assert_int_eq(S.mode, SY_SEARCH_HYBRID);
    ck_assert_str_eq(sy_search_mode_name(S.mode), "hybrid");
    ck_assert_int_eq(sy_search_set_mode(&E, SY_STR("text"), &S), 0);
    ck_assert_int_eq(S.mode, SY_SEARCH_TEXT);
    ck_assert_int_eq(sy_search_set_mode(&E, SY_STR("TEXT"), &S),
                     SY_EVALIDATION);
    ck_assert_str_eq(only_error(), "mode");
    sy_errs_init(&E, &A);
    ck_assert_int_eq(sy_search_set_mode(&E, SY_STR_NULL, &S), SY_EVALIDATION);
    ck_assert_int_eq(S.mode, SY_SEARCH_TEXT);
}
END_TEST

START_TEST(test_limit_is_one_to_fifty)
{
    ck_assert_int_eq(sy_search_set_limit(&E, SY_STR("1"), &S), 0);
    ck_assert_int_eq(S.limit, 1);
    ck_assert_int_eq(sy_search_set_limit(&E, SY_STR("50"), &S), 0);
    ck_assert_int_eq(S.limit, 50);
    const char *bad[] = {"0", "51", "-3", "ten", "", "1.5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sy_errs_init(&E, &A);
        ck_assert_int_eq(sy_search_set_limit(&E, sy_str_c(bad[i]), &S),
                         SY_EVALIDATION);
        ck_assert_str_eq(only_error(), "limit");
    }
    ck_assert_int_eq(sy_search_set_limit(&E, SY_STR_NULL, &S),
                     SY_EVALIDATION);
    ck_assert_int_eq(S.limit, 50);
}
END_TEST

static Suite *
search_suite(void)
{
    Suite *s = suite_create("search");
    TCase *tc = tcase_create("query");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_defaults_are_text_and_ten);
    tcase_add_test(tc, test_q_is_trimmed_and_counted_in_characters);
    tcase_add_test(tc, test_bad_q_is_refused);
    tcase_add_test(tc, test_modes_by_name);
    tcase_add_test(tc, test_limit_is_one_to_fifty);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(search_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
