/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * recommend.c (domain) - products whose colours suit an analysed palette
 * (recommend.h says how they are scored).
 */
#include "synthia/recommend.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/clock.h"
#include "synthia/colour.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/metrics.h"
#include "synthia/products.h"
#include "synthia/products_db.h"

#define SECONDARY_WEIGHT 0.8
/* Without a catalog version (Redis down), a copy this young is used. */
#define UNVERSIONED_MS 5000

static sy_metric m_loads = {
    .name = "synthia_recommend_colour_loads_total",
    .help = "Tenant product colour tables loaded from PostgreSQL by a "
            "responder (recommendations)."};
SY_METRICS_REGISTER(&m_loads)

/* ------------------------------------------------- the colour tables */

typedef struct colours {
    char tenant[SY_UUID_LEN + 1];
    bool has_version;
    int64_t version;
    int64_t loaded_us;
    uint64_t used;
    int n;                        /* products */
    char (*ids)[SY_UUID_LEN + 1]; /* n */
    int *first;                   /* n + 1: product i's colours are
                                     first[i] .. first[i + 1] - 1 */
    float (*lab)[3];              /* every colour, in product order */
    unsigned char (*rgb)[3];
} colours;

static colours held[SY_RECO_TENANTS];
static uint64_t use_tick;

static void
colours_free(colours *c)
{
    free(c->ids);
    free(c->first);
    free(c->lab);
    free(c->rgb);
    memset(c, 0, sizeof(*c));
}

static int
colours_load(sy_arena *a, const char *tenant, colours *c)
{
    sy_product_colours *rows;
    int n;
    int rc = sy_products_db_colours(a, tenant, &rows, &n);
    if (rc < 0)
        return rc;
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += rows[i].colours.len / 7;
    colours_free(c);
    c->ids = malloc((size_t)(n ? n : 1) * sizeof(*c->ids));
    c->first = malloc((size_t)(n + 1) * sizeof(*c->first));
    c->lab = malloc((total ? total : 1) * sizeof(*c->lab));
    c->rgb = malloc((total ? total : 1) * sizeof(*c->rgb));
    if (!c->ids || !c->first || !c->lab || !c->rgb) {
        colours_free(c);
        return SY_ENOMEM;
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
        snprintf(c->ids[i], sizeof(c->ids[i]), "%s", rows[i].id);
        c->first[i] = k;
        sy_str s = rows[i].colours;
        for (size_t off = 0; off + 7 <= s.len; off += 7) {
            unsigned char rgb[3];
            double lab[3];
            if (sy_colour_hex_parse(s.p + off, 7, rgb) < 0)
                continue;
            sy_colour_srgb_to_lab(rgb[0], rgb[1], rgb[2], lab);
            memcpy(c->rgb[k], rgb, 3);
            c->lab[k][0] = (float)lab[0];
            c->lab[k][1] = (float)lab[1];
            c->lab[k][2] = (float)lab[2];
            k++;
        }
    }
    c->first[n] = k;
    c->n = n;
    snprintf(c->tenant, sizeof(c->tenant), "%s", tenant);
    c->loaded_us = sy_mono_us();
    sy_counter_inc(&m_loads);
    return 0;
}

/* The tenant's table, current with its catalog version. */
static int
colours_get(sy_arena *a, const sy_catver *cv, const char *tenant,
            colours **out)
{
    int64_t version;
    bool versioned = sy_cache_catalog_version(a, cv, tenant, &version) == 0;
    colours *c = NULL, *lru = &held[0];
    for (int i = 0; i < SY_RECO_TENANTS; i++) {
        if (strcmp(held[i].tenant, tenant) == 0)
            c = &held[i];
        if (held[i].used < lru->used)
            lru = &held[i];
    }
    bool fresh = c && (versioned
                           ? c->has_version && c->version == version
                           : !c->has_version &&
                                 sy_mono_us() - c->loaded_us <
                                     UNVERSIONED_MS * 1000);
    if (!fresh) {
        c = c ? c : lru;
        int rc = colours_load(a, tenant, c);
        if (rc < 0)
            return rc;
        c->has_version = versioned;
        c->version = versioned ? version : 0;
    }
    c->used = ++use_tick;
    *out = c;
    return 0;
}

