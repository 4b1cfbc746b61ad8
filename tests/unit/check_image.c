/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_image.c - JPEG, PNG and WebP (image.h): the type by magic bytes,
 * the header's dimensions, the bomb limits checked before decoding, and
 * decoding at full and shrunk size, on images the tests encode
 * (tests/tools/imggen.h).
 */
#include "../tools/imggen.h"
#include "sycheck.h"
#include "synthia/error.h"
#include "synthia/image.h"

SY_CHECK_FIXTURE(1 << 20)

static const sy_image_limits LIM = {.max_pixels = 4000000,
                                    .max_side = 4096};

enum fmt { JPEG, JPEG_PROG, PNG, PNG_ADAM7, WEBP, WEBP_LOSSLESS, NFMT };

/* rgb (w x h) encoded as f; the buffer is freed with the arena. */
static sy_str
encode(enum fmt f, const unsigned char *rgb, uint32_t w, uint32_t h)
{
    unsigned char *p = NULL;
    size_t n = 0;
    int rc = -1;
    switch (f) {
    case JPEG:
    case JPEG_PROG:
        rc = imggen_jpeg(rgb, w, h, 95, f == JPEG_PROG, &p, &n);
        break;
    case PNG:
    case PNG_ADAM7:
        rc = imggen_png(rgb, w, h, 3, f == PNG_ADAM7, &p, &n);
        break;
    default:
        rc = imggen_webp(rgb, w, h, 3, f == WEBP ? 95 : -1, &p, &n);
        break;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(sy_arena_defer(&A, free, p), 0);
    return (sy_str){(const char *)p, n};
}

static unsigned char *
solid(uint32_t w, uint32_t h, const unsigned char c[3])
{
    unsigned char *rgb = sy_arena_alloc(&A, (size_t)w * h * 3);
    ck_assert_ptr_nonnull(rgb);
    imggen_fill(rgb, w, h, c);
    return rgb;
}

static const int want_type[NFMT] = {SY_IMAGE_JPEG, SY_IMAGE_JPEG,
                                    SY_IMAGE_PNG,  SY_IMAGE_PNG,
                                    SY_IMAGE_WEBP, SY_IMAGE_WEBP};

START_TEST(test_sniff_by_magic_bytes)
{
#define S(lit) ((sy_str){(lit), sizeof(lit) - 1})
    ck_assert_int_eq(sy_image_sniff(S("\xff\xd8\xff\xe0")), SY_IMAGE_JPEG);
    ck_assert_int_eq(sy_image_sniff(S("\x89PNG\r\n\x1a\n....")),
                     SY_IMAGE_PNG);
    ck_assert_int_eq(sy_image_sniff(S("RIFF\0\0\0\0WEBPVP8 ")),
                     SY_IMAGE_WEBP);
    ck_assert_int_eq(sy_image_sniff(S("RIFF\0\0\0\0WAVEfmt ")),
                     SY_IMAGE_NONE);
    ck_assert_int_eq(sy_image_sniff(S("\xff\xd8")), SY_IMAGE_NONE);
    ck_assert_int_eq(sy_image_sniff(S("GIF89a")), SY_IMAGE_NONE);
    ck_assert_int_eq(sy_image_sniff(S("<svg xmlns=")), SY_IMAGE_NONE);
    ck_assert_int_eq(sy_image_sniff(SY_STR_NULL), SY_IMAGE_NONE);
    ck_assert_str_eq(sy_image_mime(SY_IMAGE_WEBP), "image/webp");
    ck_assert_ptr_null(sy_image_mime(SY_IMAGE_NONE));
    sy_image_info info = {.type = 99};
    ck_assert_int_eq(sy_image_probe(S("GIF89a\x01\0\x01\0"), &info),
                     SY_EMEDIA);
    ck_assert_int_eq(info.type, 99); /* untouched */
#undef S
}
END_TEST

START_TEST(test_probe_reads_every_format)
{
    static const unsigned char c[3] = {200, 150, 120};
    unsigned char *rgb = solid(123, 45, c);
    for (int f = 0; f < NFMT; f++) {
        sy_image_info info;
        sy_str b = encode((enum fmt)f, rgb, 123, 45);
        ck_assert_int_eq(sy_image_probe(b, &info), 0);
        ck_assert_int_eq(info.type, want_type[f]);
        ck_assert_uint_eq(info.width, 123);
        ck_assert_uint_eq(info.height, 45);
        /* cut inside the header: refused as corrupt, not as another type */
        sy_str cut = {b.p, f <= JPEG_PROG ? 20 : 16};
        ck_assert_int_eq(sy_image_probe(cut, &info), SY_EVALIDATION);
    }
}
END_TEST

/* Full-size decodes give back the colour (exactly for the lossless
 * ones). */
START_TEST(test_decode_full_size)
{
    static const unsigned char c[3] = {201, 148, 117};
    unsigned char *rgb = solid(64, 48, c);
    for (int f = 0; f < NFMT; f++) {
        sy_image img;
        const char *why = NULL;
        sy_str b = encode((enum fmt)f, rgb, 64, 48);
        ck_assert_int_eq(sy_image_decode(&A, b, &LIM, 0, &img, &why), 0);
        ck_assert_int_eq(img.type, want_type[f]);
        ck_assert_uint_eq(img.width, 64);
        ck_assert_uint_eq(img.height, 48);
        ck_assert_uint_eq(img.src_width, 64);
        int tol = (f == PNG || f == PNG_ADAM7 || f == WEBP_LOSSLESS) ? 0 : 6;
        for (size_t i = 0; i < 64 * 48; i++)
            for (int k = 0; k < 3; k++)
                ck_assert_msg(abs(img.rgb[i * 3 + k] - c[k]) <= tol,
                              "format %d pixel %zu: %d vs %d", f, i,
                              img.rgb[i * 3 + k], c[k]);
    }
}
END_TEST

/* A shrinking decode keeps the aspect ratio and the picture: left half
 * red, right half blue. */
START_TEST(test_decode_shrinks)
{
    uint32_t w = 1000, h = 500;
    unsigned char *rgb = sy_arena_alloc(&A, (size_t)w * h * 3);
    ck_assert_ptr_nonnull(rgb);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            unsigned char *p = rgb + ((size_t)y * w + x) * 3;
            p[0] = x < w / 2 ? 220 : 20;
            p[1] = 30;
            p[2] = x < w / 2 ? 20 : 220;
        }
    for (int f = 0; f < NFMT; f++) {
        sy_image img;
        sy_str b = encode((enum fmt)f, rgb, w, h);
        ck_assert_int_eq(sy_image_decode(&A, b, &LIM, 256, &img, NULL), 0);
        ck_assert_uint_eq(img.width, 256);
        ck_assert_uint_eq(img.height, 128);
        ck_assert_uint_eq(img.src_width, 1000);
        ck_assert_uint_eq(img.src_height, 500);
        const unsigned char *l = img.rgb + (64 * 256 + 10) * 3;
        const unsigned char *r = img.rgb + (64 * 256 + 245) * 3;
        ck_assert_msg(l[0] > 180 && l[2] < 60, "format %d left %d,%d", f,
                      l[0], l[2]);
        ck_assert_msg(r[2] > 180 && r[0] < 60, "format %d right %d,%d", f,
                      r[0], r[2]);
    }
    /* never enlarged */
    sy_image img;
    static const unsigned char c[3] = {1, 2, 3};
    sy_str b = encode(PNG, solid(10, 20, c), 10, 20);
    ck_assert_int_eq(sy_image_decode(&A, b, &LIM, 256, &img, NULL), 0);
    ck_assert_uint_eq(img.width, 10);
    ck_assert_uint_eq(img.height, 20);
}
END_TEST

