/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * impops.c - an import session's table rules (impops.h): column types,
 * reading cells as amounts, integers, booleans and colours, the product
 * fields a column may be mapped to, and the edit operations.
 *
 * Choices where API.md is silent:
 * - Values are trimmed; a value of white space only is missing.
 * - An operation sees the table as the earlier operations of its call
 *   left it (a set after a drop_rows addresses the rows that moved up),
 *   and the first operation that fails fails the call; nothing is kept.
 * - drop_rows needs at least one row; naming a row twice is fine.
 * - A set with a value on a cell marked intentionally missing removes
 *   the mark (the cell is no longer missing); fill_missing leaves marked
 *   cells alone: that is what the mark is for.
 * - price and price_cents exclude each other; mapping a field that
 *   another column has moves it here.
 */
#include "synthia/impops.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/error.h"
#include "synthia/text.h"

#define NAME_MAX_CHARS 200
#define AMOUNT_MAX 999999999999999LL /* minor units, as products allow */

static const char *const type_names[SY_IMP__TYPES] = {
    [SY_IMP_TEXT] = "text",       [SY_IMP_INTEGER] = "integer",
    [SY_IMP_DECIMAL] = "decimal", [SY_IMP_MONEY] = "money",
    [SY_IMP_BOOLEAN] = "boolean", [SY_IMP_COLOUR] = "colour",
};

/* The order in which a column's type is chosen. */
static const int type_order[] = {SY_IMP_INTEGER, SY_IMP_BOOLEAN,
                                 SY_IMP_COLOUR, SY_IMP_DECIMAL,
                                 SY_IMP_MONEY};

const char *const sy_impops_fields[] = {
    "sku",      "name",  "description", "category", "price", "price_cents",
    "currency", "stock", "colors",      "image_url", NULL};

const char *
sy_impops_type_name(int type)
{
    return type > 0 && type < SY_IMP__TYPES ? type_names[type] : "text";
}

/* ------------------------------------------------------------ readers */

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

int
sy_impops_integer(sy_str v, int64_t *out)
{
    sy_str s = sy_text_trim(v);
    size_t i = s.len && (s.p[0] == '-' || s.p[0] == '+');
    if (s.len - i < 1 || s.len - i > 18)
        return -1;
    int64_t n = 0;
    for (size_t k = i; k < s.len; k++) {
        if (!is_digit(s.p[k]))
            return -1;
        n = n * 10 + (s.p[k] - '0');
    }
    *out = s.p[0] == '-' ? -n : n;
    return 0;
}

int
sy_impops_boolean(sy_str v, bool *out)
{
    sy_str s = sy_text_trim(v);
    if (sy_str_ieqc(s, "true") || sy_str_ieqc(s, "yes")) {
        *out = true;
        return 0;
    }
    if (sy_str_ieqc(s, "false") || sy_str_ieqc(s, "no")) {
        *out = false;
        return 0;
    }
    return -1;
}

static bool
colour_sep(char c)
{
    return c == ',' || c == ';' || c == '|' || c == ' ' || c == '\t';
}

int
sy_impops_colours(sy_str v, char out[][8], int *n)
{
    int k = 0;
    size_t i = 0;
    sy_str s = sy_text_trim(v);
    while (i < s.len) {
        while (i < s.len && colour_sep(s.p[i]))
            i++;
        if (i == s.len)
            break;
        size_t j = i;
        while (j < s.len && !colour_sep(s.p[j]))
            j++;
        size_t len = j - i;
        if (s.p[i] != '#' || (len != 4 && len != 7) ||
            k == SY_IMPOPS_MAX_COLOURS)
            return -1;
        char *o = out[k++];
        o[0] = '#';
        for (size_t d = 0; d < 6; d++) {
            char c = len == 7 ? s.p[i + 1 + d] : s.p[i + 1 + d / 2];
            if (sy_hex_digit(c) < 0)
                return -1;
            o[1 + d] = c >= 'A' && c <= 'F' ? (char)(c - 'A' + 'a') : c;
        }
        o[7] = '\0';
        i = j;
    }
    if (k == 0)
        return -1;
    *n = k;
    return 0;
}

