/*
 * products.c - the catalog (API.md "Catalog, search, orders"): product
 * CRUD, the filtered, keyset-paginated list, and categories with counts.
 *
 * A product write and its embedding (vectors.h) commit in one
 * transaction, then the tenant's catalog version moves (cache.h), which
 * retires every cached list and search of the tenant at once.  Products
 * travel as the JSON text PostgreSQL builds (statements.c), so a list is
 * joined from row texts and a cached list is written out as stored bytes.
 *
 * Choices where API.md is silent:
 * - DELETE deactivates (active = false) and drops the embedding; the row
 *   stays for orders and keeps its sku.  It is 204 again for an inactive
 *   product.  An inactive product is 404 for API keys and shoppers;
 *   staff+ still read it (GET /products/{id}, "active": false) and may
 *   bring it back with PATCH {"active": true}.  Lists, categories and
 *   searches show active products only, to everyone, so their cached
 *   answers do not depend on who asks and are shared by all callers of
 *   the tenant (X-Cache: HIT | MISS).
 * - sku, name, price_cents and currency are required on POST;
 *   description and category default to "", stock to 0, colors to [],
 *   attributes to {}.  Names and categories are trimmed; colours are
 *   stored in lower case; image_url: null in a PATCH removes it.
 * - List filters: category (exact), min_price / max_price (cents,
 *   inclusive), in_stock (true | false), color (#rrggbb, rrggbb, or
 *   %23rrggbb; any case).
 * - A request with Cache-Control: no-cache skips the cached answer of a
 *   list (it is computed and stored again): the way to time the
 *   database path, and a fresh read for a client that wants one.
 * - The ETag of a product is a hash of its id and updated_at.
 */
#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "synthia/authn.h"
#include "synthia/cache.h"
#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/log.h"
#include "synthia/page.h"
#include "synthia/problem.h"
#include "synthia/routes.h"
#include "synthia/tenancy.h"
#include "synthia/vectors.h"

#define NAME_MAX_CHARS 200
#define DESCRIPTION_MAX_CHARS 10000
#define CATEGORY_MAX_CHARS 100
#define SKU_MAX 64
#define COLORS_MAX 32
#define ATTRIBUTES_MAX 16384
#define PRICE_MAX 999999999999999LL /* 10^15 - 1 minor units */
#define STOCK_MAX 2147483647LL
#define ETAG_SIZE 35 /* "\"" + 32 hex + "\"" + NUL */
#define LIST_BODY_MAX (8u << 20)

/* Columns of the write statements (CAT_WRITTEN in statements.c). */
enum { W_ID, W_JSON, W_UPDATED, W_ACTIVE, W_TEXT };

/* A product body as read: NULL for a field that was not given. */
typedef struct product_in {
    const char *sku, *name, *description, *category, *currency;
    const char *price, *stock, *colors, *attributes, *image_url, *active;
    bool image_set; /* image_url given, possibly null */
} product_in;

/* ------------------------------------------------------------ helpers */

static bool
staff_caller(const sy_req *req)
{
    return req->who.kind == SY_WHO_USER && req->who.role >= SY_ROLE_STAFF;
}

static sy_str
col(const PGresult *r, int row, int c)
{
    return (sy_str){PQgetvalue(r, row, c), (size_t)PQgetlength(r, row, c)};
}

/* The product id of the path: 0, or SY_ENOTFOUND for anything that is
 * not a UUID (no product has that id). */
static int
path_id(const sy_req *req, const char **id)
{
    sy_str p = req->params[0];
    if (req->nparams < 1 || !sy_uuid_valid(p.p, p.len))
        return SY_ENOTFOUND;
    *id = sy_str_dup(req->arena, p);
    return *id ? 0 : SY_ENOMEM;
}

static int
set_etag(sy_res *res, const PGresult *r, int c_id, int c_updated)
{
    unsigned char h[SY_SHA256_LEN];
    char buf[SY_UUID_LEN + 40], hex[2 * SY_SHA256_LEN + 1], tag[ETAG_SIZE];
    int n = snprintf(buf, sizeof(buf), "%s|%s", PQgetvalue(r, 0, c_id),
                     PQgetvalue(r, 0, c_updated));
    sy_sha256(buf, (size_t)n, h);
    sy_hex(hex, h, sizeof(h));
    snprintf(tag, sizeof(tag), "\"%.32s\"", hex);
    return sy_res_etag(res, sy_str_c(tag));
}

