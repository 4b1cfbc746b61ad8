/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vectors.c - product vectors in PostgreSQL and each responder's
 * in-memory copy of them (vectors.h).
 *
 * product_embeddings.vec holds SY_EMBED_DIMS little-endian float32 values;
 * they travel as bytea hex text ("\x...") both ways, so the statements
 * stay ordinary text-parameter ones, except the import commit's bulk
 * upsert (sy_vectors_store_many), which sends them as one binary bytea.  A responder keeps up to
 * SY_VECTORS_TENANTS tenants as one contiguous float array each, laid out
 * dimension-major (column d of n products at cols[d * n .. d * n + n - 1])
 * so that a search reads only the columns of the query's non-zero
 * dimensions (20-60 of 256 for the local embedder).  Before a
 * search it asks Redis for the tenant's catalog version (one round trip);
 * only when that moved, or every RECHECK_US anyway (a lost bump must not
 * leave a copy stale for ever), does it read a fingerprint of the stored
 * vectors (count and a sum of per-row hashes of id and write time; about
 * 15 ms for 10,000 products), and only when the fingerprint moved does it
 * reload.  So after a stock-only write the copy stays, and the reload is
 * paid by the first search after a change that matters, not by every
 * search.  With Redis down every search reads the fingerprint: slower,
 * but never behind a write (a stale ranking would also be kept by the
 * result cache's memory fallback).
 */
#include "synthia/vectors.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/cache.h"
#include "synthia/clock.h"
#include "synthia/config.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/log.h"

#define RECHECK_US (10 * 1000000LL)
#define VEC_BYTES SY_VECTORS_LOCAL_BYTES
#define HEX_LEN (2 + 2 * VEC_BYTES) /* "\x" and two digits a byte */
#define FP_LEN 64

/* The statements of product_embeddings.  $1 tenant, $2 product, $3
 * model, $4 dims, $5 vec (bytea hex): the local embedder's vector.  An
 * unchanged vector is not rewritten, so its write time (part of the
 * fingerprint below) moves only when it changed; and when it changed
 * (the product's text did), the product's vectors of other embedders
 * describe the old text and go (reembed makes them again).  The DELETE
 * names no tenant: every product in up is the tenant's (inserted with
 * $1, or updated only where its row has $1), and a product's vectors all
 * carry its tenant (the foreign key to products (tenant_id, id)).  With
 * e.tenant_id = $1 there, the generic plan of a prepared statement
 * ANDed the primary key with a bitmap of all the tenant's vectors for
 * every product: 10,000 imported products read about 50 million index
 * entries (0.6 s of the backend's 1.9 s of CPU for the commit), a single
 * product write its whole catalog's. */
static sy_db_stmt sql_upsert =
    SY_DB_STMT("vectors_upsert",
     "WITH up AS (INSERT INTO product_embeddings "
     "(product_id, tenant_id, embedder, model, dims, vec) "
     "VALUES ($2::uuid, $1::uuid, 'local', $3, $4::smallint, $5::bytea) "
     "ON CONFLICT (product_id, embedder, model) DO UPDATE SET"
     " dims = EXCLUDED.dims, vec = EXCLUDED.vec, updated_at = now() "
     "WHERE product_embeddings.tenant_id = EXCLUDED.tenant_id"
     " AND (product_embeddings.dims, product_embeddings.vec)"
     " IS DISTINCT FROM (EXCLUDED.dims, EXCLUDED.vec) "
     "RETURNING product_id) "
     "DELETE FROM product_embeddings e USING up "
     "WHERE e.product_id = up.product_id AND e.embedder <> 'local'",
     5);
/* $1 tenant, $2 product: an inactive product leaves the vector store. */
static sy_db_stmt sql_delete =
    SY_DB_STMT("vectors_delete",
     "DELETE FROM product_embeddings "
     "WHERE tenant_id = $1::uuid AND product_id = $2::uuid",
     2);
/* $1 tenant, $2 embedder, $3 model: count and a sum of per-row hashes
 * of id and write time of that embedder's vectors of active products
 * (moves when one is added, changed, deactivated or reactivated), and
 * the count of active products (do the vectors cover them all?).
 * Columns: count, sum, active. */
static sy_db_stmt sql_fingerprint =
    SY_DB_STMT("vectors_fingerprint",
     "SELECT count(*), coalesce(sum(hashtextextended("
     "e.product_id::text || extract(epoch FROM e.updated_at)::text,"
     " 0)), 0), (SELECT count(*) FROM products"
     " WHERE tenant_id = $1::uuid AND active) "
     "FROM product_embeddings e JOIN products p"
     " ON p.tenant_id = e.tenant_id AND p.id = e.product_id "
     "WHERE e.tenant_id = $1::uuid AND e.embedder = $2 AND e.model = $3"
     " AND p.active",
     3);
/* $1 tenant, $2 embedder, $3 model, $4 dims: product id and vec of
 * every active product (sorted by id here, not by the server). */
static sy_db_stmt sql_load =
    SY_DB_STMT("vectors_load",
     "SELECT e.product_id, e.vec "
     "FROM product_embeddings e JOIN products p"
     " ON p.tenant_id = e.tenant_id AND p.id = e.product_id "
     "WHERE e.tenant_id = $1::uuid AND e.embedder = $2 AND e.model = $3"
     " AND e.dims = $4::smallint AND p.active",
     4);

typedef struct tenant_vecs {
    char tenant[SY_UUID_LEN + 1]; /* "" when the slot is free */
    char embedder[16];            /* whose vectors: "local", "openai" */
    char model[SY_AI_MODEL_MAX];
    bool complete; /* a vector for every active product (at the last
                      fingerprint) */
    float *cols;                  /* SY_EMBED_DIMS columns of n */
    char (*ids)[SY_UUID_LEN + 1];
    int n;
    size_t bytes;
    bool has_version; /* version is the catalog version loaded under */
    int64_t version;
    char fp[FP_LEN]; /* fingerprint of the stored vectors loaded */
    int64_t checked_us;
    uint64_t used; /* LRU clock */
} tenant_vecs;

static tenant_vecs slots[SY_VECTORS_TENANTS];
static uint64_t ticks;

/* ---------------------------------------------------------------- scan */

/* Scores of the last scan, one per product: kept for the process and
 * grown to the largest tenant scanned, not allocated per search. */
static float *scores;
static size_t scores_cap;

static float *
scores_for(int n)
{
    if ((size_t)n > scores_cap) {
        float *p = realloc(scores, (size_t)n * sizeof(*p));
        if (!p)
            return NULL;
        scores = p;
        scores_cap = (size_t)n;
    }
    return scores;
}

/* s[i] += qd * col[i] for i < n.  In blocks of eight: at -O2 GCC only
 * vectorises loops that need no scalar remainder, which a fixed eight
 * wide body is (SIMD registers); the tail is the same sum one at a time,
 * so a product's score does not depend on its position. */
static void
add_scaled(float *restrict s, const float *restrict col, float qd, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            s[i + j] += qd * col[i + j];
    for (; i < n; i++)
        s[i] += qd * col[i];
}

/* a ranks below b: lower score, or the same score and a higher index. */
static bool
worse(float sa, int ia, float sb, int ib)
{
    return sa < sb || (sa == sb && ia > ib);
}

/* Restore the heap (worst at the root) below position i of m entries. */
static void
sift_down(int *idx, float *score, int m, int i)
{
    for (;;) {
        int w = i, l = 2 * i + 1, r = l + 1;
        if (l < m && worse(score[l], idx[l], score[w], idx[w]))
            w = l;
        if (r < m && worse(score[r], idx[r], score[w], idx[w]))
            w = r;
        if (w == i)
            return;
        int ti = idx[i];
        float ts = score[i];
        idx[i] = idx[w];
        score[i] = score[w];
        idx[w] = ti;
        score[w] = ts;
        i = w;
    }
}

static void
sift_up(int *idx, float *score, int i)
{
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!worse(score[i], idx[i], score[p], idx[p]))
            return;
        int ti = idx[i];
        float ts = score[i];
        idx[i] = idx[p];
        score[i] = score[p];
        idx[p] = ti;
        score[p] = ts;
        i = p;
    }
}

