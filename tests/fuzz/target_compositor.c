/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target_compositor.c - the local try-on compositor (compositor.h) on
 * hostile pictures: the person photo's decode, the skin regions and the
 * torso box found in any pixels, the garment's border key and flood
 * fill, the resampling into the box, the mark and the JPEG encoder.
 *
 * Input: an image (JPEG, PNG or WebP) used as the person photo and as
 * the garment picture, once alone and once layered twice.  The [uploads]
 * pixel limits are small here (1 megapixel, 2048 a side) so that a run
 * stays fast.  Contracts: a success is a JPEG of at least 64 and at most
 * SY_COMPOSITOR_SIDE pixels a side, the same bytes every time; a
 * failure writes nothing and gives a reason.
 */
#include <string.h>

#include "fuzz.h"
#include "synthia/compositor.h"
#include "synthia/config.h"
#include "synthia/error.h"

const char fz_target_name[] = "compositor";

static sy_config conf;

int
fz_init(void)
{
    conf.upload_max_pixels = 1 << 20;
    conf.upload_max_side = 2048;
    sy_conf = &conf;
    return 0;
}

static int64_t
checksum(const void *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ull;
    return (int64_t)(h >> 1);
}

void
fz_run(const uint8_t *data, size_t size, sy_buf *t)
{
    sy_arena a;
    sy_arena_init(&a, 4096, 64 << 20);
    sy_ai_image in = {data, size, "image/jpeg"};
    sy_ai_image garments[2] = {in, in};
    for (int n = 1; n <= 2; n++) {
        sy_ai_image out = {.data = NULL};
        const char *why = NULL;
        int rc = sy_tryon_composite_why(&a, &in, garments, n, &out, &why);
        if (rc < 0) {
            if (out.data || !why)
                fz_fail("sy_tryon_composite: %d with out written or no "
                        "reason",
                        rc);
            fz_putc(t, "composite", rc, why);
            continue;
        }
        sy_image_info info;
        if (sy_image_probe((sy_str){out.data, out.len}, &info) < 0 ||
            info.type != SY_IMAGE_JPEG || info.width < 64 ||
            info.height < 64 || info.width > SY_COMPOSITOR_SIDE ||
            info.height > SY_COMPOSITOR_SIDE)
            fz_fail("sy_tryon_composite: not a JPEG of the bounds");
        fz_puti(t, "composite.size", rc,
                (int64_t)info.width << 32 | info.height);
        fz_puti(t, "composite.bytes", rc, checksum(out.data, out.len));
    }
    sy_arena_cleanup(&a);
}