typedef struct currency_sym {
    const char *sym;
    const char *code;
} currency_sym;

static const currency_sym symbols[] = {
    {"\xe2\x82\xac", "EUR"}, {"$", "USD"}, {"\xc2\xa3", "GBP"},
    {"\xc2\xa5", "JPY"}};

/* A currency symbol or code at the start (prefix) or end of s: removed
 * from s, its code into cur.  False when there is none. */
static bool
take_currency(sy_str *s, bool prefix, char cur[4])
{
    for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
        size_t n = strlen(symbols[i].sym);
        if (s->len < n)
            continue;
        const char *at = prefix ? s->p : s->p + s->len - n;
        if (memcmp(at, symbols[i].sym, n) == 0) {
            memcpy(cur, symbols[i].code, 4);
            if (prefix)
                s->p += n;
            s->len -= n;
            return true;
        }
    }
    if (s->len < 3)
        return false;
    const char *at = prefix ? s->p : s->p + s->len - 3;
    if (!is_upper(at[0]) || !is_upper(at[1]) || !is_upper(at[2]))
        return false;
    /* a code is its own word: EUR12 and 12EUR are fine, EURO12 is not */
    if (s->len > 3 && is_upper(prefix ? at[3] : at[-1]))
        return false;
    memcpy(cur, at, 3);
    cur[3] = '\0';
    if (prefix)
        s->p += 3;
    s->len -= 3;
    return true;
}

/* Digits in groups of three after the first (1 to 3) between
 * thousands separators sep. */
static bool
grouped(sy_str s, char sep)
{
    size_t run = 0, groups = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] == sep) {
            if (run < 1 || run > 3 || (groups > 0 && run != 3))
                return false;
            groups++;
            run = 0;
        } else if (is_digit(s.p[i])) {
            run++;
        } else {
            return false;
        }
    }
    return groups == 0 ? run > 0 : run == 3;
}

/* Units and at most two decimals of an amount of digits and separators
 * into minor units. */
static int
amount(sy_str s, int64_t *out)
{
    const char *dot = NULL, *comma = NULL;
    size_t dots = 0, commas = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] == '.') {
            dot = s.p + i;
            dots++;
        } else if (s.p[i] == ',') {
            comma = s.p + i;
            commas++;
        } else if (!is_digit(s.p[i])) {
            return -1;
        }
    }
    /* which separator is the decimal one */
    const char *point = NULL;
    char thousands = 0;
    if (dots && commas) {
        point = dot > comma ? dot : comma;
        thousands = dot > comma ? ',' : '.';
        if ((point == dot && dots > 1) || (point == comma && commas > 1))
            return -1;
    } else if (dots == 1 || commas == 1) {
        point = dots ? dot : comma;
    } else if (dots > 1 || commas > 1) {
        thousands = dots ? '.' : ',';
    }
    sy_str units = {s.p, point ? (size_t)(point - s.p) : s.len};
    sy_str dec = point ? (sy_str){point + 1, s.len - units.len - 1}
                       : SY_STR_NULL;
    if (units.len == 0 || (point && (dec.len < 1 || dec.len > 2)))
        return -1;
    if (thousands ? !grouped(units, thousands) : !grouped(units, 'x'))
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < units.len; i++) {
        if (!is_digit(units.p[i]))
            continue;
        if (v > AMOUNT_MAX / 10)
            return -1;
        v = v * 10 + (units.p[i] - '0');
    }
    if (v > AMOUNT_MAX / 100)
        return -1;
    v *= 100;
    if (dec.len >= 1)
        v += (dec.p[0] - '0') * 10;
    if (dec.len == 2)
        v += dec.p[1] - '0';
    if (!is_digit(dec.len ? dec.p[dec.len - 1] : '0'))
        return -1;
    *out = v;
    return 0;
}

