/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target_csv.c - CSV uploads (sy_csv_parse) and what follows a parse: the
 * column types (sy_impops_type_all) and the stored form of the table
 * (sy_impcodec_encode, then decode).
 *
 * Input: the file as uploaded; the first byte picks the delimiter given
 * (',' ';' tab or detect) when it is one of "0,;T" followed by '\n'.
 * Checked beyond "no crash": every cell lies inside the input or the
 * arena copy of a quoted one, is valid UTF-8 without a NUL, and the
 * table comes back from its stored form cell for cell.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "synthia/csv.h"
#include "synthia/error.h"
#include "synthia/impcodec.h"
#include "synthia/impops.h"
#include "synthia/text.h"

const char fz_target_name[] = "csv";

int
fz_init(void)
{
    return 0;
}

static bool
same(sy_str x, sy_str y)
{
    if (!x.p || !y.p)
        return !x.p && !y.p;
    return x.len == y.len && memcmp(x.p, y.p, x.len) == 0;
}

void
fz_run(const uint8_t *data, size_t size, sy_buf *t)
{
    sy_str in = {(const char *)data, size};
    sy_csv_opts o = {.delimiter = 0, .max_rows = 200, .max_cols = 20,
                     .max_cells = 1000, .max_cell = 256};
    if (size >= 2 && data[1] == '\n' && strchr("0,;T", data[0]) &&
        data[0]) {
        o.delimiter = data[0] == 'T' ? '\t' : data[0] == '0' ? 0 : data[0];
        in.p += 2;
        in.len -= 2;
    }
    sy_arena a;
    sy_arena_init(&a, 4096, 1 << 24);
    sy_table tb;
    sy_csv_info info;
    sy_csv_error err = {0};
    int rc = sy_csv_parse(&a, in, &o, &tb, &info, &err);
    if (rc == SY_EVALIDATION) {
        fz_putc(t, "csv.error", rc, err.message);
        fz_puti(t, "csv.error_row", 0, err.row);
        fz_puti(t, "csv.error_line", 0, err.line);
        if (!err.message || err.line < 1)
            fz_fail("a refusal without a message or a line");
        sy_arena_cleanup(&a);
        return;
    }
    fz_puti(t, "csv.parse", rc, rc == 0 ? (int64_t)tb.rows * 1000 + tb.cols
                                         : 0);
    if (rc < 0) {
        sy_arena_cleanup(&a);
        return;
    }
    if (tb.rows > o.max_rows || tb.cols > o.max_cols || tb.cols == 0)
        fz_fail("table %u x %u past the limits", tb.rows, tb.cols);
    for (uint32_t c = 0; c < tb.cols; c++) {
        if (!tb.col[c].name.len || !sy_text_line_ok(tb.col[c].name))
            fz_fail("column %u: a bad name", c);
        for (uint32_t c2 = 0; c2 < c; c2++)
            if (sy_str_eq(tb.col[c].name, tb.col[c2].name))
                fz_fail("columns %u and %u share a name", c2, c);
        for (uint32_t r = 0; r < tb.rows; r++) {
            sy_str v = *sy_table_at(&tb, r, c);
            if (!v.p)
                continue;
            if (!v.len || !sy_text_multiline_ok(v) ||
                sy_text_trim(v).len != v.len)
                fz_fail("cell (%u, %u) is empty, untrimmed or not text",
                        r, c);
            fz_put(t, "csv.cell", 0, v);
        }
    }
    sy_impops_type_all(&tb);
    for (uint32_t c = 0; c < tb.cols; c++)
        fz_putc(t, "csv.type", 0, sy_impops_type_name(tb.col[c].type));
    sy_str stored;
    rc = sy_impcodec_encode(&a, &tb, &stored);
    fz_puti(t, "impcodec.encode", rc, 0);
    if (rc == 0) {
        sy_table back;
        rc = sy_impcodec_decode(&a, stored, &back);
        fz_puti(t, "impcodec.decode", rc, 0);
        if (rc == SY_EINVAL)
            fz_fail("the codec refused what it wrote");
        if (rc == 0) {
            if (back.rows != tb.rows || back.cols != tb.cols)
                fz_fail("the codec changed the shape");
            for (uint32_t c = 0; c < tb.cols; c++) {
                if (!same(back.col[c].name, tb.col[c].name) ||
                    back.col[c].type != tb.col[c].type)
                    fz_fail("the codec changed column %u", c);
                for (uint32_t r = 0; r < tb.rows; r++)
                    if (!same(*sy_table_at(&back, r, c),
                              *sy_table_at(&tb, r, c)))
                        fz_fail("the codec changed cell (%u, %u)", r, c);
            }
        }
    }
    sy_arena_cleanup(&a);
}
