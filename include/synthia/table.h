/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * table.h - a table of text cells, kept column-major (app/core/table.c).
 *
 * The shape of an import session's spreadsheet: named columns, rows of
 * cells that are text or missing, and a mark per cell ("intentionally
 * missing").  Column-major, so that a column's cells are contiguous: the
 * typing of a column, its missing count and the stored form (which
 * compresses a column's similar values together) all read one run.
 * Cells are views (sy_str); the table never copies them, so they live as
 * long as whatever they point into (the parsed body, the decoded
 * snapshot, the arena).  A missing cell has p == NULL.
 *
 * Pure data and bounds: what a column's type means and which fields it
 * may be mapped to are the import rules' (impops.h); how a table is
 * stored is the store's (impcodec.h).
 */
#ifndef SYNTHIA_TABLE_H
#define SYNTHIA_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/str.h"

typedef struct sy_table_col {
    sy_str name;
    sy_str field; /* what the column is mapped to; empty: nothing */
    uint8_t type; /* the column's type (impops.h's enum) */
} sy_table_col;

typedef struct sy_table {
    uint32_t rows, cols;
    sy_table_col *col; /* cols of them */
    sy_str *cell;      /* cell[c * rows + r]; p == NULL: missing */
    uint8_t *mark;     /* bit c * rows + r: intentionally missing */
} sy_table;

/* An empty table of rows x cols (every cell missing, no marks, columns
 * unnamed) in arena memory.  0, SY_ENOMEM, SY_EINVAL when rows x cols
 * does not fit in 32 bits. */
int sy_table_init(sy_arena *a, sy_table *t, uint32_t rows, uint32_t cols);

/* The cell (r, c); the caller keeps r and c in range. */
static inline sy_str *
sy_table_at(const sy_table *t, uint32_t r, uint32_t c)
{
    return &t->cell[(size_t)c * t->rows + r];
}

static inline bool
sy_table_missing(const sy_table *t, uint32_t r, uint32_t c)
{
    return sy_table_at(t, r, c)->p == NULL;
}

bool sy_table_marked(const sy_table *t, uint32_t r, uint32_t c);
void sy_table_set_mark(sy_table *t, uint32_t r, uint32_t c, bool on);

/* Index of the column named name, or -1. */
int sy_table_find(const sy_table *t, sy_str name);

/* Remove the rows whose drop[r] is true, in place: cells and marks of
 * the rows kept move up, in order. */
void sy_table_drop_rows(sy_table *t, const bool *drop);

/* Missing cells of column c: those marked intentional, and the others. */
void sy_table_missing_counts(const sy_table *t, uint32_t c,
                             uint32_t *missing, uint32_t *intentional);

#endif