int
sy_impops_money(sy_str v, int64_t *cents, char currency[4])
{
    char cur[4] = "";
    sy_str s = sy_text_trim(v);
    bool neg = false;
    if (s.len && (s.p[0] == '-' || s.p[0] == '+')) {
        neg = s.p[0] == '-';
        s = sy_text_trim((sy_str){s.p + 1, s.len - 1});
    }
    bool symbol = false;
    if (take_currency(&s, true, cur)) {
        /* "\xe2\x82\xac-12" is an amount, "ABC-12" (an sku) is not */
        symbol = !is_upper(s.p[-1]);
        s = sy_text_trim(s);
    }
    if (!cur[0] && take_currency(&s, false, cur))
        s = sy_text_trim(s);
    if (!neg && symbol && s.len && s.p[0] == '-') { /* "€-12" */
        neg = true;
        s = (sy_str){s.p + 1, s.len - 1};
    }
    int64_t n;
    if (amount(s, &n) < 0)
        return -1;
    *cents = neg ? -n : n;
    memcpy(currency, cur, 4);
    return 0;
}

/* ------------------------------------------------------------ types */

/* 12.5 or 12,5: digits, one point or comma, digits. */
static bool
is_decimal(sy_str v)
{
    sy_str s = sy_text_trim(v);
    size_t i = s.len && (s.p[0] == '-' || s.p[0] == '+');
    size_t digits = 0, seps = 0, after = 0;
    for (; i < s.len; i++) {
        if (is_digit(s.p[i])) {
            digits++;
            after += seps > 0;
        } else if ((s.p[i] == '.' || s.p[i] == ',') && seps == 0 &&
                   digits > 0) {
            seps++;
        } else {
            return false;
        }
    }
    return digits > 0 && (seps == 0 || after > 0);
}

unsigned
sy_impops_cell_types(sy_str v)
{
    unsigned m = 1u << SY_IMP_TEXT;
    int64_t i;
    bool b;
    char cur[4], colours[SY_IMPOPS_MAX_COLOURS][8];
    int n;
    if (sy_impops_integer(v, &i) == 0)
        m |= 1u << SY_IMP_INTEGER | 1u << SY_IMP_DECIMAL;
    else if (is_decimal(v))
        m |= 1u << SY_IMP_DECIMAL;
    if (sy_impops_money(v, &i, cur) == 0)
        m |= 1u << SY_IMP_MONEY;
    if (sy_impops_boolean(v, &b) == 0)
        m |= 1u << SY_IMP_BOOLEAN;
    if (sy_impops_colours(v, colours, &n) == 0)
        m |= 1u << SY_IMP_COLOUR;
    return m;
}

int
sy_impops_column_type(const sy_table *t, uint32_t c)
{
    unsigned all = ~0u;
    bool any = false;
    const sy_str *col = &t->cell[(size_t)c * t->rows];
    for (uint32_t r = 0; r < t->rows && all != 1u << SY_IMP_TEXT; r++) {
        if (!col[r].p)
            continue;
        any = true;
        all &= sy_impops_cell_types(col[r]);
    }
    if (!any)
        return SY_IMP_TEXT;
    for (size_t i = 0; i < sizeof(type_order) / sizeof(type_order[0]); i++)
        if (all & (1u << type_order[i]))
            return type_order[i];
    return SY_IMP_TEXT;
}

void
sy_impops_type_all(sy_table *t)
{
    for (uint32_t c = 0; c < t->cols; c++)
        t->col[c].type = (uint8_t)sy_impops_column_type(t, c);
}

/* ------------------------------------------------------------ fields */

static bool
attr_key_ok(sy_str k)
{
    if (k.len < 1 || k.len > SY_IMPOPS_ATTR_KEY_MAX)
        return false;
    for (size_t i = 0; i < k.len; i++) {
        char c = k.p[i];
        if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '_'))
            return false;
    }
    return true;
}

bool
sy_impops_field_ok(sy_str field)
{
    for (int i = 0; sy_impops_fields[i]; i++)
        if (sy_str_eqc(field, sy_impops_fields[i]))
            return true;
    return sy_str_starts(field, "attributes.") &&
           attr_key_ok((sy_str){field.p + 11, field.len - 11});
}

/* ------------------------------------------------------------ operations */

