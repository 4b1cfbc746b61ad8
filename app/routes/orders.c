/*
 * orders.c - the /orders routes: placing an order (with Idempotency-Key),
 * listing and reading orders, and moving them through their states.
 *
 * An order is placed in one transaction: its idempotency record, then
 * its products locked in id order (two orders sharing products cannot
 * deadlock), every line checked, stock taken, order and lines written,
 * the response recorded for replays, commit.  Any line short of stock is
 * a 409 insufficient_stock and the rollback leaves every product as it
 * was; so stock is never oversold and never partly reserved.  Cancelling
 * puts the lines' quantities back, under the same locks.
 *
 * Who may call a route is the route table's business; the rules here are
 * the shop's: shoppers see and cancel only their own orders (another's
 * order is 404, as if it did not exist), and may do nothing but cancel a
 * pending one (403).  Staff and owners see the whole tenant's orders.
 *
 * Choices where API.md is silent:
 * - A product may appear on one line only: a second line for it is 422
 *   (duplicate product_id), not merged, so what the client meant is
 *   never guessed.  All lines must share one currency (422).
 * - Unknown, inactive and other tenants' products are all "no such
 *   product" (422 on the line's product_id).
 * - Only successful orders are recorded for Idempotency-Key replays: a
 *   failed request leaves nothing behind, so it may be retried with the
 *   same key (a 409 for stock can succeed later).
 * - Sysadmins (who belong to no tenant) cannot place orders: 403.
 * - Legal transitions: pending -> paid | canceled, paid -> fulfilled |
 *   canceled; any other is 409 with the order's current status.
 */
#include "config.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "synthia/authn.h"
#include "synthia/cache.h"
#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/idempotency.h"
#include "synthia/json.h"
#include "synthia/page.h"
#include "synthia/problem.h"
#include "synthia/routes.h"

#define MAX_LINES 100
#define MAX_QUANTITY 1000
#define NOTE_MAX_CHARS 1000

static const char *const statuses[] = {"pending", "paid", "fulfilled",
                                       "canceled"};

typedef struct order_line {
    char product_id[SY_UUID_LEN + 1]; /* lower case */
    int64_t quantity;
} order_line;

typedef struct order_input {
    order_line lines[MAX_LINES];
    int n;
    const char *note; /* NULL: none */
} order_input;

/* Columns of SY_SQL_ORDER_LOCK_PRODUCTS. */
enum { P_ID, P_SKU, P_NAME, P_PRICE, P_CURRENCY, P_STOCK };

/* ------------------------------------------------------------- helpers */

/* The static name of a status, or NULL when s is none. */
static const char *
status_parse(sy_str s)
{
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        if (sy_str_eqc(s, statuses[i]))
            return statuses[i];
    return NULL;
}

static bool
is_shopper(const sy_req *req)
{
    return req->who.role < SY_ROLE_STAFF;
}

/* Shoppers are limited to their own orders; NULL: all of the tenant. */
static const char *
owner_filter(const sy_req *req)
{
    return is_shopper(req) ? req->who.user_id : NULL;
}

static int
no_such_order(sy_res *res)
{
    return sy_problem(res, 404, "not_found", "No such order.");
}

/* A JSON column of a result as a json-c object (NULL on failure). */
static json_object *
json_col(const PGresult *r, int row, int col)
{
    return json_tokener_parse(PQgetvalue(r, row, col));
}

/* Commit; on failure the response built so far is dropped for the
 * problem. */
static int
commit(sy_req *req, sy_res *res)
{
    int rc = sy_db_commit();
    if (rc < 0)
        sy_res_init(res, res->arena, req, res->body.max);
    return rc;
}

/* ------------------------------------------------------- reading a body */

/* The line's product id, lower-cased ("" when invalid: recorded). */
static void
read_product_id(sy_res *res, json_object *el, int i, order_line *out)
{
    char f[48];
    json_object *v;
    if (json_object_object_get_ex(el, "product_id", &v) &&
        json_object_is_type(v, json_type_string) &&
        sy_uuid_valid(json_object_get_string(v),
                      (size_t)json_object_get_string_len(v))) {
        const char *s = json_object_get_string(v);
        for (int k = 0; k <= SY_UUID_LEN; k++)
            out->product_id[k] =
                (char)(s[k] >= 'A' && s[k] <= 'F' ? s[k] - 'A' + 'a' : s[k]);
        return;
    }
    snprintf(f, sizeof(f), "items[%d].product_id", i);
    sy_problem_field(res, f, "must be a product id (a UUID)");
}

