/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * products.c (domain) - the catalog's rules (products.h): reading and
 * checking a product body, writing a product together with its
 * embedding in one transaction and moving the tenant's catalog version
 * after the commit (which retires every cached list and search of the
 * tenant at once), who sees an inactive product, and the list filters.
 *
 * Choices where API.md is silent:
 * - Deleting deactivates (active = false) and drops the embedding; the
 *   row stays for orders and keeps its sku, and deleting it again
 *   succeeds.  An inactive product does not exist for API keys and
 *   shoppers; staff still read it and may bring it back with
 *   {"active": true}.  Lists, categories and searches show active
 *   products only, to everyone, so their cached answers do not depend on
 *   who asks.
 * - sku, name, price_cents and currency are required on create;
 *   description and category default to "", stock to 0, colors to [],
 *   attributes to {}.  Names and categories are trimmed; colours are
 *   stored in lower case; image_url null removes the image.
 * - List filters: category (exact), min_price / max_price (cents,
 *   inclusive), in_stock (true | false), color (#rrggbb or rrggbb, any
 *   case; a URL cannot carry a bare '#').
 */
#include "synthia/products.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/cache.h"
#include "synthia/crypto.h"
#include "synthia/currency.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/prodcache.h"
#include "synthia/tenancy.h"
#include "synthia/text.h"
#include "synthia/vectors.h"

#define NAME_MAX_CHARS 200
#define DESCRIPTION_MAX_CHARS 10000
#define SKU_MAX 64
#define COLORS_MAX 32
#define ATTRIBUTES_MAX 16384
#define STOCK_MAX 2147483647LL

const char *const sy_products_filter_names[] = {
    "category", "min_price", "max_price", "in_stock", "color", NULL};

/* ------------------------------------------------------------ fields */

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

/* Descriptions are multi-line text: line breaks and tabs, no other
 * control characters (text.h). */
static bool
description_ok(sy_str s)
{
    return sy_text_multiline_ok(s) &&
           sy_str_utf8_chars(s) <= DESCRIPTION_MAX_CHARS;
}

/* "#rrggbb" in any case into out (8 bytes) in lower case. */
static bool
color_norm(sy_str s, char out[8])
{
    if (s.len != 7 || s.p[0] != '#')
        return false;
    out[0] = '#';
    for (size_t i = 1; i < 7; i++) {
        if (sy_hex_digit(s.p[i]) < 0)
            return false;
        char c = s.p[i];
        out[i] = c >= 'A' && c <= 'F' ? (char)(c - 'A' + 'a') : c;
    }
    out[7] = '\0';
    return true;
}

