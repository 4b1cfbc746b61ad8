/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * orders.c (domain) - the shop's order rules (orders.h).
 *
 * An order is placed in one transaction: its idempotency record, then
 * its products locked in id order (two orders sharing products cannot
 * deadlock), every line checked, stock taken, order and lines written,
 * the response recorded for replays, commit.  Any line short of stock is
 * a 409 insufficient_stock and the rollback leaves every product as it
 * was; so stock is never oversold and never partly reserved.  Canceling
 * puts the lines' quantities back, under the same locks.
 *
 * Who may call a route is the route table's business; the rules here
 * are the shop's: shoppers see and cancel only their own orders
 * (another's order is 404, as if it did not exist), and may do nothing
 * but cancel a pending one (403).  Staff and owners see the whole
 * tenant's orders.
 *
 * Choices where API.md is silent:
 * - A product may appear on one line only: a second line for it is 422
 *   (duplicate product_id), not merged, so what the client meant is
 *   never guessed.  All lines must share one currency (422).
 * - Unknown, inactive and other tenants' products are all "no such
 *   product" (422 on the line's product_id).
 * - Only successful orders are recorded for Idempotency-Key replays.
 * - Sysadmins (who belong to no tenant) cannot place orders: 403.
 * - Legal transitions: pending -> paid | canceled, paid -> fulfilled |
 *   canceled; any other is 409 with the order's current status.
 */
#include "synthia/orders.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "synthia/cache.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/idemclaim.h"
#include "synthia/json.h"
#include "synthia/text.h"

#define MAX_QUANTITY 1000
#define NOTE_MAX_CHARS 1000

static const char *const statuses[] = {"pending", "paid", "fulfilled",
                                       "canceled"};

/* ------------------------------------------------------------- helpers */

const char *
sy_orders_status(sy_str s)
{
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        if (sy_str_eqc(s, statuses[i]))
            return statuses[i];
    return NULL;
}

static int
no_such_order(sy_errs *e)
{
    return sy_errs_fail(e, SY_ENOTFOUND, "not_found", "No such order.");
}

/* Shoppers are limited to their own orders; NULL: all of the tenant. */
static const char *
owner_filter(const sy_order_actor *who)
{
    return who->shopper ? who->user_id : NULL;
}

static bool
is_id(const char *id)
{
    return id && sy_uuid_valid(id, strlen(id));
}

/* A field error on "items[i]<what>" (what: "" or ".quantity"...). */
static void
line_error(sy_errs *e, int i, const char *what, const char *msg)
{
    char f[48];
    snprintf(f, sizeof(f), "items[%d]%s", i, what);
    sy_errs_field(e, f, msg);
}

/* The order as the API shows it: PostgreSQL's JSON, compacted as every
 * JSON body is (json-c, no escaped slashes), arena memory. */
static int
order_json(sy_arena *a, const char *tenant, const char *id,
           const char *owner, sy_errs *e, sy_str *out)
{
    sy_str pg;
    int rc = sy_orders_db_get(a, tenant, id, owner, &pg);
    if (rc == SY_ENOTFOUND)
        return no_such_order(e);
    if (rc < 0)
        return rc;
    json_object *o = json_tokener_parse(pg.p);
    if (!o)
        return SY_EINTERNAL;
    size_t n = 0;
    const char *s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    out->p = s ? sy_arena_strndup(a, s, n) : NULL;
    out->len = n;
    json_object_put(o);
    return out->p ? 0 : SY_ENOMEM;
}

/* End the transaction: commit, or roll back when rc says it failed. */
static int
finish(int rc)
{
    if (rc < 0) {
        sy_db_rollback();
        return rc;
    }
    return sy_db_commit();
}

/* ------------------------------------------------------- reading a body */

/* The line's product id, lower-cased ("" when invalid: recorded). */
static void
read_product_id(sy_errs *e, json_object *el, int i, sy_order_line *out)
{
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
    line_error(e, i, ".product_id", "must be a product id (a UUID)");
}

static void
read_quantity(sy_errs *e, json_object *el, int i, sy_order_line *out)
{
    json_object *v;
    if (json_object_object_get_ex(el, "quantity", &v) &&
        json_object_is_type(v, json_type_int)) {
        out->quantity = json_object_get_int64(v); /* clamped when huge */
        if (out->quantity >= 1 && out->quantity <= MAX_QUANTITY)
            return;
    }
    line_error(e, i, ".quantity", "must be an integer from 1 to 1000");
}

static void
find_duplicates(sy_errs *e, const sy_order_in *in)
{
    for (int i = 1; i < in->n; i++) {
        for (int j = 0; j < i; j++) {
            if (!in->lines[i].product_id[0] ||
                strcmp(in->lines[i].product_id, in->lines[j].product_id))
                continue;
            char msg[64];
            snprintf(msg, sizeof(msg),
                     "duplicate product_id (also in items[%d])", j);
            line_error(e, i, ".product_id", msg);
            break;
        }
    }
}

static void
read_lines(json_object *body, sy_errs *e, sy_order_in *in)
{
    json_object *items;
    if (!json_object_object_get_ex(body, "items", &items) ||
        !json_object_is_type(items, json_type_array)) {
        sy_errs_field(e, "items", "must be an array of lines");
        return;
    }
    size_t n = json_object_array_length(items);
    if (n < 1 || n > SY_ORDERS_MAX_LINES) {
        sy_errs_field(e, "items", "must have 1 to 100 lines");
        return;
    }
    in->n = (int)n;
    for (int i = 0; i < in->n; i++) {
        json_object *el = json_object_array_get_idx(items, (size_t)i);
        if (!json_object_is_type(el, json_type_object)) {
            line_error(e, i, "", "must be an object");
            continue;
        }
        read_product_id(e, el, i, &in->lines[i]);
        read_quantity(e, el, i, &in->lines[i]);
    }
    find_duplicates(e, in);
}

static void
read_note(sy_arena *a, json_object *body, sy_errs *e, sy_order_in *in)
{
    sy_str v;
    if (sy_json_str(e, body, "note", false, 0, SIZE_MAX, &v) < 0)
        return;
    /* multi-line text: tab, LF and CR, no other control character */
    if (sy_str_utf8_chars(v) > NOTE_MAX_CHARS || !sy_text_multiline_ok(v)) {
        sy_errs_field(e, "note",
                      "must be at most 1000 characters, without control "
                      "characters other than line breaks and tabs");
        return;
    }
    in->note = sy_str_dup(a, v);
}

int
sy_orders_read(sy_arena *a, json_object *body, sy_errs *e, sy_order_in *out)
{
    memset(out, 0, sizeof(*out));
    read_lines(body, e, out);
    read_note(a, body, e, out);
    return sy_errs_any(e) ? SY_EVALIDATION : 0;
}

/* ------------------------------------------------------- placing orders */

int
sy_orders_may_place(const sy_order_actor *who, sy_errs *e)
{
    if (!who->sysadmin)
        return 0;
    return sy_errs_fail(e, SY_EFORBIDDEN, "forbidden",
                        "Orders are placed by a shop's users; sysadmins "
                        "cannot place them.");
}

static const sy_order_product *
find_product(const sy_order_product *rows, int n, const char *id)
{
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].id, id) == 0)
            return &rows[i];
    return NULL;
}

