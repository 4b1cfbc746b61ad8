/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * chromatic.c - the local colour-season analyser (chromatic.h).
 *
 * Method (synthia(8), "Colour analysis", says the same for users):
 *
 * 1. Colour space.  Each pixel goes from sRGB to linear light (the IEC
 *    61966-2-1 transfer function), to CIE XYZ with the sRGB primaries
 *    and the D65 white, to CIELAB (CIE 15:2004) relative to D65.
 * 2. Skin pixels.  The YCbCr box of Chai and Ngan ("Face segmentation
 *    using skin-color map in videophone applications", IEEE Trans.
 *    Circuits and Systems for Video Technology 9(4), 1999):
 *    77 <= Cb <= 127 and 133 <= Cr <= 173 (ITU-R BT.601 full range),
 *    plus luma Y >= 40 so that near-black hair and shadows stay out.  It
 *    ignores luminance, so it finds fair and deep skin alike.
 * 3. The skin colour.  k-means (k = 3) in CIELAB over the skin pixels
 *    (sampled by position, at most 8,192); the largest cluster's centre
 *    is the skin (hair, lips and highlights that pass the box fall into
 *    the smaller clusters).  The hue angle h_ab = atan2(b*, a*) and the
 *    chroma C*_ab = sqrt(a*^2 + b*^2) come from it.
 * 4. The region.  The box around the skin pixels (2nd to 98th
 *    percentile of their columns and rows), widened by a quarter on each
 *    side, 40 % upwards for the hair and 10 % downwards; k-means (k = 4)
 *    in CIELAB over it (at most 16,384 pixels on a grid) gives its
 *    dominant colours.  The darkest one that holds at least 3 % of the
 *    region is "the darkest cluster" (hair, eyes, brows).
 * 5. Labels.  Undertone from h_ab: below 45 degrees cool (pinker),
 *    above 60 warm (yellower), between neutral.  Value from the skin's
 *    L*: 70 or more light, under 45 deep.  Contrast from the L* spread
 *    between the skin and the darkest cluster: under 20 low, over 40
 *    high.  Chroma from C*_ab: under 16 low, over 28 high.
 * 6. Season, by the dominant characteristic of the 12-season system.
 *    Three scores, each clipped to -1..1: warmth w = (h_ab - 52) / 12,
 *    depth d = (57 - L*) / 15, and clarity q, the mean of
 *    (C*_ab - 22) / 8 and (spread - 30) / 15.  The score of largest
 *    magnitude is the dominant one (ties: depth, then warmth, then
 *    clarity), and with the temperature (the sign of w) it names the
 *    season: depth -> deep autumn / deep winter (d > 0) or light spring /
 *    light summer; clarity -> bright spring / bright winter (q > 0) or
 *    soft autumn / soft summer; warmth -> true spring or true autumn
 *    (warm: spring when lighter and clearer, q - d > 0), true winter or
 *    true summer (cool: winter when deeper and clearer, q + d > 0).
 *
 * k-means: k-means++ seeding from a fixed-seed xorshift generator, then
 * Lloyd iterations until nothing moves (at most 20).  Same pixels, same
 * result.
 *
 * Limits: the classifier sees colour, not faces; light that is strongly
 * coloured (tungsten, neon) shifts the hue and so the undertone; hair or
 * clothes of skin colour can outnumber the skin; a dark background close
 * around the face counts as the darkest cluster.
 */
#include "synthia/chromatic.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "synthia/colour.h"
#include "synthia/error.h"

#define SKIN_SAMPLE_MAX 8192
#define REGION_SAMPLE_MAX 16384
#define SKIN_K 3
#define REGION_K SY_CHROMATIC_CLUSTERS
#define KMEANS_ITER 20
#define KMEANS_SEED 0x9e3779b9u
#define DARK_MIN_SHARE 0.03

/* ---------------------------------------------------------- colour */

/* Chai and Ngan's skin box in full-range BT.601 YCbCr, with a luma
 * floor. */
