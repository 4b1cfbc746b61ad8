/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * imggen.h - images for the tests, written with the same libraries the
 * decoder reads (libjpeg-turbo, libpng, libwebp): synthetic portraits of
 * known skin, hair and background colours, and encoders to memory.
 *
 * Linked into the unit tests of images and colour analysis, the
 * tests/tools/syimg command (integration tests) and the colour-analysis
 * benchmark.  Encoders return 0 and a malloc'd buffer (free() it), or -1.
 */
#ifndef SYNTHIA_TESTS_IMGGEN_H
#define SYNTHIA_TESTS_IMGGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A portrait of w x h RGB pixels: background bg; a head of hair (the
 * upper part of an ellipse behind the face); an oval face of skin,
 * lit from above (a few per cent lighter at the top) with
 * deterministic noise of +-noise per channel from seed; two eyes of the
 * hair colour with white around them; lips a little redder than the
 * skin. */
void imggen_portrait(unsigned char *rgb, uint32_t w, uint32_t h,
                     const unsigned char skin[3], const unsigned char hair[3],
                     const unsigned char bg[3], int noise, uint32_t seed);

/* Every pixel c. */
void imggen_fill(unsigned char *rgb, uint32_t w, uint32_t h,
                 const unsigned char c[3]);

/* Encoders.  channels 3 (RGB) or 4 (RGBA: PNG and WebP only). */
int imggen_jpeg(const unsigned char *rgb, uint32_t w, uint32_t h,
                int quality, bool progressive, unsigned char **out,
                size_t *len);
int imggen_png(const unsigned char *px, uint32_t w, uint32_t h, int channels,
               bool interlace, unsigned char **out, size_t *len);
/* quality < 0: lossless */
int imggen_webp(const unsigned char *px, uint32_t w, uint32_t h,
                int channels, int quality, unsigned char **out, size_t *len);

/* "#rrggbb" or "rrggbb" into c: 0 or -1. */
int imggen_parse_colour(const char *s, unsigned char c[3]);

#endif
