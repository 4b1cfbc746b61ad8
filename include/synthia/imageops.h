/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * imageops.h - what is done to decoded pixels (app/ai/imageops.c):
 * resampling to another size and encoding back to JPEG.  The decoding
 * side (types, header checks, bomb limits) is image.h's.
 *
 * Used by the stored product images (a display size and a thumbnail),
 * the local try-on compositor and seed-demo's garment pictures.  Pure
 * functions of their arguments: deterministic, no I/O; memory from the
 * arena (the JPEG encoder's own working memory is libjpeg-turbo's, a
 * few rows, freed before return).
 */
#ifndef SYNTHIA_IMAGEOPS_H
#define SYNTHIA_IMAGEOPS_H

#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/image.h"
#include "synthia/str.h"

/* Largest side a resample or an encode accepts. */
#define SY_IMAGEOPS_MAX_SIDE 16384

/* src resampled to w x h (each 1..SY_IMAGEOPS_MAX_SIDE): an area
 * average where it shrinks, bilinear where it grows.  0 and *out (type
 * and source size copied from src); SY_EINVAL; SY_ENOMEM. */
int sy_image_resize(sy_arena *a, const sy_image *src, uint32_t w, uint32_t h,
                    sy_image *out);

/* The size that fits w x h within side x side keeping the aspect ratio
 * (never enlarged; each side at least 1). */
void sy_image_fit(uint32_t w, uint32_t h, uint32_t side, uint32_t *ow,
                  uint32_t *oh);

/* img as a baseline JPEG (4:2:0, no metadata) of the given quality
 * (1..100), its bytes in the arena.  0 and *out; SY_EINVAL (empty
 * image, quality out of range); SY_ENOMEM; SY_EINTERNAL when the
 * encoder fails. */
int sy_image_encode_jpeg(sy_arena *a, const sy_image *img, int quality,
                         sy_str *out);

#endif