/* ----------------------------------------------------------- scoring */

static double
closeness(double d)
{
    return 1.0 / (1.0 + d * d / 100.0);
}

static double
clearance(double d)
{
    return d < 20.0 ? d / 20.0 : 1.0;
}

double
sy_reco_colour_score(const double lab[3], const double (*pal)[3], int npal,
                     const double (*avoid)[3], int navoid)
{
    double dp = 1e9, da = 1e9;
    for (int i = 0; i < npal; i++) {
        double d = sy_colour_ciede2000(lab, pal[i]);
        dp = d < dp ? d : dp;
    }
    for (int i = 0; i < navoid; i++) {
        double d = sy_colour_ciede2000(lab, avoid[i]);
        da = d < da ? d : da;
    }
    return (npal ? closeness(dp) : 0.0) * (navoid ? clearance(da) : 1.0);
}

typedef struct refs {
    int npal, navoid;
    double pal[SY_RECO_REFS_MAX][3], avoid[SY_RECO_REFS_MAX][3];
    char pal_hex[SY_RECO_REFS_MAX][8], avoid_hex[SY_RECO_REFS_MAX][8];
} refs;

int
sy_reco_lab_refs(json_object *arr, double (*lab)[3], char (*hex)[8])
{
    int n = 0;
    size_t len = json_object_is_type(arr, json_type_array)
                     ? json_object_array_length(arr)
                     : 0;
    for (size_t i = 0; i < len && n < SY_RECO_REFS_MAX; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        unsigned char rgb[3];
        if (!json_object_is_type(v, json_type_string) ||
            sy_colour_hex_parse(json_object_get_string(v),
                                (size_t)json_object_get_string_len(v),
                                rgb) < 0)
            continue;
        sy_colour_srgb_to_lab(rgb[0], rgb[1], rgb[2], lab[n]);
        if (hex)
            snprintf(hex[n], 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
        n++;
    }
    return n;
}

/* Stage 1: CIE76 on floats, squared distances. */
static float
proxy_score(const colours *c, int p, const refs *r, const float (*pal)[3],
            const float (*avoid)[3])
{
    float best = 0.0f, clear = 1.0f;
    for (int k = c->first[p]; k < c->first[p + 1]; k++) {
        const float *x = c->lab[k];
        float dp = 1e30f, da = 1e30f;
        for (int i = 0; i < r->npal; i++) {
            float d0 = x[0] - pal[i][0], d1 = x[1] - pal[i][1],
                  d2 = x[2] - pal[i][2];
            float d = d0 * d0 + d1 * d1 + d2 * d2;
            dp = d < dp ? d : dp;
        }
        for (int i = 0; i < r->navoid; i++) {
            float d0 = x[0] - avoid[i][0], d1 = x[1] - avoid[i][1],
                  d2 = x[2] - avoid[i][2];
            float d = d0 * d0 + d1 * d1 + d2 * d2;
            da = d < da ? d : da;
        }
        float w = k == c->first[p] ? 1.0f : (float)SECONDARY_WEIGHT;
        float s = w / (1.0f + dp / 100.0f);
        best = s > best ? s : best;
        if (r->navoid) {
            float cl = da < 400.0f ? sqrtf(da) / 20.0f : 1.0f;
            clear = cl < clear ? cl : clear;
        }
    }
    return best * clear;
}

typedef struct cand {
    int p;
    double score;
    int colour, pal; /* the best colour and its nearest palette colour */
    int bad, avoid;  /* the colour nearest the avoid list, and which */
    double dp, da;
} cand;

/* Stage 2: the exact score of product p. */
static void
exact_score(const colours *c, const refs *r, cand *out)
{
    double best = 0.0, clear = 1.0;
    out->colour = out->bad = -1;
    for (int k = c->first[out->p]; k < c->first[out->p + 1]; k++) {
        double lab[3] = {c->lab[k][0], c->lab[k][1], c->lab[k][2]};
        double dp = 1e9, da = 1e9;
        int ip = 0, ia = 0;
        for (int i = 0; i < r->npal; i++) {
            double d = sy_colour_ciede2000(lab, r->pal[i]);
            if (d < dp)
                dp = d, ip = i;
        }
        for (int i = 0; i < r->navoid; i++) {
            double d = sy_colour_ciede2000(lab, r->avoid[i]);
            if (d < da)
                da = d, ia = i;
        }
        double w = k == c->first[out->p] ? 1.0 : SECONDARY_WEIGHT;
        double s = w * closeness(dp);
        if (s > best) {
            best = s;
            out->colour = k, out->pal = ip, out->dp = dp;
        }
        if (r->navoid && clearance(da) < clear) {
            clear = clearance(da);
            out->bad = k, out->avoid = ia, out->da = da;
        }
    }
    out->score = best * clear;
}

static int
by_score(const void *x, const void *y)
{
    const cand *a = x, *b = y;
    if (a->score != b->score)
        return a->score < b->score ? 1 : -1;
    return a->p - b->p; /* ids are sorted: a stable order */
}

/* The m best products by proxy score (m <= c->n), unordered. */
static int
candidates(sy_arena *a, const colours *c, const refs *r, int m, cand **out,
           int *n)
{
    float pal[SY_RECO_REFS_MAX][3], avoid[SY_RECO_REFS_MAX][3];
    for (int i = 0; i < r->npal; i++)
        for (int j = 0; j < 3; j++)
            pal[i][j] = (float)r->pal[i][j];
    for (int i = 0; i < r->navoid; i++)
        for (int j = 0; j < 3; j++)
            avoid[i][j] = (float)r->avoid[i][j];
    cand *heap = sy_arena_alloc(a, (size_t)(m ? m : 1) * sizeof(*heap));
    if (!heap)
        return SY_ENOMEM;
    int k = 0;
    /* a min-heap on score of the best m so far */
    for (int p = 0; p < c->n; p++) {
        double s = proxy_score(c, p, r, (const float(*)[3])pal,
                               (const float(*)[3])avoid);
        if (s <= 0.0)
            continue;
        if (k < m) {
            int i = k++;
            heap[i] = (cand){.p = p, .score = s};
            while (i && heap[(i - 1) / 2].score > heap[i].score) {
                cand t = heap[i];
                heap[i] = heap[(i - 1) / 2];
                heap[(i - 1) / 2] = t;
                i = (i - 1) / 2;
            }
        } else if (s > heap[0].score) {
            heap[0] = (cand){.p = p, .score = s};
            for (int i = 0;;) {
                int l = 2 * i + 1, r2 = l + 1, min = i;
                if (l < k && heap[l].score < heap[min].score)
                    min = l;
                if (r2 < k && heap[r2].score < heap[min].score)
                    min = r2;
                if (min == i)
                    break;
                cand t = heap[i];
                heap[i] = heap[min];
                heap[min] = t;
                i = min;
            }
        }
    }
    *out = heap;
    *n = k;
    return 0;
}

static const char *
reason(sy_arena *a, const colours *c, const refs *r, const cand *x)
{
    char buf[320];
    int len = 0;
    if (x->colour >= 0) {
        const unsigned char *rgb = c->rgb[x->colour];
        len = snprintf(buf, sizeof(buf),
                       "#%02x%02x%02x is %s %s of your palette "
                       "(CIEDE2000 %.1f)",
                       rgb[0], rgb[1], rgb[2],
                       x->dp < 5 ? "very close to" : "close to",
                       r->pal_hex[x->pal], x->dp);
    }
    if (r->navoid && x->bad >= 0 && len > 0 && (size_t)len < sizeof(buf)) {
        const unsigned char *rgb = c->rgb[x->bad];
        if (x->da < 20)
            snprintf(buf + len, sizeof(buf) - (size_t)len,
                     "; but #%02x%02x%02x is near %s, a colour to avoid "
                     "(CIEDE2000 %.1f)",
                     rgb[0], rgb[1], rgb[2], r->avoid_hex[x->avoid], x->da);
        else
            snprintf(buf + len, sizeof(buf) - (size_t)len,
                     ", and no colour of it is near one to avoid");
    }
    return sy_arena_strndup(a, buf, strlen(buf));
}

/* ------------------------------------------------------------- API */

int
sy_reco_limit(sy_errs *e, sy_str text, int *limit)
{
    int64_t v;
    if (sy_parse_i64(text, 0, SY_RECO_LIMIT_MAX, &v) < 0 || v < 1)
        return sy_errs_field(e, "limit", "must be an integer from 1 to 50");
    *limit = (int)v;
    return 0;
}

/* The analysis's palette and avoid list, and its season. */
static int
analysis_refs(sy_arena *a, sy_str json, refs *r, const char **season,
              sy_errs *e)
{
    json_object *o = json_tokener_parse(json.p), *v;
    if (!o)
        return SY_EINTERNAL;
    r->npal = json_object_object_get_ex(o, "palette", &v)
                  ? sy_reco_lab_refs(v, r->pal, r->pal_hex)
                  : 0;
    r->navoid = json_object_object_get_ex(o, "avoid", &v)
                    ? sy_reco_lab_refs(v, r->avoid, r->avoid_hex)
                    : 0;
    *season = json_object_object_get_ex(o, "season", &v) &&
                      json_object_is_type(v, json_type_string)
                  ? sy_arena_strndup(a, json_object_get_string(v),
                                     (size_t)json_object_get_string_len(v))
                  : NULL;
    json_object_put(o);
    if (r->npal == 0)
        return sy_errs_field(e, "analysis_id",
                             "the analysis has no colour palette: "
                             "recommendations need a chromatic analysis");
    return 0;
}

int
sy_reco_for_analysis(sy_arena *a, const sy_catver *cv, const char *tenant,
                     const sy_ai_caller *who, const char *analysis_id,
                     int limit, sy_errs *e, sy_reco *out)
{
    sy_str json;
    refs *r = sy_arena_alloc(a, sizeof(*r));
    colours *c;
    cand *cs;
    int n;
    memset(out, 0, sizeof(*out));
    if (!r)
        return SY_ENOMEM;
    int rc = sy_analysis_get(a, tenant, analysis_id, who, e, &json);
    if (rc < 0 ||
        (rc = analysis_refs(a, json, r, &out->season, e)) < 0 ||
        (rc = colours_get(a, cv, tenant, &c)) < 0)
        return rc;
    int m = SY_RECO_CANDIDATES(limit);
    if ((rc = candidates(a, c, r, m < c->n ? m : c->n, &cs, &n)) < 0)
        return rc;
    for (int i = 0; i < n; i++)
        exact_score(c, r, &cs[i]);
    qsort(cs, (size_t)n, sizeof(*cs), by_score);
    int k = 0;
    while (k < n && k < limit && cs[k].score > 0.0)
        k++;
    const char **ids = sy_arena_alloc(a, (size_t)(k ? k : 1) * sizeof(*ids));
    sy_str *products = sy_arena_alloc(a, (size_t)(k ? k : 1) *
                                             sizeof(*products));
    out->items = sy_arena_alloc(a, (size_t)(k ? k : 1) * sizeof(*out->items));
    if (!ids || !products || !out->items)
        return SY_ENOMEM;
    for (int i = 0; i < k; i++)
        ids[i] = sy_arena_strndup(a, c->ids[cs[i].p], SY_UUID_LEN);
    if ((rc = sy_products_json_many(a, cv, tenant, ids, k, products)) < 0)
        return rc;
    for (int i = 0; i < k; i++) {
        if (!products[i].p)
            continue; /* gone since the table was loaded */
        out->items[out->n++] = (sy_reco_item){
            .product_id = ids[i], .product = products[i],
            .score = cs[i].score, .reason = reason(a, c, r, &cs[i])};
    }
    out->analysis_id = sy_arena_strndup(a, analysis_id, strlen(analysis_id));
    return 0;
}
