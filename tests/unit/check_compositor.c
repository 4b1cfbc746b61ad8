/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_compositor.c - the local try-on compositor (compositor.h) and
 * the image operations under it (imageops.h: resampling, JPEG encoding),
 * on pictures the tests draw: a person (a portrait's face over a grey
 * body on a grey-blue wall) and a red shirt on white.  The result must
 * differ from the person in the torso box and not outside it (but for
 * the mark), carry the PREVIEW mark, be the same bytes every time, and
 * bad inputs must be refused with their own code and a sentence.
 */
#include <stdlib.h>

#include "../tools/imggen.h"
#include "sycheck.h"
#include "synthia/compositor.h"
#include "synthia/demo.h"
#include "synthia/error.h"
#include "synthia/imageops.h"

SY_CHECK_FIXTURE(4 << 20)

#define PW 480
#define PH 640

static const unsigned char WALL[3] = {200, 208, 216};
static const unsigned char BODY[3] = {120, 120, 120};
static const unsigned char RED[3] = {200, 30, 40};
static const unsigned char WHITE[3] = {255, 255, 255};

/* malloc'd encoder output, freed with the arena */
static sy_str
keep(unsigned char *p, size_t n)
{
    ck_assert_int_eq(sy_arena_defer(&A, free, p), 0);
    return (sy_str){(const char *)p, n};
}

static void
rect(unsigned char *rgb, uint32_t w, uint32_t x0, uint32_t y0, uint32_t x1,
     uint32_t y1, const unsigned char c[3])
{
    for (uint32_t y = y0; y < y1; y++)
        for (uint32_t x = x0; x < x1; x++)
            memcpy(rgb + ((size_t)y * w + x) * 3, c, 3);
}

/* The person: a 240 x 240 portrait at the top centre (its face about
 * x 175..305, y 52..216), a grey body below the chin. */
static unsigned char *
person_rgb(void)
{
    unsigned char skin[3], hair[3];
    ck_assert_int_eq(imggen_parse_colour("e0ac69", skin), 0);
    ck_assert_int_eq(imggen_parse_colour("2a1a10", hair), 0);
    unsigned char *rgb = sy_arena_alloc(&A, (size_t)PW * PH * 3);
    unsigned char *face = sy_arena_alloc(&A, (size_t)240 * 240 * 3);
    ck_assert_ptr_nonnull(rgb);
    ck_assert_ptr_nonnull(face);
    imggen_fill(rgb, PW, PH, WALL);
    rect(rgb, PW, 130, 225, 350, PH, BODY);
    imggen_portrait(face, 240, 240, skin, hair, WALL, 4, 11);
    for (uint32_t y = 0; y < 240; y++)
        memcpy(rgb + ((size_t)y * PW + 120) * 3, face + (size_t)y * 240 * 3,
               240 * 3);
    return rgb;
}

static sy_ai_image
person_jpeg(void)
{
    unsigned char *out;
    size_t n;
    ck_assert_int_eq(imggen_jpeg(person_rgb(), PW, PH, 95, false, &out, &n), 0);
    sy_str s = keep(out, n);
    return (sy_ai_image){s.p, s.len, "image/jpeg"};
}

/* A red shirt (body and sleeves) on white, as a PNG. */
static sy_ai_image
shirt_png(const unsigned char bg[3])
{
    uint32_t w = 200, h = 240;
    unsigned char *rgb = sy_arena_alloc(&A, (size_t)w * h * 3), *out;
    size_t n;
    ck_assert_ptr_nonnull(rgb);
    imggen_fill(rgb, w, h, bg);
    rect(rgb, w, 50, 30, 150, 220, RED); /* body */
    rect(rgb, w, 20, 30, 180, 90, RED);  /* sleeves */
    rect(rgb, w, 85, 30, 115, 45, bg);   /* the neck */
    ck_assert_int_eq(imggen_png(rgb, w, h, 3, false, &out, &n), 0);
    sy_str s = keep(out, n);
    return (sy_ai_image){s.p, s.len, "image/png"};
}

static sy_image
decoded(sy_ai_image img)
{
    sy_image out;
    sy_image_limits lim = {.max_pixels = 1 << 24, .max_side = 8192};
    ck_assert_int_eq(
        sy_image_decode(&A, (sy_str){img.data, img.len}, &lim, 0, &out, NULL),
        0);
    return out;
}

