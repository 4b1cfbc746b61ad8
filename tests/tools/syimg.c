/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * syimg - write a test image to standard output (integration tests,
 * benchmarks).
 *
 *   syimg FORMAT WIDTH HEIGHT solid RRGGBB
 *   syimg FORMAT WIDTH HEIGHT portrait SKIN HAIR BACKGROUND [SEED]
 *
 * FORMAT: jpeg, jpeg-progressive, png, png-interlaced, png-alpha (a
 * half-transparent RGBA PNG), webp, webp-lossless.  Colours are RRGGBB
 * hex.  A portrait is imggen_portrait's (tests/tools/imggen.h), with
 * noise of +-6 per channel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imggen.h"

static int
usage(void)
{
    fprintf(stderr, "usage: syimg FORMAT W H solid RRGGBB\n"
                    "       syimg FORMAT W H portrait SKIN HAIR BG [SEED]\n");
    return 2;
}

int
main(int argc, char **argv)
{
    if (argc < 6)
        return usage();
    const char *fmt = argv[1];
    long w = strtol(argv[2], NULL, 10), h = strtol(argv[3], NULL, 10);
    if (w < 1 || h < 1 || w > 20000 || h > 20000)
        return usage();
    unsigned char *rgb = malloc((size_t)w * (size_t)h * 4);
    if (!rgb)
        return 1;
    unsigned char c[3][3];
    if (!strcmp(argv[4], "solid") && argc == 6 &&
        imggen_parse_colour(argv[5], c[0]) == 0) {
        imggen_fill(rgb, (uint32_t)w, (uint32_t)h, c[0]);
    } else if (!strcmp(argv[4], "portrait") && (argc == 8 || argc == 9) &&
               imggen_parse_colour(argv[5], c[0]) == 0 &&
               imggen_parse_colour(argv[6], c[1]) == 0 &&
               imggen_parse_colour(argv[7], c[2]) == 0) {
        uint32_t seed = argc == 9 ? (uint32_t)strtoul(argv[8], NULL, 10) : 1;
        imggen_portrait(rgb, (uint32_t)w, (uint32_t)h, c[0], c[1], c[2], 6,
                        seed);
    } else {
        free(rgb);
        return usage();
    }
    unsigned char *out = NULL;
    size_t len = 0;
    int rc = -1;
    if (!strcmp(fmt, "png-alpha")) {
        /* RGBA with alpha 128 everywhere */
        for (size_t i = (size_t)w * (size_t)h; i-- > 0;) {
            memmove(rgb + i * 4, rgb + i * 3, 3);
            rgb[i * 4 + 3] = 128;
        }
        rc = imggen_png(rgb, (uint32_t)w, (uint32_t)h, 4, false, &out, &len);
    } else if (!strcmp(fmt, "jpeg") || !strcmp(fmt, "jpeg-progressive")) {
        rc = imggen_jpeg(rgb, (uint32_t)w, (uint32_t)h, 90,
                         !strcmp(fmt, "jpeg-progressive"), &out, &len);
    } else if (!strcmp(fmt, "png") || !strcmp(fmt, "png-interlaced")) {
        rc = imggen_png(rgb, (uint32_t)w, (uint32_t)h, 3,
                        !strcmp(fmt, "png-interlaced"), &out, &len);
    } else if (!strcmp(fmt, "webp") || !strcmp(fmt, "webp-lossless")) {
        rc = imggen_webp(rgb, (uint32_t)w, (uint32_t)h, 3,
                         !strcmp(fmt, "webp") ? 90 : -1, &out, &len);
    } else {
        free(rgb);
        return usage();
    }
    free(rgb);
    if (rc < 0 || fwrite(out, 1, len, stdout) != len || fflush(stdout)) {
        free(out);
        fprintf(stderr, "syimg: cannot write the image\n");
        return 1;
    }
    free(out);
    return 0;
}