bool
sy_chromatic_skin_pixel(const unsigned char *p)
{
    double r = p[0], g = p[1], b = p[2];
    double y = 0.299 * r + 0.587 * g + 0.114 * b;
    double cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
    double cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
    return y >= 40 && cb >= 77 && cb <= 127 && cr >= 133 && cr <= 173;
}

/* ---------------------------------------------------------- k-means */

typedef struct lab3 {
    float v[3];
} lab3;

static uint32_t
xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static float
dist2(const lab3 *p, const lab3 *q)
{
    float d0 = p->v[0] - q->v[0], d1 = p->v[1] - q->v[1],
          d2 = p->v[2] - q->v[2];
    return d0 * d0 + d1 * d1 + d2 * d2;
}

static int
nearest(const lab3 *p, const lab3 *cent, int k)
{
    int best = 0;
    float bd = dist2(p, &cent[0]);
    for (int j = 1; j < k; j++) {
        float d = dist2(p, &cent[j]);
        if (d < bd)
            bd = d, best = j;
    }
    return best;
}

/* k-means++ seeding, then Lloyd.  n >= 1; cent and count get k entries
 * (a cluster nobody joins keeps its seed and a count of 0).  d2 and
 * assign are scratch arrays of n. */
static void
kmeans(const lab3 *pts, int n, int k, lab3 *cent, int *count, float *d2,
       int *assign)
{
    uint32_t seed = KMEANS_SEED;
    cent[0] = pts[xorshift(&seed) % (uint32_t)n];
    for (int i = 0; i < n; i++)
        d2[i] = dist2(&pts[i], &cent[0]);
    for (int j = 1; j < k; j++) {
        double total = 0;
        for (int i = 0; i < n; i++)
            total += d2[i];
        int pick = 0;
        if (total > 0) {
            double r = (xorshift(&seed) / 4294967296.0) * total, acc = 0;
            for (pick = 0; pick < n - 1; pick++) {
                acc += d2[pick];
                if (acc > r)
                    break;
            }
        } else {
            pick = (int)(xorshift(&seed) % (uint32_t)n); /* all alike */
        }
        cent[j] = pts[pick];
        for (int i = 0; i < n; i++) {
            float d = dist2(&pts[i], &cent[j]);
            if (d < d2[i])
                d2[i] = d;
        }
    }
    for (int i = 0; i < n; i++)
        assign[i] = -1;
    for (int it = 0; it < KMEANS_ITER; it++) {
        bool moved = false;
        for (int i = 0; i < n; i++) {
            int c = nearest(&pts[i], cent, k);
            if (c != assign[i])
                assign[i] = c, moved = true;
        }
        double sum[REGION_K > SKIN_K ? REGION_K : SKIN_K][3];
        memset(sum, 0, sizeof(sum));
        for (int j = 0; j < k; j++)
            count[j] = 0;
        for (int i = 0; i < n; i++) {
            int c = assign[i];
            count[c]++;
            for (int d = 0; d < 3; d++)
                sum[c][d] += pts[i].v[d];
        }
        for (int j = 0; j < k; j++)
            if (count[j])
                for (int d = 0; d < 3; d++)
                    cent[j].v[d] = (float)(sum[j][d] / count[j]);
        if (!moved)
            break;
    }
}

/* ---------------------------------------------------------- seasons */

typedef struct season {
    const char *name;
    int temp;            /* +1 warm (spring, autumn), -1 cool */
    const char *palette[SY_CHROMATIC_PALETTE];
    const char *avoid[SY_CHROMATIC_AVOID];
} season;

/* Profiles: t warm +1 .. cool -1; v deep +1 .. light -1; c clear +1 ..
 * muted -1; k high contrast +1 .. low -1.  Palettes are the usual
 * colours of each season in the 12-season system; the avoid lists are
 * those of its opposite. */
