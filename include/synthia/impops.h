/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * impops.h - the rules of an import session's table (app/domain/impops.c):
 * what type a column is, how a cell reads as an amount, a number, a
 * boolean or colours, which product fields a column may be mapped to,
 * and the edit operations of POST /imports/{id}/ops.
 *
 * Column types, from the cells that are not missing (the first type
 * every one of them admits, in this order):
 *   integer   -12, 0, 42 (at most 18 digits)
 *   boolean   true, false, yes, no (any case)
 *   colour    #rgb or #rrggbb, one or more separated by , ; | or spaces
 *   decimal   12.5 or 12,5 (a point or a comma)
 *   money     an amount with at most 2 decimals and an optional
 *             currency: EUR 12.50, 12,50 EUR, EUR12, € 1.234,50,
 *             $1,234.50 (symbols: € $ £ ¥ for EUR USD GBP JPY).  One
 *             separator is the decimal one; thousands separators count
 *             only beside the other kind or repeated (1.234.567).
 *   text      anything else, and a column without cells
 *
 * Operations (a JSON array "ops", applied in order to the table as the
 * earlier ones of the same call left it; all or nothing):
 *   set {row, column, value}          value: string, number, boolean or
 *                                      null (missing); a value clears the
 *                                      cell's intentional-missing mark
 *   rename {from, to}
 *   drop_rows {rows: [...]}            later rows move up
 *   fill_missing {column, value}       cells marked intentional stay
 *   mark_missing_intentional {row, column, intentional?: true}
 *                                      the cell must be missing; false
 *                                      removes the mark
 *   map {column, field}                field null: unmapped; mapping a
 *                                      field mapped elsewhere moves it
 * Rows are 0-based; a column is its name or its 0-based index.
 */
#ifndef SYNTHIA_IMPOPS_H
#define SYNTHIA_IMPOPS_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/errs.h"
#include "synthia/str.h"
#include "synthia/table.h"

struct json_object;

enum sy_imp_type {
    SY_IMP_TEXT = 0,
    SY_IMP_INTEGER,
    SY_IMP_DECIMAL,
    SY_IMP_MONEY,
    SY_IMP_BOOLEAN,
    SY_IMP_COLOUR,
    SY_IMP__TYPES
};

#define SY_IMPOPS_MAX_OPS 1000     /* operations in one call */
#define SY_IMPOPS_MAX_COLOURS 32   /* colours of one cell */
#define SY_IMPOPS_ATTR_KEY_MAX 64  /* attributes.<key> */

/* "integer", ...; "text" for anything unknown. */
const char *sy_impops_type_name(int type);

/* The types a cell's text admits, as bits (1u << type); text always. */
unsigned sy_impops_cell_types(sy_str v);

/* The type of column c (see above), and every column's into its type. */
int sy_impops_column_type(const sy_table *t, uint32_t c);
void sy_impops_type_all(sy_table *t);

/* Readers of one cell (surrounding white space ignored): 0 with the
 * value, or -1.  An amount in minor units (at most 2 decimals, below
 * 10^15 units) and its currency code ("" when none was written); an
 * integer (-10^18 < v < 10^18); a boolean. */
int sy_impops_money(sy_str v, int64_t *cents, char currency[4]);
int sy_impops_integer(sy_str v, int64_t *out);
int sy_impops_boolean(sy_str v, bool *out);
/* Colours into out (room for SY_IMPOPS_MAX_COLOURS, "#rrggbb" in lower
 * case with a NUL): 0 with *n, or -1. */
int sy_impops_colours(sy_str v, char out[][8], int *n);

/* Product fields a column may be mapped to: sku, name, description,
 * category, price (an amount: units and decimals, with its currency),
 * price_cents (whole minor units), currency, stock, colors, image_url,
 * and attributes.<key> (key: 1 to 64 of a-z, 0-9 and '_'). */
bool sy_impops_field_ok(sy_str field);
extern const char *const sy_impops_fields[]; /* NULL-terminated, without
                                                attributes.<key> */

typedef struct sy_imp_limits {
    uint32_t max_cols;
    size_t max_cell; /* bytes of a value */
} sy_imp_limits;

/* What a call of operations did. */
typedef struct sy_imp_applied {
    int nops;
    const char **names; /* their op names, in order (static strings) */
    int64_t cells;      /* cells whose value or mark changed, or that went
                           with their rows */
} sy_imp_applied;

/* Apply the array ops to t, in place, in order; every column whose cells
 * changed is typed again.  0 with *out; SY_EVALIDATION with every problem
 * of the first failing operation in e ("ops[i].<field>"): then t is left
 * half-changed and the caller throws it away (nothing was stored);
 * SY_ENOMEM. */
int sy_impops_apply(sy_arena *a, sy_table *t, struct json_object *ops,
                    const sy_imp_limits *lim, sy_errs *e,
                    sy_imp_applied *out);

#endif
