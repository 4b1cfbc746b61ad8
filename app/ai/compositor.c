/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * compositor.c - the local try-on compositor (compositor.h).
 *
 * 1. The person.  Decoded at most SY_COMPOSITOR_SIDE a side; every pixel
 *    classified skin or not (chromatic.h's classifier); the skin pixels
 *    grouped into 4-connected regions (an explicit stack, no recursion);
 *    the face is the largest region centred in the upper 60 % of the
 *    picture, and the torso box hangs below it (sy_tryon_torso).
 * 2. Each garment.  Decoded at most SY_COMPOSITOR_GARMENT_SIDE a side;
 *    the key colour is the per-channel median of the border pixels, used
 *    when at least half of the border is within KEY_FAR of it (a product
 *    shot on a plain backdrop); then a flood fill from the border takes
 *    every pixel within KEY_FAR of the key that the border reaches
 *    through such pixels (so a white print inside a white-backed shirt
 *    stays), with alpha 0 up to KEY_NEAR and a linear edge to KEY_FAR.
 *    The bounding box of what is left (alpha over one half) is the
 *    garment; colours and alpha are resampled (imageops.h) to fit the
 *    torso box and blended over the person.
 * 3. The mark: a dark band with "PREVIEW" in a 5 x 7 bitmap font, scaled
 *    with the picture, in the lower right corner.
 * 4. JPEG at SY_COMPOSITOR_QUALITY.
 * Integer arithmetic except for the box's proportions (exact in double
 * for these sizes), so the bytes are the same on every run.
 */
#include "synthia/compositor.h"

#include <string.h>

#include "synthia/chromatic.h"
#include "synthia/config.h"
#include "synthia/error.h"
#include "synthia/imageops.h"

#define KEY_NEAR 24        /* max channel difference keyed out fully */
#define KEY_FAR 56         /* ... and not at all beyond this */
#define FACE_MIN_SHARE 400 /* a face is at least 1/400 of the pixels */

static int
fail(const char **why, int rc, const char *s)
{
    if (why)
        *why = s;
    return rc;
}

static sy_image_limits
limits(void)
{
    const sy_config *c = sy_conf;
    return (sy_image_limits){.max_pixels = c ? c->upload_max_pixels : 25000000,
                             .max_side = c ? c->upload_max_side : 8192};
}

/* ------------------------------------------------------------- torso */

typedef struct region {
    uint64_t area, sx, sy;
    uint32_t x0, y0, x1, y1;
} region;

/* The 4-connected region of skin pixels around seed, its pixels marked
 * in seen.  stack: room for w * h indices. */
static void
grow(const unsigned char *skin, unsigned char *seen, uint32_t *stack,
     uint32_t w, uint32_t h, uint32_t seed, region *r)
{
    size_t top = 0;
    *r = (region){.x0 = UINT32_MAX, .y0 = UINT32_MAX};
    stack[top++] = seed;
    seen[seed] = 1;
    while (top) {
        uint32_t i = stack[--top], x = i % w, y = i / w;
        r->area++;
        r->sx += x;
        r->sy += y;
        if (x < r->x0)
            r->x0 = x;
        if (y < r->y0)
            r->y0 = y;
        if (x + 1 > r->x1)
            r->x1 = x + 1;
        if (y + 1 > r->y1)
            r->y1 = y + 1;
        uint32_t nb[4];
        int n = 0;
        if (x > 0)
            nb[n++] = i - 1;
        if (x + 1 < w)
            nb[n++] = i + 1;
        if (y > 0)
            nb[n++] = i - w;
        if (y + 1 < h)
            nb[n++] = i + w;
        for (int k = 0; k < n; k++)
            if (skin[nb[k]] && !seen[nb[k]]) {
                seen[nb[k]] = 1;
                stack[top++] = nb[k];
            }
    }
}

static uint32_t
clampu(double v, uint32_t lo, uint32_t hi)
{
    if (v < lo)
        return lo;
    if (v > hi)
        return hi;
    return (uint32_t)v;
}

