/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * image.c - JPEG, PNG and WebP headers and decoding (image.h).
 *
 * The probe reads headers by hand (JPEG markers up to the frame header,
 * the PNG IHDR) or with libwebp's header reader, which allocates
 * nothing, so the size of a bomb is known before any decoder starts.
 *
 * Decoding feeds rows into a sink that either stores them (full size)
 * or adds each pixel into the output pixel it falls in (an area
 * average), so a shrinking decode never holds the source image.  JPEG
 * first shrinks by DCT scaling (1/2, 1/4, 1/8: the largest that keeps
 * the result at least the target size); WebP uses libwebp's scaler.
 *
 * Each library reports errors its own way: libjpeg-turbo and libpng
 * through callbacks that longjmp back here (after which only the
 * library's destroy function runs), libwebp through status codes.  No
 * callback writes to stderr: nothing of an image reaches a log.
 */
#include "synthia/image.h"

/* jpeglib.h needs FILE and size_t first, and jerror.h its jconfig.h */
#include <stdio.h>

#include <jpeglib.h>

#include <jerror.h>
#include <limits.h>
#include <png.h>
#include <setjmp.h>
#include <stdbool.h>
#include <string.h>
#include <webp/decode.h>

#include "synthia/error.h"

#define JPEG_MAX_SCANS 100       /* progressive scans (real files: ~10) */
#define JPEG_MEMORY_SLACK (16L << 20)
#define PNG_CHUNK_MALLOC_MAX (1 << 20)

static void
set_why(const char **why, const char *s)
{
    if (why)
        *why = s;
}

/* ------------------------------------------------------------ headers */

int
sy_image_sniff(sy_str b)
{
    const unsigned char *p = (const unsigned char *)b.p;
    if (!p)
        return SY_IMAGE_NONE;
    if (b.len >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
        return SY_IMAGE_JPEG;
    if (b.len >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
        return SY_IMAGE_PNG;
    if (b.len >= 12 && memcmp(p, "RIFF", 4) == 0 &&
        memcmp(p + 8, "WEBP", 4) == 0)
        return SY_IMAGE_WEBP;
    return SY_IMAGE_NONE;
}

const char *
sy_image_mime(int type)
{
    switch (type) {
    case SY_IMAGE_JPEG:
        return "image/jpeg";
    case SY_IMAGE_PNG:
        return "image/png";
    case SY_IMAGE_WEBP:
        return "image/webp";
    default:
        return NULL;
    }
}

static uint32_t
be16(const unsigned char *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t
be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* Walk the markers after SOI up to the first frame header (SOFn). */
static int
probe_jpeg(const unsigned char *p, size_t n, uint32_t *w, uint32_t *h)
{
    size_t i = 2;
    for (;;) {
        if (i >= n || p[i] != 0xFF)
            return SY_EVALIDATION;
        while (i < n && p[i] == 0xFF) /* fill bytes */
            i++;
        if (i >= n)
            return SY_EVALIDATION;
        unsigned m = p[i++];
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7))
            continue; /* TEM, RSTn: no length */
        /* a stuffed 00, another SOI, EOI, or a scan before any frame */
        if (m == 0x00 || m == 0xD8 || m == 0xD9 || m == 0xDA)
            return SY_EVALIDATION;
        if (n - i < 2)
            return SY_EVALIDATION;
        size_t len = be16(p + i);
        if (len < 2 || n - i < len)
            return SY_EVALIDATION;
        /* SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) */
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
            if (len < 8)
                return SY_EVALIDATION;
            *h = be16(p + i + 3);
            *w = be16(p + i + 5);
            return *w && *h ? 0 : SY_EVALIDATION; /* 0: height by DNL */
        }
        i += len;
    }
}

static int
probe_png(const unsigned char *p, size_t n, uint32_t *w, uint32_t *h)
{
    /* signature, then IHDR: length 13, type, width, height, ... */
    if (n < 8 + 8 + 13 || be32(p + 8) != 13 || memcmp(p + 12, "IHDR", 4))
        return SY_EVALIDATION;
    *w = be32(p + 16);
    *h = be32(p + 20);
    if (!*w || !*h || *w > 0x7fffffffu || *h > 0x7fffffffu)
        return SY_EVALIDATION;
    return 0;
}

static int
probe_webp(const unsigned char *p, size_t n, uint32_t *w, uint32_t *h)
{
    WebPBitstreamFeatures f;
    if (WebPGetFeatures(p, n, &f) != VP8_STATUS_OK || f.width <= 0 ||
        f.height <= 0)
        return SY_EVALIDATION;
    *w = (uint32_t)f.width;
    *h = (uint32_t)f.height;
    return 0;
}

int
sy_image_probe(sy_str bytes, sy_image_info *out)
{
    const unsigned char *p = (const unsigned char *)bytes.p;
    int type = sy_image_sniff(bytes), rc;
    uint32_t w = 0, h = 0;
    switch (type) {
    case SY_IMAGE_JPEG:
        rc = probe_jpeg(p, bytes.len, &w, &h);
        break;
    case SY_IMAGE_PNG:
        rc = probe_png(p, bytes.len, &w, &h);
        break;
    case SY_IMAGE_WEBP:
        rc = probe_webp(p, bytes.len, &w, &h);
        break;
    default:
        return SY_EMEDIA;
    }
    if (rc < 0)
        return rc;
    *out = (sy_image_info){.type = type, .width = w, .height = h};
    return 0;
}

int
sy_image_fits(const sy_image_info *info, const sy_image_limits *lim)
{
    if ((int64_t)info->width > lim->max_side ||
        (int64_t)info->height > lim->max_side ||
        (int64_t)((uint64_t)info->width * info->height) > lim->max_pixels)
        return SY_ETOOBIG;
    return 0;
}

/* --------------------------------------------------------------- sink */

/* Where decoded rows go: stored as they are (direct), or summed into
 * the output pixel each source pixel falls in. */
typedef struct sink {
    uint32_t sw, sh; /* size of what is fed in */
    uint32_t tw, th; /* output size */
    bool direct;
    unsigned char *out; /* tw * th * 3 */
    uint64_t *acc;      /* tw * th * 3 sums (shrinking) */
    uint32_t *cnt;      /* tw * th source pixels per output pixel */
    uint32_t *xmap;     /* sw: output column of each source column */
} sink;

static int
sink_init(sy_arena *a, sink *s, uint32_t sw, uint32_t sh, uint32_t tw,
          uint32_t th)
{
    size_t npx = (size_t)tw * th;
    memset(s, 0, sizeof(*s));
    *s = (sink){.sw = sw, .sh = sh, .tw = tw, .th = th,
                .direct = sw == tw && sh == th};
    s->out = sy_arena_alloc(a, npx * 3);
    if (!s->out)
        return SY_ENOMEM;
    if (s->direct)
        return 0;
    s->acc = sy_arena_calloc(a, npx * 3 * sizeof(uint64_t));
    s->cnt = s->acc ? sy_arena_calloc(a, npx * sizeof(uint32_t)) : NULL;
    s->xmap = s->cnt ? sy_arena_alloc(a, (size_t)sw * sizeof(uint32_t))
                     : NULL;
    if (!s->xmap)
        return SY_ENOMEM;
    for (uint32_t x = 0; x < sw; x++)
        s->xmap[x] = (uint32_t)((uint64_t)x * tw / sw);
    return 0;
}

/* n pixels of row y, at columns x0, x0 + step, ...; channels 3 (RGB) or
 * 4 (RGBA, composited over white). */
static void
sink_put(sink *s, uint32_t y, uint32_t x0, uint32_t step,
         const unsigned char *px, uint32_t n, int channels)
{
    if (y >= s->sh)
        return;
    uint32_t oy = s->direct ? y : (uint32_t)((uint64_t)y * s->th / s->sh);
    for (uint32_t i = 0, x = x0; i < n && x < s->sw; i++, x += step) {
        const unsigned char *q = px + (size_t)i * (size_t)channels;
        unsigned v[3] = {q[0], q[1], q[2]};
        if (channels == 4 && q[3] != 255)
            for (int c = 0; c < 3; c++)
                v[c] = (v[c] * q[3] + 255u * (255u - q[3]) + 127u) / 255u;
        if (s->direct) {
            unsigned char *o = s->out + ((size_t)oy * s->tw + x) * 3;
            o[0] = (unsigned char)v[0];
            o[1] = (unsigned char)v[1];
            o[2] = (unsigned char)v[2];
        } else {
            size_t k = (size_t)oy * s->tw + s->xmap[x];
            s->acc[k * 3] += v[0];
            s->acc[k * 3 + 1] += v[1];
            s->acc[k * 3 + 2] += v[2];
            s->cnt[k]++;
        }
    }
}

static void
sink_finish(sink *s, int type, uint32_t src_w, uint32_t src_h, sy_image *out)
{
    if (!s->direct) {
        size_t npx = (size_t)s->tw * s->th;
        for (size_t k = 0; k < npx; k++)
            for (int c = 0; c < 3; c++)
                s->out[k * 3 + c] =
                    s->cnt[k] ? (unsigned char)((s->acc[k * 3 + c] +
                                                 s->cnt[k] / 2) /
                                                s->cnt[k])
                              : 255;
    }
    *out = (sy_image){.type = type, .src_width = src_w, .src_height = src_h,
                      .width = s->tw, .height = s->th, .rgb = s->out};
}

/* The output size for a source of w x h and a longest side (0: none). */
static void
target_size(uint32_t w, uint32_t h, uint32_t side, uint32_t *tw, uint32_t *th)
{
    *tw = w;
    *th = h;
    if (!side || (w <= side && h <= side))
        return;
    if (w >= h) {
        *tw = side;
        *th = (uint32_t)(((uint64_t)h * side + w / 2) / w);
    } else {
        *th = side;
        *tw = (uint32_t)(((uint64_t)w * side + h / 2) / h);
    }
    if (!*tw)
        *tw = 1;
    if (!*th)
        *th = 1;
}

/* --------------------------------------------------------------- JPEG */

typedef struct jpeg_fence {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    const char *why;
} jpeg_fence;

static void
jpeg_fail(j_common_ptr c)
{
    jpeg_fence *f = (jpeg_fence *)c->err;
    if (!f->why)
        f->why = c->err->msg_code == JERR_OUT_OF_MEMORY
                     ? "The JPEG needs more memory than allowed."
                     : "The JPEG data is corrupt or unsupported.";
    longjmp(f->jb, 1);
}

/* Warnings about damaged entropy-coded data stop the decode (libjpeg
 * would fill the rest with grey); the others are harmless. */
static void
jpeg_message(j_common_ptr c, int level)
{
    if (level >= 0)
        return; /* trace messages */
    switch (c->err->msg_code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_MUST_RESYNC:
    case JWRN_HUFF_BAD_CODE:
#if JPEG_LIB_VERSION >= 70 || defined(C_ARITH_CODING_SUPPORTED) ||            \
    defined(D_ARITH_CODING_SUPPORTED)
    case JWRN_ARITH_BAD_CODE:
#endif
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION: {
        jpeg_fence *f = (jpeg_fence *)c->err;
        f->why = "The JPEG data is cut short or corrupt.";
        longjmp(f->jb, 1);
    }
    default:
        c->err->num_warnings++;
    }
}

/* libjpeg-turbo's advice against the many-scans denial of service. */
static void
jpeg_progress(j_common_ptr c)
{
    if (c->is_decompressor &&
        ((j_decompress_ptr)c)->input_scan_number > JPEG_MAX_SCANS) {
        jpeg_fence *f = (jpeg_fence *)c->err;
        f->why = "The progressive JPEG has too many scans.";
        longjmp(f->jb, 1);
    }
}

/* Adobe's inverted CMYK (or plain CMYK) to RGB, in place, n pixels. */
static void
cmyk_to_rgb(unsigned char *row, uint32_t n, bool inverted)
{
    for (uint32_t i = 0; i < n; i++) {
        unsigned char *q = row + (size_t)i * 4;
        unsigned c = q[0], m = q[1], y = q[2], k = q[3];
        if (!inverted)
            c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
        q[0] = (unsigned char)((c * k + 127) / 255);
        q[1] = (unsigned char)((m * k + 127) / 255);
        q[2] = (unsigned char)((y * k + 127) / 255);
        q[3] = 255;
    }
}

/* The JPEG read itself, after setjmp; destroys cinfo on its way out (a
 * longjmp skips that: decode_jpeg does it then). */
static int
jpeg_pixels(sy_arena *a, j_decompress_ptr cinfo, sy_str bytes,
            const sy_image_info *info, const sy_image_limits *lim,
            uint32_t tw, uint32_t th, sy_image *out, const char **why)
{
    int rc = SY_EVALIDATION;
    sink s;
    int64_t mem = lim->max_pixels * 4 + JPEG_MEMORY_SLACK;
    cinfo->mem->max_memory_to_use = mem > LONG_MAX ? LONG_MAX : (long)mem;
    jpeg_mem_src(cinfo, (const unsigned char *)bytes.p,
                 (unsigned long)bytes.len);
    jpeg_read_header(cinfo, TRUE);
    if (cinfo->image_width != info->width ||
        cinfo->image_height != info->height) {
        set_why(why, "The JPEG has more than one frame size.");
        goto out;
    }
    bool cmyk = cinfo->jpeg_color_space == JCS_CMYK ||
                cinfo->jpeg_color_space == JCS_YCCK;
    cinfo->out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    cinfo->scale_num = 1;
    cinfo->scale_denom = 1;
    for (unsigned d = 8; d > 1; d /= 2) {
        if ((info->width + d - 1) / d >= tw &&
            (info->height + d - 1) / d >= th) {
            cinfo->scale_denom = d;
            break;
        }
    }
    jpeg_start_decompress(cinfo);
    uint32_t ow = cinfo->output_width, oh = cinfo->output_height;
    int nc = cinfo->output_components;
    if ((nc != 3 && nc != 4) || ow < tw || oh < th) {
        set_why(why, "The JPEG decoded to an unexpected shape.");
        goto out;
    }
    rc = sink_init(a, &s, ow, oh, tw, th);
    JSAMPROW row = rc == 0 ? sy_arena_alloc(a, (size_t)ow * 4) : NULL;
    if (!row) {
        rc = SY_ENOMEM;
        goto out;
    }
    while (cinfo->output_scanline < oh) {
        uint32_t y = cinfo->output_scanline;
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
            rc = SY_EVALIDATION;
            set_why(why, "The JPEG data is cut short.");
            goto out;
        }
        if (cmyk)
            cmyk_to_rgb(row, ow, cinfo->saw_Adobe_marker);
        sink_put(&s, y, 0, 1, row, ow, nc);
    }
    sink_finish(&s, SY_IMAGE_JPEG, info->width, info->height, out);
    rc = 0;
out:
    jpeg_destroy_decompress(cinfo);
    return rc;
}