static bool
inside(const sy_tryon_box *b, uint32_t x, uint32_t y, uint32_t margin)
{
    return x + margin >= b->x0 && x < b->x1 + margin && y + margin >= b->y0 &&
           y < b->y1 + margin;
}

/* ------------------------------------------------------------ imageops */

START_TEST(test_resize_shrinks_by_area_and_grows_bilinearly)
{
    unsigned char px[4 * 4 * 3];
    for (int i = 0; i < 16; i++) {
        unsigned char v = (i % 4) < 2 ? 0 : 200; /* left half 0, right 200 */
        px[i * 3] = px[i * 3 + 1] = px[i * 3 + 2] = v;
    }
    sy_image src = {.width = 4, .height = 4, .rgb = px}, out;
    ck_assert_int_eq(sy_image_resize(&A, &src, 2, 2, &out), 0);
    ck_assert_uint_eq(out.width, 2);
    ck_assert_int_eq(out.rgb[0], 0);
    ck_assert_int_eq(out.rgb[3], 200);
    ck_assert_int_eq(sy_image_resize(&A, &src, 1, 1, &out), 0);
    ck_assert_int_eq(out.rgb[0], 100);
    /* growing: a gradient between the two halves, ends kept */
    ck_assert_int_eq(sy_image_resize(&A, &src, 16, 4, &out), 0);
    ck_assert_int_eq(out.rgb[0], 0);
    ck_assert_int_eq(out.rgb[15 * 3], 200);
    bool between = false;
    for (int x = 0; x < 16; x++)
        between |= out.rgb[x * 3] > 0 && out.rgb[x * 3] < 200;
    ck_assert(between);
    ck_assert_int_eq(sy_image_resize(&A, &src, 0, 2, &out), SY_EINVAL);
    ck_assert_int_eq(sy_image_resize(&A, &src, 2, 20000, &out), SY_EINVAL);
    uint32_t w, h;
    sy_image_fit(2000, 1000, 256, &w, &h);
    ck_assert_uint_eq(w, 256);
    ck_assert_uint_eq(h, 128);
    sy_image_fit(100, 50, 256, &w, &h); /* never enlarged */
    ck_assert_uint_eq(w, 100);
    ck_assert_uint_eq(h, 50);
}
END_TEST

START_TEST(test_jpeg_encode_round_trip)
{
    uint32_t w = 97, h = 61;
    unsigned char *rgb = sy_arena_alloc(&A, (size_t)w * h * 3);
    imggen_fill(rgb, w, h, RED);
    sy_image img = {.width = w, .height = h, .rgb = rgb}, back;
    sy_str jpeg;
    ck_assert_int_eq(sy_image_encode_jpeg(&A, &img, 85, &jpeg), 0);
    ck_assert_int_eq(sy_image_sniff(jpeg), SY_IMAGE_JPEG);
    back = decoded((sy_ai_image){jpeg.p, jpeg.len, "image/jpeg"});
    ck_assert_uint_eq(back.width, w);
    ck_assert_uint_eq(back.height, h);
    const unsigned char *mid = back.rgb + ((size_t)30 * w + 48) * 3;
    for (int c = 0; c < 3; c++)
        ck_assert_int_le(abs(mid[c] - RED[c]), 6);
    ck_assert_int_eq(sy_image_encode_jpeg(&A, &img, 0, &jpeg), SY_EINVAL);
    img.width = 0;
    ck_assert_int_eq(sy_image_encode_jpeg(&A, &img, 85, &jpeg), SY_EINVAL);
}
END_TEST

/* ---------------------------------------------------------- compositor */

