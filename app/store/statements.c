/*
 * statements.c - the one table of named SQL statements.
 *
 * Every query the responders run is listed here, indexed by enum sy_stmt
 * (db.h), with its parameter count so sy_db_exec() can refuse a call with
 * the wrong number of parameters.  Parameters are always bound ($1, $2,
 * ...), never spliced into the text.  By convention a tenant-owned query
 * takes tenant_id as $1.
 */
#include "synthia/db.h"
#include "synthia/statements.h"

/* --- orders and Idempotency-Key (orders.c, idempotency.c).  An
 * idempotency record is named by $1 tenant, $2 scope, $3 route, $4
 * key; hashes and bodies are bytea parameters '\x<hex>'.  Orders are
 * rendered by ORDERS_JSON as one JSON object (lines in line order,
 * times RFC 3339 UTC with microseconds, also the page cursors). */
#define ORDERS_TS(col)                                                    \
"to_char(" col " AT TIME ZONE 'UTC', "                               \
"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define ORDERS_IDEM_KEY                                                   \
"WHERE tenant_id = $1::uuid AND scope = $2 AND route = $3 AND key = $4"
#define ORDERS_JSON                                                       \
"json_build_object('id', o.id, 'status', o.status, "                 \
"'user_id', o.user_id, 'items', (SELECT coalesce(json_agg("          \
"json_build_object('product_id', i.product_id, 'sku', i.sku, "       \
"'name', i.name, 'quantity', i.quantity, "                           \
"'unit_price_cents', i.unit_price_cents) ORDER BY i.line), "         \
"'[]'::json) FROM order_items i WHERE i.tenant_id = o.tenant_id "    \
"AND i.order_id = o.id), 'total_cents', o.total_cents, "             \
"'currency', o.currency, 'note', o.note, "                           \
"'created_at', " ORDERS_TS("o.created_at") ", "                      \
"'updated_at', " ORDERS_TS("o.updated_at") ")"
/* $5 request hash.  No row: the key has a record already (a
 * concurrent first request's insert makes this wait for its end). */
sy_db_stmt sy_sql_idem_insert =
    SY_DB_STMT("idem_insert",
     "INSERT INTO idempotency_keys "
     "(tenant_id, scope, route, key, request_hash) "
     "VALUES ($1::uuid, $2, $3, $4, $5::bytea) "
     "ON CONFLICT DO NOTHING RETURNING 1",
     5);
/* $5 request hash.  Columns: same hash, expired, status (NULL while
 * unfinished), content type, body, headers. */
sy_db_stmt sy_sql_idem_lock =
    SY_DB_STMT("idem_lock",
     "SELECT request_hash = $5::bytea, expires_at < now(), status, "
     "content_type, body, headers::text FROM idempotency_keys "
     ORDERS_IDEM_KEY " FOR UPDATE",
     5);
/* An expired record becomes a fresh one for request hash $5. */
sy_db_stmt sy_sql_idem_renew =
    SY_DB_STMT("idem_renew",
     "UPDATE idempotency_keys SET request_hash = $5::bytea, "
     "status = NULL, content_type = NULL, body = NULL, headers = NULL, "
     "created_at = now(), expires_at = now() + interval '24 hours' "
     ORDERS_IDEM_KEY,
     5);
/* $5 status, $6 content type, $7 body, $8 headers (JSON object). */
sy_db_stmt sy_sql_idem_finish =
    SY_DB_STMT("idem_finish",
     "UPDATE idempotency_keys SET status = $5::integer, "
     "content_type = $6, body = $7::bytea, headers = $8::jsonb "
     ORDERS_IDEM_KEY " RETURNING 1",
     8);
/* Records that expired over an hour ago, a bounded batch; rows that
 * a request holds are skipped, so this never waits on one. */
sy_db_stmt sy_sql_idem_housekeeping =
    SY_DB_STMT("idem_housekeeping",
     "DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY("
     "SELECT ctid FROM idempotency_keys "
     "WHERE expires_at < now() - interval '1 hour' "
     "LIMIT 1000 FOR UPDATE SKIP LOCKED))",
     0);