int
sy_vectors_topk(const float *cols, int n, const float *q, int k, int *idx,
                float *score)
{
    int m = 0;
    if (k <= 0 || n <= 0)
        return 0;
    float *s = scores_for(n);
    if (!s)
        return -1;
    /* Only the query's non-zero dimensions cost anything, and always in
     * ascending order, so every responder sums to the same scores. */
    memset(s, 0, (size_t)n * sizeof(*s));
    for (int d = 0; d < SY_EMBED_DIMS; d++)
        if (q[d] != 0.0f)
            add_scaled(s, cols + (size_t)d * n, q[d], n);
    for (int i = 0; i < n; i++) {
        float si = s[i] < 0 ? 0 : s[i] > 1 ? 1 : s[i];
        if (m < k) {
            idx[m] = i;
            score[m] = si;
            sift_up(idx, score, m++);
        } else if (worse(score[0], idx[0], si, i)) {
            idx[0] = i;
            score[0] = si;
            sift_down(idx, score, m, 0);
        }
    }
    /* Heap sort: moving the worst to the end leaves the best first. */
    for (int end = m - 1; end > 0; end--) {
        int ti = idx[0];
        float ts = score[0];
        idx[0] = idx[end];
        score[0] = score[end];
        idx[end] = ti;
        score[end] = ts;
        sift_down(idx, score, end, 0);
    }
    return m;
}