typedef struct opctx {
    sy_arena *a;
    sy_table *t;
    const sy_imp_limits *lim;
    sy_errs *e;
    int index;      /* of the operation */
    bool *touched;  /* columns to type again */
    bool all;       /* every column */
    int64_t cells;
} opctx;

static int
op_error(opctx *o, const char *field, const char *msg)
{
    char f[64];
    snprintf(f, sizeof(f), "ops[%d]%s%s", o->index, field[0] ? "." : "",
             field);
    return sy_errs_field(o->e, f, msg);
}

/* The row of member name. */
static int
get_row(opctx *o, json_object *op, const char *name, uint32_t *out)
{
    json_object *v;
    if (json_object_object_get_ex(op, name, &v) &&
        json_object_is_type(v, json_type_int)) {
        int64_t r = json_object_get_int64(v);
        if (r >= 0 && r < o->t->rows) {
            *out = (uint32_t)r;
            return 0;
        }
    }
    char msg[96];
    if (o->t->rows == 0)
        snprintf(msg, sizeof(msg), "must be a row, and the table has none");
    else
        snprintf(msg, sizeof(msg), "must be a row of the table (0 to %u)",
                 o->t->rows - 1);
    char *m = sy_arena_strndup(o->a, msg, strlen(msg));
    return op_error(o, name, m ? m : "must be a row of the table");
}

/* The column of member name: its name or its index. */
static int
get_column(opctx *o, json_object *op, const char *name, uint32_t *out)
{
    json_object *v;
    if (!json_object_object_get_ex(op, name, &v) || !v)
        return op_error(o, name, "is required (a column name or index)");
    if (json_object_is_type(v, json_type_int)) {
        int64_t c = json_object_get_int64(v);
        if (c >= 0 && c < o->t->cols) {
            *out = (uint32_t)c;
            return 0;
        }
        return op_error(o, name, "is not a column index of the table");
    }
    if (json_object_is_type(v, json_type_string)) {
        int c = sy_table_find(
            o->t, (sy_str){json_object_get_string(v),
                           (size_t)json_object_get_string_len(v)});
        if (c >= 0) {
            *out = (uint32_t)c;
            return 0;
        }
        return op_error(o, name, "no column has this name");
    }
    return op_error(o, name, "must be a column name or index");
}

/* A cell value of member name: string, number, boolean, or (when
 * nullable) null: *out (p NULL for missing). */
static int
get_value(opctx *o, json_object *op, const char *name, bool nullable,
          sy_str *out)
{
    json_object *v;
    bool present = json_object_object_get_ex(op, name, &v);
    if (!present || !v) {
        if (present && nullable) {
            *out = SY_STR_NULL;
            return 0;
        }
        return op_error(o, name,
                        nullable ? "is required (a string, number, boolean "
                                   "or null)"
                                 : "is required (a string, number or "
                                   "boolean)");
    }
    if (json_object_is_type(v, json_type_object) ||
        json_object_is_type(v, json_type_array))
        return op_error(o, name, "must be a string, number or boolean");
    sy_str s = {json_object_get_string(v),
                (size_t)json_object_get_string_len(v)};
    if (json_object_is_type(v, json_type_double) ||
        json_object_is_type(v, json_type_int) ||
        json_object_is_type(v, json_type_boolean))
        s = sy_str_c(json_object_get_string(v));
    if (s.len > o->lim->max_cell)
        return op_error(o, name, "is larger than the cell limit");
    if (!sy_text_multiline_ok(s))
        return op_error(o, name,
                        "must be UTF-8 text without NUL or control "
                        "characters other than tab and line breaks");
    s = sy_text_trim(s);
    if (s.len == 0) {
        if (!nullable)
            return op_error(o, name, "must not be empty");
        s = SY_STR_NULL;
    }
    *out = s;
    return 0;
}