static int
decode_jpeg(sy_arena *a, sy_str bytes, const sy_image_info *info,
            const sy_image_limits *lim, uint32_t tw, uint32_t th,
            sy_image *out, const char **why)
{
    struct jpeg_decompress_struct cinfo;
    struct jpeg_progress_mgr prog = {.progress_monitor = jpeg_progress};
    jpeg_fence fence = {.why = NULL};

    cinfo.err = jpeg_std_error(&fence.pub);
    fence.pub.error_exit = jpeg_fail;
    fence.pub.emit_message = jpeg_message;
    if (setjmp(fence.jb)) {
        jpeg_destroy_decompress(&cinfo);
        set_why(why, fence.why);
        return SY_EVALIDATION;
    }
    jpeg_create_decompress(&cinfo);
    cinfo.progress = &prog;
    return jpeg_pixels(a, &cinfo, bytes, info, lim, tw, th, out, why);
}

/* ---------------------------------------------------------------- PNG */

typedef struct png_source {
    const unsigned char *p;
    size_t n, off;
    const char *why;
} png_source;

static void
png_read_mem(png_structp png, png_bytep dst, size_t len)
{
    png_source *src = png_get_io_ptr(png);
    if (len > src->n - src->off) {
        src->why = "The PNG data is cut short.";
        png_error(png, "truncated");
    }
    memcpy(dst, src->p + src->off, len);
    src->off += len;
}

