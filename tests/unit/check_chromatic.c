/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_chromatic.c - the local colour-season analyser (chromatic.h) on
 * portraits the tests draw (tests/tools/imggen.h) with known skin, hair
 * and background: warm against cool, light against deep, contrast,
 * determinism, and photos with no skin in them.  Some go through a JPEG
 * encode and the uploads' decode, as a real photo would.
 */
#include <math.h>

#include "../tools/imggen.h"
#include "sycheck.h"
#include "synthia/chromatic.h"
#include "synthia/colour.h"
#include "synthia/error.h"

SY_CHECK_FIXTURE(4 << 20)

static const unsigned char BG[3] = {200, 208, 216}; /* grey-blue wall */

static sy_image
portrait(const char *skin, const char *hair, uint32_t seed)
{
    unsigned char s[3], h[3];
    ck_assert_int_eq(imggen_parse_colour(skin, s), 0);
    ck_assert_int_eq(imggen_parse_colour(hair, h), 0);
    uint32_t w = SY_CHROMATIC_SIDE, ht = SY_CHROMATIC_SIDE;
    unsigned char *rgb = sy_arena_alloc(&A, (size_t)w * ht * 3);
    ck_assert_ptr_nonnull(rgb);
    imggen_portrait(rgb, w, ht, s, h, BG, 6, seed);
    return (sy_image){.type = SY_IMAGE_PNG, .src_width = w,
                      .src_height = ht, .width = w, .height = ht,
                      .rgb = rgb};
}

static sy_chromatic
analyse(const sy_image *img)
{
    sy_chromatic c;
    const char *why = NULL;
    int rc = sy_chromatic_analyse(&A, img, &c, &why);
    ck_assert_msg(rc == 0, "analyse: %d %s", rc, why ? why : "");
    return c;
}

static bool
season_in(const char *season, const char *family)
{
    size_t n = strlen(season), f = strlen(family);
    return n > f && strcmp(season + n - f, family) == 0;
}

