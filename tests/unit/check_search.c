/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_search.c - unit tests of the rules of a search query
 * (search.h): q, mode and limit, their defaults and their refusals,
 * and the normalisation that bounds a query's cost.
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
    /* 200 characters: 10 different words of 19 (within the limits) */
    sy_buf b;
    sy_buf_init(&b, &A, 4096);
    for (int i = 0; i < 10; i++)
        sy_buf_printf(&b, "%c%s ", 'a' + i, repeat("\xc3\xa9", 18).p);
    ck_assert_int_eq(sy_search_set_q(&A, &E, sy_buf_str(&b), &S), 0);
    ck_assert_uint_eq(S.qlen, 10 * 37 + 9);
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

/* q normalised with the default limits (10 terms, 2 one-character
 * words, words of 32 characters): the text, or NULL when refused. */
static const char *
norm(const char *q)
{
    static const sy_search_limits lim = {10, 2, 32};
    sy_str out = SY_STR("unchanged");
    const char *why = NULL;
    int terms = -1;
    int rc = sy_search_normalise(&A, sy_str_c(q), &lim, &out, &terms, &why);
    if (rc < 0) {
        ck_assert_int_eq(rc, SY_EVALIDATION);
        ck_assert_ptr_nonnull(why);
        ck_assert_str_eq(out.p, "unchanged"); /* written only on success */
        return NULL;
    }
    ck_assert_int_ge(terms, 0);
    ck_assert_int_le(terms, 10);
    ck_assert_uint_le(out.len, strlen(q) + 1);
    ck_assert_uint_eq(strlen(out.p), out.len);
    return out.p;
}

START_TEST(test_equivalent_queries_normalise_alike)
{
    ck_assert_str_eq(norm("Linen  SHIRT"), "linen shirt");
    ck_assert_str_eq(norm("linen\xc2\xa0shirt"), "linen shirt");   /* nbsp */
    ck_assert_str_eq(norm("linen\xe2\x80\x8bshirt"), "linen shirt"); /* zwsp */
    ck_assert_str_eq(norm("linen\xe3\x80\x80shirt!!!"), "linen shirt");
    ck_assert_str_eq(norm("'linen', shirt?"), "linen shirt");
    ck_assert_str_eq(norm("li\xc2\xadnen shirt"), "linen shirt"); /* shy */
    ck_assert_str_eq(norm("\xc3\x89T\xc3\x89"), "\xc3\xa9t\xc3\xa9");
    /* invalid UTF-8 separates */
    ck_assert_str_eq(norm("linen\xc0\xafshirt\xff"), "linen shirt");
}
END_TEST

START_TEST(test_hyphens_join_exclude_or_separate)
{
    ck_assert_str_eq(norm("T-Shirt"), "t-shirt");
    ck_assert_str_eq(norm("t---shirt"), "t-shirt");
    ck_assert_str_eq(norm("t\xe2\x80\x94shirt"), "t-shirt"); /* em dash */
    ck_assert_str_eq(norm("off-the-shoulder"), "off-the-shoulder");
    ck_assert_str_eq(norm("dress -wool"), "dress -wool");
    ck_assert_str_eq(norm("dress ---wool"), "dress -wool");
    ck_assert_str_eq(norm("dress - wool -"), "dress wool");
    /* more than three parts: each its own word */
    ck_assert_str_eq(norm("a-b-c-d"), "a b");
    ck_assert_str_eq(norm("x-ab-cd-ef"), "x ab cd ef");
    /* 33 and 40 hyphens: nothing for the text parser to stack */
    char q[64];
    memset(q, '-', 40);
    q[40] = '\0';
    ck_assert_str_eq(norm(q), "");
    memcpy(q, "a", 1);
    memset(q + 1, '-', 33);
    strcpy(q + 34, "b");
    ck_assert_str_eq(norm(q), "a-b");
    /* only exclusions: nothing to look for */
    ck_assert_str_eq(norm("-wool -silk"), "");
}
END_TEST

START_TEST(test_phrases_are_kept_whole)
{
    ck_assert_str_eq(norm("\"Linen  Shirt\" blue"), "\"linen shirt\" blue");
    ck_assert_str_eq(norm("\xe2\x80\x9clinen shirt\xe2\x80\x9d"),
                     "\"linen shirt\"");
    ck_assert_str_eq(norm("blue \"linen shirt"), "blue \"linen shirt\"");
    ck_assert_str_eq(norm("\"linen\" linen"), "linen");
    ck_assert_str_eq(norm("\"a a a\""), "\"a a a\"");
    ck_assert_str_eq(norm("\"\"\"\"\"\""), "");
    ck_assert_str_eq(norm("x\"\"y"), "x y");
    ck_assert_str_eq(norm("-\"a b\" c"), "\"a b\" c");
    /* a phrase counts every word */
    ck_assert_ptr_null(norm("\"a a a a a a a a a a a\""));
}
END_TEST

START_TEST(test_short_and_repeated_words_are_dropped)
{
    ck_assert_str_eq(norm("a a a a a"), "a");
    ck_assert_str_eq(norm(repeat("a ", 200).p), "a");
    ck_assert_str_eq(norm(repeat("a\xe2\x80\x8b", 100).p), "a");
    ck_assert_str_eq(norm("a b c d e shirt"), "a b shirt");
    ck_assert_str_eq(norm("Shirt shirt SHIRT"), "shirt");
    ck_assert_str_eq(norm("ab cd ef"), "ab cd ef");
}
END_TEST

START_TEST(test_over_the_cost_bound_is_refused)
{
    ck_assert_ptr_null(norm("one two three four five six seven eight nine "
                            "ten eleven"));
    ck_assert_str_eq(norm("one two three four five six seven eight nine "
                          "ten"),
                     "one two three four five six seven eight nine ten");
    /* each part of a hyphenated word counts */
    ck_assert_ptr_null(norm("a-bb-cc dd-ee-ff gg-hh-ii jj-kk"));
    ck_assert_ptr_null(norm(repeat("x", 33).p));
    ck_assert_ptr_nonnull(norm(repeat("x", 32).p));
    /* through set_q: the refusal query_too_complex, not a field */
    sy_search_init(&S);
    ck_assert_int_eq(sy_search_set_q(&A, &E, repeat("w", 60), &S),
                     SY_EVALIDATION);
    ck_assert_str_eq(E.code, "query_too_complex");
    ck_assert(!sy_errs_any(&E));
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
                          test_limit_is_one_to_fifty,
                          test_equivalent_queries_normalise_alike,
                          test_hyphens_join_exclude_or_separate,
                          test_phrases_are_kept_whole,
                          test_short_and_repeated_words_are_dropped,
                          test_over_the_cost_bound_is_refused, NULL});
}