static void
png_fail(png_structp png, png_const_charp msg)
{
    (void)msg; /* not logged: it may quote the image's own text */
    png_longjmp(png, 1);
}

static void
png_warn(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* Known ancillary chunks nothing here reads: skipped unparsed (the
 * compressed ones are where text and ICC bombs hide). */
static const png_byte png_skip[] = "iCCP\0iTXt\0tEXt\0zTXt\0sPLT\0eXIf\0"
                                   "tIME\0pCAL\0sCAL\0hIST\0bKGD\0pHYs";

/* The PNG read itself, between setjmp and the destroy of png. */
static int
png_pixels(sy_arena *a, png_structp png, png_infop pinfo,
           const sy_image_info *info, uint32_t tw, uint32_t th,
           sy_image *out, const char **why)
{
    uint32_t w = info->width, h = info->height;
    png_read_info(png, pinfo);
    if (png_get_image_width(png, pinfo) != w ||
        png_get_image_height(png, pinfo) != h) {
        set_why(why, "The PNG header is inconsistent.");
        return SY_EVALIDATION;
    }
    int ctype = png_get_color_type(png, pinfo);
    png_set_expand(png);   /* palette, low-bit grey, tRNS -> 8-bit, alpha */
    png_set_strip_16(png);
    png_set_gray_to_rgb(png);
    if (!(ctype & PNG_COLOR_MASK_ALPHA) &&
        !png_get_valid(png, pinfo, PNG_INFO_tRNS))
        png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER);
    bool adam7 = png_get_interlace_type(png, pinfo) == PNG_INTERLACE_ADAM7;
    /* no png_set_interlace_handling: each Adam7 pass arrives as its own
     * sub-image, whose pixels go straight to their place */
    png_read_update_info(png, pinfo);
    if (png_get_rowbytes(png, pinfo) != (size_t)w * 4 ||
        png_get_channels(png, pinfo) != 4) {
        set_why(why, "The PNG decoded to an unexpected shape.");
        return SY_EVALIDATION;
    }
    sink s;
    int rc = sink_init(a, &s, w, h, tw, th);
    png_bytep row = rc == 0 ? sy_arena_alloc(a, (size_t)w * 4) : NULL;
    if (!row)
        return SY_ENOMEM;
    if (!adam7) {
        for (uint32_t y = 0; y < h; y++) {
            png_read_row(png, row, NULL);
            sink_put(&s, y, 0, 1, row, w, 4);
        }
    } else {
        for (int pass = 0; pass < 7; pass++) {
            uint32_t rows = PNG_PASS_ROWS(h, pass);
            uint32_t cols = PNG_PASS_COLS(w, pass);
            if (!rows || !cols)
                continue; /* libpng skips empty passes too */
            for (uint32_t r = 0; r < rows; r++) {
                png_read_row(png, row, NULL);
                sink_put(&s, PNG_ROW_FROM_PASS_ROW(r, pass),
                         PNG_PASS_START_COL(pass),
                         1u << PNG_PASS_COL_SHIFT(pass), row, cols, 4);
            }
        }
    }
    sink_finish(&s, SY_IMAGE_PNG, w, h, out);
    return 0;
}

