/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * search.c (domain) - catalog search (search.h): the rules of a query
 * and the three rankings.
 *
 * text: full text first (ranked in memory by textidx.h when it can be
 * exactly, else by sql_search_text); the typo arm (products_db.h explains the
 * scoring) runs only when the full text found fewer than limit, not for
 * every one-word query: it costs far more than the full text on a large
 * catalog, and a correctly spelled word that fills the page needs no
 * help.
 * semantic: the local embedding of q against the tenant's vectors.
 * hybrid: reciprocal rank fusion of both rankings, sum over lists of
 * 1 / (60 + rank), divided by its maximum 2 / 61.
 * Every mode sees the tenant's active products only, and takes their JSON
 * from the product cache (keyed by id under the catalog version, so a
 * write retires it), reading only the missing ones from PostgreSQL.
 *
 * Cost bound (issue 10): q is normalised (search.h) so that hostile
 * variants of one query share a cache entry and reach PostgreSQL as a
 * few plain words; each ranking statement of text runs under a
 * statement timeout (SET LOCAL pipelined with it: one round trip); a
 * tenant runs at most search.max_concurrent uncached searches at once
 * across the pool (a Redis lease, lease.h).
 *
 * Choices where API.md is silent: q is 1 to 200 characters after
 * trimming; limit is 1 to 50 (default 10); mode defaults to text.
 */
#include "synthia/search.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/cache.h"
#include "synthia/config.h"
#include "synthia/embed.h"
#include "synthia/error.h"
#include "synthia/products.h"
#include "synthia/lease.h"
#include "synthia/metrics.h"
#include "synthia/products_db.h"
#include "synthia/provider.h"
#include "synthia/tenancy.h"
#include "synthia/textidx.h"
#include "synthia/vectors.h"

#define Q_MAX_CHARS 200
#define MAX_PARTS 3        /* parts a hyphenated word keeps joined */
#define TYPO_MIN_CHARS 3   /* shorter words get no typo correction */
#define TYPO_MAX_CHARS 32  /* as product_words keeps (004_search_cost) */
#define TYPO_CANDIDATES 200 /* products the typo arm may look at */
#define TEXT_CANDIDATES 1000 /* full-text matches ranked, at most */
#define STATEMENT_TIMEOUT_MS 500
#define BUSY_RETRY_S 1
#define RRF_K 60
#define VEC_SLACK 8 /* extra vector hits, for products deactivated since
                       this responder loaded its vectors */

static const char *const mode_names[] = {"text", "semantic", "hybrid"};

/* One ranked product: id, score, and its JSON once loaded. */
typedef struct ranked {
    const char *id;
    double score;
    sy_str json;
} ranked;

static sy_metric timeouts_metric = {
    .name = "synthia_search_timeouts_total",
    .help = "Searches that ran out of search.statement_timeout (503 "
            "timeout).",
    .type = SY_METRIC_COUNTER,
};
static sy_metric complex_metric = {
    .name = "synthia_search_too_complex_total",
    .help = "Searches refused over the cost bound (422 query_too_complex).",
    .type = SY_METRIC_COUNTER,
};
static sy_metric busy_metric = {
    .name = "synthia_search_busy_total",
    .help = "Searches refused because their tenant had search."
            "max_concurrent searches running (429 too_many_searches).",
    .type = SY_METRIC_COUNTER,
};
static sy_metric embed_fallback_metric = {
    .name = "synthia_search_embed_fallbacks_total",
    .help = "Semantic queries whose external embedder (complete vectors) "
            "could not embed the query: the next link of ai.embeddings, "
            "at last the local embedder, ranked them.",
    .type = SY_METRIC_COUNTER,
};
SY_METRICS_REGISTER(&timeouts_metric, &complex_metric, &busy_metric,
                    &embed_fallback_metric)

/* ------------------------------------------------------------ query */