START_TEST(test_torso_below_the_face)
{
    sy_image p = {.width = PW, .height = PH, .rgb = person_rgb()};
    sy_tryon_box b;
    bool face = false;
    ck_assert_int_eq(sy_tryon_torso(&A, &p, &b, &face), 0);
    ck_assert(face);
    /* the chin is near y 216: the torso starts below it */
    ck_assert_uint_ge(b.y0, 215);
    ck_assert_uint_le(b.y0, 260);
    ck_assert_uint_gt(b.y1, 500);
    /* centred under the face (x 240), wider than it, not the whole width */
    ck_assert_uint_lt(b.x0, 175);
    ck_assert_uint_gt(b.x1, 305);
    ck_assert_uint_gt(b.x0, 20);
    ck_assert_uint_lt(b.x1, PW - 20);
    ck_assert_uint_le(abs((int)(b.x0 + b.x1) / 2 - 240), 8);

    /* no face: the middle of the picture */
    imggen_fill(p.rgb, PW, PH, WALL);
    ck_assert_int_eq(sy_tryon_torso(&A, &p, &b, &face), 0);
    ck_assert(!face);
    ck_assert_uint_eq(b.x0, PW / 4);
    ck_assert_uint_eq(b.x1, PW - PW / 4);
    ck_assert_uint_eq(b.y0, PH * 30 / 100);
    ck_assert_uint_eq(b.y1, PH * 85 / 100);
}
END_TEST

START_TEST(test_shirt_over_the_torso_and_nowhere_else)
{
    sy_ai_image person = person_jpeg(), shirt = shirt_png(WHITE), out;
    const char *why = NULL;
    int rc = sy_tryon_composite_why(&A, &person, &shirt, 1, &out, &why);
    ck_assert_msg(rc == 0, "composite: %d %s", rc, why ? why : "");
    ck_assert_str_eq(out.content_type, "image/jpeg");
    sy_image in = decoded(person), res = decoded(out);
    ck_assert_uint_eq(res.width, SY_COMPOSITOR_SIDE * PW / PH);
    ck_assert_uint_eq(res.height, SY_COMPOSITOR_SIDE);
    /* compare at the result's size */
    sy_image in_s;
    ck_assert_int_eq(sy_image_resize(&A, &in, res.width, res.height, &in_s), 0);
    sy_tryon_box torso, mark;
    ck_assert_int_eq(sy_tryon_torso(&A, &in_s, &torso, NULL), 0);
    sy_tryon_mark_box(res.width, res.height, &mark);
    uint64_t in_diff = 0, in_n = 0, out_diff = 0, out_n = 0, red = 0;
    for (uint32_t y = 0; y < res.height; y++)
        for (uint32_t x = 0; x < res.width; x++) {
            const unsigned char *a = in_s.rgb + ((size_t)y * res.width + x) * 3,
                                *b = res.rgb + ((size_t)y * res.width + x) * 3;
            unsigned d = (unsigned)(abs(a[0] - b[0]) + abs(a[1] - b[1]) +
                                    abs(a[2] - b[2]));
            if (inside(&torso, x, y, 0)) {
                in_diff += d;
                in_n++;
                red += b[0] > 150 && b[1] < 90 && b[2] < 100;
            } else if (!inside(&torso, x, y, 6) && !inside(&mark, x, y, 6)) {
                out_diff += d;
                out_n++;
            }
        }
    /* the shirt covers a good part of the torso box, in red */
    ck_assert_msg(red * 3 > in_n, "red %llu of %llu", (unsigned long long)red,
                  (unsigned long long)in_n);
    ck_assert_msg(in_diff / in_n > 60, "torso diff %llu",
                  (unsigned long long)(in_diff / in_n));
    ck_assert_msg(out_diff / out_n < 8, "outside diff %llu",
                  (unsigned long long)(out_diff / out_n));
    /* the white background of the shirt picture was keyed out: the
     * torso box's top corners still show the wall */
    const unsigned char *corner =
        res.rgb + ((size_t)(torso.y0 + 4) * res.width + torso.x0 + 4) * 3;
    ck_assert_int_le(abs(corner[0] - WALL[0]), 20);
    ck_assert_int_le(abs(corner[2] - WALL[2]), 20);
}
END_TEST