static void
read_quantity(sy_res *res, json_object *el, int i, order_line *out)
{
    char f[48];
    json_object *v;
    if (json_object_object_get_ex(el, "quantity", &v) &&
        json_object_is_type(v, json_type_int)) {
        out->quantity = json_object_get_int64(v); /* clamped when huge */
        if (out->quantity >= 1 && out->quantity <= MAX_QUANTITY)
            return;
    }
    snprintf(f, sizeof(f), "items[%d].quantity", i);
    sy_problem_field(res, f, "must be an integer from 1 to 1000");
}

static void
read_line(sy_res *res, json_object *el, int i, order_line *out)
{
    if (!json_object_is_type(el, json_type_object)) {
        char f[48];
        snprintf(f, sizeof(f), "items[%d]", i);
        sy_problem_field(res, f, "must be an object");
        return;
    }
    read_product_id(res, el, i, out);
    read_quantity(res, el, i, out);
}

static void
find_duplicates(sy_res *res, const order_input *in)
{
    for (int i = 1; i < in->n; i++) {
        for (int j = 0; j < i; j++) {
            if (!in->lines[i].product_id[0] ||
                strcmp(in->lines[i].product_id, in->lines[j].product_id))
                continue;
            char f[48], msg[64];
            snprintf(f, sizeof(f), "items[%d].product_id", i);
            snprintf(msg, sizeof(msg),
                     "duplicate product_id (also in "
                     "items[%d])",
                     j);
            sy_problem_field(res, f, msg);
            break;
        }
    }
}

static void
read_lines(sy_req *req, sy_res *res, order_input *in)
{
    json_object *items;
    if (!json_object_object_get_ex(req->json, "items", &items) ||
        !json_object_is_type(items, json_type_array)) {
        sy_problem_field(res, "items", "must be an array of lines");
        return;
    }
    size_t n = json_object_array_length(items);
    if (n < 1 || n > MAX_LINES) {
        sy_problem_field(res, "items", "must have 1 to 100 lines");
        return;
    }
    in->n = (int)n;
    for (int i = 0; i < in->n; i++)
        read_line(res, json_object_array_get_idx(items, (size_t)i), i,
                  &in->lines[i]);
    find_duplicates(res, in);
}

static void
read_note(sy_req *req, sy_res *res, order_input *in)
{
    sy_str v;
    if (sy_json_str(res, req->json, "note", false, 0, SIZE_MAX, &v) < 0)
        return;
    if (sy_str_utf8_chars(v) > NOTE_MAX_CHARS || memchr(v.p, '\0', v.len)) {
        sy_problem_field(res, "note",
                         "must be at most 1000 characters, "
                         "without NUL");
        return;
    }
    in->note = sy_str_dup(req->arena, v);
}

static int
read_order(sy_req *req, sy_res *res, order_input *in)
{
    memset(in, 0, sizeof(*in));
    read_lines(req, res, in);
    read_note(req, res, in);
    if (res->errors)
        return SY_EVALIDATION;
    return 0;
}

/* ------------------------------------------------------------ rendering */

/* The body's SHA-256, shortened, as a strong validator. */
static int
set_etag(sy_res *res)
{
    unsigned char h[SY_SHA256_LEN];
    char hex[2 * 16 + 1], etag[2 * 16 + 3];
    sy_sha256(res->body.p, res->body.len, h);
    sy_hex(hex, h, 16);
    snprintf(etag, sizeof(etag), "\"%s\"", hex);
    return sy_res_etag(res, sy_str_c(etag));
}