/* ------------------------------------------------------------ encoding */

/* bytea hex text of a vector, little-endian whatever the host. */
static char *
encode_vec(sy_arena *a, const float *v)
{
    static const char digits[] = "0123456789abcdef";
    char *out = sy_arena_alloc(a, HEX_LEN + 1), *p;
    if (!out)
        return NULL;
    out[0] = '\\';
    out[1] = 'x';
    p = out + 2;
    for (int i = 0; i < SY_EMBED_DIMS; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof(u));
        for (int b = 0; b < 4; b++, u >>= 8) {
            *p++ = digits[(u >> 4) & 0xf];
            *p++ = digits[u & 0xf];
        }
    }
    *p = '\0';
    return out;
}

/* Digit values of hex characters, -1 for the rest: a load decodes 2
 * million characters per 1,000 products, so no branches per digit. */
static signed char hex_values[256];

static void
hex_init(void)
{
    memset(hex_values, -1, sizeof(hex_values));
    for (int i = 0; i < 10; i++)
        hex_values['0' + i] = (signed char)i;
    for (int i = 0; i < 6; i++)
        hex_values['a' + i] = hex_values['A' + i] = (signed char)(10 + i);
}

static bool
decode_vec(const char *hex, int len, float *out)
{
    const unsigned char *h = (const unsigned char *)hex + 2;
    int bad = 0;
    if (len != HEX_LEN || hex[0] != '\\' || hex[1] != 'x')
        return false;
    for (int i = 0; i < SY_EMBED_DIMS; i++, h += 8) {
        uint32_t u = 0;
        for (int b = 0; b < 4; b++) {
            int hi = hex_values[h[2 * b]], lo = hex_values[h[2 * b + 1]];
            bad |= hi | lo;
            u |= (uint32_t)((hi << 4 | lo) & 0xff) << (8 * b);
        }
        memcpy(&out[i], &u, sizeof(u));
    }
    return bad >= 0;
}

/* ----------------------------------------------------------------- store */

int
sy_vectors_store(sy_arena *a, const char *tenant, const char *product_id,
                 sy_str text)
{
    float v[SY_EMBED_DIMS];
    char dims[16];
    PGresult *r;

    sy_embed_local(text, v);
    const char *hex = encode_vec(a, v);
    if (!hex)
        return SY_ENOMEM;
    snprintf(dims, sizeof(dims), "%d", SY_EMBED_DIMS);
    const char *params[] = {tenant, product_id, SY_EMBED_LOCAL_MODEL, dims,
                            hex};
    return sy_db_exec(a, &sql_upsert, params, 5, &r);
}

int
sy_vectors_delete(sy_arena *a, const char *tenant, const char *product_id)
{
    const char *params[2] = {tenant, product_id};
    PGresult *r;
    return sy_db_exec(a, &sql_delete, params, 2, &r);
}

/* $1 tenant, $2 model, $3 dims, $4 array of product ids, $5 their
 * vectors one after the other, $3 * 4 bytes each, as one binary bytea:
 * sql_upsert for many products in one statement.  Binary rather than an
 * array of hex texts: half the bytes on the wire, and PostgreSQL neither
 * splits 10 MiB of array text nor decodes hex (each vector is a
 * substring of a parameter that is not toasted: a copy). */
