/*
 * search.c - GET /api/v1/products/search?q=&mode=text|semantic|hybrid
 * &limit= (API.md "Catalog, search, orders") -> {items: [{product,
 * score}], mode}, scores in [0, 1], best first.
 *
 * text: PostgreSQL full text with the tenant's configuration; when it
 * finds fewer than limit products, trigram typo tolerance on names and
 * description words adds matches (the statement in statements.c
 * explains the scoring).  The typo arm runs only then, not for every
 * one-word query: it costs far more than the full text on a large
 * catalog, and a correctly spelled word that fills the page needs no
 * help.
 * semantic: the local embedding of q against the tenant's product
 * vectors (vectors.h), score = cosine.
 * hybrid: reciprocal rank fusion of both rankings, sum over lists of
 * 1 / (60 + rank), divided by its maximum 2 / 61.  Every mode sees the
 * tenant's active products only, and renders them from the product cache
 * (cache.h, SY_CACHE_PRODUCT), reading only the missing ones from
 * PostgreSQL.  Answers are cached per tenant under
 * the catalog version (X-Cache: HIT | MISS), so a product write retires
 * them.
 *
 * Choices where API.md is silent: q is 1 to 200 characters after
 * trimming; limit is 1 to 50 (default 10); mode defaults to text;
 * Cache-Control: no-cache skips the cached answer (as for lists).
 */
#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/authn.h"
#include "synthia/cache.h"
#include "synthia/db.h"
#include "synthia/embed.h"
#include "synthia/error.h"
#include "synthia/problem.h"
#include "synthia/routes.h"
#include "synthia/tenancy.h"
#include "synthia/vectors.h"

#define Q_MAX_CHARS 200
#define LIMIT_DEFAULT 10
#define LIMIT_MAX 50
#define RRF_K 60
#define VEC_SLACK 8 /* extra vector hits, for products deactivated since
                       this responder loaded its vectors */
#define BODY_MAX (4u << 20)

enum { MODE_TEXT, MODE_SEMANTIC, MODE_HYBRID };
static const char *const mode_names[] = {"text", "semantic", "hybrid"};

typedef struct search_query {
    const char *q;
    size_t qlen;
    int mode;
    int limit;
    char limit_text[8];
} search_query;

/* One ranked product: id, score, and its JSON once loaded. */
typedef struct ranked {
    const char *id;
    double score;
    sy_str json;
} ranked;

/* ------------------------------------------------------------ input */

static int
parse_q(sy_req *req, sy_res *res, search_query *s)
{
    sy_str v;
    const char *why;
    int rc = sy_req_query(req, "q", &v);
    if (rc == SY_ENOTFOUND)
        return sy_problem_field(res, "q", "is required");
    if (rc < 0)
        return sy_problem_field(res, "q", "is not correctly URL-encoded");
    if (sy_tenancy_text(&v, true, 1, Q_MAX_CHARS, &why) < 0)
        return sy_problem_field(res, "q",
                                "must be 1 to 200 characters, without "
                                "control characters");
    s->q = sy_str_dup(req->arena, v);
    s->qlen = v.len;
    return s->q ? 0 : SY_ENOMEM;
}

static int
parse_mode(sy_req *req, sy_res *res, search_query *s)
{
    sy_str v;
    s->mode = MODE_TEXT;
    int rc = sy_req_query(req, "mode", &v);
    if (rc == SY_ENOTFOUND)
        return 0;
    /* v is unset unless rc is 0 (a bad escape, say) */
    for (int m = MODE_TEXT; rc == 0 && m <= MODE_HYBRID; m++) {
        if (sy_str_eqc(v, mode_names[m])) {
            s->mode = m;
            return 0;
        }
    }
    return sy_problem_field(res, "mode", "must be text, semantic or hybrid");
}

static int
parse_limit(sy_req *req, sy_res *res, search_query *s)
{
    sy_str v;
    int64_t n = LIMIT_DEFAULT;
    int rc = sy_req_query(req, "limit", &v);
    if (rc != SY_ENOTFOUND &&
        (rc < 0 || sy_parse_i64(v, 1, LIMIT_MAX, &n) < 0))
        return sy_problem_field(res, "limit",
                                "must be an integer from 1 to 50");
    s->limit = (int)n;
    snprintf(s->limit_text, sizeof(s->limit_text), "%d", s->limit);
    return 0;
}

static int
parse(sy_req *req, sy_res *res, search_query *s)
{
    parse_q(req, res, s);
    parse_mode(req, res, s);
    parse_limit(req, res, s);
    return res->errors ? SY_EVALIDATION : 0;
}

/* ------------------------------------------------------------ rankings */

/* pg_trgm's threshold is a session setting: set it once per server
 * connection (a reconnect gets a new backend). */