/* The order as the response (404 when it is not the caller's to see). */
static int
respond_order(sy_req *req, sy_res *res, int status, const char *tid,
              const char *id)
{
    const char *p[3] = {tid, id, owner_filter(req)};
    PGresult *r;
    int rc = sy_db_exec(req->arena, SY_SQL_ORDER_GET, p, 3, &r);
    if (rc < 0)
        return rc;
    if (PQntuples(r) != 1)
        return no_such_order(res);
    json_object *o = json_col(r, 0, 0);
    if (!o)
        return SY_EINTERNAL;
    return sy_res_json(res, status, o);
}

/* ------------------------------------------------------- placing orders */

static int
find_row(const PGresult *r, const char *id)
{
    for (int i = 0; i < PQntuples(r); i++)
        if (strcmp(PQgetvalue(r, i, P_ID), id) == 0)
            return i;
    return -1;
}

static void
line_error(sy_res *res, int i, const char *what, const char *msg)
{
    char f[48];
    snprintf(f, sizeof(f), "items[%d].%s", i, what);
    sy_problem_field(res, f, msg);
}

/* Every line names a product of ours, in one currency; *total and
 * *currency when they do, else 422. */
static int
check_lines(sy_res *res, const PGresult *r, const order_input *in,
            int64_t *total, const char **currency)
{
    int64_t sum = 0;
    const char *cur = NULL;
    for (int i = 0; i < in->n; i++) {
        int row = find_row(r, in->lines[i].product_id);
        if (row < 0) {
            line_error(res, i, "product_id", "no such product");
            continue;
        }
        const char *c = PQgetvalue(r, row, P_CURRENCY);
        int64_t price = 0, amount = 0;
        if (cur && strcmp(cur, c) != 0)
            line_error(res, i, "product_id",
                       "is priced in another currency than the order's "
                       "other products");
        cur = cur ? cur : c;
        if (sy_parse_i64(sy_str_c(PQgetvalue(r, row, P_PRICE)), 0, INT64_MAX,
                         &price) < 0 ||
            __builtin_mul_overflow(price, in->lines[i].quantity, &amount) ||
            __builtin_add_overflow(sum, amount, &sum))
            line_error(res, i, "quantity", "makes the total too large");
    }
    if (res->errors)
        return SY_EVALIDATION;
    *total = sum;
    *currency = cur;
    return 0;
}

/* Every line in stock, else 409 naming the short ones. */
static int
check_stock(sy_req *req, sy_res *res, const PGresult *r, const order_input *in)
{
    sy_buf detail;
    sy_buf_init(&detail, req->arena, 8192);
    sy_buf_puts(&detail, "Not enough stock for product");
    int short_lines = 0;
    for (int i = 0; i < in->n; i++) {
        int row = find_row(r, in->lines[i].product_id);
        int64_t stock = 0;
        if (sy_parse_i64(sy_str_c(PQgetvalue(r, row, P_STOCK)), 0, INT64_MAX,
                         &stock) < 0)
            return SY_EINTERNAL;
        if (stock >= in->lines[i].quantity)
            continue;
        char msg[64];
        snprintf(msg, sizeof(msg), "only %lld in stock", (long long)stock);
        line_error(res, i, "quantity", msg);
        sy_buf_puts(&detail, short_lines++ ? ", " : " ");
        sy_buf_puts(&detail, in->lines[i].product_id);
    }
    if (!short_lines)
        return 0;
    sy_buf_puts(&detail, "; nothing was reserved.");
    const char *d = sy_buf_cstr(&detail);
    return sy_problem(res, 409, "insufficient_stock",
                      d ? d : "Not enough stock; nothing was reserved.");
}

/* "{a,b,c}" array literals of the lines' products and quantities. */
static int
line_arrays(sy_arena *a, const order_input *in, const char **ids,
            const char **qtys)
{
    sy_buf b, q;
    sy_buf_init(&b, a, (SY_UUID_LEN + 1) * MAX_LINES + 3);
    sy_buf_init(&q, a, 5 * MAX_LINES + 3);
    sy_buf_putc(&b, '{');
    sy_buf_putc(&q, '{');
    for (int i = 0; i < in->n; i++) {
        if (i) {
            sy_buf_putc(&b, ',');
            sy_buf_putc(&q, ',');
        }
        sy_buf_puts(&b, in->lines[i].product_id);
        sy_buf_add_i64(&q, in->lines[i].quantity);
    }
    sy_buf_putc(&b, '}');
    sy_buf_putc(&q, '}');
    *ids = sy_buf_cstr(&b);
    *qtys = sy_buf_cstr(&q);
    return *ids && *qtys ? 0 : SY_ENOMEM;
}