START_TEST(test_preview_mark)
{
    sy_ai_image person = person_jpeg(), shirt = shirt_png(WHITE), out;
    ck_assert_int_eq(sy_tryon_composite(&A, &person, &shirt, 1, &out), 0);
    sy_image res = decoded(out);
    sy_tryon_box mark;
    sy_tryon_mark_box(res.width, res.height, &mark);
    ck_assert_uint_lt(mark.x0, mark.x1);
    ck_assert_uint_le(mark.x1, res.width);
    /* the wall is (200, 208, 216) there: the band darkens it and the
     * letters are white */
    uint64_t white = 0, dark = 0, n = 0;
    for (uint32_t y = mark.y0; y < mark.y1; y++)
        for (uint32_t x = mark.x0; x < mark.x1; x++) {
            const unsigned char *p = res.rgb + ((size_t)y * res.width + x) * 3;
            white += p[0] > 220 && p[1] > 220 && p[2] > 220;
            dark += p[0] < 110 && p[1] < 110 && p[2] < 110;
            n++;
        }
    ck_assert_msg(white * 8 > n && dark * 3 > n, "white %llu dark %llu of %llu",
                  (unsigned long long)white, (unsigned long long)dark,
                  (unsigned long long)n);
    /* the mark is made of 7 letters: count the runs of letter columns */
    int runs = 0;
    bool in_run = false;
    for (uint32_t x = mark.x0; x < mark.x1; x++) {
        bool any = false;
        for (uint32_t y = mark.y0; y < mark.y1; y++) {
            const unsigned char *p = res.rgb + ((size_t)y * res.width + x) * 3;
            any |= p[0] > 200 && p[1] > 200 && p[2] > 200;
        }
        runs += any && !in_run;
        in_run = any;
    }
    ck_assert_int_eq(runs, 7);
}
END_TEST

START_TEST(test_deterministic)
{
    sy_ai_image person = person_jpeg(),
                shirt[2] = {shirt_png(WHITE), shirt_png(BODY)};
    sy_ai_image a, b;
    ck_assert_int_eq(sy_tryon_composite(&A, &person, shirt, 2, &a), 0);
    ck_assert_int_eq(sy_tryon_composite(&A, &person, shirt, 2, &b), 0);
    ck_assert_uint_eq(a.len, b.len);
    ck_assert_int_eq(memcmp(a.data, b.data, a.len), 0);
}
END_TEST

START_TEST(test_no_face_still_composes)
{
    unsigned char *rgb = sy_arena_alloc(&A, (size_t)200 * 300 * 3), *jp;
    size_t n;
    imggen_fill(rgb, 200, 300, WALL);
    ck_assert_int_eq(imggen_jpeg(rgb, 200, 300, 90, false, &jp, &n), 0);
    sy_str s = keep(jp, n);
    sy_ai_image person = {s.p, s.len, "image/jpeg"}, shirt = shirt_png(WHITE),
                out;
    ck_assert_int_eq(sy_tryon_composite(&A, &person, &shirt, 1, &out), 0);
    sy_image res = decoded(out);
    const unsigned char *mid = res.rgb + ((size_t)150 * 200 + 100) * 3;
    ck_assert_int_gt(mid[0], 150); /* red in the middle */
    ck_assert_int_lt(mid[1], 90);
}
END_TEST

/* seed-demo's ivory shirt (product 40: white on white but for its
 * outline) still shows over the torso: the outline stops the keying. */
START_TEST(test_demo_ivory_shirt)
{
    sy_image g;
    sy_str jpeg;
    ck_assert_int_eq(sy_demo_garment_image(&A, 40, &g), 0);
    ck_assert_int_eq(g.rgb[((size_t)200 * g.width + 160) * 3 + 2], 0xf0);
    ck_assert_int_eq(sy_image_encode_jpeg(&A, &g, 90, &jpeg), 0);
    sy_ai_image person = person_jpeg(), shirt = {jpeg.p, jpeg.len,
                                                 "image/jpeg"},
                out;
    ck_assert_int_eq(sy_tryon_composite(&A, &person, &shirt, 1, &out), 0);
    sy_image res = decoded(out), in = decoded(person);
    sy_tryon_box b;
    ck_assert_int_eq(sy_tryon_torso(&A, &in, &b, NULL), 0);
    /* the middle of the torso box was the grey body; now ivory */
    const unsigned char *mid =
        res.rgb + ((size_t)((b.y0 + b.y1) / 2) * res.width +
                   (b.x0 + b.x1) / 2) * 3;
    ck_assert_int_gt(mid[0], 235);
    ck_assert_int_gt(mid[1], 235);
    ck_assert_int_gt(mid[2], 220);
}
END_TEST

