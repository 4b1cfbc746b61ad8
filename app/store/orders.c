/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * orders.c (store) - orders and their lines (orders_db.h): the
 * statements that lock, reserve and restock products, write orders and
 * read them as the JSON the API shows.  Lines travel as two array
 * literals, "{<uuid>,...}" and "{<quantity>,...}", in line order.
 */
#include "synthia/orders_db.h"

#include <libpq-fe.h>

#include "synthia/db.h"
#include "synthia/error.h"

#define ORDERS_TS(col)                                                    \
    "to_char(" col " AT TIME ZONE 'UTC', "                                \
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define ORDERS_JSON                                                       \
    "json_build_object('id', o.id, 'status', o.status, "                  \
    "'user_id', o.user_id, 'items', (SELECT coalesce(json_agg("           \
    "json_build_object('product_id', i.product_id, 'sku', i.sku, "        \
    "'name', i.name, 'quantity', i.quantity, "                            \
    "'unit_price_cents', i.unit_price_cents) ORDER BY i.line), "          \
    "'[]'::json) FROM order_items i WHERE i.tenant_id = o.tenant_id "     \
    "AND i.order_id = o.id), 'total_cents', o.total_cents, "              \
    "'currency', o.currency, 'note', o.note, "                            \
    "'created_at', " ORDERS_TS("o.created_at") ", "                       \
    "'updated_at', " ORDERS_TS("o.updated_at") ")"

/* $2 uuid[] literal.  Locked in id order, so two orders sharing
 * products cannot deadlock.  Columns: id, sku, name, price_cents,
 * currency, stock. */
static sy_db_stmt sql_lock_products =
    SY_DB_STMT("order_lock_products",
     "SELECT id, sku, name, price_cents, currency, stock FROM products "
     "WHERE tenant_id = $1::uuid AND id = ANY ($2::uuid[]) AND active "
     "ORDER BY id FOR UPDATE",
     2);
/* $2 uuid[], $3 integer[] quantities (distinct products, locked and
 * checked by order_lock_products). */
static sy_db_stmt sql_reserve =
    SY_DB_STMT("order_reserve",
     "UPDATE products p SET stock = p.stock - x.q "
     "FROM unnest($2::uuid[], $3::integer[]) AS x (id, q) "
     "WHERE p.tenant_id = $1::uuid AND p.id = x.id",
     3);
/* $2 user, $3 total, $4 currency, $5 note, $6 uuid[] products and $7
 * integer[] quantities in line order.  Lines copy sku, name and price
 * from the (locked) products.  Returns the order's id. */
static sy_db_stmt sql_insert =
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
static sy_db_stmt sql_get =
    SY_DB_STMT("order_get",
     "SELECT " ORDERS_JSON " FROM orders o "
     "WHERE o.tenant_id = $1::uuid AND o.id = $2::uuid "
     "AND ($3::uuid IS NULL OR o.user_id = $3::uuid)",
     3);
/* $2 owner or NULL, $3 status or NULL, $4/$5 after (created_at, id),
 * $6 limit + 1.  Columns: the order, created_at, id. */
static sy_db_stmt sql_list =
    SY_DB_STMT("orders_list",
     "SELECT " ORDERS_JSON ", " ORDERS_TS("o.created_at") ", o.id "
     "FROM orders o WHERE o.tenant_id = $1::uuid "
     "AND ($2::uuid IS NULL OR o.user_id = $2::uuid) "
     "AND ($3::text IS NULL OR o.status = $3) "
     "AND (o.created_at, o.id) > ($4::timestamptz, $5::uuid) "
     "ORDER BY o.created_at, o.id LIMIT $6::integer",
     6);
/* $2 order.  Columns: status, user_id. */
static sy_db_stmt sql_lock =
    SY_DB_STMT("order_lock",
     "SELECT status, user_id FROM orders "
     "WHERE tenant_id = $1::uuid AND id = $2::uuid FOR UPDATE",
     2);
/* $2 order, $3 new status (checked by the caller under the lock). */
static sy_db_stmt sql_set_status =
    SY_DB_STMT("order_set_status",
     "UPDATE orders SET status = $3 "
     "WHERE tenant_id = $1::uuid AND id = $2::uuid",
     3);
/* $2 order: lock its products in id order before restocking. */
static sy_db_stmt sql_lock_line_products =
    SY_DB_STMT("order_lock_line_products",
     "SELECT p.id FROM products p WHERE p.tenant_id = $1::uuid "
     "AND p.id IN (SELECT i.product_id FROM order_items i "
     "WHERE i.tenant_id = $1::uuid AND i.order_id = $2::uuid) "
     "ORDER BY p.id FOR UPDATE",
     2);
/* $2 order: its quantities go back into stock (cancel). */
static sy_db_stmt sql_restock =
    SY_DB_STMT("order_restock",
     "UPDATE products p SET stock = p.stock + i.q "
     "FROM (SELECT product_id, sum(quantity)::integer AS q "
     "FROM order_items WHERE tenant_id = $1::uuid "
     "AND order_id = $2::uuid GROUP BY product_id) AS i "
     "WHERE p.tenant_id = $1::uuid AND p.id = i.product_id",
     2);
#undef ORDERS_JSON
#undef ORDERS_TS