/* A string field checked by ok(); *out stays NULL when absent. */
static int
read_checked(sy_arena *a, json_object *body, sy_errs *e, const char *field,
             bool required, bool (*ok)(sy_str), const char *why,
             const char **out)
{
    sy_str v;
    int rc = sy_json_str(e, body, field, required, 0, SIZE_MAX, &v);
    if (rc == SY_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    if (!ok(v))
        return sy_errs_field(e, field, why);
    *out = sy_str_dup(a, v);
    return *out ? 0 : SY_ENOMEM;
}

/* A text field (sy_tenancy_text rules); *out stays NULL when absent. */
static int
read_text(sy_arena *a, json_object *body, sy_errs *e, const char *field,
          bool required, size_t minc, size_t maxc, const char **out)
{
    sy_str v;
    const char *why;
    int rc = sy_json_str(e, body, field, required, 0, SIZE_MAX, &v);
    if (rc == SY_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    if (sy_tenancy_text(&v, true, minc, maxc, &why) < 0)
        return sy_errs_field(e, field, why);
    *out = sy_str_dup(a, v);
    return *out ? 0 : SY_ENOMEM;
}

static char *
decimal(sy_arena *a, int64_t v)
{
    char *s = sy_arena_alloc(a, 24);
    if (s)
        snprintf(s, 24, "%lld", (long long)v);
    return s;
}

/* An integer field from 0 to max as decimal text. */
static int
read_int(sy_arena *a, json_object *body, sy_errs *e, const char *field,
         bool required, int64_t max, const char **out)
{
    int64_t v;
    int rc = sy_json_int(e, body, field, required, 0, max, &v);
    if (rc == SY_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    *out = decimal(a, v);
    return *out ? 0 : SY_ENOMEM;
}

/* colors: an array of at most 32 "#rrggbb", as a JSON array text. */
static int
read_colors(sy_arena *a, json_object *body, sy_errs *e, const char **out)
{
    json_object *v;
    if (!json_object_object_get_ex(body, "colors", &v) || !v)
        return 0;
    size_t n = json_object_is_type(v, json_type_array)
                   ? json_object_array_length(v)
                   : COLORS_MAX + 1;
    if (n > COLORS_MAX)
        return sy_errs_field(e, "colors",
                             "must be an array of at most 32 colours");
    sy_buf b;
    sy_buf_init(&b, a, 16 + n * 12);
    sy_buf_putc(&b, '[');
    for (size_t i = 0; i < n; i++) {
        json_object *el = json_object_array_get_idx(v, i);
        char c[8];
        if (!json_object_is_type(el, json_type_string) ||
            !color_norm((sy_str){json_object_get_string(el),
                                 (size_t)json_object_get_string_len(el)},
                        c))
            return sy_errs_field(e, "colors",
                                 "each colour must be \"#rrggbb\" (hex)");
        sy_buf_printf(&b, "%s\"%s\"", i ? "," : "", c);
    }
    sy_buf_putc(&b, ']');
    *out = sy_buf_cstr(&b);
    return *out ? 0 : SY_ENOMEM;
}

/* Attribute names are single-line text, string values multi-line (text.h;
 * the body's check has refused NUL and invalid UTF-8 already), at any
 * depth. */
static bool
attributes_text_ok(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_string:
        return sy_text_multiline_ok(
            (sy_str){json_object_get_string(v),
                     (size_t)json_object_get_string_len(v)});
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(v); i++)
            if (!attributes_text_ok(json_object_array_get_idx(v, i)))
                return false;
        return true;
    case json_type_object: {
        json_object_object_foreach(v, key, val)
        {
            if (!sy_text_line_ok(sy_str_c(key)) || !attributes_text_ok(val))
                return false;
        }
        return true;
    }
    default:
        return true;
    }
}

static int
read_attributes(sy_arena *a, json_object *body, sy_errs *e,
                const char **out)
{
    json_object *v;
    if (!json_object_object_get_ex(body, "attributes", &v) || !v)
        return 0;
    if (!json_object_is_type(v, json_type_object))
        return sy_errs_field(e, "attributes", "must be a JSON object");
    if (!attributes_text_ok(v))
        return sy_errs_field(e, "attributes",
                             "names must not contain control characters, "
                             "string values none but tab, LF and CR");
    size_t n = 0;
    const char *s = json_object_to_json_string_length(
        v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (!s)
        return SY_ENOMEM;
    if (n > ATTRIBUTES_MAX)
        return sy_errs_field(e, "attributes",
                             "must be at most 16 KiB as JSON");
    *out = sy_arena_strndup(a, s, n);
    return *out ? 0 : SY_ENOMEM;
}

static int
read_image_url(sy_arena *a, json_object *body, sy_errs *e,
               sy_product_fields *in)
{
    json_object *v;
    const char *why;
    if (!json_object_object_get_ex(body, "image_url", &v))
        return 0;
    in->image_set = true;
    if (!v)
        return 0; /* null: no image */
    if (!json_object_is_type(v, json_type_string))
        return sy_errs_field(e, "image_url", "must be a string or null");
    sy_str s = {json_object_get_string(v),
                (size_t)json_object_get_string_len(v)};
    if (sy_tenancy_check_website(s, &why) < 0)
        return sy_errs_field(e, "image_url", why);
    in->image_url = sy_str_dup(a, s);
    return in->image_url ? 0 : SY_ENOMEM;
}

static int
read_active(json_object *body, sy_errs *e, sy_product_fields *in)
{
    bool v;
    int rc = sy_json_bool(e, body, "active", false, &v);
    if (rc == 0)
        in->active = v ? "true" : "false";
    return rc == SY_ENOTFOUND ? 0 : rc;
}

int
sy_products_read(sy_arena *a, json_object *body, bool create, sy_errs *e,
                 sy_product_fields *in)
{
    int bad = 0;
    *in = (sy_product_fields){.sku = NULL};
    bad |= read_checked(a, body, e, "sku", create, sku_ok,
                        "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', "
                        "'_' and '-'",
                        &in->sku);
    bad |= read_text(a, body, e, "name", create, 1, NAME_MAX_CHARS,
                     &in->name);
    bad |= read_checked(a, body, e, "description", false, description_ok,
                        "must be at most 10000 characters, without control "
                        "characters other than line breaks and tabs",
                        &in->description);
    bad |= read_text(a, body, e, "category", false, 0,
                     SY_PRODUCTS_CATEGORY_MAX, &in->category);
    bad |= read_int(a, body, e, "price_cents", create, SY_PRODUCTS_PRICE_MAX,
                    &in->price);
    bad |= read_checked(a, body, e, "currency", create, sy_currency_iso4217,
                        "must be a current ISO 4217 currency code in upper "
                        "case, like \"EUR\"",
                        &in->currency);
    bad |= read_int(a, body, e, "stock", false, STOCK_MAX, &in->stock);
    bad |= read_colors(a, body, e, &in->colors);
    bad |= read_attributes(a, body, e, &in->attributes);
    bad |= read_image_url(a, body, e, in);
    if (!create)
        bad |= read_active(body, e, in);
    if (sy_errs_any(e))
        return SY_EVALIDATION;
    return bad ? SY_ENOMEM : 0;
}

/* ------------------------------------------------------------ writes */

static int
sku_taken(sy_errs *e)
{
    return sy_errs_fail(e, SY_ECONFLICT, "conflict",
                        "another product of this tenant has this sku");
}

/* The embedding follows the written row: an active product's text is
 * embedded, an inactive one leaves the vector store. */
static int
embed(sy_arena *a, const char *tenant, const sy_product_row *row)
{
    if (row->active)
        return sy_vectors_store(a, tenant, row->id, row->text);
    return sy_vectors_delete(a, tenant, row->id);
}

int
sy_products_add(sy_arena *a, const char *tenant, const sy_product_fields *in,
                sy_errs *e, sy_product_row *out)
{
    sy_product_fields f = *in;
    f.description = f.description ? f.description : "";
    f.category = f.category ? f.category : "";
    f.stock = f.stock ? f.stock : "0";
    f.colors = f.colors ? f.colors : "[]";
    f.attributes = f.attributes ? f.attributes : "{}";
    int rc = sy_products_db_insert(a, tenant, &f, out);
    if (rc == SY_ECONFLICT)
        return sku_taken(e);
    if (rc == SY_ENOTFOUND) /* a sysadmin's ?tenant_id= of no tenant */
        return sy_errs_fail(e, rc, "not_found", "No tenant has this id.");
    return rc < 0 ? rc : embed(a, tenant, out);
}

/* End a product write's transaction: commit and move the catalog
 * version, or roll back when rc says the write failed. */
static int
finish(sy_arena *a, const char *tenant, int rc)
{
    if (rc < 0) {
        sy_db_rollback();
        return rc;
    }
    if ((rc = sy_db_commit()) < 0)
        return rc;
    sy_cache_catalog_bump(a, NULL, tenant);
    return 0;
}

int
sy_products_create(sy_arena *a, const char *tenant,
                   const sy_product_fields *in, sy_errs *e,
                   sy_product_row *out)
{
    int rc = sy_db_begin_durable();
    if (rc < 0)
        return rc;
    return finish(a, tenant, sy_products_add(a, tenant, in, e, out));
}

int
sy_products_create_json(sy_arena *a, const char *tenant, json_object *body,
                        sy_errs *e, sy_product_row *out)
{
    sy_product_fields in;
    int rc = sy_products_read(a, body, true, e, &in);
    return rc < 0 ? rc : sy_products_create(a, tenant, &in, e, out);
}

static bool
is_id(const char *id)
{
    return id && sy_uuid_valid(id, strlen(id));
}

int
sy_products_update_json(sy_arena *a, const char *tenant, const char *id,
                        json_object *body, sy_errs *e, sy_product_row *out)
{
    sy_product_fields in;
    if (!is_id(id))
        return SY_ENOTFOUND;
    int rc = sy_products_read(a, body, false, e, &in);
    if (rc < 0 || (rc = sy_db_begin_durable()) < 0)
        return rc;
    rc = sy_products_db_update(a, tenant, id, &in, out);
    if (rc == SY_ECONFLICT)
        rc = sku_taken(e);
    if (rc == 0)
        rc = embed(a, tenant, out);
    return finish(a, tenant, rc);
}

int
sy_products_deactivate(sy_arena *a, const char *tenant, const char *id)
{
    if (!is_id(id))
        return SY_ENOTFOUND;
    int rc = sy_db_begin_durable();
    if (rc < 0)
        return rc;
    rc = sy_products_db_deactivate(a, tenant, id);
    if (rc == 0)
        rc = sy_vectors_delete(a, tenant, id);
    return finish(a, tenant, rc);
}

/* ------------------------------------------------------------ reads */

/* The tenant's catalog version as this request knows it without asking
 * Redis (its admission read it, or this responder keeps it current
 * through the push channel), or -1. */
static int64_t
known_version(const sy_catver *cv, const char *tenant)
{
    sy_catver mem = {.set = false};
    if (cv && cv->set && strcmp(cv->tenant, tenant) == 0)
        return cv->version;
    return sy_cache_version_known(&mem, tenant) ? mem.version : -1;
}

int
sy_products_get(sy_arena *a, const sy_catver *cv, const char *tenant,
                const char *id, bool with_inactive, sy_product_row *out)
{
    if (!is_id(id))
        return SY_ENOTFOUND;
    if (with_inactive) /* staff: inactive ones too, never kept */
        return sy_products_db_get(a, tenant, id, true, out);
    int64_t v = known_version(cv, tenant);
    if (v >= 0 && sy_prodcache_get(a, tenant, id, v, out) == 0)
        return 0;
    int rc = sy_products_db_get(a, tenant, id, false, out);
    if (rc == 0 && v >= 0)
        sy_prodcache_put(tenant, v, out);
    return rc;
}

static int
filter_price(sy_arena *a, sy_errs *e, const char *name, sy_str v,
             const char **out)
{
    int64_t n;
    if (sy_parse_i64(v, 0, SY_PRODUCTS_PRICE_MAX, &n) < 0)
        return sy_errs_field(e, name, "must be a whole number of cents, >= 0");
    *out = decimal(a, n);
    return *out ? 0 : SY_ENOMEM;
}

static int
filter_color(sy_arena *a, sy_errs *e, sy_str v, const char **out)
{
    char tmp[8] = "#", c[8];
    if (v.len == 6) { /* without '#', which a URL cannot carry bare */
        memcpy(tmp + 1, v.p, 6);
        v = (sy_str){tmp, 7};
    }
    if (!color_norm(v, c))
        return sy_errs_field(e, "color", "must be #rrggbb (hex)");
    *out = sy_arena_strndup(a, c, 7);
    return *out ? 0 : SY_ENOMEM;
}

int
sy_products_filter_set(sy_arena *a, sy_errs *e, const char *name, sy_str v,
                       sy_product_filter *f)
{
    const char *why;
    bool b;
    if (strcmp(name, "category") == 0) {
        if (sy_tenancy_text(&v, true, 0, SY_PRODUCTS_CATEGORY_MAX, &why) < 0)
            return sy_errs_field(e, "category", why);
        f->category = sy_str_dup(a, v);
        return f->category ? 0 : SY_ENOMEM;
    }
    if (strcmp(name, "min_price") == 0)
        return filter_price(a, e, name, v, &f->min_price);
    if (strcmp(name, "max_price") == 0)
        return filter_price(a, e, name, v, &f->max_price);
    if (strcmp(name, "in_stock") == 0) {
        if (sy_parse_bool(v, &b) < 0)
            return sy_errs_field(e, "in_stock", "must be true or false");
        f->in_stock = b ? "true" : "false";
        return 0;
    }
    if (strcmp(name, "color") == 0)
        return filter_color(a, e, v, &f->color);
    return SY_EINVAL;
}

int
sy_products_list(sy_arena *a, const char *tenant, const sy_product_filter *f,
                 sy_product_row **rows, int *n)
{
    return sy_products_db_list(a, tenant, f, rows, n);
}

int
sy_products_categories(sy_arena *a, const char *tenant, sy_str *json)
{
    return sy_products_db_categories(a, tenant, json);
}

/* Fill from PostgreSQL the JSON of the products that have none yet. */
static int
json_from_db(sy_arena *a, const char *tenant, const char *const *ids, int n,
             sy_str *out)
{
    const char **missing = sy_arena_alloc(a, (size_t)n * sizeof(*missing));
    int k = 0, nr;
    if (!missing)
        return SY_ENOMEM;
    for (int i = 0; i < n; i++)
        if (!out[i].p)
            missing[k++] = ids[i];
    sy_product_row *r;
    int rc = sy_products_db_by_ids(a, tenant, missing, k, &r, &nr);
    if (rc < 0)
        return rc;
    for (int row = 0; row < nr; row++)
        for (int i = 0; i < n; i++)
            if (!out[i].p && strcmp(ids[i], r[row].id) == 0)
                out[i] = r[row].json;
    return 0;
}

int
sy_products_json_many(sy_arena *a, const sy_catver *cv, const char *tenant,
                      const char *const *ids, int n, sy_str *out)
{
    sy_str *keys = sy_arena_alloc(a, (size_t)(n ? n : 1) * sizeof(*keys));
    sy_str *put = sy_arena_alloc(a, (size_t)(n ? n : 1) * sizeof(*put));
    int64_t version;
    if (!keys || !put)
        return SY_ENOMEM;
    for (int i = 0; i < n; i++)
        keys[i] = sy_str_c(ids[i]);
    int found = sy_cache_get_many(a, cv, tenant, SY_CACHE_PRODUCT, n, keys,
                                  out, &version);
    if (found == n)
        return 0;
    for (int i = 0; i < n; i++)
        put[i] = out[i];
    int rc = json_from_db(a, tenant, ids, n, out);
    if (rc < 0)
        return rc;
    for (int i = 0; i < n; i++)
        put[i] = put[i].p ? SY_STR_NULL : out[i];
    sy_cache_put_many(a, tenant, SY_CACHE_PRODUCT, version, n, keys, put);
    return 0;
}