START_TEST(test_bad_inputs_refused)
{
    sy_ai_image person = person_jpeg(), shirt = shirt_png(WHITE), out;
    const char *why;
    /* arguments */
    ck_assert_int_eq(sy_tryon_composite(&A, &person, &shirt, 0, &out),
                     SY_EINVAL);
    sy_ai_image five[5] = {shirt, shirt, shirt, shirt, shirt};
    ck_assert_int_eq(sy_tryon_composite(&A, &person, five, 5, &out), SY_EINVAL);
    ck_assert_int_eq(sy_tryon_composite(&A, NULL, &shirt, 1, &out), SY_EINVAL);
    sy_ai_image empty = {"", 0, "image/png"};
    ck_assert_int_eq(sy_tryon_composite(&A, &person, &empty, 1, &out),
                     SY_EINVAL);
    /* not an image */
    sy_ai_image text = {"GIF89a, or so", 13, "image/png"};
    why = NULL;
    ck_assert_int_eq(sy_tryon_composite_why(&A, &text, &shirt, 1, &out, &why),
                     SY_EMEDIA);
    ck_assert_ptr_nonnull(why);
    /* cut short */
    sy_ai_image cut = {person.data, person.len / 2, "image/jpeg"};
    why = NULL;
    ck_assert_int_eq(sy_tryon_composite_why(&A, &cut, &shirt, 1, &out, &why),
                     SY_EVALIDATION);
    ck_assert_ptr_nonnull(why);
    /* a bomb: a PNG header claiming 60000 x 60000 */
    unsigned char *bomb = sy_arena_alloc(&A, shirt.len);
    memcpy(bomb, shirt.data, shirt.len);
    static const unsigned char big[8] = {0, 0, 0xea, 0x60, 0, 0, 0xea, 0x60};
    memcpy(bomb + 16, big, 8);
    sy_ai_image b = {bomb, shirt.len, "image/png"};
    ck_assert_int_eq(sy_tryon_composite(&A, &person, &b, 1, &out), SY_ETOOBIG);
    /* a garment picture of nothing but its background */
    unsigned char *rgb = sy_arena_alloc(&A, (size_t)64 * 64 * 3), *png;
    size_t n;
    imggen_fill(rgb, 64, 64, WHITE);
    ck_assert_int_eq(imggen_png(rgb, 64, 64, 3, false, &png, &n), 0);
    sy_str s = keep(png, n);
    sy_ai_image blank = {s.p, s.len, "image/png"};
    why = NULL;
    ck_assert_int_eq(sy_tryon_composite_why(&A, &person, &blank, 1, &out, &why),
                     SY_EVALIDATION);
    ck_assert_str_eq(why,
                     "A garment picture shows nothing but its background.");
    /* a person photo too small */
    sy_ai_image tiny = blank;
    unsigned char *small;
    imggen_fill(rgb, 32, 32, WALL);
    ck_assert_int_eq(imggen_png(rgb, 32, 32, 3, false, &small, &n), 0);
    s = keep(small, n);
    tiny = (sy_ai_image){s.p, s.len, "image/png"};
    ck_assert_int_eq(sy_tryon_composite(&A, &tiny, &shirt, 1, &out),
                     SY_EVALIDATION);
}
END_TEST

START_TEST(test_out_of_memory)
{
    sy_ai_image person = person_jpeg(), shirt = shirt_png(WHITE), out;
    for (long n = 1; n <= 12; n++) {
        sy_arena_fail_after(n);
        int rc = sy_tryon_composite(&A, &person, &shirt, 1, &out);
        sy_arena_fail_after(0);
        ck_assert_int_eq(rc, SY_ENOMEM);
    }
}
END_TEST

int
main(void)
{
    const TTest *const tests[] = {
        test_resize_shrinks_by_area_and_grows_bilinearly,
        test_jpeg_encode_round_trip,
        test_torso_below_the_face,
        test_shirt_over_the_torso_and_nowhere_else,
        test_preview_mark,
        test_deterministic,
        test_no_face_still_composes,
        test_demo_ivory_shirt,
        test_bad_inputs_refused,
        test_out_of_memory,
        NULL};
    return sy_check_suite("compositor", setup, teardown, tests);
}