static sy_db_stmt sql_upsert_many =
    SY_DB_STMT("vectors_upsert_many",
     "WITH up AS (INSERT INTO product_embeddings "
     "(product_id, tenant_id, embedder, model, dims, vec) "
     "SELECT u.id, $1::uuid, 'local', $2, $3::smallint,"
     " substring($5::bytea FROM ((u.o - 1) * 4 * $3::int + 1)::int"
     " FOR 4 * $3::int) "
     "FROM unnest($4::uuid[]) WITH ORDINALITY AS u(id, o) "
     "ON CONFLICT (product_id, embedder, model) DO UPDATE SET"
     " dims = EXCLUDED.dims, vec = EXCLUDED.vec, updated_at = now() "
     "WHERE product_embeddings.tenant_id = EXCLUDED.tenant_id"
     " AND (product_embeddings.dims, product_embeddings.vec)"
     " IS DISTINCT FROM (EXCLUDED.dims, EXCLUDED.vec) "
     "RETURNING product_id) "
     "DELETE FROM product_embeddings e USING up "
     "WHERE e.product_id = up.product_id AND e.embedder <> 'local'",
     5);

#define MANY_BATCH 500

/* The parameters of the statement for ids[0..n) (n <= MANY_BATCH),
 * built in a scratch arena of its own (libpq has its own copy once
 * sy_db_send returns). */
typedef struct batch {
    sy_arena scratch;
    char dims[16];
    const char *params[5];
    int lengths[5];
} batch;

void
sy_vectors_local_bytes(const sy_str *texts, int n, unsigned char *out)
{
    float v[SY_EMBED_DIMS];
    for (int i = 0; i < n; i++) {
        sy_embed_local(texts[i], v);
        for (int d = 0; d < SY_EMBED_DIMS; d++) {
            uint32_t u; /* little-endian whatever the host */
            memcpy(&u, &v[d], sizeof(u));
            for (int k = 0; k < 4; k++, u >>= 8)
                *out++ = (unsigned char)(u & 0xff);
        }
    }
}

static int
build_batch(batch *b, const char *tenant, const char *const *ids,
            const sy_str *texts, int n)
{
    size_t idlen = (size_t)n * (SY_UUID_LEN + 1) + 8;
    sy_arena_init(&b->scratch, 2 * (idlen + (size_t)n * VEC_BYTES),
                  4 * (idlen + (size_t)n * VEC_BYTES));
    unsigned char *vecs = sy_arena_alloc(&b->scratch,
                                         (size_t)(n ? n : 1) * VEC_BYTES);
    sy_buf idb;
    sy_buf_init(&idb, &b->scratch, idlen);
    if (!vecs)
        return SY_ENOMEM;
    sy_buf_putc(&idb, '{');
    sy_vectors_local_bytes(texts, n, vecs);
    for (int i = 0; i < n; i++) {
        if (i)
            sy_buf_putc(&idb, ',');
        sy_buf_puts(&idb, ids[i]);
    }
    sy_buf_putc(&idb, '}');
    const char *idtext = sy_buf_cstr(&idb);
    if (!idtext)
        return SY_ENOMEM;
    snprintf(b->dims, sizeof(b->dims), "%d", SY_EMBED_DIMS);
    const char *params[5] = {tenant, SY_EMBED_LOCAL_MODEL, b->dims, idtext,
                             (const char *)vecs};
    const int lengths[5] = {-1, -1, -1, -1, n * VEC_BYTES};
    memcpy(b->params, params, sizeof(params));
    memcpy(b->lengths, lengths, sizeof(lengths));
    return 0;
}

/* Batches in a pipeline of two: the vectors of batch i+1 are computed
 * while PostgreSQL runs batch i (sent, not waited for), so on two cores
 * the responder's embedding work hides behind the server's inserts.
 * Every batch sent is waited for, also after a failure. */
int
sy_vectors_store_many(sy_arena *a, const char *tenant,
                      const char *const *ids, const sy_str *texts, int n)
{
    PGresult *r;
    bool pending = false;
    int rc = 0;
    for (int at = 0; at < n && rc == 0; at += MANY_BATCH) {
        int k = n - at < MANY_BATCH ? n - at : MANY_BATCH;
        batch b;
        rc = build_batch(&b, tenant, ids + at, texts + at, k);
        if (pending) {
            int wrc = sy_db_wait(a, &r);
            pending = false;
            if (rc == 0)
                rc = wrc;
        }
        if (rc == 0)
            pending = (rc = sy_db_send(&sql_upsert_many, b.params,
                                       b.lengths, 5)) == 0;
        sy_arena_cleanup(&b.scratch);
    }
    if (pending) {
        int wrc = sy_db_wait(a, &r);
        if (rc == 0)
            rc = wrc;
    }
    return rc;
}

/* ------------------------------------------------ other embedders' */