int
sy_tryon_torso(sy_arena *a, const sy_image *p, sy_tryon_box *out, bool *face)
{
    if (!p || !p->rgb || !p->width || !p->height)
        return SY_EINVAL;
    uint32_t w = p->width, h = p->height;
    size_t npx = (size_t)w * h;
    unsigned char *skin = sy_arena_alloc(a, npx);
    unsigned char *seen = sy_arena_calloc(a, npx);
    uint32_t *stack = sy_arena_alloc(a, npx * sizeof(uint32_t));
    if (!skin || !seen || !stack)
        return SY_ENOMEM;
    for (size_t i = 0; i < npx; i++)
        skin[i] = sy_chromatic_skin_pixel(p->rgb + i * 3);
    region best = {0};
    uint64_t min_area = npx / FACE_MIN_SHARE > 16 ? npx / FACE_MIN_SHARE : 16;
    for (size_t i = 0; i < npx; i++) {
        if (!skin[i] || seen[i])
            continue;
        region r;
        grow(skin, seen, stack, w, h, (uint32_t)i, &r);
        /* centred in the upper 60 %: cy < 0.6 h */
        if (r.area < min_area || r.sy * 5 >= r.area * 3 * (uint64_t)h)
            continue;
        if (r.area > best.area)
            best = r;
    }
    sy_tryon_box b;
    bool found = best.area > 0;
    if (found) {
        double fw = best.x1 - best.x0, fh = best.y1 - best.y0;
        double cx = (double)best.sx / (double)best.area;
        double top = best.y1 + fh / 6.0;
        double min_h = h / 8.0;
        if (top > h - min_h)
            top = h - min_h;
        b.x0 = clampu(cx - 1.3 * fw, 0, w - 1);
        b.x1 = clampu(cx + 1.3 * fw, b.x0 + 1, w);
        b.y0 = clampu(top, 0, h - 1);
        b.y1 = clampu(top + 2.3 * fh, b.y0 + 1, h);
    } else {
        b = (sy_tryon_box){.x0 = w / 4,
                           .x1 = w - w / 4,
                           .y0 = (uint32_t)((uint64_t)h * 30 / 100),
                           .y1 = (uint32_t)((uint64_t)h * 85 / 100)};
        if (b.x1 <= b.x0)
            b.x1 = b.x0 + 1;
        if (b.y1 <= b.y0)
            b.y1 = b.y0 + 1;
    }
    *out = b;
    if (face)
        *face = found;
    return 0;
}

/* ------------------------------------------------------------ garment */

static unsigned
diff(const unsigned char *p, const unsigned char *k)
{
    unsigned m = 0;
    for (int c = 0; c < 3; c++) {
        unsigned d = p[c] > k[c] ? p[c] - k[c] : k[c] - p[c];
        if (d > m)
            m = d;
    }
    return m;
}

/* The per-channel median of the border pixels into key; true when at
 * least half of the border is within KEY_FAR of it. */
static bool
border_key(const sy_image *g, unsigned char key[3])
{
    uint32_t w = g->width, h = g->height, hist[3][256];
    uint64_t n = 0;
    memset(hist, 0, sizeof(hist));
    for (int pass = 0; pass < 2; pass++) {
        uint64_t near = 0;
        for (uint32_t y = 0; y < h; y++) {
            bool edge_row = y == 0 || y == h - 1;
            for (uint32_t x = 0; x < w;
                 x += edge_row ? 1 : (w > 1 ? w - 1 : 1)) {
                const unsigned char *q = g->rgb + ((size_t)y * w + x) * 3;
                if (pass == 0) {
                    for (int c = 0; c < 3; c++)
                        hist[c][q[c]]++;
                    n++;
                } else if (diff(q, key) <= KEY_FAR) {
                    near++;
                }
            }
        }
        if (pass == 0) {
            for (int c = 0; c < 3; c++) {
                uint64_t acc = 0;
                int v = 0;
                while (v < 255 && (acc += hist[c][v]) * 2 < n)
                    v++;
                key[c] = (unsigned char)v;
            }
        } else {
            return near * 2 >= n;
        }
    }
    return false;
}