/* $2 uuid[] literal.  Locked in id order, so two orders sharing
 * products cannot deadlock.  Columns: id, sku, name, price_cents,
 * currency, stock. */
sy_db_stmt sy_sql_order_lock_products =
    SY_DB_STMT("order_lock_products",
     "SELECT id, sku, name, price_cents, currency, stock FROM products "
     "WHERE tenant_id = $1::uuid AND id = ANY ($2::uuid[]) AND active "
     "ORDER BY id FOR UPDATE",
     2);
/* $2 uuid[], $3 integer[] quantities (distinct products, locked and
 * checked by order_lock_products). */
sy_db_stmt sy_sql_order_reserve =
    SY_DB_STMT("order_reserve",
     "UPDATE products p SET stock = p.stock - x.q "
     "FROM unnest($2::uuid[], $3::integer[]) AS x (id, q) "
     "WHERE p.tenant_id = $1::uuid AND p.id = x.id",
     3);
/* $2 user, $3 total, $4 currency, $5 note, $6 uuid[] products and $7
 * integer[] quantities in line order.  Lines copy sku, name and price
 * from the (locked) products.  Returns the order's id. */
sy_db_stmt sy_sql_order_insert =
    SY_DB_STMT("order_insert",
     "WITH o AS (INSERT INTO orders "
     "(tenant_id, user_id, total_cents, currency, note) "
     "VALUES ($1::uuid, $2::uuid, $3::bigint, $4, $5) RETURNING id), "
     "l AS (INSERT INTO order_items (order_id, tenant_id, line, "
     "product_id, sku, name, quantity, unit_price_cents) "
     "SELECT o.id, $1::uuid, x.line, p.id, p.sku, p.name, x.q, "
     "p.price_cents FROM o, unnest($6::uuid[], $7::integer[]) "
     "WITH ORDINALITY AS x (id, q, line) "
     "JOIN products p ON p.tenant_id = $1::uuid AND p.id = x.id) "
     "SELECT id FROM o",
     7);
/* $2 order, $3 owner (NULL: any user of the tenant). */
sy_db_stmt sy_sql_order_get =
    SY_DB_STMT("order_get",
     "SELECT " ORDERS_JSON " FROM orders o "
     "WHERE o.tenant_id = $1::uuid AND o.id = $2::uuid "
     "AND ($3::uuid IS NULL OR o.user_id = $3::uuid)",
     3);
/* $2 owner or NULL, $3 status or NULL, $4/$5 after (created_at, id),
 * $6 limit + 1.  Columns: the order, created_at, id. */
sy_db_stmt sy_sql_orders_list =
    SY_DB_STMT("orders_list",
     "SELECT " ORDERS_JSON ", " ORDERS_TS("o.created_at") ", o.id "
     "FROM orders o WHERE o.tenant_id = $1::uuid "
     "AND ($2::uuid IS NULL OR o.user_id = $2::uuid) "
     "AND ($3::text IS NULL OR o.status = $3) "
     "AND (o.created_at, o.id) > ($4::timestamptz, $5::uuid) "
     "ORDER BY o.created_at, o.id LIMIT $6::integer",
     6);
/* $2 order.  Columns: status, user_id. */
sy_db_stmt sy_sql_order_lock =
    SY_DB_STMT("order_lock",
     "SELECT status, user_id FROM orders "
     "WHERE tenant_id = $1::uuid AND id = $2::uuid FOR UPDATE",
     2);
/* $2 order, $3 new status (checked by the caller under the lock). */
sy_db_stmt sy_sql_order_set_status =
    SY_DB_STMT("order_set_status",
     "UPDATE orders SET status = $3 "
     "WHERE tenant_id = $1::uuid AND id = $2::uuid",
     3);