/* $1 tenant, $2 embedder, $3 model, $4 the last product id done (or the
 * nil uuid), $5 limit: active products without a vector of that
 * embedder+model, in id order, with the text their local vector is made
 * of (products_db.h's CAT_WRITTEN) and their write time. */
static sy_db_stmt sql_missing =
    SY_DB_STMT("vectors_missing",
     "SELECT p.id, p.name || ' ' || p.category || ' ' || p.description,"
     " p.updated_at::text "
     "FROM products p "
     "WHERE p.tenant_id = $1::uuid AND p.active AND p.id > $4::uuid"
     " AND NOT EXISTS (SELECT 1 FROM product_embeddings e"
     " WHERE e.product_id = p.id AND e.embedder = $2 AND e.model = $3) "
     "ORDER BY p.id LIMIT $5::int",
     5);
/* $1 tenant, $2 embedder, $3 model, $4 dims, $5 ids, $6 their write
 * times as read with their text, $7 vectors (hex without \\x): stored
 * only for products still active and unchanged since (a product written
 * meanwhile is left for the next run).  Returns the ids stored. */
static sy_db_stmt sql_store_other =
    SY_DB_STMT("vectors_store_other",
     "INSERT INTO product_embeddings "
     "(product_id, tenant_id, embedder, model, dims, vec) "
     "SELECT u.id, $1::uuid, $2, $3, $4::smallint, decode(u.h, 'hex') "
     "FROM unnest($5::uuid[], $6::timestamptz[], $7::text[])"
     " AS u(id, ts, h) "
     "JOIN products p ON p.tenant_id = $1::uuid AND p.id = u.id"
     " AND p.active AND p.updated_at = u.ts "
     "ON CONFLICT (product_id, embedder, model) DO UPDATE SET"
     " dims = EXCLUDED.dims, vec = EXCLUDED.vec, updated_at = now() "
     "WHERE product_embeddings.tenant_id = EXCLUDED.tenant_id "
     "RETURNING product_id",
     7);
/* $1 tenant, $2 the "embedder:model" pairs to keep: every other
 * external embedder's vectors go (the local ones always stay). */
static sy_db_stmt sql_prune =
    SY_DB_STMT("vectors_prune",
     "DELETE FROM product_embeddings "
     "WHERE tenant_id = $1::uuid AND embedder <> 'local'"
     " AND embedder || ':' || model <> ALL ($2::text[])",
     2);

/* Tenants with active products, by id. */
static sy_db_stmt sql_tenants =
    SY_DB_STMT("vectors_tenants",
     "SELECT DISTINCT tenant_id::text FROM products WHERE active "
     "ORDER BY 1",
     0);

int
sy_vectors_tenants(sy_arena *a, const char ***ids, int *n)
{
    PGresult *r;
    int rc = sy_db_exec(a, &sql_tenants, NULL, 0, &r);
    if (rc < 0)
        return rc;
    int rows = PQntuples(r);
    const char **out = sy_arena_alloc(a, (size_t)(rows ? rows : 1) *
                                             sizeof(*out));
    if (!out)
        return SY_ENOMEM;
    for (int i = 0; i < rows; i++)
        out[i] = sy_db_cstr(r, i, 0);
    *ids = out;
    *n = rows;
    return 0;
}

int
sy_vectors_missing(sy_arena *a, const char *tenant, const char *embedder,
                   const char *model, const char *after, int limit,
                   sy_vec_todo **out, int *n)
{
    char lim[16];
    PGresult *r;
    snprintf(lim, sizeof(lim), "%d", limit);
    const char *params[] = {tenant, embedder, model,
                            after ? after
                                  : "00000000-0000-0000-0000-000000000000",
                            lim};
    int rc = sy_db_exec(a, &sql_missing, params, 5, &r);
    if (rc < 0)
        return rc;
    int rows = PQntuples(r);
    sy_vec_todo *t = sy_arena_alloc(a, (size_t)(rows ? rows : 1) *
                                           sizeof(*t));
    if (!t)
        return SY_ENOMEM;
    for (int i = 0; i < rows; i++) {
        t[i].product_id = sy_db_cstr(r, i, 0);
        t[i].text = sy_db_str(r, i, 1);
        t[i].written_at = sy_db_cstr(r, i, 2);
    }
    *out = t;
    *n = rows;
    return 0;
}