/* Warm (yellow) against cool (pink) skin, light against deep. */
START_TEST(test_warm_cool_light_deep)
{
    static const struct {
        const char *skin, *hair, *undertone, *value, *family;
    } cases[] = {
        {"f1c27d", "1a1410", "warm", "light", "spring"},
        {"ffdbac", "2a1a10", "warm", "light", "spring"},
        {"eec1c1", "1a1410", "cool", "light", "summer"},
        {"e8b8b8", "2a2a2a", "cool", "light", "summer"},
        {"8d5524", "0c0a08", "warm", "deep", "autumn"},
        {"5c3836", "0c0a0c", "cool", "deep", "winter"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sy_image img = portrait(cases[i].skin, cases[i].hair, 7);
        sy_chromatic c = analyse(&img);
        ck_assert_msg(strcmp(c.undertone, cases[i].undertone) == 0 &&
                          strcmp(c.value, cases[i].value) == 0 &&
                          season_in(c.season, cases[i].family),
                      "skin #%s: %s %s %s (hue %.1f, L %.1f, C %.1f)",
                      cases[i].skin, c.undertone, c.value, c.season,
                      c.skin_hue, c.skin_L, c.skin_chroma);
        /* the skin measured is the skin drawn (within the lighting
         * gradient and noise) */
        unsigned char s[3];
        imggen_parse_colour(cases[i].skin, s);
        double lab[3], got[3] = {c.skin_L, c.skin_a, c.skin_b};
        sy_colour_srgb_to_lab(s[0], s[1], s[2], lab);
        ck_assert_msg(sy_colour_ciede2000(lab, got) < 4.0,
                      "skin #%s measured as %s", cases[i].skin, c.skin_hex);
        /* the season's lists come with it */
        const char *const *pal, *const *avoid;
        ck_assert_int_eq(sy_chromatic_season_colours(c.season, &pal, &avoid),
                         0);
        for (int k = 0; k < SY_CHROMATIC_PALETTE; k++)
            ck_assert_str_eq(c.palette[k], pal[k]);
        for (int k = 0; k < SY_CHROMATIC_AVOID; k++)
            ck_assert_str_eq(c.avoid[k], avoid[k]);
    }
}
END_TEST

/* Medium skin: the season follows its strongest trait, not its depth. */
START_TEST(test_medium_skins)
{
    /* warm, vivid, dark hair: warmth dominates -> true (spring: lighter
     * and clearer than deep) */
    sy_image img = portrait("c68642", "1a1410", 9);
    sy_chromatic c = analyse(&img);
    ck_assert_str_eq(c.value, "medium");
    ck_assert_str_eq(c.undertone, "warm");
    ck_assert_msg(strcmp(c.season, "true spring") == 0, "%s", c.season);
    /* muted skin, grey hair of about its lightness: softness dominates */
    img = portrait("a08478", "787878", 9);
    c = analyse(&img);
    ck_assert_str_eq(c.value, "medium");
    ck_assert_str_eq(c.contrast, "low");
    ck_assert_str_eq(c.chroma, "low");
    ck_assert_msg(strcmp(c.season, "soft autumn") == 0,
                  "%s (hue %.1f L %.1f C %.1f dark %.1f)", c.season,
                  c.skin_hue, c.skin_L, c.skin_chroma, c.dark_L);
}
END_TEST

/* Dark hair on light skin is high contrast; hair of about the skin's
 * lightness is low. */
START_TEST(test_contrast)
{
    sy_image img = portrait("f3d2b3", "101010", 3);
    sy_chromatic hi = analyse(&img);
    ck_assert_str_eq(hi.contrast, "high");
    ck_assert(hi.dark_L < 15);
    img = portrait("f3d2b3", "d8d0c8", 3);
    sy_chromatic lo = analyse(&img);
    ck_assert_msg(strcmp(lo.contrast, "high") != 0,
                  "light hair: contrast %s (skin L %.1f, dark L %.1f)",
                  lo.contrast, lo.skin_L, lo.dark_L);
    ck_assert(lo.skin_L - lo.dark_L < hi.skin_L - hi.dark_L);
}
END_TEST

/* Same pixels, same answer, bit for bit; other noise, same verdict. */
START_TEST(test_deterministic)
{
    sy_image img = portrait("e0ac69", "2a1a10", 11);
    sy_chromatic a = analyse(&img), b = analyse(&img);
    ck_assert(memcmp(&a, &b, sizeof(a)) == 0);
    sy_image other = portrait("e0ac69", "2a1a10", 12345);
    sy_chromatic c = analyse(&other);
    ck_assert_str_eq(a.season, c.season);
    ck_assert_str_eq(a.undertone, c.undertone);
    ck_assert(fabs(a.skin_L - c.skin_L) < 1.0);
}
END_TEST

/* Through JPEG and the uploads' decode, as a photo arrives: a large
 * image shrunk to SY_CHROMATIC_SIDE reads the same. */
START_TEST(test_through_jpeg)
{
    unsigned char s[3], h[3];
    imggen_parse_colour("8d5524", s);
    imggen_parse_colour("0c0a08", h);
    uint32_t w = 1024, ht = 1024;
    unsigned char *rgb = sy_arena_alloc(&A, (size_t)w * ht * 3);
    ck_assert_ptr_nonnull(rgb);
    imggen_portrait(rgb, w, ht, s, h, BG, 6, 5);
    unsigned char *jpeg = NULL;
    size_t n = 0;
    ck_assert_int_eq(imggen_jpeg(rgb, w, ht, 85, false, &jpeg, &n), 0);
    ck_assert_int_eq(sy_arena_defer(&A, free, jpeg), 0);
    static const sy_image_limits lim = {.max_pixels = 1 << 24,
                                        .max_side = 4096};
    sy_image img;
    ck_assert_int_eq(sy_image_decode(&A, (sy_str){(const char *)jpeg, n},
                                     &lim, SY_CHROMATIC_SIDE, &img, NULL),
                     0);
    ck_assert_uint_eq(img.width, SY_CHROMATIC_SIDE);
    sy_chromatic c = analyse(&img);
    ck_assert_str_eq(c.undertone, "warm");
    ck_assert_str_eq(c.value, "deep");
    ck_assert(season_in(c.season, "autumn"));
    ck_assert_int_ge(c.nclusters, 2);
    for (int i = 1; i < c.nclusters; i++)
        ck_assert(c.clusters[i - 1].L <= c.clusters[i].L);
}
END_TEST

START_TEST(test_no_skin_is_refused)
{
    uint32_t w = 64, h = 64;
    unsigned char *rgb = sy_arena_alloc(&A, (size_t)w * h * 3);
    ck_assert_ptr_nonnull(rgb);
    static const unsigned char blue[3] = {30, 60, 200};
    imggen_fill(rgb, w, h, blue);
    sy_image img = {.width = w, .height = h, .rgb = rgb};
    sy_chromatic c = {.season = "untouched"};
    const char *why = NULL;
    ck_assert_int_eq(sy_chromatic_analyse(&A, &img, &c, &why),
                     SY_EVALIDATION);
    ck_assert_ptr_nonnull(why);
    ck_assert_str_eq(c.season, "untouched");
    sy_image empty = {.width = 0, .height = 0, .rgb = NULL};
    ck_assert_int_eq(sy_chromatic_analyse(&A, &empty, &c, NULL), SY_EINVAL);
}
END_TEST

START_TEST(test_season_table)
{
    int n = 0;
    const char *const *names = sy_chromatic_seasons(&n);
    ck_assert_int_eq(n, 12);
    for (int i = 0; i < n; i++) {
        const char *const *pal, *const *avoid;
        ck_assert_int_eq(sy_chromatic_season_colours(names[i], &pal, &avoid),
                         0);
        for (int k = 0; k < SY_CHROMATIC_PALETTE; k++) {
            unsigned char c[3];
            ck_assert_int_eq(sy_colour_hex_parse(pal[k], strlen(pal[k]), c),
                             0);
        }
    }
    const char *const *pal, *const *avoid;
    ck_assert_int_eq(sy_chromatic_season_colours("monsoon", &pal, &avoid),
                     SY_ENOTFOUND);
}
END_TEST

START_TEST(test_out_of_memory)
{
    sy_image img = portrait("f1c27d", "1a1410", 7);
    sy_chromatic c;
    for (long n = 1; n <= 5; n++) {
        sy_arena_fail_after(n);
        int rc = sy_chromatic_analyse(&A, &img, &c, NULL);
        sy_arena_fail_after(0);
        ck_assert_int_eq(rc, SY_ENOMEM);
    }
}
END_TEST

int
main(void)
{
    const TTest *const tests[] = {
        test_warm_cool_light_deep, test_medium_skins, test_contrast, test_deterministic,
        test_through_jpeg, test_no_skin_is_refused, test_season_table,
        test_out_of_memory, NULL};
    return sy_check_suite("chromatic", setup, teardown, tests);
}