static int
op_set(opctx *o, json_object *op)
{
    uint32_t r = 0, c = 0;
    sy_str v;
    int bad = get_row(o, op, "row", &r);
    bad |= get_column(o, op, "column", &c);
    bad |= get_value(o, op, "value", true, &v);
    if (bad)
        return SY_EVALIDATION;
    sy_str *cell = sy_table_at(o->t, r, c);
    bool same = (!cell->p && !v.p) || (cell->p && v.p && sy_str_eq(*cell, v));
    bool unmark = v.p && sy_table_marked(o->t, r, c);
    if (!same || unmark)
        o->cells++;
    *cell = v;
    if (unmark)
        sy_table_set_mark(o->t, r, c, false);
    o->touched[c] = true;
    return 0;
}

/* A column name: trimmed, 1 to 200 characters of one line. */
static int
get_name(opctx *o, json_object *op, const char *name, sy_str *out)
{
    json_object *v;
    if (!json_object_object_get_ex(op, name, &v) ||
        !json_object_is_type(v, json_type_string))
        return op_error(o, name, "must be a column name (a string)");
    sy_str s = sy_text_trim((sy_str){json_object_get_string(v),
                                     (size_t)json_object_get_string_len(v)});
    if (s.len == 0 || !sy_text_line_ok(s) ||
        sy_str_utf8_chars(s) > NAME_MAX_CHARS)
        return op_error(o, name,
                        "must be 1 to 200 characters on one line, without "
                        "control characters");
    *out = s;
    return 0;
}

static int
op_rename(opctx *o, json_object *op)
{
    uint32_t c = 0;
    sy_str to;
    int bad = get_column(o, op, "from", &c);
    bad |= get_name(o, op, "to", &to);
    if (bad)
        return SY_EVALIDATION;
    int other = sy_table_find(o->t, to);
    if (other >= 0 && (uint32_t)other != c)
        return op_error(o, "to", "another column has this name");
    o->t->col[c].name = to;
    return 0;
}

static int
op_drop_rows(opctx *o, json_object *op)
{
    json_object *rows;
    if (!json_object_object_get_ex(op, "rows", &rows) ||
        !json_object_is_type(rows, json_type_array) ||
        json_object_array_length(rows) == 0)
        return op_error(o, "rows", "must be a non-empty array of rows");
    size_t n = json_object_array_length(rows);
    bool *drop = sy_arena_calloc(o->a, o->t->rows + 1);
    if (!drop)
        return SY_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(rows, i);
        int64_t r = json_object_is_type(v, json_type_int)
                        ? json_object_get_int64(v)
                        : -1;
        if (r < 0 || r >= o->t->rows) {
            char f[40];
            snprintf(f, sizeof(f), "rows[%zu]", i);
            return op_error(o, f, "must be a row of the table");
        }
        drop[r] = true;
    }
    uint32_t gone = 0;
    for (uint32_t r = 0; r < o->t->rows; r++)
        gone += drop[r];
    sy_table_drop_rows(o->t, drop);
    o->cells += (int64_t)gone * o->t->cols;
    o->all = true;
    return 0;
}

static int
op_fill_missing(opctx *o, json_object *op)
{
    uint32_t c = 0;
    sy_str v;
    int bad = get_column(o, op, "column", &c);
    bad |= get_value(o, op, "value", false, &v);
    if (bad)
        return SY_EVALIDATION;
    for (uint32_t r = 0; r < o->t->rows; r++) {
        sy_str *cell = sy_table_at(o->t, r, c);
        if (cell->p || sy_table_marked(o->t, r, c))
            continue;
        *cell = v;
        o->cells++;
    }
    o->touched[c] = true;
    return 0;
}

static int
op_mark(opctx *o, json_object *op)
{
    uint32_t r = 0, c = 0;
    bool on = true;
    int bad = get_row(o, op, "row", &r);
    bad |= get_column(o, op, "column", &c);
    json_object *v;
    if (json_object_object_get_ex(op, "intentional", &v)) {
        if (json_object_is_type(v, json_type_boolean))
            on = json_object_get_boolean(v);
        else
            bad |= op_error(o, "intentional", "must be true or false");
    }
    if (bad)
        return SY_EVALIDATION;
    if (on && !sy_table_missing(o->t, r, c))
        return op_error(o, "column",
                        "the cell has a value: only a missing cell can be "
                        "marked intentionally missing");
    if (sy_table_marked(o->t, r, c) != on)
        o->cells++;
    sy_table_set_mark(o->t, r, c, on);
    return 0;
}