/* $2 order: lock its products in id order before restocking. */
sy_db_stmt sy_sql_order_lock_line_products =
    SY_DB_STMT("order_lock_line_products",
     "SELECT p.id FROM products p WHERE p.tenant_id = $1::uuid "
     "AND p.id IN (SELECT i.product_id FROM order_items i "
     "WHERE i.tenant_id = $1::uuid AND i.order_id = $2::uuid) "
     "ORDER BY p.id FOR UPDATE",
     2);
/* $2 order: its quantities go back into stock (cancel). */
sy_db_stmt sy_sql_order_restock =
    SY_DB_STMT("order_restock",
     "UPDATE products p SET stock = p.stock + i.q "
     "FROM (SELECT product_id, sum(quantity)::integer AS q "
     "FROM order_items WHERE tenant_id = $1::uuid "
     "AND order_id = $2::uuid GROUP BY product_id) AS i "
     "WHERE p.tenant_id = $1::uuid AND p.id = i.product_id",
     2);
#undef ORDERS_JSON
#undef ORDERS_IDEM_KEY
#undef ORDERS_TS
/* --- end of orders and Idempotency-Key */
/* --- catalog: products, categories, search, seed-demo (products.c,
 * search.c, seed.c).  Every statement takes the tenant as $1 and
 * filters by it.  A product is sent as the JSON text PostgreSQL
 * builds (CAT_JSON), so lists are joined, never re-serialised. */
#define CAT_TS(col)                                                       \
"to_char(" col " AT TIME ZONE 'UTC', "                               \
"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define CAT_JSON                                                          \
"json_build_object('id', p.id, 'sku', p.sku, 'name', p.name, "        \
"'description', p.description, 'category', p.category, "              \
"'price_cents', p.price_cents, 'currency', p.currency, "              \
"'stock', p.stock, 'colors', p.colors, 'attributes', p.attributes, "  \
"'image_url', p.image_url, 'active', p.active, "                      \
"'created_at', " CAT_TS("p.created_at") ", "                          \
"'updated_at', " CAT_TS("p.updated_at") ")::text"
/* Columns of a written product: id, JSON, updated_at (for the ETag),
 * active, and the text its embedding is made of. */
#define CAT_WRITTEN                                                       \
"p.id, " CAT_JSON ", " CAT_TS("p.updated_at") ", p.active, "          \
"p.name || ' ' || p.category || ' ' || p.description"
#define CAT_COLORS(param)                                                 \
"ARRAY(SELECT json_array_elements_text(" param "::json))"
/* $2 sku, $3 name, $4 description, $5 category, $6 price_cents, $7
 * currency, $8 stock, $9 colors (JSON array), $10 attributes (JSON
 * object), $11 image_url (NULL: none). */
sy_db_stmt sy_sql_product_insert =
    SY_DB_STMT("product_insert",
     "INSERT INTO products AS p (tenant_id, sku, name, description, "
     "category, price_cents, currency, stock, colors, attributes, "
     "image_url, created_at, updated_at) SELECT $1::uuid, $2, $3, $4, "
     "$5, $6::bigint, $7, $8::integer, " CAT_COLORS("$9") ", "
     "$10::jsonb, $11, c.ts, c.ts FROM (SELECT clock_timestamp() AS ts) c "
     "RETURNING " CAT_WRITTEN,
     11);
/* $2 id, $3 whether inactive products count (staff).  Columns: id,
 * JSON, updated_at. */
sy_db_stmt sy_sql_product_get =
    SY_DB_STMT("product_get",
     "SELECT p.id, " CAT_JSON ", " CAT_TS("p.updated_at") " "
     "FROM products p WHERE p.tenant_id = $1::uuid AND p.id = $2::uuid "
     "AND (p.active OR $3::boolean)",
     3);
/* $2 id; NULL leaves a field alone: $3 sku, $4 name, $5 description,
 * $6 category, $7 price_cents, $8 currency, $9 stock, $10 colors,
 * $11 attributes, $13 image_url (written only when $12 is true, so
 * that it can be cleared), $14 active. */