static const season seasons[] = {
    {"light spring", +1,
     {"#ffd8b1", "#ffb5a7", "#ffe680", "#b8e0c8", "#8fd3e8", "#f7c6d9",
      "#e8c39e", "#a7c7e7"},
     {"#000000", "#4b0082", "#800020", "#2f4f4f"}},
    {"true spring", +1,
     {"#ff7f50", "#ffa500", "#ffd700", "#7fc241", "#40b5ad", "#f4a460",
      "#ff6f61", "#c19a6b"},
     {"#000000", "#708090", "#800080", "#c0c0c0"}},
    {"bright spring", +1,
     {"#ff4f58", "#ff8c00", "#ffd300", "#00a86b", "#00bfff", "#ff69b4",
      "#7b68ee", "#fffff0"},
     {"#8b7d6b", "#bc8f8f", "#556b2f", "#696969"}},
    {"light summer", -1,
     {"#b0c4de", "#e6e6fa", "#f4c2c2", "#afeeee", "#98b4d4", "#d8bfd8",
      "#b2d8d8", "#f0f8ff"},
     {"#000000", "#ff8c00", "#8b4513", "#daa520"}},
    {"true summer", -1,
     {"#6a5acd", "#5f9ea0", "#db7093", "#778899", "#4682b4", "#b784a7",
      "#7ba7bc", "#e0b0ff"},
     {"#ff8c00", "#daa520", "#8b4513", "#ffff00"}},
    {"soft summer", -1,
     {"#8e9aaf", "#96a8a1", "#c3a6b1", "#7d8491", "#b5a6c9", "#6c8ea4",
      "#d2b1a3", "#5e6b73"},
     {"#ff4500", "#ffd700", "#000000", "#ff1493"}},
    {"soft autumn", +1,
     {"#c8a27c", "#a9a47b", "#c98b6b", "#8f9779", "#d8b384", "#9c6644",
      "#7d9d9c", "#e4c9a8"},
     {"#000000", "#ff00ff", "#00bfff", "#ffffff"}},
    {"true autumn", +1,
     {"#cc5500", "#8b4513", "#daa520", "#556b2f", "#b7410e", "#808000",
      "#008080", "#c19a6b"},
     {"#ff69b4", "#e6e6fa", "#c0c0c0", "#00ffff"}},
    {"deep autumn", +1,
     {"#7b3f00", "#800000", "#b8860b", "#2e5a3c", "#8b0000", "#4b5320",
      "#a0522d", "#006d6f"},
     {"#ffb6c1", "#e6e6fa", "#b0e0e6", "#c0c0c0"}},
    {"deep winter", -1,
     {"#000000", "#191970", "#800020", "#046307", "#4b0082", "#dc143c",
      "#ffffff", "#36454f"},
     {"#f5deb3", "#ffa07a", "#d2b48c", "#f0e68c"}},
    {"true winter", -1,
     {"#000000", "#ffffff", "#0000cd", "#dc143c", "#008b8b", "#c71585",
      "#4169e1", "#50c878"},
     {"#ffa500", "#d2691e", "#f5deb3", "#bdb76b"}},
    {"bright winter", -1,
     {"#ff0080", "#0047ab", "#00a36c", "#ffffff", "#000000", "#e0115f",
      "#7f00ff", "#00ced1"},
     {"#c8a27c", "#808000", "#d2b48c", "#bc8f8f"}},
};
#define NSEASONS ((int)(sizeof(seasons) / sizeof(seasons[0])))

const char *const *
sy_chromatic_seasons(int *n)
{
    static const char *names[NSEASONS];
    for (int i = 0; i < NSEASONS; i++)
        names[i] = seasons[i].name;
    *n = NSEASONS;
    return names;
}

int
sy_chromatic_season_colours(const char *name, const char *const **palette,
                            const char *const **avoid)
{
    for (int i = 0; i < NSEASONS; i++) {
        if (name && strcmp(seasons[i].name, name) == 0) {
            *palette = seasons[i].palette;
            *avoid = seasons[i].avoid;
            return 0;
        }
    }
    return SY_ENOTFOUND;
}

static double
clamp1(double x)
{
    return x < -1 ? -1 : x > 1 ? 1 : x;
}

