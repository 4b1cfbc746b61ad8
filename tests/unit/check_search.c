/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_search.c - unit tests of the rules of a search query
 * (search.h): q, mode and limit, their defaults and their refusals.
 * The rankings are covered by tests/integration/test_search.py.
 */

#include "sycheck.h"
#include "synthia/error.h"
#include "synthia/search.h"

SY_CHECK_FIXTURE(1 << 16)
static sy_search_query S;

/* The field of the only recorded error. */
static const char *
only_error(void)
{
    ck_assert_uint_eq(json_object_array_length(E.fields), 1);
    return sy_check_error_fields(&E);
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
    sy_search_init(&S);
    ck_assert_ptr_null(S.q);
    ck_assert_int_eq(S.mode, SY_SEARCH_TEXT);
    ck_assert_int_eq(S.limit, 10);
    ck_assert_str_eq(sy_search_mode_name(S.mode), "text");
}
END_TEST

START_TEST(test_q_is_trimmed_and_counted_in_characters)
{
    sy_search_init(&S);
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
    sy_search_init(&S);
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
    sy_search_init(&S);
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
    sy_search_init(&S);
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
    ck_assert_int_eq(sy_search_set_limit(&E, SY_STR_NULL, &S), SY_EVALIDATION);
    ck_assert_int_eq(S.limit, 50);
}
END_TEST

int
main(void)
{
    return sy_check_suite(
        "search", setup, teardown,
        (const TTest *[]){test_defaults_are_text_and_ten,
                          test_q_is_trimmed_and_counted_in_characters,
                          test_bad_q_is_refused, test_modes_by_name,
                          test_limit_is_one_to_fifty, NULL});
}