static int
decode_png(sy_arena *a, sy_str bytes, const sy_image_info *info,
           const sy_image_limits *lim, uint32_t tw, uint32_t th,
           sy_image *out, const char **why)
{
    png_source src = {.p = (const unsigned char *)bytes.p, .n = bytes.len};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL,
                                             png_fail, png_warn);
    png_infop pinfo = png ? png_create_info_struct(png) : NULL;
    if (!pinfo) {
        png_destroy_read_struct(&png, NULL, NULL);
        return SY_EINTERNAL;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &pinfo, NULL);
        set_why(why, src.why ? src.why : "The PNG data is corrupt.");
        return SY_EVALIDATION;
    }
    png_set_read_fn(png, &src, png_read_mem);
    uint32_t side = lim->max_side > 0x7fffffff ? 0x7fffffffu
                                               : (uint32_t)lim->max_side;
    png_set_user_limits(png, side, side);
    png_set_chunk_cache_max(png, 128);
    png_set_chunk_malloc_max(png, PNG_CHUNK_MALLOC_MAX);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, png_skip,
                                (int)(sizeof(png_skip) / 5));
    int rc = png_pixels(a, png, pinfo, info, tw, th, out, why);
    png_destroy_read_struct(&png, &pinfo, NULL);
    return rc;
}

