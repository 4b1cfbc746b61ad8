/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * products.c (store) - the catalog's statements and the rows they fill
 * (products_db.h): product writes and reads, the filtered keyset list,
 * categories with counts, and the text and typo rankings of search
 * (each pipelined with its statement timeout: one round trip).
 *
 * Every statement takes the tenant as $1 and filters by it.  A product
 * is read as the JSON text PostgreSQL builds (CAT_JSON), so a list is
 * joined from row texts and never re-serialised; times are RFC 3339 UTC
 * with microseconds (PostgreSQL's own precision), which also makes them
 * exact page cursors.  A stored image (prodimages_db.h) shows as its
 * path, versioned by its hash, in "image".
 */
#include "synthia/products_db.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/error.h"

#define CAT_TS(col)                                                       \
    "to_char(" col " AT TIME ZONE 'UTC', "                                \
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define CAT_JSON                                                          \
    "json_build_object('id', p.id, 'sku', p.sku, 'name', p.name, "        \
    "'description', p.description, 'category', p.category, "              \
    "'price_cents', p.price_cents, 'currency', p.currency, "              \
    "'stock', p.stock, 'colors', p.colors, 'attributes', p.attributes, "  \
    "'image_url', p.image_url, 'image', CASE WHEN p.image_sha256 IS "     \
    "NOT NULL THEN '/api/v1/products/' || p.id || '/image?v=' || "         \
    "left(p.image_sha256, 16) END, 'active', p.active, "                  \
    "'created_at', " CAT_TS("p.created_at") ", "                          \
    "'updated_at', " CAT_TS("p.updated_at") ")::text"
/* Columns of a written product (W_*): id, JSON, updated_at (for the
 * ETag), active, and the text its embedding is made of. */
#define CAT_WRITTEN                                                       \
    "p.id, " CAT_JSON ", " CAT_TS("p.updated_at") ", p.active, "          \
    "p.name || ' ' || p.category || ' ' || p.description"
#define CAT_COLORS(param)                                                 \
    "ARRAY(SELECT json_array_elements_text(" param "::json))"
enum { W_ID, W_JSON, W_UPDATED, W_ACTIVE, W_TEXT };

/* $2 sku, $3 name, $4 description, $5 category, $6 price_cents, $7
 * currency, $8 stock, $9 colors (JSON array), $10 attributes (JSON
 * object), $11 image_url (NULL: none).  No row when no tenant has the
 * id $1 (the search trigger would fail first on a foreign-key miss). */
static sy_db_stmt sql_insert =
    SY_DB_STMT("product_insert",
     "INSERT INTO products AS p (tenant_id, sku, name, description, "
     "category, price_cents, currency, stock, colors, attributes, "
     "image_url, created_at, updated_at) SELECT $1::uuid, $2, $3, $4, "
     "$5, $6::bigint, $7, $8::integer, " CAT_COLORS("$9") ", "
     "$10::jsonb, $11, c.ts, c.ts FROM tenants t, "
     "(SELECT clock_timestamp() AS ts) c WHERE t.id = $1::uuid "
     "RETURNING " CAT_WRITTEN,
     11);
/* $2 id, $3 whether inactive products count.  Columns: id, JSON,
 * updated_at. */
static sy_db_stmt sql_get =
    SY_DB_STMT("product_get",
     "SELECT p.id, " CAT_JSON ", " CAT_TS("p.updated_at") " "
     "FROM products p WHERE p.tenant_id = $1::uuid AND p.id = $2::uuid "
     "AND (p.active OR $3::boolean)",
     3);
/* $2 id; NULL leaves a field alone: $3 sku, $4 name, $5 description,
 * $6 category, $7 price_cents, $8 currency, $9 stock, $10 colors,
 * $11 attributes, $13 image_url (written only when $12 is true, so
 * that it can be cleared), $14 active. */
static sy_db_stmt sql_update =
    SY_DB_STMT("product_update",
     "UPDATE products AS p SET sku = coalesce($3, p.sku), "
     "name = coalesce($4, p.name), "
     "description = coalesce($5, p.description), "
     "category = coalesce($6, p.category), "
     "price_cents = coalesce($7::bigint, p.price_cents), "
     "currency = coalesce($8, p.currency), "
     "stock = coalesce($9::integer, p.stock), "
     "colors = CASE WHEN $10::json IS NULL THEN p.colors "
     "ELSE " CAT_COLORS("$10") " END, "
     "attributes = coalesce($11::jsonb, p.attributes), "
     "image_url = CASE WHEN $12::boolean THEN $13 ELSE p.image_url END, "
     "active = coalesce($14::boolean, p.active) "
     "WHERE p.tenant_id = $1::uuid AND p.id = $2::uuid "
     "RETURNING " CAT_WRITTEN,
     14);
/* $2 id.  Soft delete: orders keep pointing at the row. */
static sy_db_stmt sql_deactivate =
    SY_DB_STMT("product_deactivate",
     "UPDATE products SET active = false "
     "WHERE tenant_id = $1::uuid AND id = $2::uuid RETURNING id",
     2);
/* Active products, keyset-paginated.  NULL filters are off: $2
 * category, $3 min and $4 max price_cents, $5 in stock (boolean), $6
 * colour; $7/$8 after (created_at, id), $9 limit (page size + 1).
 * Columns: id, JSON, created_at. */
static sy_db_stmt sql_list =
    SY_DB_STMT("products_list",
     "SELECT p.id, " CAT_JSON ", " CAT_TS("p.created_at") " "
     "FROM products p WHERE p.tenant_id = $1::uuid AND p.active "
     "AND ($2::text IS NULL OR p.category = $2::text) "
     "AND ($3::bigint IS NULL OR p.price_cents >= $3::bigint) "
     "AND ($4::bigint IS NULL OR p.price_cents <= $4::bigint) "
     "AND ($5::boolean IS NULL OR (p.stock > 0) = $5::boolean) "
     "AND ($6::text IS NULL OR $6::text = ANY (p.colors)) "
     "AND (p.created_at, p.id) > ($7::timestamptz, $8::uuid) "
     "ORDER BY p.created_at, p.id LIMIT $9::integer",
     9);
/* The categories of active products with their counts, as the JSON
 * array text of the response. */
static sy_db_stmt sql_categories =
    SY_DB_STMT("categories_list",
     "SELECT coalesce(json_agg(json_build_object('name', c.category, "
     "'count', c.n) ORDER BY c.category), '[]')::text FROM ("
     "SELECT category, count(*) AS n FROM products "
     "WHERE tenant_id = $1::uuid AND active AND category <> '' "
     "GROUP BY category) c",
     1);
/* $2 query, $3 limit, $4 candidates.  (The in-memory index,
 * textidx.h, ranks the same way and leaves this statement the cases it
 * cannot reproduce.)  Full-text matches with the
 * tenant's configuration, scored 0.5 + 0.5 x ts_rank (normalisation 32:
 * rank / (rank + 1)), so that they rank above every typo match.
 * ts_rank weighs the name (A) over category (B) and description (C)
 * by lexeme frequency; ts_rank_cd's cover density cost three times as
 * much for ~250 matches of 10,000 products.
 * Two stages: c takes at most $4 matches straight from the GIN bitmap,
 * in storage order, before any ranking (LIMIT keeps it a subquery), and
 * only those are read whole and ranked; the cost of a broad query is
 * then one index scan plus $4 rows, whatever the catalog's size.  A
 * query with at most $4 matches ranks them all, as before.
 * OFFSET 0 keeps the query a subquery evaluated once: flattened,
 * websearch_to_tsquery ran again for every matching row (half the
 * statement's time).  The index is per tenant (004_search_cost), so the
 * cost is the tenant's matches, never another tenant's.  $2 is the
 * normalised query (search.h): a few terms with at most one operator
 * each, which websearch_to_tsquery cannot fail on.  Columns: id, score
 * (the JSON comes from the product cache or sql_by_ids). */
static sy_db_stmt sql_search_text =
    SY_DB_STMT("products_search_text",
     "SELECT c.id, 0.5 + 0.5 * ts_rank(c.search, c.tq, 32) AS s "
     "FROM (SELECT p.id, p.search, q.tq "
     "FROM products p, (SELECT websearch_to_tsquery(t.search_config, "
     "sy_unaccent($2)) AS tq FROM tenants t WHERE t.id = $1::uuid "
     "OFFSET 0) q "
     "WHERE p.tenant_id = $1::uuid AND p.active AND p.search @@ q.tq "
     "LIMIT $4::integer) c "
     "ORDER BY s DESC, c.id LIMIT $3::integer",
     4);
/* $2 words (space-separated), $3 limit, $4 candidates: typo tolerance
 * through the tenant's vocabulary (product_words, 004_search_cost).
 * w: the first three words that are not in the vocabulary (a known word
 * is spelled as some product spells it, and the full text had it).
 * c: for each, the three most similar words of the vocabulary (trigram
 * similarity >= pg_trgm.similarity_threshold, 0.3), each with its
 * full-text query in the tenant's configuration.  a: those corrections
 * or-ed, at most nine.  m: at most $4 active products matching a, taken
 * before any ranking.  Score: 0.5 x the mean over the words of w of the
 * best similarity among the corrections the product matches, x (0.5 +
 * 0.5 x ts_rank): below 0.5, so under every full-text hit.  Every step
 * compares words with words (a microsecond each), never with a whole
 * description, and looks at a bounded number of rows; what it cannot
 * bound, the GIN bitmap of the corrections' matches, is one index scan
 * of at most nine words.  Columns: id, score. */
static sy_db_stmt sql_search_typo =
    SY_DB_STMT("products_search_typo",
     "WITH w AS MATERIALIZED ("
     "SELECT q.i, sy_unaccent(lower(q.w)) AS w "
     "FROM unnest(string_to_array($2::text, ' ')) "
     "WITH ORDINALITY AS q(w, i) "
     "WHERE NOT EXISTS (SELECT 1 FROM product_words e "
     "WHERE e.tenant_id = $1::uuid AND e.word = sy_unaccent(lower(q.w))) "
     "ORDER BY q.i LIMIT 3), "
     "c AS MATERIALIZED ("
     "SELECT w.i, x.word, x.sim, "
     "websearch_to_tsquery(t.search_config, x.word) AS tq "
     "FROM tenants t, w, "
     "LATERAL (SELECT v.word, similarity(v.word, w.w) AS sim "
     "FROM product_words v WHERE v.tenant_id = $1::uuid "
     "AND v.word % w.w ORDER BY 2 DESC, 1 LIMIT 3) x "
     "WHERE t.id = $1::uuid), "
     "a AS MATERIALIZED ("
     "SELECT websearch_to_tsquery(t.search_config, "
     "string_agg(c.word, ' or ')) AS tq, "
     "(SELECT count(*) FROM w) AS n "
     "FROM c, tenants t WHERE t.id = $1::uuid GROUP BY t.search_config), "
     "m AS (SELECT p.id, p.search FROM products p, a "
     "WHERE p.tenant_id = $1::uuid AND p.active AND p.search @@ a.tq "
     "LIMIT $4::integer) "
     "SELECT m.id, 0.5 * (SELECT sum(z.b) FROM (SELECT max(c.sim) AS b "
     "FROM c WHERE m.search @@ c.tq GROUP BY c.i) z) / a.n "
     "* (0.5 + 0.5 * ts_rank(m.search, a.tq, 32)) AS s "
     "FROM m, a ORDER BY s DESC, m.id LIMIT $3::integer",
     4);
/* $2 uuid[] literal: those of the tenant's products that are active.
 * Columns: id, JSON. */
static sy_db_stmt sql_by_ids =
    SY_DB_STMT("products_by_ids",
     "SELECT p.id, " CAT_JSON " FROM products p "
     "WHERE p.tenant_id = $1::uuid AND p.active "
     "AND p.id = ANY ($2::uuid[])",
     2);
/* Columns: id, the colours run together ("#aabbcc#ddeeff"). */
static sy_db_stmt sql_colours =
    SY_DB_STMT("products_colours",
     "SELECT p.id, array_to_string(p.colors, '') FROM products p "
     "WHERE p.tenant_id = $1::uuid AND p.active "
     "AND cardinality(p.colors) > 0 ORDER BY p.id",
     1);
/* $1 statement_timeout in milliseconds, for the rest of the search's
 * transaction only (SET LOCAL): sent pipelined with the ranking, whose
 * implicit transaction it shares (rank_timed), so nothing outlives the
 * ranking; safe behind PgBouncer in transaction mode and with
 * database.prepared off.  Sequential scans off too: the planner
 * underrates the cost of comparing a long word with every word of the
 * vocabulary (45 ms for a 32-letter word over 10,000 words, 0.6 ms
 * through the trigram index), and every search statement has an index
 * to use. */
static sy_db_stmt sql_search_timeout =
    SY_DB_STMT("search_timeout",
     "SELECT set_config('statement_timeout', $1::text, true), "
     "set_config('enable_seqscan', 'off', true)",
     1);
#undef CAT_COLORS
#undef CAT_WRITTEN
#undef CAT_JSON
#undef CAT_TS

/* ------------------------------------------------------------ writes */

static void
written_row(const PGresult *r, sy_product_row *out)
{
    *out = (sy_product_row){
        .id = sy_db_cstr(r, 0, W_ID),
        .json = sy_db_str(r, 0, W_JSON),
        .updated_at = sy_db_cstr(r, 0, W_UPDATED),
        .active = sy_db_bool(r, 0, W_ACTIVE),
        .text = sy_db_str(r, 0, W_TEXT),
    };
}

/* Run a write that returns the written row: SY_ENOTFOUND without one. */
static int
write_row(sy_arena *a, sy_db_stmt *stmt, const char *const *params,
          int n, sy_product_row *out)
{
    PGresult *r;
    int rc = sy_db_exec_row(a, stmt, params, n, &r);
    if (rc == 0)
        written_row(r, out);
    return rc;
}

int
sy_products_db_insert(sy_arena *a, const char *tenant,
                      const sy_product_fields *f, sy_product_row *out)
{
    const char *params[11] = {tenant,        f->sku,   f->name,
                              f->description, f->category, f->price,
                              f->currency,   f->stock, f->colors,
                              f->attributes, f->image_url};
    return write_row(a, &sql_insert, params, 11, out);
}

int
sy_products_db_update(sy_arena *a, const char *tenant, const char *id,
                      const sy_product_fields *f, sy_product_row *out)
{
    const char *params[14] = {
        tenant,      id,        f->sku,        f->name,
        f->description, f->category, f->price, f->currency,
        f->stock,    f->colors, f->attributes,
        f->image_set ? "true" : "false", f->image_url, f->active};
    return write_row(a, &sql_update, params, 14, out);
}

int
sy_products_db_deactivate(sy_arena *a, const char *tenant, const char *id)
{
    const char *params[2] = {tenant, id};
    PGresult *r;
    return sy_db_exec_row(a, &sql_deactivate, params, 2, &r);
}

/* ------------------------------------------------------------ reads */

int
sy_products_db_get(sy_arena *a, const char *tenant, const char *id,
                   bool with_inactive, sy_product_row *out)
{
    const char *params[3] = {tenant, id, with_inactive ? "true" : "false"};
    PGresult *r;
    int rc = sy_db_exec_row(a, &sql_get, params, 3, &r);
    if (rc == 0)
        *out = (sy_product_row){.id = sy_db_cstr(r, 0, 0),
                                .json = sy_db_str(r, 0, 1),
                                .updated_at = sy_db_cstr(r, 0, 2)};
    return rc;
}

/* Room for the n rows of r (at least one, so callers never see NULL). */
static sy_product_row *
rows_of(sy_arena *a, int n)
{
    return sy_arena_alloc(a, (size_t)(n ? n : 1) * sizeof(sy_product_row));
}

int
sy_products_db_list(sy_arena *a, const char *tenant,
                    const sy_product_filter *f, sy_product_row **rows,
                    int *n)
{
    const char *params[9] = {tenant,       f->category, f->min_price,
                             f->max_price, f->in_stock, f->color,
                             f->after_ts,  f->after_id, f->limit_text};
    PGresult *r;
    int rc = sy_db_exec(a, &sql_list, params, 9, &r);
    if (rc < 0)
        return rc;
    int count = sy_db_rows(r);
    sy_product_row *out = rows_of(a, count);
    if (!out)
        return SY_ENOMEM;
    for (int i = 0; i < count; i++)
        out[i] = (sy_product_row){.id = sy_db_cstr(r, i, 0),
                                  .json = sy_db_str(r, i, 1),
                                  .created_at = sy_db_cstr(r, i, 2)};
    *rows = out;
    *n = count;
    return 0;
}

int
sy_products_db_categories(sy_arena *a, const char *tenant, sy_str *json)
{
    const char *params[1] = {tenant};
    PGresult *r;
    int rc = sy_db_exec_row(a, &sql_categories, params, 1, &r);
    if (rc == 0)
        *json = sy_db_str(r, 0, 0);
    return rc == SY_ENOTFOUND ? SY_EINTERNAL : rc;
}

/* ------------------------------------------------------------ search */

/* The id and score columns of a ranking into *rows. */
static int
scores_of(sy_arena *a, const PGresult *r, sy_product_score **rows, int *n)
{
    int count = sy_db_rows(r);
    sy_product_score *out =
        sy_arena_alloc(a, (size_t)(count ? count : 1) * sizeof(*out));
    if (!out)
        return SY_ENOMEM;
    for (int i = 0; i < count; i++)
        out[i] = (sy_product_score){sy_db_cstr(r, i, 0),
                                    strtod(sy_db_cstr(r, i, 1), NULL)};
    *rows = out;
    *n = count;
    return 0;
}

/* PostgreSQL's query_canceled: the statement ran out of its
 * statement_timeout (or an operator cancelled it). */
static int
timed_out(int rc)
{
    if (rc == SY_EDB && strcmp(sy_db_last_sqlstate(), "57014") == 0)
        return SY_ETIMEOUT;
    return rc;
}

/* A ranking under the search's statement timeout: sql_search_timeout
 * and the ranking pipelined in one round trip, one implicit transaction
 * (db.h, sy_db_exec_batch), so the timeout ends with the ranking. */
static int
rank_timed(sy_arena *a, int64_t timeout_ms, sy_db_stmt *stmt,
           const char *const *params, int n, sy_product_score **rows,
           int *nrows)
{
    char ms[24];
    snprintf(ms, sizeof(ms), "%lld", (long long)timeout_ms);
    const char *limits[1] = {ms};
    sy_db_call calls[2] = {{&sql_search_timeout, limits, 1, NULL},
                           {stmt, params, n, NULL}};
    int rc = timed_out(sy_db_exec_batch(a, calls, 2));
    return rc < 0 ? rc : scores_of(a, calls[1].result, rows, nrows);
}

int
sy_products_db_search_text(sy_arena *a, const char *tenant, const char *q,
                           int limit, int candidates, int64_t timeout_ms,
                           sy_product_score **rows, int *n)
{
    char lim[16], cand[16];
    snprintf(lim, sizeof(lim), "%d", limit);
    snprintf(cand, sizeof(cand), "%d", candidates);
    const char *params[4] = {tenant, q, lim, cand};
    return rank_timed(a, timeout_ms, &sql_search_text, params, 4, rows, n);
}

int
sy_products_db_search_typo(sy_arena *a, const char *tenant,
                           const char *words, int limit, int candidates,
                           int64_t timeout_ms, sy_product_score **rows,
                           int *n)
{
    char lim[16], cand[16];
    snprintf(lim, sizeof(lim), "%d", limit);
    snprintf(cand, sizeof(cand), "%d", candidates);
    const char *params[4] = {tenant, words, lim, cand};
    return rank_timed(a, timeout_ms, &sql_search_typo, params, 4, rows,
                      n);
}

int
sy_products_db_by_ids(sy_arena *a, const char *tenant,
                      const char *const *ids, int n, sy_product_row **rows,
                      int *nrows)
{
    sy_buf lit;
    sy_buf_init(&lit, a, (size_t)n * (SY_UUID_LEN + 1) + 3);
    sy_buf_putc(&lit, '{');
    for (int i = 0; i < n; i++)
        sy_buf_printf(&lit, "%s%s", i ? "," : "", ids[i]);
    sy_buf_putc(&lit, '}');
    const char *params[2] = {tenant, sy_buf_cstr(&lit)};
    if (!params[1])
        return SY_ENOMEM;
    PGresult *r;
    int rc = sy_db_exec(a, &sql_by_ids, params, 2, &r);
    if (rc < 0)
        return rc;
    int count = sy_db_rows(r);
    sy_product_row *out = rows_of(a, count);
    if (!out)
        return SY_ENOMEM;
    for (int i = 0; i < count; i++)
        out[i] = (sy_product_row){.id = sy_db_cstr(r, i, 0),
                                  .json = sy_db_str(r, i, 1)};
    *rows = out;
    *nrows = count;
    return 0;
}

static void
read_colours(const PGresult *r, int row, void *elem)
{
    *(sy_product_colours *)elem = (sy_product_colours){
        .id = sy_db_cstr(r, row, 0), .colours = sy_db_str(r, row, 1)};
}

int
sy_products_db_colours(sy_arena *a, const char *tenant,
                       sy_product_colours **rows, int *n)
{
    const char *params[1] = {tenant};
    return sy_db_fetch_all(a, &sql_colours, params, 1, sizeof(**rows),
                           read_colours, (void **)rows, n);
}