static void
typo_threshold(sy_arena *a)
{
    static int backend;
    PGconn *c;
    PGresult *r;
    if (sy_db_conn(&c) < 0 || PQbackendPID(c) == backend)
        return;
    if (sy_db_exec(a, SY_SQL_SEARCH_TYPO_THRESHOLD, NULL, 0, &r) == 0)
        backend = PQbackendPID(c);
}

/* Append the rows of a text statement that are not in out yet, up to
 * limit. */
static void
add_rows(const PGresult *r, const search_query *s, ranked *out, int *n)
{
    for (int row = 0; row < PQntuples(r) && *n < s->limit; row++) {
        const char *id = PQgetvalue(r, row, 0);
        int i = 0;
        while (i < *n && strcmp(out[i].id, id) != 0)
            i++;
        if (i < *n)
            continue;
        out[*n].id = id;
        out[*n].json = SY_STR_NULL;
        out[(*n)++].score = strtod(PQgetvalue(r, row, 1), NULL);
    }
}

/* The full-text ranking, topped up with typo matches (which score below
 * every full-text hit) when it finds fewer than limit: *n products. */
static int
rank_text(sy_req *req, const char *tid, const search_query *s, ranked *out,
          int *n)
{
    const char *params[3] = {tid, s->q, s->limit_text};
    PGresult *r;
    int rc = sy_db_exec(req->arena, SY_SQL_PRODUCTS_SEARCH_TEXT, params, 3,
                        &r);
    if (rc < 0)
        return rc;
    *n = 0;
    add_rows(r, s, out, n);
    if (*n == s->limit)
        return 0;
    typo_threshold(req->arena);
    rc = sy_db_exec(req->arena, SY_SQL_PRODUCTS_SEARCH_TYPO, params, 3, &r);
    if (rc < 0)
        return rc;
    add_rows(r, s, out, n);
    return 0;
}

/* The vector ranking (ids and cosines, no JSON yet). */
static int
rank_semantic(sy_req *req, const char *tid, const search_query *s,
              ranked *out, int *n)
{
    float q[SY_EMBED_DIMS];
    int k = s->limit + VEC_SLACK, got = 0;
    sy_vec_hit *hits = sy_arena_alloc(req->arena, (size_t)k * sizeof(*hits));
    if (!hits)
        return SY_ENOMEM;
    sy_embed_local((sy_str){s->q, s->qlen}, q);
    int rc = sy_vectors_search(req->arena, tid, q, k, hits, &got);
    if (rc < 0)
        return rc;
    *n = 0;
    for (int i = 0; i < got; i++) {
        if (hits[i].score <= 0.0f)
            break; /* nothing in common with q */
        out[*n].id = sy_arena_strndup(req->arena, hits[i].product_id,
                                      SY_UUID_LEN);
        out[*n].score = hits[i].score;
        out[*n].json = SY_STR_NULL;
        if (!out[(*n)++].id)
            return SY_ENOMEM;
    }
    return 0;
}

/* Fill from PostgreSQL the JSON of the products in list that have none
 * yet (one query); products that are gone or inactive keep a NULL JSON. */
static int
load_rows(sy_req *req, const char *tid, ranked *list, int n)
{
    sy_buf ids;
    sy_buf_init(&ids, req->arena, (size_t)n * (SY_UUID_LEN + 1) + 3);
    sy_buf_putc(&ids, '{');
    for (int i = 0, first = 1; i < n; i++)
        if (!list[i].json.p) {
            sy_buf_printf(&ids, "%s%s", first ? "" : ",", list[i].id);
            first = 0;
        }
    sy_buf_putc(&ids, '}');
    const char *params[2] = {tid, sy_buf_cstr(&ids)};
    if (!params[1])
        return SY_ENOMEM;
    PGresult *r;
    int rc = sy_db_exec(req->arena, SY_SQL_PRODUCTS_BY_IDS, params, 2, &r);
    if (rc < 0)
        return rc;
    for (int row = 0; row < PQntuples(r); row++)
        for (int i = 0; i < n; i++)
            if (strcmp(list[i].id, PQgetvalue(r, row, 0)) == 0)
                list[i].json = (sy_str){PQgetvalue(r, row, 1),
                                        (size_t)PQgetlength(r, row, 1)};
    return 0;
}

/* The JSON of the products in list: from the product cache (keyed by id
 * under the catalog version, so a write retires it), the rest from
 * PostgreSQL, which are then cached. */
