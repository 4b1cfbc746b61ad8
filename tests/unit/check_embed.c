/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_embed.c - unit tests of the local embedder: normalisation, case
 * and accent folding, tokenising, lexical similarity, and fixed output
 * (a stored vector must compare with one embedded by another build).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sycheck.h"
#include "synthia/embed.h"

static float A[SY_EMBED_DIMS], B[SY_EMBED_DIMS];

static void
embed(const char *text, float *out)
{
    sy_embed_local(sy_str_c(text), out);
}

static float
sim(const char *x, const char *y)
{
    embed(x, A);
    embed(y, B);
    return sy_embed_similarity(A, B, SY_EMBED_DIMS);
}

static bool
same(const char *x, const char *y)
{
    embed(x, A);
    embed(y, B);
    return memcmp(A, B, sizeof(A)) == 0;
}

static int
nonzero(const float *v)
{
    int n = 0;
    for (int i = 0; i < SY_EMBED_DIMS; i++)
        n += v[i] != 0;
    return n;
}

static double
norm2(const float *v)
{
    double s = 0;
    for (int i = 0; i < SY_EMBED_DIMS; i++)
        s += (double)v[i] * v[i];
    return s;
}

START_TEST(test_vector_is_l2_normalised)
{
    embed("Slim-fit red leather jacket with silver zips", A);
    ck_assert_double_eq_tol(norm2(A), 1.0, 1e-5);
}
END_TEST

START_TEST(test_text_scores_one_with_itself)
{
    ck_assert_float_eq_tol(sim("Linen summer dress", "Linen summer dress"),
                           1.0f, 1e-5f);
}
END_TEST

START_TEST(test_text_without_letters_or_digits_is_zero_vector)
{
    const char *empties[] = {"", "   ", "!?., -- ¿¡ «»", "\xff\xfe", "×÷"};
    for (size_t i = 0; i < sizeof(empties) / sizeof(*empties); i++) {
        embed(empties[i], A);
        ck_assert_msg(nonzero(A) == 0, "'%s' gave a vector", empties[i]);
    }
    sy_embed_local(SY_STR_NULL, A);
    ck_assert_int_eq(nonzero(A), 0);
    ck_assert_float_eq(sim("", "red dress"), 0.0f);
}
END_TEST

START_TEST(test_similar_texts_score_higher_than_unrelated)
{
    float near = sim("red leather jacket", "leather jacket in red");
    float far = sim("red leather jacket", "blue cotton socks");
    ck_assert_msg(near > 0.6f, "near %f", near);
    ck_assert_msg(far < 0.2f, "far %f", far);
}
END_TEST

START_TEST(test_typo_stays_closer_than_other_words)
{
    float typo = sim("leather jacket", "lether jacket");
    float other = sim("leather jacket", "woollen scarf");
    ck_assert_msg(typo > 0.5f && typo > other + 0.3f, "typo %f other %f", typo,
                  other);
}
END_TEST

START_TEST(test_shared_word_pieces_count)
{
    /* Plural and singular share most 3-grams. */
    float plural = sim("sneaker", "sneakers");
    float unrelated = sim("sneaker", "blouse");
    ck_assert_msg(plural > 0.5f && plural > unrelated, "plural %f", plural);
}
END_TEST

START_TEST(test_case_is_folded)
{
    ck_assert(same("Red Leather JACKET", "red leather jacket"));
}
END_TEST

START_TEST(test_latin_accents_are_folded)
{
    ck_assert(same("Camisa de algodón pequeña", "camisa de algodon pequena"));
    ck_assert(same("ÀÉÎÕÜ àéîõü çÇ ñÑ ÿ", "aeiou aeiou cc nn y"));
    ck_assert(same("Straße Æsir Œuvre", "strasse aesir ouvre"));
    ck_assert(same("Łódź Čeština Ő", "lodz cestina o"));
}
END_TEST

START_TEST(test_decomposed_accents_match_composed)
{
    /* e + U+0301 COMBINING ACUTE ACCENT */
    ck_assert(same("cafe\xcc\x81 lle\xcc\x81", "café llé"));
}
END_TEST