/* Every line names a product of ours, in one currency; *total and
 * *currency when they do, else 422. */
static int
check_lines(sy_errs *e, const sy_order_product *rows, int nrows,
            const sy_order_in *in, int64_t *total, const char **currency)
{
    int64_t sum = 0;
    const char *cur = NULL;
    for (int i = 0; i < in->n; i++) {
        const sy_order_product *p =
            find_product(rows, nrows, in->lines[i].product_id);
        int64_t amount = 0;
        if (!p) {
            line_error(e, i, ".product_id", "no such product");
            continue;
        }
        if (cur && strcmp(cur, p->currency) != 0)
            line_error(e, i, ".product_id",
                       "is priced in another currency than the order's "
                       "other products");
        cur = cur ? cur : p->currency;
        if (p->price_cents < 0 ||
            __builtin_mul_overflow(p->price_cents, in->lines[i].quantity,
                                   &amount) ||
            __builtin_add_overflow(sum, amount, &sum))
            line_error(e, i, ".quantity", "makes the total too large");
    }
    if (sy_errs_any(e))
        return SY_EVALIDATION;
    *total = sum;
    *currency = cur;
    return 0;
}

/* Every line in stock, else 409 naming the short ones. */
static int
check_stock(sy_arena *a, sy_errs *e, const sy_order_product *rows,
            int nrows, const sy_order_in *in)
{
    sy_buf detail;
    sy_buf_init(&detail, a, 8192);
    sy_buf_puts(&detail, "Not enough stock for product");
    int short_lines = 0;
    for (int i = 0; i < in->n; i++) {
        const sy_order_product *p =
            find_product(rows, nrows, in->lines[i].product_id);
        if (!p)
            return SY_EINTERNAL; /* check_lines found them all */
        if (p->stock >= in->lines[i].quantity)
            continue;
        char msg[64];
        snprintf(msg, sizeof(msg), "only %lld in stock", (long long)p->stock);
        line_error(e, i, ".quantity", msg);
        sy_buf_puts(&detail, short_lines++ ? ", " : " ");
        sy_buf_puts(&detail, in->lines[i].product_id);
    }
    if (!short_lines)
        return 0;
    sy_buf_puts(&detail, "; nothing was reserved.");
    const char *d = sy_buf_cstr(&detail);
    return sy_errs_fail(e, SY_ECONFLICT, "insufficient_stock",
                        d ? d : "Not enough stock; nothing was reserved.");
}