sy_db_stmt sy_sql_product_update =
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
sy_db_stmt sy_sql_product_deactivate =
    SY_DB_STMT("product_deactivate",
     "UPDATE products SET active = false "
     "WHERE tenant_id = $1::uuid AND id = $2::uuid RETURNING id",
     2);
/* $2 id: an inactive product leaves the vector store. */
sy_db_stmt sy_sql_product_embedding_delete =
    SY_DB_STMT("product_embedding_delete",
     "DELETE FROM product_embeddings "
     "WHERE tenant_id = $1::uuid AND product_id = $2::uuid",
     2);
/* Active products, keyset-paginated.  NULL filters are off: $2
 * category, $3 min and $4 max price_cents, $5 in stock (boolean), $6
 * colour; $7/$8 after (created_at, id), $9 limit (page size + 1).
 * Columns: id, JSON, created_at. */
sy_db_stmt sy_sql_products_list =
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
sy_db_stmt sy_sql_categories_list =
    SY_DB_STMT("categories_list",
     "SELECT coalesce(json_agg(json_build_object('name', c.category, "
     "'count', c.n) ORDER BY c.category), '[]')::text FROM ("
     "SELECT category, count(*) AS n FROM products "
     "WHERE tenant_id = $1::uuid AND active AND category <> '' "
     "GROUP BY category) c",
     1);
/* $2 query, $3 limit.  Full-text matches with the tenant's
 * configuration, scored 0.5 + 0.5 x ts_rank (normalisation 32:
 * rank / (rank + 1)), so that they rank above every typo match.
 * ts_rank weighs the name (A) over category (B) and description (C)
 * by lexeme frequency; ts_rank_cd's cover density cost three times as
 * much for ~250 matches of 10,000 products.
 * OFFSET 0 keeps the query a subquery evaluated once: flattened,
 * websearch_to_tsquery ran again for every matching row (half the
 * statement's time).  Columns: id, score (the JSON comes from the
 * product cache or sy_sql_products_by_ids). */
sy_db_stmt sy_sql_products_search_text =
    SY_DB_STMT("products_search_text",
     "SELECT p.id, 0.5 + 0.5 * ts_rank(p.search, q.tq, 32) AS s "
     "FROM products p, (SELECT websearch_to_tsquery(t.search_config, "
     "sy_unaccent($2)) AS tq FROM tenants t WHERE t.id = $1::uuid "
     "OFFSET 0) q "
     "WHERE p.tenant_id = $1::uuid AND p.active AND p.search @@ q.tq "
     "ORDER BY s DESC, p.id LIMIT $3::integer",
     3);
/* $2 query, $3 limit: typo tolerance, run when the full text found
 * fewer than $3.  Trigram matches on the name (similarity) and on the
 * words of name and description (word_similarity, threshold set by
 * search_typo_threshold), scored 0.5 x the best similarity.  The
 * conditions name the query as an expression of $2 so that the
 * trigram indexes serve them.  Columns: id, score. */
#define CAT_LQ "sy_unaccent(lower($2::text))"
sy_db_stmt sy_sql_products_search_typo =
    SY_DB_STMT("products_search_typo",
     "SELECT p.id, 0.5 * greatest("
     "similarity(sy_unaccent(lower(p.name)), " CAT_LQ "), "
     "word_similarity(" CAT_LQ ", sy_unaccent(lower(p.name))), "
     "word_similarity(" CAT_LQ ", sy_unaccent(lower(p.description)))"
     ") AS s FROM products p "
     "WHERE p.tenant_id = $1::uuid AND p.active "
     "AND (sy_unaccent(lower(p.name)) % " CAT_LQ " "
     "OR " CAT_LQ " <% sy_unaccent(lower(p.name)) "
     "OR " CAT_LQ " <% sy_unaccent(lower(p.description))) "
     "ORDER BY s DESC, p.id LIMIT $3::integer",
     3);
#undef CAT_LQ
/* $2 uuid[] literal: those of the tenant's products that are active.
 * Columns: id, JSON. */