/* "{a,b,...}" of n strings that need no quoting in an array literal. */
static const char *
array_text(sy_buf *b, const char *const *v, size_t stride, int n,
           const char *quote)
{
    sy_buf_putc(b, '{');
    for (int i = 0; i < n; i++) {
        const char *s = *(const char *const *)((const char *)v + i * stride);
        if (i)
            sy_buf_putc(b, ',');
        sy_buf_puts(b, quote);
        sy_buf_puts(b, s);
        sy_buf_puts(b, quote);
    }
    sy_buf_putc(b, '}');
    return sy_buf_cstr(b);
}

int
sy_vectors_store_other(sy_arena *a, const char *tenant, const char *embedder,
                       const char *model, const sy_vec_todo *rows,
                       const float *v, int n, int *stored)
{
    char dims[16];
    PGresult *r;
    sy_buf ids, ts, hex;
    const char **hexes = sy_arena_alloc(a, (size_t)(n ? n : 1) *
                                               sizeof(*hexes));
    if (!hexes)
        return SY_ENOMEM;
    for (int i = 0; i < n; i++) {
        const char *h = encode_vec(a, v + (size_t)i * SY_EMBED_DIMS);
        if (!h)
            return SY_ENOMEM;
        hexes[i] = h + 2; /* without its \\x */
    }
    sy_buf_init(&ids, a, (size_t)n * (SY_UUID_LEN + 1) + 8);
    sy_buf_init(&ts, a, (size_t)n * 40 + 8);
    sy_buf_init(&hex, a, (size_t)n * (HEX_LEN + 1) + 8);
    const char *idt = array_text(&ids, &rows[0].product_id, sizeof(*rows),
                                 n, "");
    const char *tst = array_text(&ts, &rows[0].written_at, sizeof(*rows), n,
                                 "\"");
    const char *hext = array_text(&hex, hexes, sizeof(*hexes), n, "");
    if (!idt || !tst || !hext)
        return SY_ENOMEM;
    snprintf(dims, sizeof(dims), "%d", SY_EMBED_DIMS);
    const char *params[] = {tenant, embedder, model, dims, idt, tst, hext};
    int rc = sy_db_exec(a, &sql_store_other, params, 7, &r);
    if (rc == 0)
        *stored = PQntuples(r);
    return rc;
}

int
sy_vectors_prune(sy_arena *a, const char *tenant, const char *const *keep,
                 int nkeep, int *deleted)
{
    PGresult *r;
    sy_buf b;
    sy_buf_init(&b, a, 4096);
    const char *arr = array_text(&b, keep, sizeof(*keep), nkeep, "\"");
    if (!arr)
        return SY_ENOMEM;
    const char *params[] = {tenant, arr};
    int64_t count = 0;
    int rc = sy_db_exec(a, &sql_prune, params, 2, &r);
    if (rc == 0 &&
        sy_parse_i64(sy_str_c(PQcmdTuples(r)), 0, INT32_MAX, &count) < 0)
        rc = SY_EDB;
    if (rc == 0)
        *deleted = (int)count;
    return rc;
}

/* ----------------------------------------------------------------- slots */

static void
slot_clear(tenant_vecs *t)
{
    free(t->cols);
    free(t->ids);
    memset(t, 0, sizeof(*t));
}

static tenant_vecs *
slot_find(const char *tenant, const char *embedder, const char *model)
{
    for (int i = 0; i < SY_VECTORS_TENANTS; i++)
        if (strcmp(slots[i].tenant, tenant) == 0 &&
            strcmp(slots[i].embedder, embedder) == 0 &&
            strcmp(slots[i].model, model) == 0)
            return &slots[i];
    return NULL;
}

/* A slot for a tenant not held: a free one, else the least recently
 * used one, emptied. */
static tenant_vecs *
slot_take(void)
{
    tenant_vecs *lru = &slots[0];
    for (int i = 0; i < SY_VECTORS_TENANTS; i++) {
        if (!slots[i].tenant[0])
            return &slots[i];
        if (slots[i].used < lru->used)
            lru = &slots[i];
    }
    slot_clear(lru);
    return lru;
}

/* Drop other tenants, least recently used first, until keep fits in
 * SY_VECTORS_MAX_BYTES (keep itself stays even when it alone is over). */
static void
make_room(const tenant_vecs *keep)
{
    for (;;) {
        size_t total = 0;
        tenant_vecs *lru = NULL;
        for (int i = 0; i < SY_VECTORS_TENANTS; i++) {
            total += slots[i].bytes;
            if (&slots[i] != keep && slots[i].tenant[0] &&
                (!lru || slots[i].used < lru->used))
                lru = &slots[i];
        }
        if (total <= SY_VECTORS_MAX_BYTES || !lru)
            return;
        slot_clear(lru);
    }
}