/* The response of a new order: 201, its JSON, its Location. */
static int
created(sy_arena *a, const char *tenant, const char *id, sy_errs *e,
        sy_idem_response *out)
{
    *out = (sy_idem_response){.status = 201,
                              .content_type = SY_STR("application/json"),
                              .nheaders = 1};
    int rc = order_json(a, tenant, id, NULL, e, &out->body);
    if (rc < 0)
        return rc;
    sy_buf loc;
    sy_buf_init(&loc, a, 64);
    sy_buf_printf(&loc, "/api/v1/orders/%s", id);
    out->headers[0] = (sy_idem_header){"Location", sy_buf_str(&loc)};
    return loc.failed ? SY_ENOMEM : 0;
}

/* Inside the transaction: lock, check, reserve, write, render. */
static int
place(sy_arena *a, const char *tenant, const char *user,
      const sy_order_in *in, sy_errs *e, sy_idem_response *out)
{
    const char *currency = NULL, *id;
    int64_t total = 0;
    sy_order_product *rows;
    int nrows;
    int rc = sy_orders_db_lock_products(a, tenant, in->lines, in->n, &rows,
                                        &nrows);
    if (rc == 0)
        rc = check_lines(e, rows, nrows, in, &total, &currency);
    if (rc == 0)
        rc = check_stock(a, e, rows, nrows, in);
    if (rc == 0)
        rc = sy_orders_db_reserve(a, tenant, in->lines, in->n);
    if (rc == 0)
        rc = sy_orders_db_insert(a, tenant, user, total, currency, in->note,
                                 in->lines, in->n, &id);
    return rc < 0 ? rc : created(a, tenant, id, e, out);
}