/* --------------------------------------------------------------- WebP */

static int
decode_webp(sy_arena *a, sy_str bytes, const sy_image_info *info,
            uint32_t tw, uint32_t th, sy_image *out, const char **why)
{
    WebPDecoderConfig cfg;
    const uint8_t *p = (const uint8_t *)bytes.p;
    if (!WebPInitDecoderConfig(&cfg))
        return SY_EINTERNAL;
    if (WebPGetFeatures(p, bytes.len, &cfg.input) != VP8_STATUS_OK) {
        set_why(why, "The WebP header is corrupt.");
        return SY_EVALIDATION;
    }
    if (cfg.input.has_animation) {
        set_why(why, "Animated WebP images are not supported.");
        return SY_EVALIDATION;
    }
    if (tw != info->width || th != info->height) {
        cfg.options.use_scaling = 1;
        cfg.options.scaled_width = (int)tw;
        cfg.options.scaled_height = (int)th;
    }
    size_t stride = (size_t)tw * 4;
    uint8_t *rgba = sy_arena_alloc(a, stride * th);
    sink s;
    if (!rgba || sink_init(a, &s, tw, th, tw, th) < 0)
        return SY_ENOMEM;
    cfg.output.colorspace = MODE_RGBA;
    cfg.output.is_external_memory = 1;
    cfg.output.u.RGBA.rgba = rgba;
    cfg.output.u.RGBA.stride = (int)stride;
    cfg.output.u.RGBA.size = stride * th;
    VP8StatusCode st = WebPDecode(p, bytes.len, &cfg);
    WebPFreeDecBuffer(&cfg.output);
    if (st != VP8_STATUS_OK) {
        set_why(why, st == VP8_STATUS_NOT_ENOUGH_DATA
                         ? "The WebP data is cut short."
                         : "The WebP data is corrupt or unsupported.");
        return SY_EVALIDATION;
    }
    for (uint32_t y = 0; y < th; y++)
        sink_put(&s, y, 0, 1, rgba + y * stride, tw, 4);
    sink_finish(&s, SY_IMAGE_WEBP, info->width, info->height, out);
    return 0;
}