static int
respond_created(sy_req *req, sy_res *res, const char *tid, const char *id)
{
    int rc = respond_order(req, res, 201, tid, id);
    if (rc < 0)
        return rc;
    char loc[64];
    snprintf(loc, sizeof(loc), "/api/v1/orders/%s", id);
    return sy_res_header(res, "Location", sy_str_c(loc));
}

/* Inside the transaction: lock, check, reserve, write, respond. */
static int
place_order(sy_req *req, sy_res *res, const char *tid, const order_input *in)
{
    const char *ids, *qtys, *currency = NULL;
    int64_t total = 0;
    int rc = line_arrays(req->arena, in, &ids, &qtys);
    if (rc < 0)
        return rc;
    const char *lp[3] = {tid, ids, qtys};
    PGresult *r, *o;
    rc = sy_db_exec(req->arena, SY_SQL_ORDER_LOCK_PRODUCTS, lp, 2, &r);
    if (rc == 0)
        rc = check_lines(res, r, in, &total, &currency);
    if (rc == 0)
        rc = check_stock(req, res, r, in);
    if (rc == 0)
        rc = sy_db_exec(req->arena, SY_SQL_ORDER_RESERVE, lp, 3, &o);
    if (rc < 0)
        return rc;
    char total_s[24];
    snprintf(total_s, sizeof(total_s), "%lld", (long long)total);
    const char *p[7] = {tid, req->who.user_id, total_s, currency, in->note, ids,
                        qtys};
    rc = sy_db_exec(req->arena, SY_SQL_ORDER_INSERT, p, 7, &o);
    if (rc < 0)
        return rc;
    if (PQntuples(o) != 1)
        return SY_EINTERNAL;
    return respond_created(req, res, tid, PQgetvalue(o, 0, 0));
}

int
sy_route_orders_create(sy_req *req, sy_res *res)
{
    const char *tid;
    order_input in;
    if (req->who.role == SY_ROLE_SYSADMIN)
        return sy_problem(res, 403, "forbidden",
                          "Orders are placed by a shop's users; sysadmins "
                          "cannot place them.");
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = read_order(req, res, &in);
    if (rc == 0)
        rc = sy_db_begin_durable();
    if (rc < 0)
        return rc;
    bool replayed = false;
    rc = sy_idem_begin(req, res, &replayed);
    if (rc == 0 && !replayed)
        rc = place_order(req, res, tid, &in);
    if (rc == 0 && !replayed)
        rc = sy_idem_finish(req, res);
    if (rc < 0) {
        sy_db_rollback();
        return rc;
    }
    rc = commit(req, res);
    if (rc == 0 && !replayed)
        sy_cache_catalog_bump(req->arena, tid); /* stock changed */
    return rc;
}

/* -------------------------------------------------------------- reading */

static int
status_filter(sy_req *req, sy_res *res, const char **out)
{
    sy_str q;
    int rc = sy_req_query(req, "status", &q);
    *out = NULL;
    if (rc == SY_ENOTFOUND)
        return 0;
    if (rc < 0 || !(*out = status_parse(q)))
        return sy_problem_field(res, "status",
                                "must be pending, paid, fulfilled or "
                                "canceled");
    return 0;
}

/* An order of a list: its JSON, column 0. */
static json_object *
order_item(const PGresult *r, int row)
{
    return json_col(r, row, 0);
}

int
sy_route_orders_list(sy_req *req, sy_res *res)
{
    const char *tid, *status = NULL;
    sy_page pg;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_page_parse(req, res, &pg);
    if (rc == 0)
        rc = status_filter(req, res, &status);
    if (rc < 0)
        return rc;
    const char *p[6] = {tid,         owner_filter(req), status,
                        pg.after_ts, pg.after_id,       pg.limit_text};
    PGresult *r;
    rc = sy_db_exec(req->arena, SY_SQL_ORDERS_LIST, p, 6, &r);
    if (rc < 0)
        return rc;
    return sy_page_respond(res, &pg, r, 1, 2, order_item);
}