static bool
field_is(sy_str f, const char *name)
{
    return sy_str_eqc(f, name);
}

static int
op_map(opctx *o, json_object *op)
{
    uint32_t c = 0;
    json_object *v;
    sy_str field = SY_STR_NULL;
    int bad = get_column(o, op, "column", &c);
    if (!json_object_object_get_ex(op, "field", &v))
        bad |= op_error(o, "field", "is required (a product field, or null)");
    else if (v && !(json_object_is_type(v, json_type_string) &&
                    sy_impops_field_ok(field = (sy_str){
                        json_object_get_string(v),
                        (size_t)json_object_get_string_len(v)})))
        bad |= op_error(o, "field",
                        "must be sku, name, description, category, price, "
                        "price_cents, currency, stock, colors, image_url, "
                        "attributes.<key> (a-z, 0-9, _) or null");
    if (bad)
        return SY_EVALIDATION;
    if (!v) {
        o->t->col[c].field = SY_STR_NULL;
        return 0;
    }
    const char *other = field_is(field, "price")         ? "price_cents"
                        : field_is(field, "price_cents") ? "price"
                                                          : NULL;
    for (uint32_t k = 0; k < o->t->cols; k++) {
        if (k == c)
            continue;
        if (other && field_is(o->t->col[k].field, other))
            return op_error(o, "field",
                            "price and price_cents exclude each other: "
                            "unmap the other first");
    }
    for (uint32_t k = 0; k < o->t->cols; k++)
        if (k != c && sy_str_eq(o->t->col[k].field, field))
            o->t->col[k].field = SY_STR_NULL;
    o->t->col[c].field = field;
    return 0;
}

typedef struct op_def {
    const char *name;
    int (*run)(opctx *o, json_object *op);
} op_def;

static const op_def ops_table[] = {
    {"set", op_set},
    {"rename", op_rename},
    {"drop_rows", op_drop_rows},
    {"fill_missing", op_fill_missing},
    {"mark_missing_intentional", op_mark},
    {"map", op_map},
};

static const op_def *
find_op(json_object *op)
{
    json_object *v;
    if (!json_object_object_get_ex(op, "op", &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    for (size_t i = 0; i < sizeof(ops_table) / sizeof(ops_table[0]); i++)
        if (strcmp(json_object_get_string(v), ops_table[i].name) == 0)
            return &ops_table[i];
    return NULL;
}

int
sy_impops_apply(sy_arena *a, sy_table *t, json_object *ops,
                const sy_imp_limits *lim, sy_errs *e, sy_imp_applied *out)
{
    if (!json_object_is_type(ops, json_type_array) ||
        json_object_array_length(ops) < 1 ||
        json_object_array_length(ops) > SY_IMPOPS_MAX_OPS)
        return sy_errs_field(e, "ops",
                             "must be an array of 1 to 1000 operations");
    int n = (int)json_object_array_length(ops);
    opctx o = {.a = a, .t = t, .lim = lim, .e = e};
    o.touched = sy_arena_calloc(a, t->cols + 1);
    const char **names = sy_arena_alloc(a, (size_t)n * sizeof(*names));
    if (!o.touched || !names)
        return SY_ENOMEM;
    for (int i = 0; i < n; i++) {
        json_object *op = json_object_array_get_idx(ops, (size_t)i);
        o.index = i;
        const op_def *d = json_object_is_type(op, json_type_object)
                              ? find_op(op)
                              : NULL;
        if (!d)
            return op_error(&o, "op",
                            "must be set, rename, drop_rows, fill_missing, "
                            "mark_missing_intentional or map");
        int rc = d->run(&o, op);
        if (rc < 0)
            return rc;
        names[i] = d->name;
    }
    for (uint32_t c = 0; c < t->cols; c++)
        if (o.all || o.touched[c])
            t->col[c].type = (uint8_t)sy_impops_column_type(t, c);
    *out = (sy_imp_applied){.nops = n, .names = names, .cells = o.cells};
    return 0;
}
