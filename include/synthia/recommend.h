/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * recommend.h - products whose colours suit an analysed palette
 * (app/domain/recommend.c).
 *
 * A chromatic analysis gives a palette (colours that suit the shopper)
 * and an avoid list.  Each product colour c is scored by CIEDE2000
 * (colour.h) against both:
 *
 *     closeness(c) = 1 / (1 + (dP / 10)^2)    dP = min over the palette
 *     clearance(c) = min(1, dA / 20)          dA = min over the avoid list
 *
 * so a colour on the palette scores 1, one 10 units away 0.5 (a
 * difference anyone sees, still a neighbour), 30 away 0.1; and a colour
 * on the avoid list zeroes a product, 10 away halves it, 20 or more away
 * leaves it be.  A product's
 * score, in [0, 1], is its best colour's closeness (its first colour, the
 * main one, counts fully, the others at 0.8) times its worst colour's
 * clearance.  The reason names the colours that decided it.
 *
 * Speed: CIEDE2000 costs microseconds (trigonometry), so the catalog is
 * ranked first by the Euclidean CIELAB distance (CIE76, a few
 * nanoseconds), and the best SY_RECO_CANDIDATES(limit) products are
 * scored exactly.  Each responder keeps a tenant's product colours in
 * CIELAB in memory, reloaded when the catalog version moves (at most
 * SY_RECO_TENANTS tenants).
 */
#ifndef SYNTHIA_RECOMMEND_H
#define SYNTHIA_RECOMMEND_H

#include "synthia/analysis.h"
#include "synthia/arena.h"
#include "synthia/cache.h"
#include "synthia/errs.h"
#include "synthia/str.h"

#define SY_RECO_LIMIT_DEFAULT 10
#define SY_RECO_LIMIT_MAX 50
#define SY_RECO_TENANTS 8
#define SY_RECO_CANDIDATES(limit) (4 * (limit) + 40)
#define SY_RECO_REFS_MAX 16 /* palette and avoid colours read */

struct json_object;
/* A JSON array of "#rrggbb" into at most SY_RECO_REFS_MAX CIELAB rows
 * (and their canonical hex when hex is not NULL); other entries are
 * skipped.  Returns how many were read. */
int sy_reco_lab_refs(struct json_object *arr, double (*lab)[3],
                     char (*hex)[8]);

typedef struct sy_reco_item {
    const char *product_id;
    sy_str product; /* its JSON (the product cache's) */
    double score;   /* [0, 1] */
    const char *reason;
} sy_reco_item;

typedef struct sy_reco {
    const char *analysis_id;
    const char *season; /* NULL when the analysis names none */
    int n;
    sy_reco_item *items; /* best first */
} sy_reco;

/* ?limit=: 1..SY_RECO_LIMIT_MAX; 0, or a field error. */
int sy_reco_limit(sy_errs *e, sy_str text, int *limit);

/* The limit best products of the tenant for analysis_id, which the
 * caller must be able to read (analysis.h).  0 and *out;
 * SY_ENOTFOUND (no such analysis); SY_EVALIDATION (an analysis without
 * a palette: not a chromatic one); SY_EDB. */
int sy_reco_for_analysis(sy_arena *a, const sy_catver *cv, const char *tenant,
                         const sy_ai_caller *who, const char *analysis_id,
                         int limit, sy_errs *e, sy_reco *out);

/* The score of one colour against a palette and an avoid list (CIELAB
 * rows), for tests and the documentation: closeness x clearance. */
double sy_reco_colour_score(const double lab[3], const double (*pal)[3],
                            int npal, const double (*avoid)[3], int navoid);

#endif