/* alpha (0..255) of each pixel of g: the keyed background is 0 */
static int
key_out(sy_arena *a, const sy_image *g, unsigned char *alpha)
{
    uint32_t w = g->width, h = g->height;
    size_t npx = (size_t)w * h;
    unsigned char key[3];
    memset(alpha, 255, npx);
    if (!border_key(g, key))
        return 0;
    unsigned char *bg = sy_arena_calloc(a, npx);
    uint32_t *stack = sy_arena_alloc(a, npx * sizeof(uint32_t));
    if (!bg || !stack)
        return SY_ENOMEM;
    size_t top = 0;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            if (!(y == 0 || y == h - 1 || x == 0 || x == w - 1))
                continue;
            size_t i = (size_t)y * w + x;
            if (!bg[i] && diff(g->rgb + i * 3, key) <= KEY_FAR) {
                bg[i] = 1;
                stack[top++] = (uint32_t)i;
            }
        }
    while (top) {
        uint32_t i = stack[--top], x = i % w, y = i / w;
        unsigned d = diff(g->rgb + (size_t)i * 3, key);
        alpha[i] =
            d <= KEY_NEAR
                ? 0
                : (unsigned char)((d - KEY_NEAR) * 255 / (KEY_FAR - KEY_NEAR));
        uint32_t nb[4];
        int n = 0;
        if (x > 0)
            nb[n++] = i - 1;
        if (x + 1 < w)
            nb[n++] = i + 1;
        if (y > 0)
            nb[n++] = i - w;
        if (y + 1 < h)
            nb[n++] = i + w;
        for (int k = 0; k < n; k++)
            if (!bg[nb[k]] &&
                diff(g->rgb + (size_t)nb[k] * 3, key) <= KEY_FAR) {
                bg[nb[k]] = 1;
                stack[top++] = nb[k];
            }
    }
    return 0;
}

/* The part [x0, x1) x [y0, y1) of an image of w columns, 3 or 1 bytes a
 * pixel, as an RGB image (alpha repeated in the three channels). */
static unsigned char *
crop(sy_arena *a, const unsigned char *px, int bpp, uint32_t w, uint32_t x0,
     uint32_t y0, uint32_t cw, uint32_t ch)
{
    unsigned char *o = sy_arena_alloc(a, (size_t)cw * ch * 3);
    if (!o)
        return NULL;
    for (uint32_t y = 0; y < ch; y++)
        for (uint32_t x = 0; x < cw; x++) {
            const unsigned char *q =
                px + (((size_t)(y0 + y) * w) + x0 + x) * (size_t)bpp;
            unsigned char *d = o + ((size_t)y * cw + x) * 3;
            d[0] = q[0];
            d[1] = bpp == 3 ? q[1] : q[0];
            d[2] = bpp == 3 ? q[2] : q[0];
        }
    return o;
}

/* Lay garment g over the torso box b of the person image p. */
static int
lay(sy_arena *a, sy_image *p, const sy_image *g, const sy_tryon_box *b,
    const char **why)
{
    uint32_t w = g->width, h = g->height;
    unsigned char *alpha = sy_arena_alloc(a, (size_t)w * h);
    if (!alpha)
        return SY_ENOMEM;
    int rc = key_out(a, g, alpha);
    if (rc < 0)
        return rc;
    uint32_t x0 = w, y0 = h, x1 = 0, y1 = 0;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            if (alpha[(size_t)y * w + x] > 127) {
                if (x < x0)
                    x0 = x;
                if (y < y0)
                    y0 = y;
                if (x + 1 > x1)
                    x1 = x + 1;
                if (y + 1 > y1)
                    y1 = y + 1;
            }
    if (x1 <= x0 || y1 <= y0)
        return fail(why, SY_EVALIDATION,
                    "A garment picture shows nothing but its background.");
    uint32_t cw = x1 - x0, ch = y1 - y0;
    uint32_t bw = b->x1 - b->x0, bh = b->y1 - b->y0;
    /* fit cw x ch into bw x bh, keeping the aspect ratio */
    uint32_t tw = bw, th = (uint32_t)((uint64_t)ch * bw / cw);
    if (th > bh) {
        th = bh;
        tw = (uint32_t)((uint64_t)cw * bh / ch);
    }
    if (!tw)
        tw = 1;
    if (!th)
        th = 1;
    sy_image crop_rgb = {.width = cw, .height = ch},
             crop_a = {.width = cw, .height = ch}, sg, sa;
    crop_rgb.rgb = crop(a, g->rgb, 3, w, x0, y0, cw, ch);
    crop_a.rgb = crop(a, alpha, 1, w, x0, y0, cw, ch);
    if (!crop_rgb.rgb || !crop_a.rgb)
        return SY_ENOMEM;
    if ((rc = sy_image_resize(a, &crop_rgb, tw, th, &sg)) < 0 ||
        (rc = sy_image_resize(a, &crop_a, tw, th, &sa)) < 0)
        return rc;
    uint32_t ox = b->x0 + (bw - tw) / 2, oy = b->y0;
    for (uint32_t y = 0; y < th; y++)
        for (uint32_t x = 0; x < tw; x++) {
            size_t s = (size_t)y * tw + x;
            unsigned al = sa.rgb[s * 3];
            unsigned char *d =
                p->rgb + (((size_t)(oy + y) * p->width) + ox + x) * 3;
            for (int c = 0; c < 3; c++)
                d[c] = (unsigned char)((sg.rgb[s * 3 + c] * al +
                                        d[c] * (255 - al) + 127) /
                                       255);
        }
    return 0;
}