/* "{a,b,c}" array literals of the lines' products and quantities. */
static int
line_arrays(sy_arena *a, const sy_order_line *lines, int n,
            const char **ids, const char **qtys)
{
    sy_buf b, q;
    sy_buf_init(&b, a, (size_t)(SY_UUID_LEN + 1) * (size_t)n + 3);
    sy_buf_init(&q, a, 21 * (size_t)n + 3);
    sy_buf_putc(&b, '{');
    sy_buf_putc(&q, '{');
    for (int i = 0; i < n; i++) {
        if (i) {
            sy_buf_putc(&b, ',');
            sy_buf_putc(&q, ',');
        }
        sy_buf_puts(&b, lines[i].product_id);
        sy_buf_add_i64(&q, lines[i].quantity);
    }
    sy_buf_putc(&b, '}');
    sy_buf_putc(&q, '}');
    *ids = sy_buf_cstr(&b);
    *qtys = sy_buf_cstr(&q);
    return *ids && *qtys ? 0 : SY_ENOMEM;
}

int
sy_orders_db_lock_products(sy_arena *a, const char *tenant,
                           const sy_order_line *lines, int n,
                           sy_order_product **rows, int *nrows)
{
    const char *p[3] = {tenant};
    PGresult *r;
    int rc = line_arrays(a, lines, n, &p[1], &p[2]);
    if (rc < 0 || (rc = sy_db_exec(a, &sql_lock_products, p, 2, &r)) < 0)
        return rc;
    int count = sy_db_rows(r);
    sy_order_product *out =
        sy_arena_alloc(a, (size_t)(count ? count : 1) * sizeof(*out));
    if (!out)
        return SY_ENOMEM;
    for (int i = 0; i < count; i++)
        out[i] = (sy_order_product){.id = sy_db_cstr(r, i, 0),
                                    .sku = sy_db_cstr(r, i, 1),
                                    .name = sy_db_cstr(r, i, 2),
                                    .price_cents = sy_db_i64(r, i, 3),
                                    .currency = sy_db_cstr(r, i, 4),
                                    .stock = sy_db_i64(r, i, 5)};
    *rows = out;
    *nrows = count;
    return 0;
}

int
sy_orders_db_reserve(sy_arena *a, const char *tenant,
                     const sy_order_line *lines, int n)
{
    const char *p[3] = {tenant};
    PGresult *r;
    int rc = line_arrays(a, lines, n, &p[1], &p[2]);
    return rc < 0 ? rc : sy_db_exec(a, &sql_reserve, p, 3, &r);
}

int
sy_orders_db_insert(sy_arena *a, const char *tenant, const char *user,
                    int64_t total_cents, const char *currency,
                    const char *note, const sy_order_line *lines, int n,
                    const char **id)
{
    sy_buf total;
    sy_buf_init(&total, a, 24);
    sy_buf_add_i64(&total, total_cents);
    const char *p[7] = {tenant, user, sy_buf_cstr(&total), currency, note};
    PGresult *r;
    int rc = line_arrays(a, lines, n, &p[5], &p[6]);
    if (rc < 0)
        return rc;
    if (!p[2])
        return SY_ENOMEM;
    if ((rc = sy_db_exec_row(a, &sql_insert, p, 7, &r)) < 0)
        return rc == SY_ENOTFOUND ? SY_EINTERNAL : rc;
    *id = sy_db_cstr(r, 0, 0);
    return 0;
}

int
sy_orders_db_get(sy_arena *a, const char *tenant, const char *id,
                 const char *owner, sy_str *json)
{
    const char *p[3] = {tenant, id, owner};
    PGresult *r;
    int rc = sy_db_exec_row(a, &sql_get, p, 3, &r);
    if (rc == 0)
        *json = sy_db_str(r, 0, 0);
    return rc;
}

int
sy_orders_db_list(sy_arena *a, const char *tenant, const sy_order_filter *f,
                  sy_order_row **rows, int *n)
{
    const char *p[6] = {tenant,      f->owner,    f->status,
                        f->after_ts, f->after_id, f->limit_text};
    PGresult *r;
    int rc = sy_db_exec(a, &sql_list, p, 6, &r);
    if (rc < 0)
        return rc;
    int count = sy_db_rows(r);
    sy_order_row *out =
        sy_arena_alloc(a, (size_t)(count ? count : 1) * sizeof(*out));
    if (!out)
        return SY_ENOMEM;
    for (int i = 0; i < count; i++)
        out[i] = (sy_order_row){sy_db_str(r, i, 0), sy_db_cstr(r, i, 1),
                                sy_db_cstr(r, i, 2)};
    *rows = out;
    *n = count;
    return 0;
}

int
sy_orders_db_lock(sy_arena *a, const char *tenant, const char *id,
                  const char **status, const char **user)
{
    const char *p[2] = {tenant, id};
    PGresult *r;
    int rc = sy_db_exec_row(a, &sql_lock, p, 2, &r);
    if (rc == 0) {
        *status = sy_db_cstr(r, 0, 0);
        *user = sy_db_cstr(r, 0, 1);
    }
    return rc;
}

int
sy_orders_db_set_status(sy_arena *a, const char *tenant, const char *id,
                        const char *status)
{
    const char *p[3] = {tenant, id, status};
    PGresult *r;
    return sy_db_exec(a, &sql_set_status, p, 3, &r);
}

int
sy_orders_db_restock(sy_arena *a, const char *tenant, const char *id)
{
    const char *p[2] = {tenant, id};
    PGresult *r;
    int rc = sy_db_exec(a, &sql_lock_line_products, p, 2, &r);
    return rc < 0 ? rc : sy_db_exec(a, &sql_restock, p, 2, &r);
}