START_TEST(test_alpha_over_white)
{
    unsigned char px[4 * 4 * 4];
    for (int i = 0; i < 16; i++) {
        px[i * 4] = 0, px[i * 4 + 1] = 0, px[i * 4 + 2] = 0;
        px[i * 4 + 3] = i < 8 ? 0 : 255; /* top half transparent */
    }
    unsigned char *p = NULL;
    size_t n = 0;
    ck_assert_int_eq(imggen_png(px, 4, 4, 4, false, &p, &n), 0);
    ck_assert_int_eq(sy_arena_defer(&A, free, p), 0);
    sy_image img;
    ck_assert_int_eq(sy_image_decode(&A, (sy_str){(const char *)p, n}, &LIM,
                                     0, &img, NULL),
                     0);
    ck_assert_uint_eq(img.rgb[0], 255);
    ck_assert_uint_eq(img.rgb[15 * 3], 0);
}
END_TEST

/* A PNG of a few dozen bytes claiming 100000 x 100000: refused from the
 * header, before any decoder runs. */
START_TEST(test_bomb_refused_from_header)
{
    static const unsigned char png[] = {
        0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13,
        'I', 'H', 'D', 'R', 0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0,
        8, 2, 0, 0, 0, 0, 0, 0, 0};
    sy_str b = {(const char *)png, sizeof(png)};
    sy_image_info info;
    ck_assert_int_eq(sy_image_probe(b, &info), 0);
    ck_assert_uint_eq(info.width, 100000);
    ck_assert_int_eq(sy_image_fits(&info, &LIM), SY_ETOOBIG);
    sy_image img = {.width = 7};
    const char *why = NULL;
    size_t used = sy_arena_used(&A);
    ck_assert_int_eq(sy_image_decode(&A, b, &LIM, 256, &img, &why),
                     SY_ETOOBIG);
    ck_assert_uint_eq(sy_arena_used(&A), used); /* nothing decoded */
    ck_assert_uint_eq(img.width, 7);
    ck_assert_ptr_nonnull(why);
    /* pixels within the side limit but over max_pixels, and the
     * reverse */
    sy_image_info wide = {.type = SY_IMAGE_JPEG, .width = 4096,
                          .height = 900};
    ck_assert_int_eq(sy_image_fits(&wide, &LIM), 0);
    wide.height = 1000, wide.width = 4097;
    ck_assert_int_eq(sy_image_fits(&wide, &LIM), SY_ETOOBIG);
    sy_image_info big = {.type = SY_IMAGE_JPEG, .width = 2001,
                         .height = 2000};
    ck_assert_int_eq(sy_image_fits(&big, &LIM), SY_ETOOBIG);
}
END_TEST

