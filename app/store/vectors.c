/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vectors.c - product vectors in PostgreSQL and the responders' read-only
 * copy of them (vectors.h).
 *
 * product_embeddings.vec holds SY_EMBED_DIMS little-endian float32 values;
 * writes send them as bytea hex text (the import commit's bulk upsert,
 * sy_vectors_store_many, as one binary bytea), loads read them in binary
 * result format (raw bytes: half the transfer of hex, no decoding).
 *
 * The copy: one block per tenant+embedder+model (at most
 * SY_VECTORS_TENANTS of them, SY_VECTORS_MAX_BYTES in all), laid out as a
 * header, the product ids in id order, then the vectors dimension-major
 * (column d of n products at cols[d * n .. d * n + n - 1]) so that a
 * search reads only the columns of the query's non-zero dimensions
 * (20-60 of 256 for the local embedder).
 *
 * Shared per host: the block is a file under server.runtime_dir,
 * vec-<key>-v<catalog version>.bin (key: a hash of tenant, embedder,
 * model and dims), mapped read-only (MAP_SHARED) by every responder, so
 * its pages are in memory once per host.  The first responder that needs
 * a version builds it, holding vec-<key>.lock (flock: the others wait,
 * then map what it built; a builder that dies releases it), into a
 * temporary name that it renames into place (no fsync: a tmpfs, and a
 * lost file is only rebuilt); files of older versions of the key are
 * unlinked then (a responder that still maps one keeps a valid mapping
 * until it moves on).  A file is checked before it is mapped: its size,
 * its header (magic, dims, key) and a checksum of the rest; a broken or
 * truncated file is rebuilt.  A fresh responder maps the current
 * version's file without a query.  Without Redis (no catalog version)
 * the name carries a hash of the fingerprint below instead.  When
 * runtime_dir is empty or not writable, each responder keeps its own
 * block in its heap, as before (logged once).
 *
 * Freshness: before a search the responder asks Redis for the tenant's
 * catalog version (one round trip); only when that moved, or every
 * RECHECK_US anyway (a lost bump must not leave a copy stale for ever),
 * does it look further: first for the version's file (another responder
 * built it: no query), else it reads a fingerprint of the stored vectors
 * (count and a sum of per-row hashes of id and write time; about 15 ms
 * for 10,000 products) and loads only when the fingerprint moved (after a
 * stock-only write the file of the new version is written from the copy
 * held).  With Redis down every search reads the fingerprint: slower,
 * but never behind a write (a stale ranking would also be kept by the
 * result cache's memory fallback).
 */
#include "synthia/vectors.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "synthia/cache.h"
#include "synthia/clock.h"
#include "synthia/crypto.h"
#include "synthia/config.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/log.h"
#include "synthia/shfile.h"

/* A lost bump (a write while Redis was away) is caught by reading the
 * fingerprint again every RECHECK_US plus up to half of it at random:
 * the read (15 ms for 10,000 products, more on a busy host) holds every
 * request queued at this responder, so it is rare, and the responders
 * started together do not all pay it in the same second. */
#define RECHECK_US (60 * 1000000LL)
#define VEC_BYTES SY_VECTORS_LOCAL_BYTES
#define HEX_LEN (2 + 2 * VEC_BYTES) /* "\x" and two digits a byte */
#define FP_LEN 64
#define ID_BYTES (SY_UUID_LEN + 1)

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
/* $1 tenant, $2 embedder, $3 model, $4 dims: product id (as text) and
 * vec of every active product (sorted by id here, not by the server),
 * in binary result format. */
static sy_db_stmt sql_load =
    SY_DB_STMT_BINARY("vectors_load",
     "SELECT e.product_id::text, e.vec "
     "FROM product_embeddings e JOIN products p"
     " ON p.tenant_id = e.tenant_id AND p.id = e.product_id "
     "WHERE e.tenant_id = $1::uuid AND e.embedder = $2 AND e.model = $3"
     " AND e.dims = $4::smallint AND p.active",
     4);

/* The block of one tenant+embedder+model, in a file or in the heap:
 * this header (a page, so the columns are aligned), n ids of ID_BYTES
 * at ids_off, n * dims floats at cols_off. */
#define BLOCK_MAGIC "SYVEC01"
#define HDR_BYTES 4096
typedef struct block_hdr {
    char magic[8];
    uint32_t dims;
    uint32_t n;
    uint64_t ids_off, cols_off, bytes; /* bytes: the whole block */
    uint64_t sum;                      /* checksum of what follows */
    uint32_t complete;                 /* at the fingerprint fp */
    char tenant[SY_UUID_LEN + 1];
    char embedder[16];
    char model[SY_AI_MODEL_MAX];
    char fp[FP_LEN];
} block_hdr;
_Static_assert(sizeof(block_hdr) <= HDR_BYTES, "block header too large");

typedef struct tenant_vecs {
    char tenant[SY_UUID_LEN + 1]; /* "" when the slot is free */
    char embedder[16];            /* whose vectors: "local", "openai" */
    char model[SY_AI_MODEL_MAX];
    bool complete; /* a vector for every active product (at the last
                      fingerprint) */
    void *base;    /* the block: mapped file or heap */
    bool mapped;   /* base is a read-only mapping of file */
    dev_t dev;
    ino_t ino;
    char file[64]; /* its name in runtime_dir ("" in the heap) */
    const float *cols;            /* SY_EMBED_DIMS columns of n */
    const char (*ids)[ID_BYTES];
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
static bool trim_pending; /* a load's result was freed: see sy_vectors_idle */

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
    if (t->base && t->mapped)
        munmap(t->base, t->bytes);
    else
        free(t->base);
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

/* -------------------------------------------------------------- blocks */

/* Where the columns start in a block made for rows products. */
static size_t
cols_off_for(int rows)
{
    size_t o = HDR_BYTES + (size_t)rows * ID_BYTES;
    return (o + 63) & ~(size_t)63;
}

static bool
has_nul(const char *s, size_t len)
{
    return memchr(s, '\0', len) != NULL;
}

/* Is the block of size bytes at base whole, of this key (and, fp not
 * NULL, of that fingerprint)? */
static bool
block_valid(const unsigned char *base, size_t size, const char *tenant,
            const char *embedder, const char *model, const char *fp)
{
    block_hdr h;
    if (size < HDR_BYTES)
        return false;
    memcpy(&h, base, sizeof(h));
    if (memcmp(h.magic, BLOCK_MAGIC, sizeof(h.magic)) != 0 ||
        h.dims != SY_EMBED_DIMS || h.bytes != size ||
        h.ids_off != HDR_BYTES || h.n > (size - HDR_BYTES) / ID_BYTES ||
        h.cols_off % 64 != 0 ||
        h.cols_off < HDR_BYTES + (uint64_t)h.n * ID_BYTES ||
        h.cols_off > size ||
        (size - h.cols_off) != (uint64_t)h.n * VEC_BYTES ||
        !has_nul(h.tenant, sizeof(h.tenant)) ||
        !has_nul(h.embedder, sizeof(h.embedder)) ||
        !has_nul(h.model, sizeof(h.model)) || !has_nul(h.fp, sizeof(h.fp)))
        return false;
    if (strcmp(h.tenant, tenant) != 0 || strcmp(h.embedder, embedder) != 0 ||
        strcmp(h.model, model) != 0 || (fp && strcmp(h.fp, fp) != 0))
        return false;
    const char(*ids)[ID_BYTES] = (const void *)(base + h.ids_off);
    for (uint32_t i = 0; i < h.n; i++)
        if (ids[i][SY_UUID_LEN] != '\0')
            return false;
    return sy_shfile_sum(base + HDR_BYTES, size - HDR_BYTES) == h.sum;
}

/* A block to install in a slot. */
typedef struct block {
    void *base;
    size_t bytes;
    bool mapped;
    dev_t dev;
    ino_t ino;
    char file[64];
} block;

/* Put b (valid) into t (NULL: a slot is taken) as the tenant's block;
 * when t already maps that very file, b is dropped instead. */
static tenant_vecs *
install(tenant_vecs *t, block *b, const char *tenant, const char *embedder,
        const char *model)
{
    if (t && t->mapped && b->mapped && t->dev == b->dev && t->ino == b->ino) {
        munmap(b->base, b->bytes);
        snprintf(t->file, sizeof(t->file), "%s", b->file);
        return t;
    }
    if (!t)
        t = slot_take();
    else if (t->base && t->mapped)
        munmap(t->base, t->bytes);
    else
        free(t->base);
    block_hdr h;
    memcpy(&h, b->base, sizeof(h));
    memcpy(t->tenant, tenant, SY_UUID_LEN + 1);
    snprintf(t->embedder, sizeof(t->embedder), "%s", embedder);
    snprintf(t->model, sizeof(t->model), "%s", model);
    t->base = b->base;
    t->bytes = b->bytes;
    t->mapped = b->mapped;
    t->dev = b->dev;
    t->ino = b->ino;
    snprintf(t->file, sizeof(t->file), "%s", b->file);
    t->cols = (const float *)((const unsigned char *)b->base + h.cols_off);
    t->ids = (const void *)((const unsigned char *)b->base + h.ids_off);
    t->n = (int)h.n;
    t->complete = h.complete != 0;
    memcpy(t->fp, h.fp, FP_LEN);
    make_room(t);
    return t;
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
 * parallel workers; sorting here spares it a sort that spills to disk).
 * Binary text values still end with a NUL (libpq adds one). */
static row_ref *
sorted_rows(PGresult *r, int rows)
{
    row_ref *refs = malloc((size_t)(rows ? rows : 1) * sizeof(*refs));
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

/* Decode the rows of r (binary: 36 bytes of id text, VEC_BYTES of
 * little-endian floats) in id order into the block at base, made for
 * rows products; rows that do not decode are skipped and counted in
 * *bad.  Returns how many did. */
static int
fill(PGresult *r, const row_ref *refs, int rows, unsigned char *base,
     int *bad)
{
    char(*ids)[ID_BYTES] = (void *)(base + HDR_BYTES);
    float *cols = (float *)(void *)(base + cols_off_for(rows));
    int n = 0;

    *bad = 0;
    /* Columns with a stride of rows while decoding; consecutive rows
     * write neighbouring floats of the same 256 columns. */
    for (int i = 0; i < rows; i++) {
        int row = refs[i].row;
        if (PQgetlength(r, row, 0) != SY_UUID_LEN ||
            PQgetlength(r, row, 1) != VEC_BYTES) {
            (*bad)++;
            continue;
        }
        const unsigned char *v = (const unsigned char *)PQgetvalue(r, row, 1);
        for (int d = 0; d < SY_EMBED_DIMS; d++) {
            uint32_t u;
            memcpy(&u, v + 4 * d, sizeof(u));
            u = le32toh(u);
            memcpy(&cols[(size_t)d * rows + n], &u, sizeof(u));
        }
        memcpy(ids[n++], refs[i].id, ID_BYTES);
    }
    if (n < rows)
        compact_cols(cols, rows, n);
    return n;
}

static void
log_load(const char *tenant, const char *embedder, const char *model, int n,
         int bad, bool shared, int64_t t0)
{
    sy_logline *l =
        sy_log_begin(bad ? SY_LOG_WARN : SY_LOG_INFO, "vectors_load");
    sy_log_cstr(l, "tenant", tenant);
    sy_log_cstr(l, "embedder", embedder);
    sy_log_cstr(l, "model", model);
    sy_log_int(l, "products", n);
    sy_log_cstr(l, "store", shared ? "file" : "heap");
    if (bad)
        sy_log_int(l, "undecodable", bad);
    sy_log_int(l, "ms", (sy_mono_us() - t0) / 1000);
    sy_log_end(l);
}

/* Load the tenant's vectors of embedder+model from PostgreSQL into a new
 * block labelled fp and complete: into the file fd (sized here; *out
 * gets no memory) or, fd < 0, into the heap (*out).  *bytes: its size. */
static int
load_block(sy_arena *a, const char *tenant, const char *embedder,
           const char *model, const char *fp, bool complete, int fd,
           void **out, size_t *bytes)
{
    char dims[16];
    PGresult *r;
    int64_t t0 = sy_mono_us();
    int bad, rc;

    snprintf(dims, sizeof(dims), "%d", SY_EMBED_DIMS);
    const char *params[] = {tenant, embedder, model, dims};
    if ((rc = sy_db_exec(a, &sql_load, params, 4, &r)) < 0)
        return rc;
    int rows = PQntuples(r);
    row_ref *refs = sorted_rows(r, rows);
    if (!refs)
        return SY_ENOMEM;
    size_t cap = cols_off_for(rows) + (size_t)rows * VEC_BYTES;
    unsigned char *base;
    if (fd >= 0) {
        base = ftruncate(fd, (off_t)cap) == 0
                   ? mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                          0)
                   : MAP_FAILED;
        if (base == MAP_FAILED) {
            free(refs);
            return SY_EIO;
        }
    } else if (!(base = malloc(cap))) {
        free(refs);
        return SY_ENOMEM;
    }
    int n = fill(r, refs, rows, base, &bad);
    free(refs);
    block_hdr h = {.dims = SY_EMBED_DIMS,
                   .n = (uint32_t)n,
                   .ids_off = HDR_BYTES,
                   .cols_off = cols_off_for(rows),
                   .complete = complete};
    memcpy(h.magic, BLOCK_MAGIC, sizeof(h.magic));
    h.bytes = h.cols_off + (uint64_t)n * VEC_BYTES;
    /* the id slots of rows that did not decode, and the padding */
    memset(base + HDR_BYTES + (size_t)n * ID_BYTES, 0,
           h.cols_off - HDR_BYTES - (size_t)n * ID_BYTES);
    h.sum = sy_shfile_sum(base + HDR_BYTES, h.bytes - HDR_BYTES);
    memcpy(h.tenant, tenant, SY_UUID_LEN + 1);
    snprintf(h.embedder, sizeof(h.embedder), "%s", embedder);
    snprintf(h.model, sizeof(h.model), "%s", model);
    snprintf(h.fp, sizeof(h.fp), "%s", fp);
    memset(base, 0, HDR_BYTES);
    memcpy(base, &h, sizeof(h));
    rc = 0;
    if (fd >= 0) {
        munmap(base, cap);
        if (h.bytes < cap && ftruncate(fd, (off_t)h.bytes) < 0)
            rc = SY_EIO;
        *out = NULL;
    } else {
        *out = base;
    }
    *bytes = h.bytes;
    log_load(tenant, embedder, model, n, bad, fd >= 0, t0);
    trim_pending = true;
    return rc;
}

/* ------------------------------------------------------ the shared files */

static bool unshared_logged;

static void
log_unshared(const char *dir, const char *what, int err)
{
    sy_shfile_unshared(&unshared_logged, "vectors_unshared",
                       "the product vectors", dir, what, err);
}

/* The key of a tenant's embedder+model+dims in file names: 16 hex
 * digits (model names may hold any character). */
static void
key_of(const char *tenant, const char *embedder, const char *model,
       char key[17])
{
    char dims[16];
    uint64_t h = SY_SHFILE_HASH0;
    int len = snprintf(dims, sizeof(dims), "%d", SY_EMBED_DIMS);
    h = sy_shfile_hash(h, tenant, strlen(tenant) + 1);
    h = sy_shfile_hash(h, embedder, strlen(embedder) + 1);
    h = sy_shfile_hash(h, model, strlen(model) + 1);
    h = sy_shfile_hash(h, dims, (size_t)len);
    snprintf(key, 17, "%016llx", (unsigned long long)h);
}

/* Map the file name of dir read-only when it holds a valid block of this
 * key (and fp, unless NULL).  0; SY_ENOTFOUND when there is none;
 * SY_EINVAL when it is broken (logged: it will be rebuilt). */
static int
map_file(const char *dir, const char *name, const char *tenant,
         const char *embedder, const char *model, const char *fp, block *b)
{
    sy_shfile f;
    int rc = sy_shfile_map(dir, name, HDR_BYTES, &f);
    if (rc == SY_ENOTFOUND)
        return rc;
    if (rc < 0)
        goto broken;
    if (!block_valid(f.base, f.bytes, tenant, embedder, model, fp)) {
        block_hdr h;
        memcpy(&h, f.base, sizeof(h));
        munmap(f.base, f.bytes);
        /* another fingerprint is not broken, only another state */
        if (fp && memcmp(h.magic, BLOCK_MAGIC, sizeof(h.magic)) == 0 &&
            has_nul(h.fp, sizeof(h.fp)) && strcmp(h.fp, fp) != 0)
            return SY_ENOTFOUND;
        goto broken;
    }
    *b = (block){.base = f.base, .bytes = f.bytes, .mapped = true,
                 .dev = f.dev, .ino = f.ino};
    snprintf(b->file, sizeof(b->file), "%s", name);
    return 0;
broken:
    sy_log(SY_LOG_WARN, "vectors_file_rejected",
           "%s/%s is truncated or damaged; rebuilding it", dir, name);
    return SY_EINVAL;
}

/* Make dir/name hold the tenant's block of fingerprint fp, unless it
 * already does, under the key's lock; then map it into *b.  The block
 * is written from held (when it has that fingerprint: no query) or
 * loaded from PostgreSQL.  0, SY_EIO (the directory cannot be written:
 * the caller falls back to the heap), SY_EDB, SY_ENOMEM. */
static int
build_file(sy_arena *a, const char *dir, const char *key, const char *name,
           const char *tenant, const char *embedder, const char *model,
           const char *fp, bool complete, const tenant_vecs *held, block *b)
{
    char lockname[64], prefix[32], tmp[64];
    int rc;
    snprintf(lockname, sizeof(lockname), "vec-%s.lock", key);
    snprintf(prefix, sizeof(prefix), "vec-%s-", key);
    int lockfd = sy_shfile_lock(dir, lockname);
    if (lockfd < 0) {
        log_unshared(dir, "cannot lock a file", errno);
        return SY_EIO;
    }
    /* built while we waited? */
    if ((rc = map_file(dir, name, tenant, embedder, model, fp, b)) == 0)
        goto out;
    int fd = sy_shfile_create(dir, prefix, tmp, sizeof(tmp));
    if (fd < 0) {
        log_unshared(dir, "cannot create a file", errno);
        rc = SY_EIO;
        goto out;
    }
    if (held && held->base && strcmp(held->fp, fp) == 0) {
        block_hdr h;
        int64_t t0 = sy_mono_us();
        memcpy(&h, held->base, sizeof(h));
        h.complete = complete;
        const unsigned char *p = held->base;
        rc = sy_shfile_write_all(fd, &h, sizeof(h)) < 0 ||
                     sy_shfile_write_all(fd, p + sizeof(h),
                                         held->bytes - sizeof(h)) < 0
                 ? SY_EIO
                 : 0;
        if (rc == 0)
            log_load(tenant, embedder, model, held->n, 0, true, t0);
    } else {
        void *unused;
        size_t bytes;
        rc = load_block(a, tenant, embedder, model, fp, complete, fd,
                        &unused, &bytes);
    }
    close(fd);
    if (rc < 0) {
        sy_shfile_discard(dir, tmp);
        goto out;
    }
    if (sy_shfile_publish(dir, tmp, name, prefix) < 0) {
        log_unshared(dir, "cannot rename a file", errno);
        rc = SY_EIO;
        goto out;
    }
    rc = map_file(dir, name, tenant, embedder, model, fp, b);
    if (rc < 0)
        rc = SY_EIO;
out:
    sy_shfile_unlock(lockfd);
    return rc;
}

/* ----------------------------------------------------------- freshness */

/* Make *tp (NULL: none held) the tenant's current block of
 * embedder+model, as described atop this file. */
static int
refresh(sy_arena *a, const char *tenant, const char *embedder,
        const char *model, tenant_vecs **tp, bool has_version,
        int64_t version)
{
    char fp[FP_LEN], key[17], name[64];
    bool complete;
    block b;
    tenant_vecs *t = *tp;
    const char *dir = sy_shfile_dir();
    bool moved = !t || !has_version || !t->has_version ||
                 t->version != version;
    int rc;

    if (dir) {
        key_of(tenant, embedder, model, key);
        snprintf(name, sizeof(name), "vec-%s-v%lld.bin", key,
                 (long long)version);
        /* the version's file, built by whoever saw the version first */
        if (has_version && moved &&
            map_file(dir, name, tenant, embedder, model, NULL, &b) == 0) {
            t = install(t, &b, tenant, embedder, model);
            goto label;
        }
    }
    /* Read before loading: a write in between makes the copy newer than
     * its labels, which costs one more reload, never a stale copy. */
    rc = fingerprint(a, tenant, embedder, model, fp, &complete);
    if (rc < 0) {
        if (!t)
            return rc;
        goto label; /* PostgreSQL is away: serve the copy held */
    }
    if (dir) {
        if (!has_version)
            snprintf(name, sizeof(name), "vec-%s-f%016llx.bin", key,
                     (unsigned long long)sy_shfile_hash(SY_SHFILE_HASH0, fp,
                                               strlen(fp)));
        if (t && t->mapped && strcmp(t->file, name) == 0 &&
            strcmp(t->fp, fp) == 0)
            goto done;
        rc = build_file(a, dir, key, name, tenant, embedder, model, fp,
                        complete, t, &b);
        if (rc == 0) {
            t = install(t, &b, tenant, embedder, model);
            goto done;
        }
        if (rc != SY_EIO)
            return t ? 0 : rc;
        /* runtime_dir not writable: in the heap, as below */
    }
    if (!t || strcmp(t->fp, fp) != 0) {
        void *base;
        size_t bytes;
        if ((rc = load_block(a, tenant, embedder, model, fp, complete, -1,
                             &base, &bytes)) < 0)
            return rc;
        b = (block){.base = base, .bytes = bytes};
        t = install(t, &b, tenant, embedder, model);
    }
done:
    t->complete = complete;
label:
    t->has_version = has_version;
    t->version = version;
    /* the next check: RECHECK_US to 1.5 times that from now */
    t->checked_us = sy_mono_us() + (int64_t)sy_random_below(RECHECK_US / 2);
    *tp = t;
    return 0;
}

/* The periodic recheck of a copy at the current catalog version waits
 * for the responder to have nothing to serve (sy_vectors_idle), up to
 * IDLE_WAIT_US; then the search that finds it still due does it.  The
 * copy serves meanwhile: its version is current.  One copy waits at a
 * time (the oldest; a wait past its bound gives the turn to the next). */
#define IDLE_WAIT_US 2000000
static tenant_vecs *want;  /* the slot; its tenant, embedder and model: */
static char want_key[SY_UUID_LEN + 1 + 16 + SY_AI_MODEL_MAX];
static int64_t want_since_us;

static void
want_key_of(const tenant_vecs *t, char *out, size_t n)
{
    snprintf(out, n, "%s %s %s", t->tenant, t->embedder, t->model);
}

/* Leave t's recheck to an idle moment? */
static bool
defer_recheck(tenant_vecs *t, int64_t now)
{
    char key[sizeof(want_key)];
    want_key_of(t, key, sizeof(key));
    if (!want || (strcmp(want_key, key) != 0 &&
                  now - want_since_us >= IDLE_WAIT_US)) {
        want = t;
        memcpy(want_key, key, sizeof(key));
        want_since_us = now;
    }
    if (strcmp(want_key, key) != 0)
        return true; /* another copy's turn first */
    if (now - want_since_us < IDLE_WAIT_US)
        return true;
    want = NULL; /* done now, by the caller */
    return false;
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
    int64_t now = sy_mono_us();

    if (!t || !has_version || !t->has_version || t->version != version ||
        (now - t->checked_us >= RECHECK_US && !defer_recheck(t, now))) {
        int rc = refresh(a, tenant, embedder, model, &t, has_version,
                         version);
        if (rc < 0)
            return rc;
    }
    t->used = ++ticks;
    *out = t;
    return 0;
}

bool
sy_vectors_idle_due(void)
{
    return want || trim_pending;
}

void
sy_vectors_idle(sy_arena *a)
{
    if (want) {
        tenant_vecs *t = want;
        char key[sizeof(want_key)];
        int64_t version;
        want = NULL;
        if (t->tenant[0])
            want_key_of(t, key, sizeof(key));
        /* still that copy (not taken by another since), still due, and
         * the version it is labelled with still current: the next
         * search refreshes a copy whose version moved */
        if (t->tenant[0] && strcmp(key, want_key) == 0 &&
            sy_mono_us() - t->checked_us >= RECHECK_US && t->has_version &&
            sy_cache_catalog_version(a, NULL, t->tenant, &version) == 0 &&
            version == t->version) {
            char tenant[SY_UUID_LEN + 1], embedder[16],
                model[SY_AI_MODEL_MAX];
            memcpy(tenant, t->tenant, sizeof(tenant));
            memcpy(embedder, t->embedder, sizeof(embedder));
            memcpy(model, t->model, sizeof(model));
            refresh(a, tenant, embedder, model, &t, true, version);
        }
    }
    if (trim_pending) {
        /* the last load's result (10 MiB per 10,000 products, freed with
         * its arena since) back to the system, not kept in the heap */
        malloc_trim(0);
        trim_pending = false;
    }
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
