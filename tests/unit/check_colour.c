/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_colour.c - colour maths (colour.h): sRGB to CIELAB against
 * published values, the round trip back to hex, hex parsing, and
 * CIEDE2000 against the test data of Sharma, Wu and Dalal (2005).
 */
#include <math.h>

#include "sycheck.h"
#include "synthia/colour.h"

static void
assert_lab(unsigned char r, unsigned char g, unsigned char b, double L,
           double a, double bb)
{
    double lab[3];
    sy_colour_srgb_to_lab(r, g, b, lab);
    ck_assert_msg(fabs(lab[0] - L) < 0.02 && fabs(lab[1] - a) < 0.02 &&
                      fabs(lab[2] - bb) < 0.02,
                  "#%02x%02x%02x: %.3f %.3f %.3f, want %.3f %.3f %.3f", r, g,
                  b, lab[0], lab[1], lab[2], L, a, bb);
}

START_TEST(test_srgb_to_lab_known_values)
{
    assert_lab(255, 255, 255, 100.0, 0.0, 0.0);
    assert_lab(0, 0, 0, 0.0, 0.0, 0.0);
    assert_lab(255, 0, 0, 53.241, 80.092, 67.203);
    assert_lab(0, 255, 0, 87.735, -86.183, 83.179);
    assert_lab(0, 0, 255, 32.297, 79.188, -107.860);
    assert_lab(128, 128, 128, 53.585, 0.0, 0.0);
    ck_assert(fabs(sy_colour_linear(128) - 0.21586) < 1e-4);
    ck_assert(fabs(sy_colour_linear(10) - 10 / 255.0 / 12.92) < 1e-9);
}
END_TEST

START_TEST(test_lab_round_trip_to_hex)
{
    static const char *const hex[] = {"#000000", "#ffffff", "#e0ac69",
                                      "#8d5524", "#123456", "#ff0080"};
    for (size_t i = 0; i < sizeof(hex) / sizeof(hex[0]); i++) {
        unsigned char c[3];
        ck_assert_int_eq(sy_colour_hex_parse(hex[i], 7, c), 0);
        double lab[3];
        sy_colour_srgb_to_lab(c[0], c[1], c[2], lab);
        char back[8];
        sy_colour_lab_to_hex(lab, back);
        ck_assert_str_eq(back, hex[i]);
    }
    /* out of gamut: clipped, still a colour */
    char out[8];
    double lab[3] = {50, 150, -150};
    sy_colour_lab_to_hex(lab, out);
    ck_assert_int_eq(strlen(out), 7);
    ck_assert_int_eq(out[0], '#');
}
END_TEST

START_TEST(test_hex_parse)
{
    unsigned char c[3];
    ck_assert_int_eq(sy_colour_hex_parse("A0b1C2", 6, c), 0);
    ck_assert_uint_eq(c[0], 0xa0);
    ck_assert_uint_eq(c[1], 0xb1);
    ck_assert_uint_eq(c[2], 0xc2);
    ck_assert_int_eq(sy_colour_hex_parse("#a0b1c", 6, c), -1);
    ck_assert_int_eq(sy_colour_hex_parse("#a0b1cg", 7, c), -1);
    ck_assert_int_eq(sy_colour_hex_parse("a0b1c2d", 7, c), -1);
    ck_assert_int_eq(sy_colour_hex_parse("", 0, c), -1);
}
END_TEST

/* Sharma et al., Table 1: pairs 1-7, 17, 19, 25, 27 and 34 (the hue
 * wrap-around, zero chroma, large differences and near black). */
START_TEST(test_ciede2000_reference_pairs)
{
    static const double t[][7] = {
        {50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425},
        {50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615},
        {50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412},
        {50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000},
        {50.0000, -1.1848, -84.8006, 50.0000, 0.0000, -82.7485, 1.0000},
        {50.0000, -0.9009, -85.5211, 50.0000, 0.0000, -82.7485, 1.0000},
        {50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669},
        {50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492},
        {50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030},
        {60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644},
        {22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373},
        {2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        double d = sy_colour_ciede2000(t[i], t[i] + 3);
        double e = sy_colour_ciede2000(t[i] + 3, t[i]);
        ck_assert_msg(fabs(d - t[i][6]) < 0.0001, "pair %zu: %.4f, want %.4f",
                      i, d, t[i][6]);
        ck_assert_msg(fabs(d - e) < 1e-9, "pair %zu is not symmetric", i);
    }
    double same[3] = {40, 10, -20};
    ck_assert(sy_colour_ciede2000(same, same) == 0.0);
}
END_TEST

int
main(void)
{
    const TTest *const tests[] = {
        test_srgb_to_lab_known_values, test_lab_round_trip_to_hex,
        test_hex_parse, test_ciede2000_reference_pairs, NULL};
    return sy_check_suite("colour", NULL, NULL, tests);
}