int
sy_route_orders_get(sy_req *req, sy_res *res)
{
    const char *tid;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0)
        return rc;
    sy_str id = req->params[0];
    if (!sy_uuid_valid(id.p, id.len))
        return no_such_order(res);
    rc = respond_order(req, res, 200, tid, id.p);
    if (rc < 0)
        return rc;
    return set_etag(res);
}

/* ---------------------------------------------------------- transitions */

static bool
legal(const char *from, const char *to)
{
    if (strcmp(from, "pending") == 0)
        return strcmp(to, "paid") == 0 || strcmp(to, "canceled") == 0;
    if (strcmp(from, "paid") == 0)
        return strcmp(to, "fulfilled") == 0 || strcmp(to, "canceled") == 0;
    return false;
}

static int
read_target(sy_req *req, sy_res *res, const char **to)
{
    sy_str v;
    int rc = sy_json_str(res, req->json, "to", true, 0, SIZE_MAX, &v);
    if (rc < 0)
        return rc;
    *to = status_parse(v);
    if (!*to || *to == statuses[0])
        return sy_problem_field(res, "to",
                                "must be paid, fulfilled or canceled");
    return 0;
}

/* The shop's rules for a locked order in state `from`. */
static int
may_transition(sy_req *req, sy_res *res, const PGresult *r, const char *to)
{
    const char *from = PQgetvalue(r, 0, 0);
    bool shopper = is_shopper(req);
    if (shopper && (PQgetisnull(r, 0, 1) ||
                    strcmp(PQgetvalue(r, 0, 1), req->who.user_id) != 0))
        return no_such_order(res);
    bool ok = legal(from, to);
    if (shopper && ok &&
        (strcmp(to, "canceled") != 0 || strcmp(from, "pending") != 0))
        return sy_problem(res, 403, "forbidden",
                          "Shoppers may only cancel their own pending "
                          "orders.");
    if (!ok) {
        char detail[96];
        snprintf(detail, sizeof(detail),
                 "The order is %s; it cannot become %s.", from, to);
        return sy_problem(res, 409, "conflict", detail);
    }
    return 0;
}

/* Inside the transaction: lock the order, check, change, restock. */
static int
transition(sy_req *req, sy_res *res, const char *tid, const char *id,
           const char *to)
{
    const char *p[3] = {tid, id, to};
    PGresult *r;
    int rc = sy_db_exec(req->arena, SY_SQL_ORDER_LOCK, p, 2, &r);
    if (rc < 0)
        return rc;
    if (PQntuples(r) != 1)
        return no_such_order(res);
    rc = may_transition(req, res, r, to);
    if (rc == 0)
        rc = sy_db_exec(req->arena, SY_SQL_ORDER_SET_STATUS, p, 3, &r);
    if (rc == 0 && strcmp(to, "canceled") == 0)
        rc = sy_db_exec(req->arena, SY_SQL_ORDER_LOCK_LINE_PRODUCTS, p, 2, &r);
    if (rc == 0 && strcmp(to, "canceled") == 0)
        rc = sy_db_exec(req->arena, SY_SQL_ORDER_RESTOCK, p, 2, &r);
    if (rc < 0)
        return rc;
    return respond_order(req, res, 200, tid, id);
}

int
sy_route_orders_transition(sy_req *req, sy_res *res)
{
    const char *tid, *to = NULL;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0)
        return rc;
    sy_str id = req->params[0];
    if (!sy_uuid_valid(id.p, id.len))
        return no_such_order(res);
    rc = read_target(req, res, &to);
    if (rc == 0)
        rc = sy_db_begin_durable();
    if (rc < 0)
        return rc;
    rc = transition(req, res, tid, id.p, to);
    if (rc < 0) {
        sy_db_rollback();
        return rc;
    }
    rc = commit(req, res);
    if (rc == 0 && strcmp(to, "canceled") == 0)
        sy_cache_catalog_bump(req->arena, tid); /* stock came back */
    return rc;
}