/* --------------------------------------------------------------- mark */

#define GLYPH_W 5
#define GLYPH_H 7
#define MARK_TEXT "PREVIEW"
#define MARK_LEN 7

static const unsigned char *
glyph(char c)
{
    static const unsigned char P[GLYPH_H] = {0x1e, 0x11, 0x11, 0x1e,
                                             0x10, 0x10, 0x10};
    static const unsigned char R[GLYPH_H] = {0x1e, 0x11, 0x11, 0x1e,
                                             0x14, 0x12, 0x11};
    static const unsigned char E[GLYPH_H] = {0x1f, 0x10, 0x10, 0x1e,
                                             0x10, 0x10, 0x1f};
    static const unsigned char V[GLYPH_H] = {0x11, 0x11, 0x11, 0x11,
                                             0x11, 0x0a, 0x04};
    static const unsigned char I[GLYPH_H] = {0x0e, 0x04, 0x04, 0x04,
                                             0x04, 0x04, 0x0e};
    static const unsigned char W[GLYPH_H] = {0x11, 0x11, 0x11, 0x15,
                                             0x15, 0x15, 0x0a};
    switch (c) {
    case 'P': return P;
    case 'R': return R;
    case 'E': return E;
    case 'V': return V;
    case 'I': return I;
    default: return W;
    }
}

/* font pixel size s and the text's origin for a w x h picture */
static void
mark_layout(uint32_t w, uint32_t h, uint32_t *s, uint32_t *tx, uint32_t *ty)
{
    uint32_t side = w < h ? w : h;
    uint32_t sc = side / 90 ? side / 90 : 1;
    uint32_t text_w = (MARK_LEN * (GLYPH_W + 1) - 1) * sc;
    *s = sc;
    *tx = w > 3 * sc + text_w ? w - 3 * sc - text_w : 0;
    *ty = h > 3 * sc + GLYPH_H * sc ? h - 3 * sc - GLYPH_H * sc : 0;
}

void
sy_tryon_mark_box(uint32_t w, uint32_t h, sy_tryon_box *out)
{
    uint32_t s, tx, ty;
    mark_layout(w, h, &s, &tx, &ty);
    *out = (sy_tryon_box){.x0 = tx > 2 * s ? tx - 2 * s : 0,
                          .y0 = ty > 2 * s ? ty - 2 * s : 0,
                          .x1 = w > s ? w - s : w,
                          .y1 = h > s ? h - s : h};
}