void
sy_search_init(sy_search_query *s)
{
    *s = (sy_search_query){.mode = SY_SEARCH_TEXT,
                           .limit = SY_SEARCH_LIMIT_DEFAULT,
                           .limits = {10, 2, 32}};
    if (sy_conf)
        s->limits = (sy_search_limits){
            (int)sy_conf->search_max_terms,
            (int)sy_conf->search_max_short_terms,
            (int)sy_conf->search_max_word_length};
}

/* What a code point is to the normaliser. */
enum cp_class { CP_WORD, CP_SEP, CP_HYPHEN, CP_DROP, CP_QUOTE };

static int
classify(uint32_t c)
{
    if (c < 0x80) {
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
            (c >= 'A' && c <= 'Z'))
            return CP_WORD;
        return c == '-' ? CP_HYPHEN : c == '"' ? CP_QUOTE : CP_SEP;
    }
    if (c <= 0xA0 || c == 0xA1 || c == 0xA6 || c == 0xA7 || c == 0xA9 ||
        c == 0xAB || c == 0xAE || c == 0xB0 || c == 0xB1 || c == 0xB4 ||
        c == 0xB6 || c == 0xB7 || c == 0xB8 || c == 0xBB || c == 0xBF ||
        c == 0xD7 || c == 0xF7)
        return CP_SEP; /* C1 controls, no-break space, Latin-1 signs */
    if (c == 0xAD || c == 0x34F || c == 0x180E || c == 0x200C ||
        c == 0x200D || (c >= 0x2060 && c <= 0x2064) || c == 0xFEFF ||
        (c >= 0xFE00 && c <= 0xFE0F) || (c >= 0x200E && c <= 0x200F) ||
        (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x206F))
        return CP_DROP; /* soft hyphen, joiners, marks, BOM, selectors */
    if (c == 0x201C || c == 0x201D)
        return CP_QUOTE; /* typographic double quotes */
    if ((c >= 0x2010 && c <= 0x2015) || c == 0x2212 || c == 0xFE58 ||
        c == 0xFE63 || c == 0xFF0D)
        return CP_HYPHEN; /* hyphens, dashes, minus signs */
    if (c == 0x1680 || (c >= 0x2000 && c <= 0x200B) ||
        (c >= 0x2016 && c <= 0x205F) || (c >= 0x2190 && c <= 0x2BFF) ||
        (c >= 0x3000 && c <= 0x3003) || (c >= 0xFE10 && c <= 0xFE19) ||
        (c >= 0xFE30 && c <= 0xFE6F) || (c >= 0xFF01 && c <= 0xFF0F) ||
        (c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFFF0 && c <= 0xFFFF) ||
        (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
        return CP_SEP; /* spaces, punctuation, arrows, specials */
    return CP_WORD;
}

/* The code point at p (n bytes left) and its length; an invalid or
 * truncated sequence is one byte of U+FFFD. */
static uint32_t
next_cp(const unsigned char *p, size_t n, size_t *len)
{
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t k = p[0] < 0x80 ? 1 : p[0] >= 0xC2 && p[0] <= 0xDF ? 2
                             : p[0] >= 0xE0 && p[0] <= 0xEF   ? 3
                             : p[0] >= 0xF0 && p[0] <= 0xF4   ? 4
                                                              : 0;
    *len = 1;
    if (k == 1)
        return p[0];
    if (k == 0 || k > n)
        return 0xFFFD;
    uint32_t c = p[0] & (0x7F >> k);
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0xFFFD;
        c = c << 6 | (p[i] & 0x3F);
    }
    if (c < min[k] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0xFFFD;
    *len = k;
    return c;
}

/* Append code point c, lower-cased (ASCII and Latin-1 capitals). */
static size_t
put_lower(char *out, uint32_t c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7))
        c += 0x20;
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | c >> 6);
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | c >> 12);
        out[1] = (char)(0x80 | (c >> 6 & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | c >> 18);
    out[1] = (char)(0x80 | (c >> 12 & 0x3F));
    out[2] = (char)(0x80 | (c >> 6 & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* A word found in q: its bytes in the scratch text, whether it is an
 * exclusion, its parts and its longest part in characters, and the
 * phrase it belongs to (1, 2, ...; 0: none). */
typedef struct word {
    size_t off, len;
    bool neg;
    int parts, chars, phrase;
} word;

/* The words of q in w (at most q.len / 2 + 1), their text in tmp, *nw
 * of them; a chain of more than MAX_PARTS parts is split into its parts.
 * A double quote ends a word and opens or closes a phrase. */
static void
tokenise(sy_str q, char *tmp, word *w, int *nw)
{
    const unsigned char *p = (const unsigned char *)q.p;
    size_t at = 0, t = 0, len;
    bool hyphen = false, neg = false;
    int n = 0, chars = 0, phrase = 0, phrases = 0;
    word cur = {0};
    while (at <= q.len) {
        int cls = CP_SEP;
        uint32_t c = 0;
        if (at < q.len) {
            c = next_cp(p + at, q.len - at, &len);
            cls = classify(c);
            at += len;
        } else {
            at++; /* the end separates the last word */
        }
        if (cls == CP_DROP)
            continue;
        if (cls == CP_HYPHEN) {
            if (cur.len)
                hyphen = true;
            else
                neg = true;
            continue;
        }
        if (cls == CP_WORD) {
            if (!cur.len) {
                cur = (word){.off = t, .neg = neg && !phrase, .parts = 1,
                             .phrase = phrase};
                chars = 0;
            } else if (hyphen) {
                tmp[t++] = '-';
                cur.parts++;
                chars = 0;
            }
            hyphen = neg = false;
            t += put_lower(tmp + t, c);
            if (++chars > cur.chars)
                cur.chars = chars;
            cur.len = t - cur.off;
            continue;
        }
        /* a separator ends the word; a quote also opens or closes a
         * phrase */
        hyphen = neg = false;
        if (cur.len && cur.parts <= MAX_PARTS) {
            w[n++] = cur;
        } else if (cur.len) {
            /* a long chain: each part a word of its own */
            size_t s = cur.off, end = cur.off + cur.len;
            while (s < end) {
                size_t e = s;
                int k = 0;
                while (e < end && tmp[e] != '-') {
                    if (((unsigned char)tmp[e] & 0xC0) != 0x80)
                        k++;
                    e++;
                }
                w[n++] = (word){s, e - s, false, 1, k, cur.phrase};
                s = e + 1;
            }
        }
        cur = (word){0};
        if (cls == CP_QUOTE)
            phrase = phrase ? 0 : ++phrases;
    }
    *nw = n;
}

int
sy_search_normalise(sy_arena *a, sy_str q, const sy_search_limits *lim,
                    sy_str *out, int *nterms, const char **why)
{
    /* control characters (NUL included) never reach here from
     * sy_search_set_q; refused here too, so that no caller can break the
     * bounds below (invalid UTF-8 bytes are separators) */
    for (size_t i = 0; i < q.len; i++)
        if ((unsigned char)q.p[i] < 0x20 || q.p[i] == 0x7f) {
            *why = "q must be text without control characters";
            return SY_EVALIDATION;
        }
    /* a word is at least one byte and one separator: at most q.len / 2
     * + 1 words; lower-casing never lengthens a code point.  The output
     * may be longer than q: a quote that touches a word ('a"b c"')
     * becomes a space and a quote, and a phrase that q left open is
     * closed; no input byte makes more than two output bytes (make fuzz
     * found the q.len + 2 this was sized by written past). */
    char *tmp = sy_arena_alloc(a, q.len + 1);
    word *w = sy_arena_alloc(a, (q.len / 2 + 1) * sizeof(*w));
    char *res = sy_arena_alloc(a, 2 * q.len + 2);
    int nw, terms = 0, shorts = 0;
    bool positive = false;
    size_t o = 0;
    if (!tmp || !w || !res)
        return SY_ENOMEM;
    tokenise(q, tmp, w, &nw);
    /* a phrase of one word is that word */
    for (int i = 0; i < nw; i++)
        if (w[i].phrase && (i == 0 || w[i - 1].phrase != w[i].phrase) &&
            (i + 1 == nw || w[i + 1].phrase != w[i].phrase))
            w[i].phrase = 0;
    for (int i = 0; i < nw; i++) {
        if (w[i].chars > lim->max_word_chars) {
            *why = "a word of q is too long to search for";
            return SY_EVALIDATION;
        }
        if (w[i].phrase) { /* a phrase is kept whole */
            terms += w[i].parts;
            positive = true;
            continue;
        }
        int j = 0;
        while (j < i && !(w[j].parts > 0 && !w[j].phrase &&
                          w[j].neg == w[i].neg &&
                          w[j].len == w[i].len &&
                          memcmp(tmp + w[j].off, tmp + w[i].off,
                                 w[i].len) == 0))
            j++;
        bool dup = j < i;
        bool drop = dup || (w[i].parts == 1 && w[i].chars == 1 &&
                            shorts++ >= lim->max_short_terms);
        if (drop) {
            w[i].parts = 0; /* not kept */
            continue;
        }
        terms += w[i].parts;
        positive = positive || !w[i].neg;
    }
    if (terms > lim->max_terms) {
        *why = "q has too many words; search for fewer";
        return SY_EVALIDATION;
    }
    for (int i = 0; positive && i < nw; i++) {
        if (!w[i].parts)
            continue;
        /* a phrase of two words or more is quoted */
        bool first = w[i].phrase && (i == 0 || w[i - 1].phrase != w[i].phrase);
        bool last = w[i].phrase &&
                    (i + 1 == nw || w[i + 1].phrase != w[i].phrase);
        if (o)
            res[o++] = ' ';
        if (w[i].neg)
            res[o++] = '-';
        if (first && !last)
            res[o++] = '"';
        memcpy(res + o, tmp + w[i].off, w[i].len);
        o += w[i].len;
        if (last && !first)
            res[o++] = '"';
    }
    res[o] = '\0';
    *out = (sy_str){res, o};
    *nterms = positive ? terms : 0;
    return 0;
}

int
sy_search_set_q(sy_arena *a, sy_errs *e, sy_str q, sy_search_query *s)
{
    const char *why;
    sy_str norm;
    int terms;
    if (sy_tenancy_text(&q, true, 1, Q_MAX_CHARS, &why) < 0)
        return sy_errs_field(e, "q",
                             "must be 1 to 200 characters, without control "
                             "characters");
    int rc = sy_search_normalise(a, q, &s->limits, &norm, &terms, &why);
    if (rc == SY_EVALIDATION) {
        sy_counter_inc(&complex_metric);
        return sy_errs_fail(e, rc, "query_too_complex", why);
    }
    if (rc < 0)
        return rc;
    s->q = norm.p;
    s->qlen = norm.len;
    return 0;
}

int
sy_search_set_mode(sy_errs *e, sy_str mode, sy_search_query *s)
{
    for (int m = SY_SEARCH_TEXT; mode.p && m <= SY_SEARCH_HYBRID; m++) {
        if (sy_str_eqc(mode, mode_names[m])) {
            s->mode = m;
            return 0;
        }
    }
    return sy_errs_field(e, "mode", "must be text, semantic or hybrid");
}

int
sy_search_set_limit(sy_errs *e, sy_str limit, sy_search_query *s)
{
    int64_t n;
    if (!limit.p || sy_parse_i64(limit, 1, SY_SEARCH_LIMIT_MAX, &n) < 0)
        return sy_errs_field(e, "limit", "must be an integer from 1 to 50");
    s->limit = (int)n;
    return 0;
}

const char *
sy_search_mode_name(int mode)
{
    return mode >= SY_SEARCH_TEXT && mode <= SY_SEARCH_HYBRID
               ? mode_names[mode]
               : "text";
}

/* ------------------------------------------------------------ rankings */

/* Append the ranked rows that are not in out yet, up to limit. */
static void
add_rows(const sy_product_score *r, int nr, const sy_search_query *s,
         ranked *out, int *n)
{
    for (int row = 0; row < nr && *n < s->limit; row++) {
        int i = 0;
        while (i < *n && strcmp(out[i].id, r[row].id) != 0)
            i++;
        if (i < *n)
            continue;
        out[(*n)++] = (ranked){r[row].id, r[row].score, SY_STR_NULL};
    }
}

/* The words of the normalised q that the typo arm corrects, space-
 * separated (arena memory; "" for none): neither exclusions nor
 * hyphenated, TYPO_MIN_CHARS to TYPO_MAX_CHARS characters.  Shorter
 * words have too few trigrams to be told apart from most of the
 * vocabulary. */
static const char *
typo_words(sy_arena *a, const sy_search_query *s)
{
    char *out = sy_arena_alloc(a, s->qlen + 1);
    size_t o = 0, i = 0;
    if (!out)
        return NULL;
    while (i < s->qlen) {
        size_t j = i, chars = 0;
        bool plain = s->q[i] != '-';
        while (j < s->qlen && s->q[j] != ' ') {
            plain = plain && s->q[j] != '-';
            chars += ((unsigned char)s->q[j] & 0xC0) != 0x80 &&
                     s->q[j] != '"';
            j++;
        }
        if (plain && chars >= TYPO_MIN_CHARS && chars <= TYPO_MAX_CHARS) {
            if (o)
                out[o++] = ' ';
            for (size_t k = i; k < j; k++) /* phrases' quotes */
                if (s->q[k] != '"')
                    out[o++] = s->q[k];
        }
        i = j + 1;
    }
    out[o] = '\0';
    return out;
}

/* The full-text ranking, topped up with typo matches (which score below
 * every full-text hit) when it finds fewer than limit: *n products.
 * Each statement runs under the search's statement timeout (one round
 * trip each, products_db.h). */
static int
rank_text(sy_arena *a, const char *tid, const sy_search_query *s,
          ranked *out, int *n)
{
    sy_product_score *r;
    int nr;
    int64_t ms = sy_conf ? sy_conf->search_statement_timeout_ms
                         : STATEMENT_TIMEOUT_MS;
    const char *words = typo_words(a, s);
    if (!words)
        return SY_ENOMEM;
    int rc = sy_textidx_search(a, s->catver, tid, s->q, s->limit,
                               TEXT_CANDIDATES, &r, &nr);
    if (rc == SY_TEXTIDX_FALLBACK)
        rc = sy_products_db_search_text(a, tid, s->q, s->limit,
                                        TEXT_CANDIDATES, ms, &r, &nr);
    if (rc == 0) {
        *n = 0;
        add_rows(r, nr, s, out, n);
    }
    if (rc == 0 && *n < s->limit && words[0] &&
        (rc = sy_products_db_search_typo(a, tid, words, s->limit,
                                         TYPO_CANDIDATES, ms, &r, &nr)) == 0)
        add_rows(r, nr, s, out, n);
    if (rc == SY_ETIMEOUT)
        sy_counter_inc(&timeouts_metric);
    return rc;
}

/* The query's vector in the space of one embedder+model whose stored
 * vectors cover the tenant's active catalog: the links of [ai]
 * embeddings in order, an external one only when its vectors are
 * complete (sy_vectors_ready) and its provider answers for this query
 * (else the next link), ending with the local embedder, whose vectors
 * every product write keeps.  A query is thus always compared with
 * vectors of the embedder+model that embedded it. */
static int
embed_query(sy_arena *a, const char *tid, const sy_search_query *s,
            float *q, const char **embedder, const char **model)
{
    int links = sy_conf ? sy_conf->ai_nchain[SY_AI_EMBEDDINGS] : 0;
    sy_str text = {s->q, s->qlen};
    for (int i = 0; i < links; i++) {
        const sy_ai_link *l = &sy_conf->ai_chain[SY_AI_EMBEDDINGS][i];
        sy_ai_vectors v;
        sy_ai_outcome oc;
        bool complete = false;
        if (l->kind == SY_AI_LOCAL)
            break;
        const char *name = sy_ai_kind_name(l->kind);
        int rc = sy_vectors_ready(a, s->catver, tid, name, l->model,
                                  &complete);
        if (rc < 0 && rc != SY_EDB)
            return rc;
        if (rc < 0 || !complete)
            continue;
        sy_ai_opts o = {.deadline_us = 0, .max_tokens = 0};
        if (sy_ai_embed_link(a, i, &text, 1, SY_EMBED_DIMS, &o, &v, &oc) <
            0) {
            sy_counter_inc(&embed_fallback_metric);
            continue;
        }
        memcpy(q, v.v, SY_EMBED_DIMS * sizeof(*q));
        *embedder = name;
        *model = l->model;
        return 0;
    }
    sy_embed_local(text, q);
    *embedder = sy_ai_kind_name(SY_AI_LOCAL);
    *model = SY_EMBED_LOCAL_MODEL;
    return 0;
}

/* The vector ranking (ids and cosines, no JSON yet). */
static int
rank_semantic(sy_arena *a, const char *tid, const sy_search_query *s,
              ranked *out, int *n)
{
    float q[SY_EMBED_DIMS];
    const char *embedder, *model;
    int k = s->limit + VEC_SLACK, got = 0;
    sy_vec_hit *hits = sy_arena_alloc(a, (size_t)k * sizeof(*hits));
    if (!hits)
        return SY_ENOMEM;
    int rc = embed_query(a, tid, s, q, &embedder, &model);
    if (rc < 0 || (rc = sy_vectors_search(a, s->catver, tid, embedder, model,
                                          q, k, hits, &got)) < 0)
        return rc;
    *n = 0;
    for (int i = 0; i < got; i++) {
        if (hits[i].score <= 0.0f)
            break; /* nothing in common with q */
        out[*n].id = sy_arena_strndup(a, hits[i].product_id, SY_UUID_LEN);
        out[*n].score = hits[i].score;
        out[*n].json = SY_STR_NULL;
        if (!out[(*n)++].id)
            return SY_ENOMEM;
    }
    return 0;
}

static void
rrf_add(ranked *fused, int *n, const ranked *list, int len)
{
    for (int rank = 0; rank < len; rank++) {
        int i = 0;
        while (i < *n && strcmp(fused[i].id, list[rank].id) != 0)
            i++;
        if (i == *n)
            fused[(*n)++] = (ranked){list[rank].id, 0.0, list[rank].json};
        fused[i].score += 1.0 / (RRF_K + rank + 1);
    }
}

static int
by_score(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return strcmp(x->id, y->id);
}

/* Reciprocal rank fusion of the text and semantic rankings. */
static int
rank_hybrid(sy_arena *a, const char *tid, const sy_search_query *s,
            ranked *out, int *n)
{
    int cap = s->limit + VEC_SLACK, nt = 0, ns = 0;
    ranked *text = sy_arena_alloc(a, (size_t)cap * sizeof(ranked));
    ranked *sem = sy_arena_alloc(a, (size_t)cap * sizeof(ranked));
    if (!text || !sem)
        return SY_ENOMEM;
    int rc = rank_text(a, tid, s, text, &nt);
    if (rc < 0 || (rc = rank_semantic(a, tid, s, sem, &ns)) < 0)
        return rc;
    *n = 0;
    rrf_add(out, n, text, nt);
    rrf_add(out, n, sem, ns);
    for (int i = 0; i < *n; i++)
        out[i].score /= 2.0 / (RRF_K + 1);
    qsort(out, (size_t)*n, sizeof(ranked), by_score);
    return 0;
}

/* ------------------------------------------------------------ products */

/* The JSON of the products in list (products.h: the product cache, the
 * rest from PostgreSQL); products that are gone or inactive keep a NULL
 * JSON. */
static int
load_json(sy_arena *a, const sy_catver *cv, const char *tid, ranked *list,
          int n)
{
    const char **ids = sy_arena_alloc(a, (size_t)(n ? n : 1) * sizeof(*ids));
    sy_str *got = sy_arena_alloc(a, (size_t)(n ? n : 1) * sizeof(*got));
    if (!ids || !got)
        return SY_ENOMEM;
    for (int i = 0; i < n; i++)
        ids[i] = list[i].id;
    int rc = sy_products_json_many(a, cv, tid, ids, n, got);
    for (int i = 0; rc == 0 && i < n; i++)
        list[i].json = got[i];
    return rc;
}

static int
rank(sy_arena *a, const char *tid, const sy_search_query *s, ranked *list,
     int *n)
{
    int rc;
    switch (s->mode) {
    case SY_SEARCH_TEXT:
        rc = rank_text(a, tid, s, list, n);
        break;
    case SY_SEARCH_SEMANTIC:
        rc = rank_semantic(a, tid, s, list, n);
        break;
    default:
        rc = rank_hybrid(a, tid, s, list, n);
        break;
    }
    if (rc == 0 && *n > s->limit + VEC_SLACK)
        *n = s->limit + VEC_SLACK;
    return rc < 0 || *n == 0 ? rc : load_json(a, s->catver, tid, list, *n);
}

/* The products that have JSON (the others are gone or inactive), at most
 * limit, scores clamped to [0, 1]. */
static int
hits_of(sy_arena *a, const sy_search_query *s, const ranked *list, int n,
        sy_search_hit **hits, int *nhits)
{
    sy_search_hit *out = sy_arena_alloc(a, (size_t)s->limit * sizeof(*out));
    int shown = 0;
    if (!out)
        return SY_ENOMEM;
    for (int i = 0; i < n && shown < s->limit; i++) {
        if (!list[i].json.p)
            continue;
        double score = list[i].score > 1.0 ? 1.0 : list[i].score;
        out[shown++] = (sy_search_hit){list[i].json, score < 0.0 ? 0.0
                                                                 : score};
    }
    *hits = out;
    *nhits = shown;
    return 0;
}

/* Take one of the tenant's search leases: 0 with l->held (or without,
 * when there is no limit or Redis cannot say: searches then go on
 * unshared rather than fail), or SY_ERATE recorded in e. */
static int
take_lease(sy_arena *a, sy_errs *e, const char *tenant, sy_lease *l)
{
    l->held = false;
    if (!sy_conf || sy_conf->search_max_concurrent <= 0)
        return 0;
    /* a search lasts at most its two ranking statements and the read of
     * its products; the lease of a responder killed meanwhile frees
     * itself after that */
    int64_t ttl = 2 * sy_conf->search_statement_timeout_ms + 1000;
    int rc = sy_lease_take(a, tenant, "search",
                           sy_conf->search_max_concurrent, ttl, l);
    if (rc < 0 || l->held)
        return 0;
    sy_counter_inc(&busy_metric);
    e->retry_after = BUSY_RETRY_S;
    return sy_errs_fail(e, SY_ERATE, "too_many_searches",
                        "This shop is running as many searches as it may "
                        "at once; retry in a second.");
}

int
sy_search_run(sy_arena *a, sy_errs *e, const char *tenant,
              const sy_search_query *s, sy_search_hit **hits, int *n)
{
    /* hybrid fuses two lists of up to limit + slack each */
    int count = 0, cap = 2 * (s->limit + VEC_SLACK);
    sy_lease lease;
    if (!s->qlen) { /* nothing left to look for */
        *hits = NULL;
        *n = 0;
        return 0;
    }
    ranked *list = sy_arena_alloc(a, (size_t)cap * sizeof(ranked));
    if (!list)
        return SY_ENOMEM;
    int rc = take_lease(a, e, tenant, &lease);
    if (rc < 0)
        return rc;
    rc = rank(a, tenant, s, list, &count);
    sy_lease_give(&lease);
    return rc < 0 ? rc : hits_of(a, s, list, count, hits, n);
}