/* -------------------------------------------------------------- loading */

/* The fingerprint of the tenant's vectors of one embedder+model, and
 * whether they cover every active product. */
static int
fingerprint(sy_arena *a, const char *tenant, const char *embedder,
            const char *model, char fp[FP_LEN], bool *complete)
{
    PGresult *r;
    const char *params[] = {tenant, embedder, model};
    int rc = sy_db_exec(a, &sql_fingerprint, params, 3, &r);
    if (rc < 0)
        return rc;
    if (PQntuples(r) != 1)
        return SY_EDB;
    snprintf(fp, FP_LEN, "%s/%s", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
    *complete = strcmp(PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 2)) == 0;
    return 0;
}

typedef struct row_ref {
    const char *id;
    int row;
} row_ref;

static int
by_id(const void *a, const void *b)
{
    return strcmp(((const row_ref *)a)->id, ((const row_ref *)b)->id);
}

/* Rows of r in product id order, so that equal scores rank the same on
 * every responder (the server may return them in any order, e.g. from
 * parallel workers; sorting here spares it a sort that spills to disk). */
static row_ref *
sorted_rows(PGresult *r, int rows)
{
    row_ref *refs = malloc((size_t)rows * sizeof(*refs));
    if (!refs)
        return NULL;
    for (int i = 0; i < rows; i++)
        refs[i] = (row_ref){PQgetvalue(r, i, 0), i};
    qsort(refs, (size_t)rows, sizeof(*refs), by_id);
    return refs;
}

/* Move columns laid out with a stride of rows down to a stride of n
 * (n < rows: some rows did not decode).  Column d moves to d * n from
 * d * rows, never later, so ascending order overwrites nothing unread. */
static void
compact_cols(float *cols, int rows, int n)
{
    for (int d = 1; d < SY_EMBED_DIMS; d++)
        memmove(cols + (size_t)d * n, cols + (size_t)d * rows,
                (size_t)n * sizeof(*cols));
}

/* Decode the rows of r into t's new arrays (heap; rows that do not
 * decode are skipped and counted in *bad). */
static int
fill(PGresult *r, tenant_vecs *t, int *bad)
{
    static bool hex_ready;
    int rows = PQntuples(r), n = 0, rc = SY_ENOMEM;
    float *cols = NULL, v[SY_EMBED_DIMS];
    char(*ids)[SY_UUID_LEN + 1] = NULL;
    row_ref *refs = NULL;

    if (!hex_ready) {
        hex_init();
        hex_ready = true;
    }
    *bad = 0;
    if (rows > 0) {
        cols = malloc((size_t)rows * VEC_BYTES);
        ids = malloc((size_t)rows * sizeof(*ids));
        refs = sorted_rows(r, rows);
        if (!cols || !ids || !refs)
            goto out;
    }
    /* Columns with a stride of rows while decoding; consecutive rows
     * write neighbouring floats of the same 256 columns. */
    for (int i = 0; i < rows; i++) {
        int row = refs[i].row;
        if (PQgetlength(r, row, 0) != SY_UUID_LEN ||
            !decode_vec(PQgetvalue(r, row, 1), PQgetlength(r, row, 1), v)) {
            (*bad)++;
            continue;
        }
        for (int d = 0; d < SY_EMBED_DIMS; d++)
            cols[(size_t)d * rows + n] = v[d];
        memcpy(ids[n++], refs[i].id, SY_UUID_LEN + 1);
    }
    if (n < rows)
        compact_cols(cols, rows, n);
    free(t->cols);
    free(t->ids);
    t->cols = cols;
    t->ids = ids;
    t->n = n;
    t->bytes = (size_t)rows * (VEC_BYTES + sizeof(*ids));
    cols = NULL;
    ids = NULL;
    rc = 0;
out:
    free(cols);
    free(ids);
    free(refs);
    return rc;
}

static void
log_load(const char *tenant, const char *embedder, const char *model, int n,
         int bad, int64_t t0)
{
    sy_logline *l =
        sy_log_begin(bad ? SY_LOG_WARN : SY_LOG_INFO, "vectors_load");
    sy_log_cstr(l, "tenant", tenant);
    sy_log_cstr(l, "embedder", embedder);
    sy_log_cstr(l, "model", model);
    sy_log_int(l, "products", n);
    if (bad)
        sy_log_int(l, "undecodable", bad);
    sy_log_int(l, "ms", (sy_mono_us() - t0) / 1000);
    sy_log_end(l);
}