sy_db_stmt sy_sql_products_by_ids =
    SY_DB_STMT("products_by_ids",
     "SELECT p.id, " CAT_JSON " FROM products p "
     "WHERE p.tenant_id = $1::uuid AND p.active "
     "AND p.id = ANY ($2::uuid[])",
     2);
/* Typo tolerance: pg_trgm's default word_similarity threshold (0.6)
 * misses a one-letter substitution in a six-letter word (4/7); 0.5
 * catches it from five letters on.  Session setting, run once per
 * connection (search.c). */
sy_db_stmt sy_sql_search_typo_threshold =
    SY_DB_STMT("search_typo_threshold",
     "SELECT set_config('pg_trgm.word_similarity_threshold', '0.5', "
     "false)",
     0);
/* $2 text-search configuration (seed-demo). */
sy_db_stmt sy_sql_seed_tenant_config =
    SY_DB_STMT("seed_tenant_config",
     "UPDATE tenants SET search_config = $2::regconfig "
     "WHERE id = $1::uuid",
     2);
/* What a tenant holds: its products and its users (JSON array of
 * {email, role}). */
sy_db_stmt sy_sql_seed_tenant_summary =
    SY_DB_STMT("seed_tenant_summary",
     "SELECT (SELECT count(*) FROM products WHERE tenant_id = $1::uuid), "
     "(SELECT coalesce(json_agg(json_build_object('email', email, "
     "'role', role) ORDER BY role, email), '[]')::text FROM users "
     "WHERE tenant_id = $1::uuid)",
     1);
#undef CAT_COLORS
#undef CAT_WRITTEN
#undef CAT_JSON
#undef CAT_TS
/* --- end of catalog */

/* --- product vectors (vectors.c) */
/* $1 tenant, $2 product, $3 model, $4 dims, $5 vec (bytea hex).  An
 * unchanged vector is not rewritten, so its write time (part of the
 * fingerprint below) moves only when it changed. */
sy_db_stmt sy_sql_vectors_upsert =
    SY_DB_STMT("vectors_upsert",
     "INSERT INTO product_embeddings "
     "(product_id, tenant_id, model, dims, vec) "
     "VALUES ($2::uuid, $1::uuid, $3, $4::smallint, $5::bytea) "
     "ON CONFLICT (product_id) DO UPDATE SET model = EXCLUDED.model,"
     " dims = EXCLUDED.dims, vec = EXCLUDED.vec, updated_at = now() "
     "WHERE product_embeddings.tenant_id = EXCLUDED.tenant_id"
     " AND (product_embeddings.model, product_embeddings.dims,"
     " product_embeddings.vec) IS DISTINCT FROM"
     " (EXCLUDED.model, EXCLUDED.dims, EXCLUDED.vec)",
     5);
/* $1 tenant, $2 model: count and a sum of per-row hashes of id and
 * write time of the vectors of active products (moves when one is
 * added, changed, deactivated or reactivated). */
sy_db_stmt sy_sql_vectors_fingerprint =
    SY_DB_STMT("vectors_fingerprint",
     "SELECT count(*), coalesce(sum(hashtextextended("
     "e.product_id::text || extract(epoch FROM e.updated_at)::text,"
     " 0)), 0) "
     "FROM product_embeddings e JOIN products p"
     " ON p.tenant_id = e.tenant_id AND p.id = e.product_id "
     "WHERE e.tenant_id = $1::uuid AND e.model = $2 AND p.active",
     2);
/* $1 tenant, $2 model, $3 dims: product id and vec of every active
 * product (vectors.c sorts them by id). */
sy_db_stmt sy_sql_vectors_load =
    SY_DB_STMT("vectors_load",
     "SELECT e.product_id, e.vec "
     "FROM product_embeddings e JOIN products p"
     " ON p.tenant_id = e.tenant_id AND p.id = e.product_id "
     "WHERE e.tenant_id = $1::uuid AND e.model = $2"
     " AND e.dims = $3::smallint AND p.active",
     3);
/* --- end of product vectors */
