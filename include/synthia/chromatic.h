/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * chromatic.h - the local colour-season analyser: the pixels of a photo
 * in, a season of the 12-season system, undertone, value, contrast,
 * chroma, a palette and colours to avoid out.  No network, no model:
 * colour science on the pixels (app/ai/chromatic.c says how).
 *
 * Deterministic: the same pixels give the same result, bit for bit (the
 * k-means seed is fixed and the sampling is by position).  Pure: no I/O,
 * no state between calls; working memory comes from the arena.
 *
 * Decode the photo first with sy_image_decode(..., SY_CHROMATIC_SIDE,
 * ...): the analysis is made for a few tens of thousands of pixels, and a
 * larger image only costs time.
 */
#ifndef SYNTHIA_CHROMATIC_H
#define SYNTHIA_CHROMATIC_H

#include <stdbool.h>

#include "synthia/arena.h"
#include "synthia/image.h"

#define SY_CHROMATIC_SIDE 256      /* the decode target it is made for */
#define SY_CHROMATIC_PALETTE 8     /* colours in a season's palette */
#define SY_CHROMATIC_AVOID 4       /* colours in its avoid list */
#define SY_CHROMATIC_CLUSTERS 4    /* dominant colours measured */
#define SY_CHROMATIC_METHOD "local-lab-kmeans-v1"

/* A dominant colour of the region around the skin (k-means in CIELAB). */
typedef struct sy_chromatic_cluster {
    char hex[8];   /* "#rrggbb" */
    double L, a, b;
    double share;  /* of the region's sampled pixels, 0..1 */
} sy_chromatic_cluster;

typedef struct sy_chromatic {
    /* the verdict (static strings) */
    const char *season;    /* "light spring" ... "bright winter" */
    const char *undertone; /* "warm", "cool", "neutral" */
    const char *value;     /* "light", "medium", "deep" */
    const char *contrast;  /* "low", "medium", "high" */
    const char *chroma;    /* "low", "medium", "high" */
    const char *palette[SY_CHROMATIC_PALETTE]; /* "#rrggbb" */
    const char *avoid[SY_CHROMATIC_AVOID];
    /* what it was measured from */
    double skin_L, skin_a, skin_b; /* CIELAB (D65) of the skin */
    double skin_hue;               /* h_ab in degrees, -180..180 */
    double skin_chroma;            /* C*_ab */
    char skin_hex[8];              /* the skin colour, "#rrggbb" */
    double dark_L;                 /* L* of the darkest dominant colour */
    double skin_share;             /* skin pixels / pixels, 0..1 */
    int nclusters;
    sy_chromatic_cluster clusters[SY_CHROMATIC_CLUSTERS]; /* by L*, dark
                                                             first */
} sy_chromatic;

/* Analyse img.  0 and *out; SY_EVALIDATION when too few skin pixels were
 * found to measure (fewer than 0.5 % of the pixels, or 64): the photo
 * shows no face or skin, or one under light too coloured or too dark for
 * the classifier, and the caller answers 422 (the photo, not the
 * service, is at fault); SY_EINVAL for an empty image; SY_ENOMEM.  why
 * (may be NULL) gets a sentence for the client on failure.  *out is
 * written only on success. */
int sy_chromatic_analyse(sy_arena *a, const sy_image *img, sy_chromatic *out,
                         const char **why);

/* Is the RGB pixel p (3 bytes) skin?  The classifier the analysis uses
 * (a box in YCbCr, Chai and Ngan, with a luma floor); the local try-on
 * compositor finds the face with it too. */
bool sy_chromatic_skin_pixel(const unsigned char *p);

/* The 12 season names, in the table's order (for documentation, tests
 * and the later recommendation step); n gets 12. */
const char *const *sy_chromatic_seasons(int *n);

/* The palette and avoid list of a season by name: 0, or SY_ENOTFOUND. */
int sy_chromatic_season_colours(const char *season,
                                const char *const **palette,
                                const char *const **avoid);

#endif