static void
draw_mark(sy_image *p)
{
    uint32_t s, tx, ty;
    sy_tryon_box band;
    mark_layout(p->width, p->height, &s, &tx, &ty);
    sy_tryon_mark_box(p->width, p->height, &band);
    for (uint32_t y = band.y0; y < band.y1; y++)
        for (uint32_t x = band.x0; x < band.x1; x++) {
            unsigned char *d = p->rgb + ((size_t)y * p->width + x) * 3;
            for (int c = 0; c < 3; c++)
                d[c] = (unsigned char)(d[c] * 2 / 5 + 10);
        }
    for (int k = 0; k < MARK_LEN; k++) {
        const unsigned char *gl = glyph(MARK_TEXT[k]);
        uint32_t gx = tx + (uint32_t)k * (GLYPH_W + 1) * s;
        for (uint32_t r = 0; r < GLYPH_H * s; r++)
            for (uint32_t col = 0; col < GLYPH_W * s; col++) {
                if (!(gl[r / s] & (0x10 >> (col / s))) || ty + r >= p->height ||
                    gx + col >= p->width)
                    continue;
                unsigned char *d =
                    p->rgb + ((size_t)(ty + r) * p->width + gx + col) * 3;
                d[0] = d[1] = d[2] = 255;
            }
    }
}

/* ------------------------------------------------------------- whole */

static int
decode(sy_arena *a, const sy_ai_image *in, uint32_t side, sy_image *out,
       const char **why)
{
    if (!in->data || !in->len)
        return fail(why, SY_EINVAL, "An input image has no bytes.");
    sy_image_limits lim = limits();
    const char *w = NULL;
    int rc =
        sy_image_decode(a, (sy_str){in->data, in->len}, &lim, side, out, &w);
    if (rc == SY_ENOMEM || rc == SY_EINTERNAL)
        return rc;
    if (rc == SY_EMEDIA)
        return fail(why, rc, "An input is not a JPEG, PNG or WebP image.");
    if (rc == SY_ETOOBIG)
        return fail(why, rc,
                    "An input image has more pixels than "
                    "uploads allow.");
    if (rc < 0)
        return fail(why, SY_EVALIDATION,
                    w ? w : "An input image cannot be decoded.");
    return 0;
}

static int
composite(sy_arena *a, const sy_ai_image *person,
          const sy_ai_image *garments, int ngarments, sy_ai_image *out,
          const char **why)
{
    if (!person || !garments || ngarments < 1 ||
        ngarments > SY_AI_TRYON_MAX_GARMENTS)
        return fail(why, SY_EINVAL,
                    "A try-on needs a person photo and 1 "
                    "to 4 garment pictures.");
    sy_image p;
    int rc = decode(a, person, SY_COMPOSITOR_SIDE, &p, why);
    if (rc < 0)
        return rc;
    if (p.width < SY_COMPOSITOR_MIN_SIDE || p.height < SY_COMPOSITOR_MIN_SIDE)
        return fail(why, SY_EVALIDATION,
                    "The person photo is too small (at least 64 pixels a "
                    "side).");
    sy_tryon_box box;
    if ((rc = sy_tryon_torso(a, &p, &box, NULL)) < 0)
        return rc;
    for (int i = 0; i < ngarments; i++) {
        sy_image g;
        if ((rc = decode(a, &garments[i], SY_COMPOSITOR_GARMENT_SIDE, &g,
                         why)) < 0 ||
            (rc = lay(a, &p, &g, &box, why)) < 0)
            return rc;
    }
    draw_mark(&p);
    sy_str jpeg;
    if ((rc = sy_image_encode_jpeg(a, &p, SY_COMPOSITOR_QUALITY, &jpeg)) < 0)
        return fail(why, rc, "The result could not be encoded.");
    *out = (sy_ai_image){
        .data = jpeg.p, .len = jpeg.len, .content_type = "image/jpeg"};
    return 0;
}

int
sy_tryon_composite_why(sy_arena *a, const sy_ai_image *person,
                       const sy_ai_image *garments, int ngarments,
                       sy_ai_image *out, const char **why)
{
    const char *w = NULL;
    int rc = composite(a, person, garments, ngarments, out, &w);
    if (rc < 0 && why)
        *why = w                ? w
               : rc == SY_ENOMEM ? "Out of memory."
                                 : "The images could not be composed.";
    return rc;
}

int
sy_tryon_composite(sy_arena *a, const sy_ai_image *person,
                   const sy_ai_image *garments, int ngarments, sy_ai_image *out)
{
    return sy_tryon_composite_why(a, person, garments, ngarments, out, NULL);
}
