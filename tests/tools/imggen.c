/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * imggen.c - test images (imggen.h).
 */
#include "imggen.h"

#include <stdio.h>

#include <jpeglib.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <webp/encode.h>

static uint32_t
lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static unsigned char
clamp8(int v)
{
    return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Is (x, y) inside the ellipse of centre (cx, cy) and radii (rx, ry)? */
static bool
in_ellipse(double x, double y, double cx, double cy, double rx, double ry)
{
    double dx = (x - cx) / rx, dy = (y - cy) / ry;
    return dx * dx + dy * dy <= 1.0;
}

void
imggen_fill(unsigned char *rgb, uint32_t w, uint32_t h,
            const unsigned char c[3])
{
    for (size_t i = 0; i < (size_t)w * h; i++)
        memcpy(rgb + i * 3, c, 3);
}

void
imggen_portrait(unsigned char *rgb, uint32_t w, uint32_t h,
                const unsigned char skin[3], const unsigned char hair[3],
                const unsigned char bg[3], int noise, uint32_t seed)
{
    double cx = w / 2.0, cy = h * 0.56, rx = w * 0.27, ry = h * 0.34;
    double ey = cy - ry * 0.18, ex = rx * 0.42, erx = rx * 0.17,
           ery = ry * 0.07;
    uint32_t s = seed ? seed : 1;
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            double px = x + 0.5, py = y + 0.5;
            const unsigned char *c = bg;
            double light = 1.0;
            int n = 0;
            unsigned char lips[3] = {clamp8(skin[0] * 9 / 10 + 25),
                                     clamp8(skin[1] * 7 / 10),
                                     clamp8(skin[2] * 8 / 10)};
            static const unsigned char white[3] = {240, 240, 236};
            if (in_ellipse(px, py, cx, cy - ry * 0.25, rx * 1.22,
                           ry * 1.0) &&
                py < cy) {
                c = hair; /* the hair behind and above the face */
                n = noise / 2;
            }
            if (in_ellipse(px, py, cx, cy, rx, ry)) {
                c = skin;
                n = noise;
                light = 1.04 - 0.08 * (py - (cy - ry)) / (2 * ry);
                if (in_ellipse(px, py, cx - ex, ey, erx, ery) ||
                    in_ellipse(px, py, cx + ex, ey, erx, ery)) {
                    c = white;
                    light = 1.0;
                    if (in_ellipse(px, py, cx - ex, ey, erx * 0.45, ery) ||
                        in_ellipse(px, py, cx + ex, ey, erx * 0.45, ery))
                        c = hair; /* iris */
                } else if (in_ellipse(px, py, cx, cy + ry * 0.55, rx * 0.3,
                                      ry * 0.07)) {
                    c = lips;
                }
            }
            unsigned char *o = rgb + ((size_t)y * w + x) * 3;
            for (int k = 0; k < 3; k++) {
                int d = n ? (int)(lcg(&s) % (uint32_t)(2 * n + 1)) - n : 0;
                o[k] = clamp8((int)(c[k] * light + 0.5) + d);
            }
        }
    }
}

int
imggen_jpeg(const unsigned char *rgb, uint32_t w, uint32_t h, int quality,
            bool progressive, unsigned char **out, size_t *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    unsigned char *buf = NULL;
    unsigned long n = 0;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &buf, &n);
    c.image_width = w;
    c.image_height = h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    if (progressive)
        jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
        /* the library does not write the rows it is given */
    while (c.next_scanline < h) {
        JSAMPROW row = (JSAMPROW)(uintptr_t)(rgb + (size_t)c.next_scanline * w * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *out = buf;
    *len = n;
    return 0;
}

typedef struct membuf {
    unsigned char *p;
    size_t len, cap;
} membuf;

static void
png_write_mem(png_structp png, png_bytep data, size_t n)
{
    membuf *m = png_get_io_ptr(png);
    if (m->len + n > m->cap) {
        size_t cap = (m->cap ? m->cap * 2 : 4096) + n;
        unsigned char *p = realloc(m->p, cap);
        if (!p)
            abort();
        m->p = p;
        m->cap = cap;
    }
    memcpy(m->p + m->len, data, n);
    m->len += n;
}

static void
png_flush_mem(png_structp png)
{
    (void)png;
}

int
imggen_png(const unsigned char *px, uint32_t w, uint32_t h, int channels,
           bool interlace, unsigned char **out, size_t *len)
{
    membuf m = {0};
    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *rows = calloc(h, sizeof(*rows));
    if (!info || !rows) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        free(m.p);
        return -1;
    }
    png_set_write_fn(png, &m, png_write_mem, png_flush_mem);
    png_set_IHDR(png, info, w, h, 8,
                 channels == 4 ? PNG_COLOR_TYPE_RGBA : PNG_COLOR_TYPE_RGB,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    for (uint32_t y = 0; y < h; y++)
        rows[y] = (png_bytep)(uintptr_t)(px + (size_t)y * w * (size_t)channels);
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    *out = m.p;
    *len = m.len;
    return 0;
}

int
imggen_webp(const unsigned char *px, uint32_t w, uint32_t h, int channels,
            int quality, unsigned char **out, size_t *len)
{
    uint8_t *enc = NULL;
    int stride = (int)w * channels;
    size_t n;
    if (quality < 0)
        n = channels == 4
                ? WebPEncodeLosslessRGBA(px, (int)w, (int)h, stride, &enc)
                : WebPEncodeLosslessRGB(px, (int)w, (int)h, stride, &enc);
    else
        n = channels == 4 ? WebPEncodeRGBA(px, (int)w, (int)h, stride,
                                           (float)quality, &enc)
                          : WebPEncodeRGB(px, (int)w, (int)h, stride,
                                          (float)quality, &enc);
    if (!n)
        return -1;
    /* a copy that free() releases, as for the other encoders */
    unsigned char *p = malloc(n);
    if (!p)
        abort();
    memcpy(p, enc, n);
    WebPFree(enc);
    *out = p;
    *len = n;
    return 0;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
imggen_parse_colour(const char *s, unsigned char c[3])
{
    if (*s == '#')
        s++;
    if (strlen(s) != 6)
        return -1;
    for (int i = 0; i < 3; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        c[i] = (unsigned char)(hi * 16 + lo);
    }
    return 0;
}