static int
send_product(sy_res *res, int status, const PGresult *r)
{
    return sy_res_bytes(res, status, "application/json",
                        PQgetvalue(r, 0, W_JSON),
                        (size_t)PQgetlength(r, 0, W_JSON));
}

/* ------------------------------------------------------------ reading */

static bool
sku_ok(sy_str s)
{
    if (s.len < 1 || s.len > SKU_MAX)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Descriptions may hold line breaks and tabs, no other control
 * characters. */
static bool
description_ok(sy_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if ((c < ' ' && c != '\n' && c != '\r' && c != '\t') || c == 0x7f)
            return false;
    }
    return sy_str_utf8_chars(s) <= DESCRIPTION_MAX_CHARS;
}

/* A text field (sy_tenancy_text rules); *out stays NULL when absent. */
static int
read_text(sy_req *req, sy_res *res, const char *field, bool required,
          bool trim, size_t minc, size_t maxc, const char **out)
{
    sy_str v;
    const char *why;
    int rc = sy_json_str(res, req->json, field, required, 0, SIZE_MAX, &v);
    if (rc == SY_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    if (sy_tenancy_text(&v, trim, minc, maxc, &why) < 0)
        return sy_problem_field(res, field, why);
    *out = sy_str_dup(req->arena, v);
    return *out ? 0 : SY_ENOMEM;
}

static int
read_sku(sy_req *req, sy_res *res, bool required, product_in *in)
{
    sy_str v;
    int rc = sy_json_str(res, req->json, "sku", required, 0, SIZE_MAX, &v);
    if (rc == SY_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    if (!sku_ok(v))
        return sy_problem_field(res, "sku",
                                "must be 1 to 64 characters of A-Z, a-z, "
                                "0-9, '.', '_' and '-'");
    in->sku = sy_str_dup(req->arena, v);
    return in->sku ? 0 : SY_ENOMEM;
}

static int
read_description(sy_req *req, sy_res *res, product_in *in)
{
    sy_str v;
    int rc =
        sy_json_str(res, req->json, "description", false, 0, SIZE_MAX, &v);
    if (rc == SY_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    if (!description_ok(v))
        return sy_problem_field(res, "description",
                                "must be at most 10000 characters, without "
                                "control characters other than line breaks "
                                "and tabs");
    in->description = sy_str_dup(req->arena, v);
    return in->description ? 0 : SY_ENOMEM;
}

static int
read_currency(sy_req *req, sy_res *res, bool required, product_in *in)
{
    sy_str v;
    int rc = sy_json_str(res, req->json, "currency", required, 0, SIZE_MAX, &v);
    if (rc == SY_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    bool ok = v.len == 3;
    for (size_t i = 0; ok && i < 3; i++)
        ok = v.p[i] >= 'A' && v.p[i] <= 'Z';
    if (!ok)
        return sy_problem_field(res, "currency",
                                "must be an ISO 4217 code in upper case, "
                                "like \"EUR\"");
    in->currency = sy_str_dup(req->arena, v);
    return in->currency ? 0 : SY_ENOMEM;
}

/* An integer field as decimal text. */
static int
read_int(sy_req *req, sy_res *res, const char *field, bool required,
         int64_t max, const char **out)
{
    int64_t v;
    int rc = sy_json_int(res, req->json, field, required, 0, max, &v);
    if (rc == SY_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    char *s = sy_arena_alloc(req->arena, 24);
    if (!s)
        return SY_ENOMEM;
    snprintf(s, 24, "%lld", (long long)v);
    *out = s;
    return 0;
}

static bool
hex_digit(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

/* "#rrggbb" in any case into out (8 bytes) in lower case. */
static bool
color_norm(sy_str s, char out[8])
{
    if (s.len != 7 || s.p[0] != '#')
        return false;
    out[0] = '#';
    for (size_t i = 1; i < 7; i++) {
        if (!hex_digit(s.p[i]))
            return false;
        char c = s.p[i];
        out[i] = c >= 'A' && c <= 'F' ? (char)(c - 'A' + 'a') : c;
    }
    out[7] = '\0';
    return true;
}

/* colors: an array of at most 32 "#rrggbb", as a JSON array text. */
static int
read_colors(sy_req *req, sy_res *res, product_in *in)
{
    json_object *v;
    if (!json_object_object_get_ex(req->json, "colors", &v) || !v)
        return 0;
    size_t n = json_object_is_type(v, json_type_array)
                   ? json_object_array_length(v)
                   : COLORS_MAX + 1;
    if (n > COLORS_MAX)
        return sy_problem_field(res, "colors",
                                "must be an array of at most 32 colours");
    sy_buf b;
    sy_buf_init(&b, req->arena, 16 + n * 12);
    sy_buf_putc(&b, '[');
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        char c[8];
        if (!json_object_is_type(e, json_type_string) ||
            !color_norm((sy_str){json_object_get_string(e),
                                 (size_t)json_object_get_string_len(e)},
                        c))
            return sy_problem_field(res, "colors",
                                    "each colour must be \"#rrggbb\" (hex)");
        sy_buf_printf(&b, "%s\"%s\"", i ? "," : "", c);
    }
    sy_buf_putc(&b, ']');
    in->colors = sy_buf_cstr(&b);
    return in->colors ? 0 : SY_ENOMEM;
}

static int
read_attributes(sy_req *req, sy_res *res, product_in *in)
{
    json_object *v;
    if (!json_object_object_get_ex(req->json, "attributes", &v) || !v)
        return 0;
    if (!json_object_is_type(v, json_type_object))
        return sy_problem_field(res, "attributes", "must be a JSON object");
    size_t n = 0;
    const char *s = json_object_to_json_string_length(
        v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (!s)
        return SY_ENOMEM;
    if (n > ATTRIBUTES_MAX)
        return sy_problem_field(res, "attributes",
                                "must be at most 16 KiB as JSON");
    in->attributes = sy_arena_strndup(req->arena, s, n);
    return in->attributes ? 0 : SY_ENOMEM;
}

static int
read_image_url(sy_req *req, sy_res *res, product_in *in)
{
    json_object *v;
    const char *why;
    if (!json_object_object_get_ex(req->json, "image_url", &v))
        return 0;
    in->image_set = true;
    if (!v)
        return 0; /* null: no image */
    if (!json_object_is_type(v, json_type_string))
        return sy_problem_field(res, "image_url", "must be a string or null");
    sy_str s = {json_object_get_string(v),
                (size_t)json_object_get_string_len(v)};
    if (sy_tenancy_check_website(s, &why) < 0)
        return sy_problem_field(res, "image_url", why);
    in->image_url = sy_str_dup(req->arena, s);
    return in->image_url ? 0 : SY_ENOMEM;
}

static int
read_active(sy_req *req, sy_res *res, product_in *in)
{
    bool v;
    int rc = sy_json_bool(res, req->json, "active", false, &v);
    if (rc == 0)
        in->active = v ? "true" : "false";
    return rc == SY_ENOTFOUND ? 0 : rc;
}

/* Every field of the body, every problem recorded; create makes the
 * POST fields required. */
static int
read_product(sy_req *req, sy_res *res, bool create, product_in *in)
{
    int bad = 0;
    *in = (product_in){.sku = NULL};
    bad |= read_sku(req, res, create, in);
    bad |= read_text(req, res, "name", create, true, 1, NAME_MAX_CHARS,
                     &in->name);
    bad |= read_description(req, res, in);
    bad |= read_text(req, res, "category", false, true, 0,
                     CATEGORY_MAX_CHARS, &in->category);
    bad |= read_int(req, res, "price_cents", create, PRICE_MAX, &in->price);
    bad |= read_currency(req, res, create, in);
    bad |= read_int(req, res, "stock", false, STOCK_MAX, &in->stock);
    bad |= read_colors(req, res, in);
    bad |= read_attributes(req, res, in);
    bad |= read_image_url(req, res, in);
    if (!create)
        bad |= read_active(req, res, in);
    if (res->errors)
        return SY_EVALIDATION;
    return bad ? SY_ENOMEM : 0;
}

/* ------------------------------------------------------------ writing */

static int
embed_in_tx(sy_req *req, const char *tid, const PGresult *r)
{
    const char *id = PQgetvalue(r, 0, W_ID);
    if (PQgetvalue(r, 0, W_ACTIVE)[0] == 't')
        return sy_vectors_store(req->arena, tid, id, col(r, 0, W_TEXT));
    const char *params[2] = {tid, id};
    PGresult *d;
    return sy_db_exec(req->arena, SY_SQL_PRODUCT_EMBEDDING_DELETE, params, 2,
                      &d);
}

/* Run a product write and its embedding in one transaction.  0 with
 * the written row, SY_ENOTFOUND (no such product), SY_ECONFLICT (sku
 * taken) or SY_EDB. */
static int
write_product(sy_req *req, const char *tid, int stmt,
              const char *const *params, int n, PGresult **out)
{
    PGresult *r = NULL;
    int rc = sy_db_begin_durable();
    if (rc < 0)
        return rc;
    rc = sy_db_exec(req->arena, stmt, params, n, &r);
    if (rc == 0 && PQntuples(r) != 1)
        rc = SY_ENOTFOUND;
    if (rc == 0)
        rc = embed_in_tx(req, tid, r);
    if (rc < 0) {
        sy_db_rollback();
        return rc;
    }
    rc = sy_db_commit();
    if (rc < 0)
        return rc;
    sy_cache_catalog_bump(req->arena, tid);
    *out = r;
    return 0;
}

static int
conflict(sy_res *res)
{
    return sy_problem(res, 409, "conflict",
                      "another product of this tenant has this sku");
}

int
sy_route_products_create(sy_req *req, sy_res *res)
{
    const char *tid;
    product_in in;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0 || (rc = read_product(req, res, true, &in)) < 0)
        return rc;
    const char *params[11] = {
        tid,       in.sku,
        in.name,   in.description ? in.description : "",
        in.category ? in.category : "", in.price,
        in.currency, in.stock ? in.stock : "0",
        in.colors ? in.colors : "[]", in.attributes ? in.attributes : "{}",
        in.image_url};
    PGresult *r;
    rc = write_product(req, tid, SY_SQL_PRODUCT_INSERT, params, 11, &r);
    if (rc == SY_ECONFLICT)
        return conflict(res);
    if (rc < 0)
        return rc;
    char loc[64];
    snprintf(loc, sizeof(loc), "/api/v1/products/%s", PQgetvalue(r, 0, W_ID));
    if ((rc = sy_res_header(res, "Location", sy_str_c(loc))) < 0 ||
        (rc = set_etag(res, r, W_ID, W_UPDATED)) < 0)
        return rc;
    return send_product(res, 201, r);
}

int
sy_route_products_patch(sy_req *req, sy_res *res)
{
    const char *tid, *id;
    product_in in;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0 || (rc = path_id(req, &id)) < 0 ||
        (rc = read_product(req, res, false, &in)) < 0)
        return rc;
    const char *params[14] = {
        tid,          id,       in.sku,      in.name,
        in.description, in.category, in.price, in.currency,
        in.stock,     in.colors, in.attributes,
        in.image_set ? "true" : "false", in.image_url, in.active};
    PGresult *r;
    rc = write_product(req, tid, SY_SQL_PRODUCT_UPDATE, params, 14, &r);
    if (rc == SY_ECONFLICT)
        return conflict(res);
    if (rc < 0)
        return rc;
    if ((rc = set_etag(res, r, W_ID, W_UPDATED)) < 0)
        return rc;
    return send_product(res, 200, r);
}

int
sy_route_products_delete(sy_req *req, sy_res *res)
{
    const char *tid, *id;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0 || (rc = path_id(req, &id)) < 0)
        return rc;
    const char *params[2] = {tid, id};
    PGresult *r = NULL, *d;
    if ((rc = sy_db_begin_durable()) < 0)
        return rc;
    rc = sy_db_exec(req->arena, SY_SQL_PRODUCT_DEACTIVATE, params, 2, &r);
    if (rc == 0 && PQntuples(r) != 1)
        rc = SY_ENOTFOUND;
    if (rc == 0)
        rc = sy_db_exec(req->arena, SY_SQL_PRODUCT_EMBEDDING_DELETE, params,
                        2, &d);
    if (rc < 0) {
        sy_db_rollback();
        return rc;
    }
    if ((rc = sy_db_commit()) < 0)
        return rc;
    sy_cache_catalog_bump(req->arena, tid);
    res->status = 204;
    return 0;
}

int
sy_route_products_get(sy_req *req, sy_res *res)
{
    const char *tid, *id;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0 || (rc = path_id(req, &id)) < 0)
        return rc;
    const char *params[3] = {tid, id, staff_caller(req) ? "true" : "false"};
    PGresult *r;
    rc = sy_db_exec(req->arena, SY_SQL_PRODUCT_GET, params, 3, &r);
    if (rc < 0)
        return rc;
    if (PQntuples(r) != 1)
        return SY_ENOTFOUND;
    if ((rc = set_etag(res, r, 0, 2)) < 0)
        return rc;
    return sy_res_bytes(res, 200, "application/json", PQgetvalue(r, 0, 1),
                        (size_t)PQgetlength(r, 0, 1));
}

/* ------------------------------------------------------------ lists */

typedef struct list_query {
    const char *category, *min, *max, *in_stock, *color;
    sy_page page;
    sy_buf what; /* canonical form: the cache key */
} list_query;

/* Query parameter `name`: 0 with the decoded value, SY_ENOTFOUND, or a
 * 422 for a bad escape. */
static int
query(sy_req *req, sy_res *res, const char *name, sy_str *v)
{
    int rc = sy_req_query(req, name, v);
    if (rc == SY_EBADREQ)
        return sy_problem_field(res, name, "is not correctly URL-encoded");
    return rc;
}

static int
query_price(sy_req *req, sy_res *res, const char *name, const char **out)
{
    sy_str v;
    int64_t n;
    int rc = query(req, res, name, &v);
    if (rc < 0)
        return rc == SY_ENOTFOUND ? 0 : rc;
    if (sy_parse_i64(v, 0, PRICE_MAX, &n) < 0)
        return sy_problem_field(res, name,
                                "must be a whole number of cents, >= 0");
    char *s = sy_arena_alloc(req->arena, 24);
    if (!s)
        return SY_ENOMEM;
    snprintf(s, 24, "%lld", (long long)n);
    *out = s;
    return 0;
}

static int
query_filters(sy_req *req, sy_res *res, list_query *q)
{
    sy_str v;
    const char *why;
    int rc = query(req, res, "category", &v);
    if (rc == 0 && sy_tenancy_text(&v, true, 0, CATEGORY_MAX_CHARS, &why) < 0)
        sy_problem_field(res, "category", why);
    else if (rc == 0 && !(q->category = sy_str_dup(req->arena, v)))
        return SY_ENOMEM;
    query_price(req, res, "min_price", &q->min);
    query_price(req, res, "max_price", &q->max);
    if (query(req, res, "in_stock", &v) == 0) {
        bool b;
        if (sy_parse_bool(v, &b) < 0)
            sy_problem_field(res, "in_stock", "must be true or false");
        else
            q->in_stock = b ? "true" : "false";
    }
    if (query(req, res, "color", &v) == 0) {
        char tmp[8] = "#", c[8];
        if (v.len == 6) { /* without '#', which a URL cannot carry bare */
            memcpy(tmp + 1, v.p, 6);
            v = (sy_str){tmp, 7};
        }
        if (!color_norm(v, c))
            sy_problem_field(res, "color", "must be #rrggbb (hex)");
        else if (!(q->color = sy_arena_strndup(req->arena, c, 7)))
            return SY_ENOMEM;
    }
    return res->errors ? SY_EVALIDATION : 0;
}

static void
what_add(sy_buf *b, const char *name, const char *v)
{
    if (v)
        sy_buf_printf(b, "%s=%zu:%s&", name, strlen(v), v);
}

static int
list_parse(sy_req *req, sy_res *res, list_query *q)
{
    int rc = query_filters(req, res, q);
    if (rc < 0 || (rc = sy_page_parse(req, res, &q->page)) < 0)
        return rc;
    sy_buf_init(&q->what, req->arena, 1024);
    what_add(&q->what, "category", q->category);
    what_add(&q->what, "min", q->min);
    what_add(&q->what, "max", q->max);
    what_add(&q->what, "stock", q->in_stock);
    what_add(&q->what, "color", q->color);
    what_add(&q->what, "after",
             q->page.after ? q->page.after_ts : NULL);
    what_add(&q->what, "id", q->page.after ? q->page.after_id : NULL);
    sy_buf_printf(&q->what, "limit=%lld", (long long)q->page.limit);
    return q->what.failed ? SY_ENOMEM : 0;
}

/* Does the client ask for a fresh answer (Cache-Control: no-cache)?  It
 * is computed and stored again; benchmarks use it to time the database
 * path. */
static bool
no_cache(const sy_req *req)
{
    sy_str cc = sy_req_header(req, "Cache-Control");
    for (size_t i = 0; i + 8 <= cc.len; i++)
        if (sy_str_ieqc((sy_str){cc.p + i, 8}, "no-cache"))
            return true;
    return false;
}

/* A cached body (X-Cache: HIT) or nothing (SY_ENOTFOUND). */
static int
from_cache(sy_req *req, sy_res *res, const char *tid, int type, sy_str what)
{
    sy_str v;
    if (no_cache(req) ||
        sy_cache_get(req->arena, tid, type, NULL, what, &v) < 0)
        return SY_ENOTFOUND;
    int rc = sy_res_headerc(res, "X-Cache", "HIT");
    return rc < 0 ? rc : sy_res_bytes(res, 200, "application/json", v.p,
                                      v.len);
}

static int
to_client(sy_req *req, sy_res *res, const char *tid, int type, sy_str what,
          sy_buf *body)
{
    if (body->failed)
        return SY_ENOMEM;
    sy_cache_put(req->arena, tid, type, NULL, what, sy_buf_str(body));
    int rc = sy_res_headerc(res, "X-Cache", "MISS");
    return rc < 0 ? rc : sy_res_bytes(res, 200, "application/json", body->p,
                                      body->len);
}

/* {"items": [rows' JSON], "next_cursor": ...} of a page's rows. */
static int
list_body(sy_req *req, const list_query *q, const PGresult *r, sy_buf *b)
{
    int n = PQntuples(r);
    bool more = n > q->page.limit;
    if (more)
        n = (int)q->page.limit;
    sy_buf_puts(b, "{\"items\":[");
    for (int i = 0; i < n; i++) {
        if (i)
            sy_buf_putc(b, ',');
        sy_buf_add_str(b, col(r, i, 1));
    }
    sy_buf_puts(b, "],\"next_cursor\":");
    if (!more)
        return sy_buf_puts(b, "null}");
    char *cursor;
    int rc = sy_page_cursor(req->arena, PQgetvalue(r, n - 1, 2),
                            PQgetvalue(r, n - 1, 0), &cursor);
    if (rc < 0)
        return rc;
    return sy_buf_printf(b, "\"%s\"}", cursor);
}

int
sy_route_products_list(sy_req *req, sy_res *res)
{
    const char *tid;
    list_query q = {.category = NULL};
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0 || (rc = list_parse(req, res, &q)) < 0)
        return rc;
    sy_str what = sy_buf_str(&q.what);
    if (from_cache(req, res, tid, SY_CACHE_LIST, what) == 0)
        return 0;
    const char *params[9] = {tid,          q.category,    q.min,
                             q.max,        q.in_stock,    q.color,
                             q.page.after_ts, q.page.after_id,
                             q.page.limit_text};
    PGresult *r;
    if ((rc = sy_db_exec(req->arena, SY_SQL_PRODUCTS_LIST, params, 9, &r)) <
        0)
        return rc;
    sy_buf body;
    sy_buf_init(&body, req->arena, LIST_BODY_MAX);
    if ((rc = list_body(req, &q, r, &body)) < 0)
        return rc;
    return to_client(req, res, tid, SY_CACHE_LIST, what, &body);
}

int
sy_route_categories_list(sy_req *req, sy_res *res)
{
    const char *tid;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0)
        return rc;
    sy_str what = SY_STR("categories");
    if (from_cache(req, res, tid, SY_CACHE_LIST, what) == 0)
        return 0;
    const char *params[1] = {tid};
    PGresult *r;
    if ((rc = sy_db_exec(req->arena, SY_SQL_CATEGORIES_LIST, params, 1, &r)) <
        0)
        return rc;
    sy_buf body;
    sy_buf_init(&body, req->arena, LIST_BODY_MAX);
    sy_buf_add_str(&body, col(r, 0, 0));
    return to_client(req, res, tid, SY_CACHE_LIST, what, &body);
}