/* ------------------------------------------------------------- decode */

int
sy_image_decode(sy_arena *a, sy_str bytes, const sy_image_limits *lim,
                uint32_t max_side_out, sy_image *out, const char **why)
{
    sy_image_info info;
    int rc = sy_image_probe(bytes, &info);
    if (rc < 0) {
        set_why(why, rc == SY_EMEDIA
                         ? "The content is not a JPEG, PNG or WebP image."
                         : "The image header is corrupt or cut short.");
        return rc;
    }
    if (sy_image_fits(&info, lim) < 0) {
        set_why(why, "The image is larger than allowed.");
        return SY_ETOOBIG;
    }
    uint32_t tw, th;
    target_size(info.width, info.height, max_side_out, &tw, &th);
    sy_image img;
    switch (info.type) {
    case SY_IMAGE_JPEG:
        rc = decode_jpeg(a, bytes, &info, lim, tw, th, &img, why);
        break;
    case SY_IMAGE_PNG:
        rc = decode_png(a, bytes, &info, lim, tw, th, &img, why);
        break;
    default:
        rc = decode_webp(a, bytes, &info, tw, th, &img, why);
        break;
    }
    if (rc == SY_ENOMEM)
        set_why(why, "Out of memory.");
    if (rc == 0)
        *out = img;
    return rc;
}