/* The season of the dominant characteristic (method step 6). */
static const season *
pick_season(double w, double d, double q)
{
    const char *name;
    bool warm = w >= 0;
    double aw = fabs(w), ad = fabs(d), aq = fabs(q);
    if (ad >= aw && ad >= aq)
        name = d > 0 ? (warm ? "deep autumn" : "deep winter")
                     : (warm ? "light spring" : "light summer");
    else if (aw >= aq)
        name = warm ? (q - d > 0 ? "true spring" : "true autumn")
                    : (q + d > 0 ? "true winter" : "true summer");
    else
        name = q > 0 ? (warm ? "bright spring" : "bright winter")
                     : (warm ? "soft autumn" : "soft summer");
    for (int i = 0; i < NSEASONS; i++)
        if (strcmp(seasons[i].name, name) == 0)
            return &seasons[i];
    return &seasons[0]; /* not reached: every name is in the table */
}

/* ---------------------------------------------------------- analysis */

/* The value at fraction q of a histogram of n bins holding total. */
static uint32_t
percentile(const uint32_t *hist, uint32_t n, uint64_t total, double q)
{
    uint64_t want = (uint64_t)(q * (double)total), acc = 0;
    for (uint32_t i = 0; i < n; i++) {
        acc += hist[i];
        if (acc > want)
            return i;
    }
    return n - 1;
}

static void
to_lab3(const unsigned char *px, lab3 *out)
{
    double lab[3];
    sy_colour_srgb_to_lab(px[0], px[1], px[2], lab);
    for (int d = 0; d < 3; d++)
        out->v[d] = (float)lab[d];
}