START_TEST(test_punctuation_and_invalid_bytes_separate_words)
{
    ck_assert(same("red-leather, jacket!", "red leather jacket"));
    ck_assert(same("red\xc2\xa0leather \xe2\x80\x9cjacket\xe2\x80\x9d",
                   "red leather jacket"));
    ck_assert(same("red\xffleather", "red leather"));
    /* An overlong encoding of 'A' is not a letter. */
    ck_assert(same("red\xc1\x81leather", "red leather"));
    ck_assert(same("red\xe0\x81\x81leather", "red leather"));
}
END_TEST

START_TEST(test_other_scripts_are_kept_as_letters)
{
    embed("платье", A);
    ck_assert_int_gt(nonzero(A), 0);
    ck_assert_float_gt(sim("красное платье", "платье"), 0.3f);
    ck_assert_float_lt(sim("платье", "юбка"), 0.2f);
}
END_TEST

START_TEST(test_word_order_does_not_matter)
{
    ck_assert_float_eq_tol(sim("blue wool coat", "coat wool blue"), 1.0f,
                           1e-5f);
}
END_TEST

START_TEST(test_long_token_is_bounded)
{
    char *big = malloc(100001);
    memset(big, 'x', 100000);
    big[100000] = '\0';
    embed(big, A);
    ck_assert_double_eq_tol(norm2(A), 1.0, 1e-5);
    /* Characters past the 64th are dropped. */
    big[64] = '\0';
    embed(big, B);
    ck_assert(memcmp(A, B, sizeof(A)) == 0);
    free(big);
}
END_TEST

START_TEST(test_similarity_is_clamped_to_unit_interval)
{
    embed("red dress", A);
    for (int i = 0; i < SY_EMBED_DIMS; i++)
        B[i] = -A[i];
    ck_assert_float_eq(sy_embed_similarity(A, B, SY_EMBED_DIMS), 0.0f);
    for (int i = 0; i < SY_EMBED_DIMS; i++)
        B[i] = A[i] * 1.01f;
    ck_assert_float_eq(sy_embed_similarity(A, B, SY_EMBED_DIMS), 1.0f);
}
END_TEST

/* Pinned output: a change of hash, weights or folding changes these and
 * must come with a new SY_EMBED_LOCAL_MODEL (stored vectors would no
 * longer compare with new queries). */
START_TEST(test_output_is_fixed)
{
    /* "a": the word (1.0) and the 3-gram " a " (0.5), normalised. */
    embed("a", A);
    ck_assert_int_eq(nonzero(A), 2);
    ck_assert_float_eq_tol(A[123], -0.8944272f, 1e-6f);
    ck_assert_float_eq_tol(A[230], 0.4472136f, 1e-6f);

    /* Two words and 13 3-grams, no collision. */
    embed("Leather jacket", A);
    ck_assert_float_eq_tol(A[96], -0.4364358f, 1e-6f);
    ck_assert_float_eq_tol(A[213], 0.4364358f, 1e-6f);
    ck_assert_float_eq_tol(A[20], 0.2182179f, 1e-6f);
    ck_assert_int_eq(nonzero(A), 15);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("embed");
    const TTest *const local_tests[] = {
        test_vector_is_l2_normalised, test_text_scores_one_with_itself,
        test_text_without_letters_or_digits_is_zero_vector,
        test_similar_texts_score_higher_than_unrelated,
        test_typo_stays_closer_than_other_words,
        test_shared_word_pieces_count, test_case_is_folded,
        test_latin_accents_are_folded, test_decomposed_accents_match_composed,
        test_punctuation_and_invalid_bytes_separate_words,
        test_other_scripts_are_kept_as_letters,
        test_word_order_does_not_matter, test_long_token_is_bounded,
        test_similarity_is_clamped_to_unit_interval, test_output_is_fixed,
        NULL};
    sy_check_tcase(s, "local", NULL, NULL, local_tests);
    return sy_check_run(s);
}
