/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * imageops.c - resampling and JPEG encoding of decoded images
 * (imageops.h).
 *
 * Resampling takes, for each output pixel, the source rectangle it
 * covers: when that is wider (taller) than a source pixel the pixels it
 * covers are averaged (a box filter, the same as the decoder's shrink),
 * otherwise the source is sampled bilinearly at the output pixel's
 * centre.  Integer arithmetic throughout (16.16 fixed point), so the
 * result is the same on every machine.
 *
 * The encoder writes to libjpeg-turbo's growing memory destination and
 * copies the result into the arena; errors come back through setjmp.
 */
#include "synthia/imageops.h"

#include <stdio.h> /* before jpeglib.h, which uses FILE */

#include <jpeglib.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/error.h"

void
sy_image_fit(uint32_t w, uint32_t h, uint32_t side, uint32_t *ow, uint32_t *oh)
{
    *ow = w ? w : 1;
    *oh = h ? h : 1;
    if (!side || (*ow <= side && *oh <= side))
        return;
    if (*ow >= *oh) {
        *oh = (uint32_t)(((uint64_t)*oh * side + *ow / 2) / *ow);
        *ow = side;
    } else {
        *ow = (uint32_t)(((uint64_t)*ow * side + *oh / 2) / *oh);
        *oh = side;
    }
    if (!*ow)
        *ow = 1;
    if (!*oh)
        *oh = 1;
}

/* ------------------------------------------------------------- resize */

/* Where output index i of n falls in a source of m: the covered span
 * [lo, hi) in source pixels and the bilinear pair (i0, i1, weight of i1
 * in 1/65536). */
typedef struct span {
    uint32_t lo, hi;
    uint32_t i0, i1, f;
} span;

static void
span_of(uint32_t i, uint32_t n, uint32_t m, span *s)
{
    s->lo = (uint32_t)((uint64_t)i * m / n);
    s->hi = (uint32_t)(((uint64_t)(i + 1) * m + n - 1) / n);
    if (s->hi <= s->lo)
        s->hi = s->lo + 1;
    if (s->hi > m)
        s->hi = m;
    /* centre of the output pixel in source coordinates, minus 0.5 */
    int64_t c = (((int64_t)2 * i + 1) * m * 65536 / ((int64_t)2 * n)) - 32768;
    if (c < 0)
        c = 0;
    s->i0 = (uint32_t)(c >> 16);
    s->f = (uint32_t)(c & 0xffff);
    if (s->i0 >= m - 1) {
        s->i0 = m - 1;
        s->f = 0;
    }
    s->i1 = s->i0 + 1 < m ? s->i0 + 1 : s->i0;
}

int
sy_image_resize(sy_arena *a, const sy_image *src, uint32_t w, uint32_t h,
                sy_image *out)
{
    if (!src || !src->rgb || !src->width || !src->height || !w || !h ||
        w > SY_IMAGEOPS_MAX_SIDE || h > SY_IMAGEOPS_MAX_SIDE)
        return SY_EINVAL;
    uint32_t sw = src->width, sh = src->height;
    unsigned char *dst = sy_arena_alloc(a, (size_t)w * h * 3);
    span *xs = sy_arena_alloc(a, (size_t)w * sizeof(*xs));
    if (!dst || !xs)
        return SY_ENOMEM;
    for (uint32_t x = 0; x < w; x++)
        span_of(x, w, sw, &xs[x]);
    bool shrink_x = sw > w, shrink_y = sh > h;
    for (uint32_t y = 0; y < h; y++) {
        span ys;
        span_of(y, h, sh, &ys);
        for (uint32_t x = 0; x < w; x++) {
            const span *sx = &xs[x];
            unsigned char *o = dst + ((size_t)y * w + x) * 3;
            if (shrink_x || shrink_y) {
                /* average over the covered rectangle (a growing axis
                 * covers one source pixel) */
                uint32_t x0 = shrink_x ? sx->lo : sx->i0,
                         x1 = shrink_x ? sx->hi : sx->i0 + 1,
                         y0 = shrink_y ? ys.lo : ys.i0,
                         y1 = shrink_y ? ys.hi : ys.i0 + 1;
                uint64_t sum[3] = {0, 0, 0}, n = 0;
                for (uint32_t yy = y0; yy < y1; yy++) {
                    const unsigned char *p =
                        src->rgb + ((size_t)yy * sw + x0) * 3;
                    for (uint32_t xx = x0; xx < x1; xx++, p += 3) {
                        sum[0] += p[0];
                        sum[1] += p[1];
                        sum[2] += p[2];
                        n++;
                    }
                }
                for (int c = 0; c < 3; c++)
                    o[c] = (unsigned char)((sum[c] + n / 2) / n);
                continue;
            }
            const unsigned char *p00 =
                src->rgb + ((size_t)ys.i0 * sw + sx->i0) * 3;
            const unsigned char *p01 =
                src->rgb + ((size_t)ys.i0 * sw + sx->i1) * 3;
            const unsigned char *p10 =
                src->rgb + ((size_t)ys.i1 * sw + sx->i0) * 3;
            const unsigned char *p11 =
                src->rgb + ((size_t)ys.i1 * sw + sx->i1) * 3;
            for (int c = 0; c < 3; c++) {
                uint64_t top = (uint64_t)p00[c] * (65536 - sx->f) +
                               (uint64_t)p01[c] * sx->f;
                uint64_t bot = (uint64_t)p10[c] * (65536 - sx->f) +
                               (uint64_t)p11[c] * sx->f;
                uint64_t v = top * (65536 - ys.f) + bot * ys.f;
                o[c] = (unsigned char)((v + (1ull << 31)) >> 32);
            }
        }
    }
    *out = (sy_image){.type = src->type,
                      .src_width = src->src_width,
                      .src_height = src->src_height,
                      .width = w,
                      .height = h,
                      .rgb = dst};
    return 0;
}

/* ------------------------------------------------------------- encode */

typedef struct enc_fence {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
} enc_fence;

static void
enc_fail(j_common_ptr c)
{
    longjmp(((enc_fence *)c->err)->jb, 1);
}

static void
enc_message(j_common_ptr c)
{
    (void)c; /* nothing of an image reaches a log */
}

int
sy_image_encode_jpeg(sy_arena *a, const sy_image *img, int quality, sy_str *out)
{
    if (!img || !img->rgb || !img->width || !img->height ||
        img->width > SY_IMAGEOPS_MAX_SIDE ||
        img->height > SY_IMAGEOPS_MAX_SIDE || quality < 1 || quality > 100)
        return SY_EINVAL;
    struct jpeg_compress_struct cinfo;
    enc_fence fence;
    /* the destination's buffer, grown (and moved) by libjpeg-turbo: kept
     * outside this frame, so that it is still known after a longjmp */
    struct dest {
        unsigned char *buf;
        unsigned long len;
    } *d = sy_arena_calloc(a, sizeof(*d));
    if (!d)
        return SY_ENOMEM;
    memset(&cinfo, 0, sizeof(cinfo));
    cinfo.err = jpeg_std_error(&fence.pub);
    fence.pub.error_exit = enc_fail;
    fence.pub.output_message = enc_message;
    if (setjmp(fence.jb)) {
        jpeg_destroy_compress(&cinfo);
        free(d->buf);
        return SY_EINTERNAL;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &d->buf, &d->len);
    cinfo.image_width = img->width;
    cinfo.image_height = img->height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    cinfo.optimize_coding = TRUE;
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row =
            (JSAMPROW)(img->rgb + (size_t)cinfo.next_scanline * img->width * 3);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    int rc = SY_ENOMEM;
    char *copy = sy_arena_alloc(a, d->len ? d->len : 1);
    if (copy) {
        memcpy(copy, d->buf, d->len);
        *out = (sy_str){copy, d->len};
        rc = 0;
    }
    free(d->buf);
    return rc;
}
