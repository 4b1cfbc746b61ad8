/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * table.c - a column-major table of text cells (table.h): allocation,
 * marks (one bit a cell), lookups by name and dropping rows in place.
 */
#include "synthia/table.h"

#include <string.h>

#include "synthia/error.h"

int
sy_table_init(sy_arena *a, sy_table *t, uint32_t rows, uint32_t cols)
{
    uint64_t n = (uint64_t)rows * cols;
    if (n > UINT32_MAX)
        return SY_EINVAL;
    sy_table_col *col = sy_arena_calloc(a, (cols ? cols : 1) * sizeof(*col));
    sy_str *cell = sy_arena_calloc(a, (n ? n : 1) * sizeof(*cell));
    uint8_t *mark = sy_arena_calloc(a, n / 8 + 1);
    if (!col || !cell || !mark)
        return SY_ENOMEM;
    *t = (sy_table){.rows = rows, .cols = cols, .col = col, .cell = cell,
                    .mark = mark};
    return 0;
}

static inline size_t
bit_of(const sy_table *t, uint32_t r, uint32_t c)
{
    return (size_t)c * t->rows + r;
}

static inline bool
bit_get(const uint8_t *m, size_t i)
{
    return (m[i / 8] >> (i % 8)) & 1;
}

static inline void
bit_put(uint8_t *m, size_t i, bool on)
{
    if (on)
        m[i / 8] |= (uint8_t)(1u << (i % 8));
    else
        m[i / 8] &= (uint8_t)~(1u << (i % 8));
}

bool
sy_table_marked(const sy_table *t, uint32_t r, uint32_t c)
{
    return bit_get(t->mark, bit_of(t, r, c));
}

void
sy_table_set_mark(sy_table *t, uint32_t r, uint32_t c, bool on)
{
    bit_put(t->mark, bit_of(t, r, c), on);
}

int
sy_table_find(const sy_table *t, sy_str name)
{
    for (uint32_t c = 0; c < t->cols; c++)
        if (sy_str_eq(t->col[c].name, name))
            return (int)c;
    return -1;
}

void
sy_table_drop_rows(sy_table *t, const bool *drop)
{
    uint32_t kept = 0;
    for (uint32_t r = 0; r < t->rows; r++)
        kept += !drop[r];
    /* The write position never passes the read position, so one forward
     * pass moves everything; bits past the new end are cleared. */
    size_t w = 0, total = (size_t)t->rows * t->cols;
    for (uint32_t c = 0; c < t->cols; c++) {
        for (uint32_t r = 0; r < t->rows; r++) {
            size_t i = bit_of(t, r, c);
            if (drop[r])
                continue;
            t->cell[w] = t->cell[i];
            bit_put(t->mark, w, bit_get(t->mark, i));
            w++;
        }
    }
    for (size_t i = w; i < total; i++)
        bit_put(t->mark, i, false);
    t->rows = kept;
}

void
sy_table_missing_counts(const sy_table *t, uint32_t c, uint32_t *missing,
                        uint32_t *intentional)
{
    uint32_t m = 0, k = 0;
    const sy_str *col = &t->cell[(size_t)c * t->rows];
    for (uint32_t r = 0; r < t->rows; r++) {
        if (col[r].p)
            continue;
        if (sy_table_marked(t, r, c))
            k++;
        else
            m++;
    }
    *missing = m;
    *intentional = k;
}
