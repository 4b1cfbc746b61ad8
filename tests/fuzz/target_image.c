/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target_image.c - image headers and decoding (image.h): the magic-byte
 * sniff, the hand-written JPEG marker walk and PNG IHDR read, libwebp's
 * header reader, the bomb check, and the bounded decode through
 * libjpeg-turbo, libpng and libwebp at full size and shrunk.
 *
 * Input: the bytes of an upload.  The limits are small (1 megapixel,
 * 2048 a side) so that a run stays fast; the contracts checked hold for
 * any limits: a decode succeeds only within them, with the header's
 * size, and a shrunk decode is never larger than asked.
 */
#include <string.h>

#include "fuzz.h"
#include "synthia/error.h"
#include "synthia/image.h"

const char fz_target_name[] = "image";

int
fz_init(void)
{
    return 0;
}

static int64_t
checksum(const sy_image *img)
{
    uint64_t h = 1469598103934665603ull;
    size_t n = (size_t)img->width * img->height * 3;
    for (size_t i = 0; i < n; i++)
        h = (h ^ img->rgb[i]) * 1099511628211ull;
    return (int64_t)(h >> 1);
}

void
fz_run(const uint8_t *data, size_t size, sy_buf *t)
{
    static const sy_image_limits lim = {.max_pixels = 1 << 20,
                                        .max_side = 2048};
    sy_str bytes = {(const char *)data, size};
    fz_puti(t, "sniff", 0, sy_image_sniff(bytes));
    sy_image_info info = {.type = -1};
    int rc = sy_image_probe(bytes, &info);
    if (rc < 0 && info.type != -1)
        fz_fail("sy_image_probe: out written on failure");
    if (rc == 0 && (info.type != sy_image_sniff(bytes) || !info.width ||
                    !info.height))
        fz_fail("sy_image_probe: type %d, %ux%u", info.type, info.width,
                info.height);
    fz_puti(t, "probe", rc, rc == 0 ? (int64_t)info.width << 32 | info.height
                                    : 0);
    int fits = rc == 0 ? sy_image_fits(&info, &lim) : rc;
    fz_puti(t, "fits", fits, 0);

    sy_arena a;
    sy_arena_init(&a, 4096, 64 << 20);
    static const uint32_t sides[] = {0, 64};
    for (size_t i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
        sy_image img = {.width = 0};
        const char *why = NULL;
        int d = sy_image_decode(&a, bytes, &lim, sides[i], &img, &why);
        if (d < 0) {
            if (!why || img.width)
                fz_fail("sy_image_decode: %d without a reason, or out "
                        "written",
                        d);
            fz_putc(t, "decode", d, why);
            continue;
        }
        if (rc < 0 || fits < 0)
            fz_fail("sy_image_decode: decoded what the probe refused");
        if (img.src_width != info.width || img.src_height != info.height)
            fz_fail("sy_image_decode: source size differs from the header");
        if (!img.width || !img.height || img.width > info.width ||
            img.height > info.height ||
            (sides[i] && (img.width > sides[i] || img.height > sides[i])))
            fz_fail("sy_image_decode: %ux%u for %ux%u side %u", img.width,
                    img.height, info.width, info.height, sides[i]);
        fz_puti(t, "decode.size", d, (int64_t)img.width << 32 | img.height);
        fz_puti(t, "decode.pixels", d, checksum(&img));
        sy_arena_reset(&a);
    }
    sy_arena_cleanup(&a);
}