/* Load tenant's vectors of embedder+model into t (held or newly
 * taken). */
static int
load(sy_arena *a, const char *tenant, const char *embedder,
     const char *model, tenant_vecs **tp)
{
    char dims[16];
    PGresult *r;
    int64_t t0 = sy_mono_us();
    int bad;

    snprintf(dims, sizeof(dims), "%d", SY_EMBED_DIMS);
    const char *params[] = {tenant, embedder, model, dims};
    int rc = sy_db_exec(a, &sql_load, params, 4, &r);
    if (rc < 0)
        return rc;
    tenant_vecs *t = *tp ? *tp : slot_take();
    if ((rc = fill(r, t, &bad)) < 0) {
        if (!*tp)
            slot_clear(t);
        return rc;
    }
    memcpy(t->tenant, tenant, SY_UUID_LEN + 1);
    snprintf(t->embedder, sizeof(t->embedder), "%s", embedder);
    snprintf(t->model, sizeof(t->model), "%s", model);
    make_room(t);
    log_load(tenant, embedder, model, t->n, bad, t0);
    *tp = t;
    return 0;
}

/* Check t (NULL: none held) against the stored vectors and reload it
 * when they changed. */
static int
refresh(sy_arena *a, const char *tenant, const char *embedder,
        const char *model, tenant_vecs **tp, bool has_version,
        int64_t version)
{
    char fp[FP_LEN];
    bool complete;
    tenant_vecs *t = *tp;
    /* Read before loading: a write in between makes the copy newer than
     * its labels, which costs one more reload, never a stale copy. */
    int rc = fingerprint(a, tenant, embedder, model, fp, &complete);
    if (rc < 0)
        return t ? 0 : rc; /* PostgreSQL is away: serve the copy held */
    if (!t || strcmp(t->fp, fp) != 0) {
        if ((rc = load(a, tenant, embedder, model, &t)) < 0)
            return rc;
        memcpy(t->fp, fp, FP_LEN);
    }
    t->complete = complete;
    t->has_version = has_version;
    t->version = version;
    t->checked_us = sy_mono_us();
    *tp = t;
    return 0;
}

/* The tenant's vectors of embedder+model, current as described atop
 * this file. */
static int
current(sy_arena *a, const sy_catver *cv, const char *tenant,
        const char *embedder, const char *model, tenant_vecs **out)
{
    tenant_vecs *t;
    if (!tenant || strlen(tenant) != SY_UUID_LEN || !embedder || !model ||
        strlen(embedder) >= sizeof(t->embedder) ||
        strlen(model) >= sizeof(t->model))
        return SY_EINVAL;
    t = slot_find(tenant, embedder, model);
    int64_t version = 0;
    bool has_version = sy_cache_catalog_version(a, cv, tenant, &version) == 0;

    if (!t || !has_version || !t->has_version || t->version != version ||
        sy_mono_us() - t->checked_us >= RECHECK_US) {
        int rc = refresh(a, tenant, embedder, model, &t, has_version,
                         version);
        if (rc < 0)
            return rc;
    }
    t->used = ++ticks;
    *out = t;
    return 0;
}

int
sy_vectors_ready(sy_arena *a, const sy_catver *cv, const char *tenant,
                 const char *embedder, const char *model, bool *complete)
{
    tenant_vecs *t;
    int rc = current(a, cv, tenant, embedder, model, &t);
    if (rc == 0)
        *complete = t->complete && t->n > 0;
    return rc;
}

int
sy_vectors_search(sy_arena *a, const sy_catver *cv, const char *tenant,
                  const char *embedder, const char *model, const float *q,
                  int k, sy_vec_hit *out, int *n)
{
    int idx[SY_VECTORS_MAX_K];
    float score[SY_VECTORS_MAX_K];
    tenant_vecs *t;

    if (k > SY_VECTORS_MAX_K)
        k = SY_VECTORS_MAX_K;
    int rc = current(a, cv, tenant, embedder, model, &t);
    if (rc < 0)
        return rc;
    int m = sy_vectors_topk(t->cols, t->n, q, k, idx, score), hits = 0;
    if (m < 0)
        return SY_ENOMEM;
    for (int i = 0; i < m && score[i] > 0; i++, hits++) {
        memcpy(out[i].product_id, t->ids[idx[i]], SY_UUID_LEN + 1);
        out[i].score = score[i];
    }
    *n = hits;
    return 0;
}