int
sy_chromatic_analyse(sy_arena *a, const sy_image *img, sy_chromatic *out,
                     const char **why)
{
    uint32_t w = img->width, h = img->height;
    if (!img->rgb || !w || !h) {
        if (why)
            *why = "The image is empty.";
        return SY_EINVAL;
    }
    uint64_t npx = (uint64_t)w * h;
    uint32_t *cols = sy_arena_calloc(a, (size_t)w * sizeof(uint32_t));
    uint32_t *rows = cols ? sy_arena_calloc(a, (size_t)h * sizeof(uint32_t))
                          : NULL;
    if (!rows)
        return SY_ENOMEM;

    /* skin pixels: how many, and where */
    uint64_t nskin = 0;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            if (sy_chromatic_skin_pixel(img->rgb + ((size_t)y * w + x) * 3)) {
                nskin++;
                cols[x]++;
                rows[y]++;
            }
    if (nskin < 64 || nskin * 200 < npx) {
        if (why)
            *why = "No skin was found in the photo: it needs a face (or "
                   "skin) in neutral, daylight-like light.";
        return SY_EVALIDATION;
    }

    /* the skin colour: the largest of 3 clusters of the skin pixels */
    uint64_t step = (nskin + SKIN_SAMPLE_MAX - 1) / SKIN_SAMPLE_MAX;
    int nsk = (int)((nskin + step - 1) / step);
    int scratch = nsk > REGION_SAMPLE_MAX ? nsk : REGION_SAMPLE_MAX;
    lab3 *pts = sy_arena_alloc(a, (size_t)scratch * sizeof(lab3));
    float *d2 = pts ? sy_arena_alloc(a, (size_t)scratch * sizeof(float))
                    : NULL;
    int *assign = d2 ? sy_arena_alloc(a, (size_t)scratch * sizeof(int))
                     : NULL;
    if (!assign)
        return SY_ENOMEM;
    uint64_t seen = 0;
    int m = 0;
    for (size_t i = 0; i < npx && m < nsk; i++) {
        const unsigned char *px = img->rgb + i * 3;
        if (sy_chromatic_skin_pixel(px) && seen++ % step == 0)
            to_lab3(px, &pts[m++]);
    }
    lab3 cent[REGION_K];
    int count[REGION_K];
    kmeans(pts, m, SKIN_K, cent, count, d2, assign);
    int big = 0;
    for (int j = 1; j < SKIN_K; j++)
        if (count[j] > count[big])
            big = j;
    double skin[3] = {cent[big].v[0], cent[big].v[1], cent[big].v[2]};

    /* the region around the skin, and its dominant colours */
    uint32_t x0 = percentile(cols, w, nskin, 0.02),
             x1 = percentile(cols, w, nskin, 0.98),
             y0 = percentile(rows, h, nskin, 0.02),
             y1 = percentile(rows, h, nskin, 0.98);
    uint32_t bw = x1 - x0 + 1, bh = y1 - y0 + 1;
    x0 = x0 > bw / 4 ? x0 - bw / 4 : 0;
    x1 = x1 + bw / 4 < w ? x1 + bw / 4 : w - 1;
    y0 = y0 > bh * 2 / 5 ? y0 - bh * 2 / 5 : 0;
    y1 = y1 + bh / 10 < h ? y1 + bh / 10 : h - 1;
    uint64_t rpx = (uint64_t)(x1 - x0 + 1) * (y1 - y0 + 1);
    uint32_t grid = 1;
    while (rpx / ((uint64_t)grid * grid) > REGION_SAMPLE_MAX)
        grid++;
    m = 0;
    for (uint32_t y = y0; y <= y1; y += grid)
        for (uint32_t x = x0; x <= x1 && m < REGION_SAMPLE_MAX; x += grid)
            to_lab3(img->rgb + ((size_t)y * w + x) * 3, &pts[m++]);
    kmeans(pts, m, REGION_K, cent, count, d2, assign);

    sy_chromatic r;
    memset(&r, 0, sizeof(r));
    /* clusters by L*, darkest first */
    int order[REGION_K];
    for (int j = 0; j < REGION_K; j++)
        order[j] = j;
    for (int i = 1; i < REGION_K; i++)
        for (int j = i; j > 0 && cent[order[j]].v[0] < cent[order[j - 1]].v[0];
             j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    r.dark_L = -1;
    for (int i = 0; i < REGION_K; i++) {
        int j = order[i];
        if (!count[j])
            continue;
        sy_chromatic_cluster *c = &r.clusters[r.nclusters++];
        double lab[3] = {cent[j].v[0], cent[j].v[1], cent[j].v[2]};
        c->L = lab[0];
        c->a = lab[1];
        c->b = lab[2];
        c->share = (double)count[j] / m;
        sy_colour_lab_to_hex(lab, c->hex);
        if (r.dark_L < 0 && c->share >= DARK_MIN_SHARE)
            r.dark_L = c->L;
    }
    if (r.dark_L < 0)
        r.dark_L = r.clusters[0].L;

    /* measurements, labels, season */
    r.skin_L = skin[0];
    r.skin_a = skin[1];
    r.skin_b = skin[2];
    r.skin_hue = atan2(skin[2], skin[1]) * 180.0 / M_PI;
    r.skin_chroma = hypot(skin[1], skin[2]);
    sy_colour_lab_to_hex(skin, r.skin_hex);
    r.skin_share = (double)nskin / (double)npx;
    double spread = r.skin_L - r.dark_L;
    if (spread < 0)
        spread = 0;
    int temp = r.skin_hue < 45 ? -1 : r.skin_hue > 60 ? +1 : 0;
    r.undertone = temp < 0 ? "cool" : temp > 0 ? "warm" : "neutral";
    r.value = r.skin_L >= 70 ? "light" : r.skin_L < 45 ? "deep" : "medium";
    r.contrast = spread < 20 ? "low" : spread > 40 ? "high" : "medium";
    r.chroma = r.skin_chroma < 16   ? "low"
               : r.skin_chroma > 28 ? "high"
                                    : "medium";
    double chroma_score = clamp1((r.skin_chroma - 22) / 8),
           contrast_score = clamp1((spread - 30) / 15);
    const season *s = pick_season(clamp1((r.skin_hue - 52) / 12),
                                  clamp1((57 - r.skin_L) / 15),
                                  (chroma_score + contrast_score) / 2);
    r.season = s->name;
    memcpy(r.palette, s->palette, sizeof(r.palette));
    memcpy(r.avoid, s->avoid, sizeof(r.avoid));
    *out = r;
    return 0;
}