static int
load_json(sy_req *req, const char *tid, ranked *list, int n)
{
    sy_str *ids = sy_arena_alloc(req->arena, (size_t)n * sizeof(*ids));
    sy_str *got = sy_arena_alloc(req->arena, (size_t)n * sizeof(*got));
    int64_t version;
    if (!ids || !got)
        return SY_ENOMEM;
    for (int i = 0; i < n; i++)
        ids[i] = sy_str_c(list[i].id);
    int found = sy_cache_get_many(req->arena, tid, SY_CACHE_PRODUCT, n, ids,
                                  got, &version);
    for (int i = 0; i < n; i++)
        list[i].json = got[i];
    if (found == n)
        return 0;
    int rc = load_rows(req, tid, list, n);
    if (rc < 0)
        return rc;
    for (int i = 0; i < n; i++)
        got[i] = got[i].p ? SY_STR_NULL : list[i].json;
    sy_cache_put_many(req->arena, tid, SY_CACHE_PRODUCT, version, n, ids,
                      got);
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
rank_hybrid(sy_req *req, const char *tid, const search_query *s,
            ranked *out, int *n)
{
    int cap = s->limit + VEC_SLACK, nt = 0, ns = 0;
    ranked *text = sy_arena_alloc(req->arena, (size_t)cap * sizeof(ranked));
    ranked *sem = sy_arena_alloc(req->arena, (size_t)cap * sizeof(ranked));
    if (!text || !sem)
        return SY_ENOMEM;
    int rc = rank_text(req, tid, s, text, &nt);
    if (rc < 0 || (rc = rank_semantic(req, tid, s, sem, &ns)) < 0)
        return rc;
    *n = 0;
    rrf_add(out, n, text, nt);
    rrf_add(out, n, sem, ns);
    for (int i = 0; i < *n; i++)
        out[i].score /= 2.0 / (RRF_K + 1);
    qsort(out, (size_t)*n, sizeof(ranked), by_score);
    return 0;
}

/* ------------------------------------------------------------ output */

/* Cache-Control: no-cache asks for a fresh answer (stored again). */
static bool
no_cache(const sy_req *req)
{
    sy_str cc = sy_req_header(req, "Cache-Control");
    for (size_t i = 0; i + 8 <= cc.len; i++)
        if (sy_str_ieqc((sy_str){cc.p + i, 8}, "no-cache"))
            return true;
    return false;
}

static int
body(sy_buf *b, const search_query *s, const ranked *list, int n)
{
    int shown = 0;
    sy_buf_puts(b, "{\"items\":[");
    for (int i = 0; i < n && shown < s->limit; i++) {
        if (!list[i].json.p)
            continue;
        double score = list[i].score > 1.0 ? 1.0 : list[i].score;
        if (score < 0.0)
            score = 0.0;
        sy_buf_puts(b, shown++ ? ",{\"product\":" : "{\"product\":");
        sy_buf_add_str(b, list[i].json);
        sy_buf_printf(b, ",\"score\":%.6f}", score);
    }
    sy_buf_printf(b, "],\"mode\":\"%s\"}", mode_names[s->mode]);
    return b->failed ? SY_ENOMEM : 0;
}

static int
run(sy_req *req, const char *tid, const search_query *s, ranked *list,
    int *n)
{
    int rc;
    switch (s->mode) {
    case MODE_TEXT:
        rc = rank_text(req, tid, s, list, n);
        break;
    case MODE_SEMANTIC:
        rc = rank_semantic(req, tid, s, list, n);
        break;
    default:
        rc = rank_hybrid(req, tid, s, list, n);
        break;
    }
    if (rc == 0 && *n > s->limit + VEC_SLACK)
        *n = s->limit + VEC_SLACK;
    return rc < 0 || *n == 0 ? rc : load_json(req, tid, list, *n);
}

int
sy_route_products_search(sy_req *req, sy_res *res)
{
    const char *tid;
    search_query s = {.q = NULL};
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0 || (rc = parse(req, res, &s)) < 0)
        return rc;
    sy_buf what;
    sy_buf_init(&what, req->arena, 512);
    sy_buf_printf(&what, "mode=%s&limit=%d&q=%s", mode_names[s.mode],
                  s.limit, s.q);
    sy_str v, w = sy_buf_str(&what);
    if (!what.failed && !no_cache(req) &&
        sy_cache_get(req->arena, tid, SY_CACHE_SEARCH, NULL, w, &v) == 0) {
        if ((rc = sy_res_headerc(res, "X-Cache", "HIT")) < 0)
            return rc;
        return sy_res_bytes(res, 200, "application/json", v.p, v.len);
    }
    /* hybrid fuses two lists of up to limit + slack each */
    int n = 0, cap = 2 * (s.limit + VEC_SLACK);
    ranked *list = sy_arena_alloc(req->arena, (size_t)cap * sizeof(ranked));
    if (!list)
        return SY_ENOMEM;
    if ((rc = run(req, tid, &s, list, &n)) < 0)
        return rc;
    sy_buf out;
    sy_buf_init(&out, req->arena, BODY_MAX);
    if ((rc = body(&out, &s, list, n)) < 0)
        return rc;
    if (!what.failed)
        sy_cache_put(req->arena, tid, SY_CACHE_SEARCH, NULL, w,
                     sy_buf_str(&out));
    if ((rc = sy_res_headerc(res, "X-Cache", "MISS")) < 0)
        return rc;
    return sy_res_bytes(res, 200, "application/json", out.p, out.len);
}
