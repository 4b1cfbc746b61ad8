/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * image.h - JPEG, PNG and WebP: the type by magic bytes, the dimensions
 * from the header alone, and a bounded decode to 8-bit RGB.
 *
 * The type is told by the first bytes only (FF D8 FF; the PNG signature;
 * RIFF....WEBP), never by a file name or a declared Content-Type.  The
 * header is read before any decoding, so a decompression bomb (a small
 * file that claims a huge canvas) is refused by sy_image_fits without a
 * byte of pixels being decoded.  Decoding goes through libjpeg-turbo
 * (errors by setjmp, corrupt-data warnings treated as errors, a scan
 * limit and a memory limit), libpng (error callbacks, user limits, no
 * ancillary text or ICC chunks) and libwebp (still images only).
 *
 * Memory: the result lives in the arena (width x height x 3 bytes).  A
 * decode with a target side shrinks as it goes (libjpeg-turbo's DCT
 * scaling, libwebp's scaler, then an area average over the rows), so it
 * takes the arena about 28 bytes per *output* pixel whatever the size of
 * the source.  The libraries' own working memory is a few rows, except
 * progressive JPEG and lossless WebP, which hold up to about 4 bytes per
 * *source* pixel while they decode (bounded through max_pixels).
 * Transparent pixels (PNG, WebP) are composited over white.
 */
#ifndef SYNTHIA_IMAGE_H
#define SYNTHIA_IMAGE_H

#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/str.h"

enum sy_image_type {
    SY_IMAGE_NONE = 0,
    SY_IMAGE_JPEG,
    SY_IMAGE_PNG,
    SY_IMAGE_WEBP,
};

/* What the header says. */
typedef struct sy_image_info {
    int type;        /* enum sy_image_type */
    uint32_t width;  /* pixels, >= 1 */
    uint32_t height;
} sy_image_info;

/* Refusal bounds (the uploads.max_pixels and uploads.max_side keys). */
typedef struct sy_image_limits {
    int64_t max_pixels; /* width x height at most this */
    int64_t max_side;   /* width and height at most this */
} sy_image_limits;

/* A decoded image: rows top to bottom, R G B bytes per pixel. */
typedef struct sy_image {
    int type;            /* enum sy_image_type of the source */
    uint32_t src_width;  /* the source's size */
    uint32_t src_height;
    uint32_t width;      /* the decoded (maybe shrunk) size */
    uint32_t height;
    unsigned char *rgb;  /* width * height * 3 bytes, arena memory */
} sy_image;

/* The type by magic bytes alone, or SY_IMAGE_NONE. */
int sy_image_sniff(sy_str bytes);

/* "image/jpeg", "image/png", "image/webp"; NULL for SY_IMAGE_NONE. */
const char *sy_image_mime(int type);

/* Type and dimensions from the header, decoding no pixels and
 * allocating nothing.  0 and *out; SY_EMEDIA when the bytes are not
 * JPEG, PNG or WebP; SY_EVALIDATION when they claim to be but the header
 * is malformed or cut short (JPEG: the frame header is not found before
 * the scan, or gives a zero side).  *out is written only on success. */
int sy_image_probe(sy_str bytes, sy_image_info *out);

/* 0 when info is within lim, else SY_ETOOBIG (a bomb, or just too
 * large). */
int sy_image_fits(const sy_image_info *info, const sy_image_limits *lim);

/* Probe, check against lim, and decode to RGB.  max_side_out 0 decodes
 * at full size; otherwise the result is shrunk (never enlarged) so that
 * its longer side is at most max_side_out, keeping the aspect ratio
 * (each side at least 1).  Returns 0 and *out; SY_EMEDIA (not an image
 * we read), SY_ETOOBIG (over lim: nothing was decoded), SY_EVALIDATION
 * (the header or the pixel data is corrupt, cut short, or uses what the
 * decoders refuse: animated WebP, over 100 progressive JPEG scans, a
 * JPEG that needs more than the memory limit), or SY_ENOMEM (the arena's
 * budget).  *out is written only on success.  why (may be NULL) gets a
 * short static reason on failure, for logs and problem details. */
int sy_image_decode(sy_arena *a, sy_str bytes, const sy_image_limits *lim,
                    uint32_t max_side_out, sy_image *out, const char **why);

#endif