/* Damaged pixel data: an error, never a half-grey picture. */
START_TEST(test_truncated_and_corrupt)
{
    static const unsigned char c[3] = {90, 120, 200};
    uint32_t w = 200, h = 200;
    unsigned char *rgb = sy_arena_alloc(&A, (size_t)w * h * 3);
    ck_assert_ptr_nonnull(rgb);
    static const unsigned char hair[3] = {40, 30, 20}, bg[3] = {230, 230, 230};
    imggen_portrait(rgb, w, h, c, hair, bg, 6, 7);
    for (int f = 0; f < NFMT; f++) {
        sy_str b = encode((enum fmt)f, rgb, w, h);
        sy_image img;
        const char *why = NULL;
        sy_str cut = {b.p, b.len * 2 / 3};
        ck_assert_msg(sy_image_decode(&A, cut, &LIM, 0, &img, &why) ==
                          SY_EVALIDATION,
                      "format %d: a cut image decoded", f);
        ck_assert_ptr_nonnull(why);
    }
    /* a JPEG whose marker chain is broken before the frame header */
    static const char bad[] = "\xff\xd8\xff\xe0\x00\x10JFIF\0\x01\x01\0\0"
                              "\x01\0\x01\0\0XX";
    sy_image_info info;
    ck_assert_int_eq(sy_image_probe((sy_str){bad, sizeof(bad) - 1}, &info),
                     SY_EVALIDATION);
}
END_TEST

START_TEST(test_out_of_memory)
{
    static const unsigned char c[3] = {10, 200, 30};
    sy_str b = encode(PNG, solid(300, 300, c), 300, 300);
    sy_image img;
    for (long n = 1; n <= 3; n++) {
        sy_arena_fail_after(n);
        int rc = sy_image_decode(&A, b, &LIM, 100, &img, NULL);
        sy_arena_fail_after(0);
        ck_assert_int_eq(rc, SY_ENOMEM);
    }
}
END_TEST

int
main(void)
{
    const TTest *const tests[] = {
        test_sniff_by_magic_bytes, test_probe_reads_every_format,
        test_decode_full_size, test_decode_shrinks, test_alpha_over_white,
        test_bomb_refused_from_header, test_truncated_and_corrupt,
        test_out_of_memory, NULL};
    return sy_check_suite("image", setup, teardown, tests);
}