int
sy_orders_place(sy_arena *a, const char *tenant, const char *user,
                const sy_order_in *in, const sy_idem_key *key, sy_errs *e,
                sy_idem_response *out, bool *replayed)
{
    int state;
    int rc = sy_db_begin_durable();
    if (rc < 0)
        return rc;
    rc = sy_idem_claim(a, key, e, &state, out);
    if (rc == 0 && state == SY_IDEM_NEW)
        rc = place(a, tenant, user, in, e, out);
    if (rc == 0 && state == SY_IDEM_NEW && key)
        rc = sy_idem_finish(a, key, out);
    if ((rc = finish(rc)) < 0)
        return rc;
    *replayed = state == SY_IDEM_REPLAY;
    if (!*replayed)
        sy_cache_catalog_bump(a, NULL, tenant); /* stock changed */
    return 0;
}

/* -------------------------------------------------------------- reading */

int
sy_orders_get(sy_arena *a, const char *tenant, const char *id,
              const sy_order_actor *who, sy_errs *e, sy_str *json)
{
    if (!is_id(id))
        return no_such_order(e);
    return order_json(a, tenant, id, owner_filter(who), e, json);
}

int
sy_orders_list(sy_arena *a, const char *tenant, const sy_order_actor *who,
               sy_order_filter *f, sy_order_row **rows, int *n)
{
    f->owner = owner_filter(who);
    return sy_orders_db_list(a, tenant, f, rows, n);
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
read_target(json_object *body, sy_errs *e, const char **to)
{
    sy_str v;
    int rc = sy_json_str(e, body, "to", true, 0, SIZE_MAX, &v);
    if (rc < 0)
        return rc;
    *to = sy_orders_status(v);
    if (!*to || *to == statuses[0])
        return sy_errs_field(e, "to", "must be paid, fulfilled or canceled");
    return 0;
}

/* The shop's rules for a locked order of user in state from. */
static int
may_transition(sy_arena *a, const sy_order_actor *who, const char *from,
               const char *user, const char *to, sy_errs *e)
{
    if (who->shopper && (!user || strcmp(user, who->user_id) != 0))
        return no_such_order(e);
    bool ok = legal(from, to);
    if (who->shopper && ok &&
        (strcmp(to, "canceled") != 0 || strcmp(from, "pending") != 0))
        return sy_errs_fail(e, SY_EFORBIDDEN, "forbidden",
                            "Shoppers may only cancel their own pending "
                            "orders.");
    if (ok)
        return 0;
    sy_buf d;
    sy_buf_init(&d, a, 128);
    sy_buf_printf(&d, "The order is %s; it cannot become %s.", from, to);
    const char *detail = sy_buf_cstr(&d);
    return sy_errs_fail(e, SY_ECONFLICT, "conflict",
                        detail ? detail : "Conflict");
}

/* Inside the transaction: lock the order, check, change, restock. */
static int
transition(sy_arena *a, const char *tenant, const char *id,
           const sy_order_actor *who, const char *to, sy_errs *e)
{
    const char *from, *user;
    int rc = sy_orders_db_lock(a, tenant, id, &from, &user);
    if (rc == SY_ENOTFOUND)
        return no_such_order(e);
    if (rc == 0)
        rc = may_transition(a, who, from, user, to, e);
    if (rc == 0)
        rc = sy_orders_db_set_status(a, tenant, id, to);
    if (rc == 0 && strcmp(to, "canceled") == 0)
        rc = sy_orders_db_restock(a, tenant, id);
    return rc;
}

int
sy_orders_transition_json(sy_arena *a, const char *tenant, const char *id,
                          const sy_order_actor *who, json_object *body,
                          sy_errs *e, sy_str *json)
{
    const char *to = NULL;
    if (!is_id(id))
        return no_such_order(e);
    int rc = read_target(body, e, &to);
    if (rc < 0 || (rc = sy_db_begin_durable()) < 0)
        return rc;
    rc = transition(a, tenant, id, who, to, e);
    if (rc == 0)
        rc = order_json(a, tenant, id, owner_filter(who), e, json);
    if ((rc = finish(rc)) < 0)
        return rc;
    if (strcmp(to, "canceled") == 0)
        sy_cache_catalog_bump(a, NULL, tenant); /* stock came back */
    return 0;
}
