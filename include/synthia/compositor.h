/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * compositor.h - the local try-on compositor (app/ai/compositor.c): the
 * provider kind "local" of the [ai] tryon chain.  No network and no
 * model: the garment pictures are keyed out of their background and laid
 * over the torso of the person, found below the face that the skin
 * classifier (chromatic.h) finds, with a visible "PREVIEW" mark, so that
 * nobody takes it for a generated try-on.  A real image, made of the
 * inputs; deterministic (the same inputs give the same bytes).
 *
 * The worker calls it for a job whose provider is "local"; its result is
 * a JPEG at most SY_COMPOSITOR_SIDE pixels a side (the person photo's
 * aspect ratio).  Inputs are decoded within the [uploads] pixel limits.
 * Working memory comes from the arena: about 20 MB for a person photo
 * and one garment, up to about 48 MB with SY_AI_TRYON_MAX_GARMENTS.
 */
#ifndef SYNTHIA_COMPOSITOR_H
#define SYNTHIA_COMPOSITOR_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/image.h"
#include "synthia/provider.h"

#define SY_COMPOSITOR_MODEL "local-compositor-v1" /* the model it reports */
#define SY_COMPOSITOR_SIDE 640         /* the result's longest side at most */
#define SY_COMPOSITOR_GARMENT_SIDE 384 /* garments are decoded at most this */
#define SY_COMPOSITOR_MIN_SIDE 64      /* a smaller person photo is refused */
#define SY_COMPOSITOR_QUALITY 88       /* JPEG quality of the result */

/* A rectangle of pixels, [x0, x1) x [y0, y1). */
typedef struct sy_tryon_box {
    uint32_t x0, y0, x1, y1;
} sy_tryon_box;

/* Where the garments go on a decoded person photo.  The largest skin
 * region whose centre lies in the upper 60 % of the picture is taken
 * for the face (fw x fh); the torso starts a sixth of the face's height
 * below its chin and is 2.6 face widths wide and 2.3 face heights tall,
 * centred under the face, clipped to the picture (at least an eighth of
 * the picture tall).  Without such a region (no face in view, or light
 * the classifier cannot read) the torso is the middle of the picture:
 * from 25 % to 75 % across and from 30 % to 85 % down.  *face tells
 * which (may be NULL).  0, SY_EINVAL (an empty image) or SY_ENOMEM. */
int sy_tryon_torso(sy_arena *a, const sy_image *person, sy_tryon_box *out,
                   bool *face);

/* Where the "PREVIEW" mark is drawn on a w x h result: a dark band with
 * white letters in the lower right corner. */
void sy_tryon_mark_box(uint32_t w, uint32_t h, sy_tryon_box *out);

/* The person photo with the garments (1 to SY_AI_TRYON_MAX_GARMENTS, in
 * order: a later one is laid over an earlier one, as a jacket over a
 * shirt) placed over its torso.  Each garment's background is keyed out:
 * the colour of its border (per-channel median) when most of the border
 * has it, taken away where it reaches in from the edge, with a soft
 * edge; the rest of the garment (its bounding box) is scaled to fit the
 * torso, centred across and aligned with the shoulders.  A garment
 * picture whose border is not plain is laid whole.
 *
 * 0 and *out: image/jpeg bytes in the arena.  SY_EINVAL (no person, no
 * garments or too many, an image without bytes); SY_EMEDIA (an input is
 * not JPEG, PNG or WebP); SY_ETOOBIG (an input is over the [uploads]
 * pixel limits: refused from its header); SY_EVALIDATION (an input is
 * corrupt or cut short, the person photo is under SY_COMPOSITOR_MIN_SIDE
 * a side, or a garment picture is nothing but background); SY_ENOMEM;
 * SY_EINTERNAL (the encoder failed).  *out is written only on success. */
int sy_tryon_composite(sy_arena *a, const sy_ai_image *person,
                       const sy_ai_image *garments, int ngarments,
                       sy_ai_image *out);

/* The same, with a sentence for the job's error on every failure in
 * *why (a static string; why may be NULL). */
int sy_tryon_composite_why(sy_arena *a, const sy_ai_image *person,
                           const sy_ai_image *garments, int ngarments,
                           sy_ai_image *out, const char **why);

#endif
