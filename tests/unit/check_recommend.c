/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_recommend.c - how a product colour is scored against an analysed
 * palette and avoid list (recommend.h): on the palette 1, far from it
 * near 0, on the avoid list 0, monotonic in between, symmetric in the
 * order of the references.
 */
#include <math.h>

#include "sycheck.h"
#include "synthia/colour.h"
#include "synthia/recommend.h"

static void
lab_of(const char *hex, double lab[3])
{
    unsigned char rgb[3];
    ck_assert_int_eq(sy_colour_hex_parse(hex, 7, rgb), 0);
    sy_colour_srgb_to_lab(rgb[0], rgb[1], rgb[2], lab);
}

static double
score(const char *colour, const char *const *pal, int npal,
      const char *const *avoid, int navoid)
{
    double c[3], p[8][3], a[8][3];
    lab_of(colour, c);
    for (int i = 0; i < npal; i++)
        lab_of(pal[i], p[i]);
    for (int i = 0; i < navoid; i++)
        lab_of(avoid[i], a[i]);
    return sy_reco_colour_score(c, (const double(*)[3])p, npal,
                                (const double(*)[3])a, navoid);
}

static const char *const autumn[] = {"#c8a165", "#8b4513", "#556b2f"};
static const char *const cold[] = {"#1e3799", "#ff00ff"};

START_TEST(test_on_the_palette_is_one)
{
    for (int i = 0; i < 3; i++)
        ck_assert_double_eq_tol(score(autumn[i], autumn, 3, cold, 2), 1.0,
                                1e-9);
}
END_TEST

START_TEST(test_on_the_avoid_list_is_zero)
{
    ck_assert_double_eq_tol(score("#1e3799", autumn, 3, cold, 2), 0.0, 1e-9);
    ck_assert_double_eq_tol(score("#ff00ff", autumn, 3, cold, 2), 0.0, 1e-9);
}
END_TEST

START_TEST(test_further_is_lower)
{
    /* steps away from #c8a165 towards grey-blue */
    const char *steps[] = {"#c8a165", "#bea06e", "#b09e80", "#9d9a95",
                           "#8a96aa"};
    double last = 2.0;
    for (int i = 0; i < 5; i++) {
        double s = score(steps[i], autumn, 1, NULL, 0);
        ck_assert_msg(s < last, "%s scores %f, not below %f", steps[i], s,
                      last);
        ck_assert(s > 0.0 && s <= 1.0);
        last = s;
    }
    ck_assert_double_lt(score("#00ff00", autumn, 3, cold, 2), 0.2);
}
END_TEST

START_TEST(test_order_of_references_does_not_matter)
{
    const char *rev[] = {"#556b2f", "#8b4513", "#c8a165"};
    const char *rcold[] = {"#ff00ff", "#1e3799"};
    const char *probe[] = {"#a0522d", "#2e4a7d", "#dddddd"};
    for (int i = 0; i < 3; i++)
        ck_assert_double_eq_tol(score(probe[i], autumn, 3, cold, 2),
                                score(probe[i], rev, 3, rcold, 2), 1e-12);
}
END_TEST

START_TEST(test_no_palette_scores_nothing)
{
    ck_assert_double_eq_tol(score("#c8a165", NULL, 0, cold, 2), 0.0, 1e-12);
}
END_TEST

int
main(void)
{
    const TTest *const tests[] = {
        test_on_the_palette_is_one, test_on_the_avoid_list_is_zero,
        test_further_is_lower, test_order_of_references_does_not_matter,
        test_no_palette_scores_nothing, NULL};
    return sy_check_suite("recommend", NULL, NULL, tests);
}
