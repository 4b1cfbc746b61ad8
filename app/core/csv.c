/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * csv.c - RFC 4180 CSV into a column-major table (csv.h).
 *
 * A lexer reads one field at a time (quoted or not) and says whether
 * its record goes on.  The first pass reads every record to check it
 * (structure, UTF-8, control characters, limits) and count rows; the
 * second, which cannot fail but for memory, fills the table: a cell is
 * a view into the input, or a copy when doubled quotes must be undone.
 */
#include "synthia/csv.h"

#include <stdio.h>
#include <string.h>

#include "synthia/error.h"
#include "synthia/text.h"

enum { F_ERROR = -1, F_MORE = 0, F_END = 1 };

typedef struct lexer {
    const char *p, *end;
    char delim;
    int64_t line; /* of the file at p, 1-based */
} lexer;

typedef struct field {
    const char *p; /* content (inside the quotes of a quoted field) */
    size_t len;
    size_t quotes; /* doubled quotes in it, each one '"' of the value */
    bool quoted;
} field;

/* Line breaks (CRLF, LF or a lone CR each count one) in p[0..n). */
static int64_t
breaks(const char *p, size_t n)
{
    int64_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n')
            k++;
        else if (p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n'))
            k++;
    }
    return k;
}

/* After a field: the delimiter (F_MORE), a line break or the end of the
 * input (F_END), or anything else (F_ERROR). */
static int
after_field(lexer *lx)
{
    const char *p = lx->p;
    if (p == lx->end)
        return F_END;
    if (*p == lx->delim) {
        lx->p = p + 1;
        return F_MORE;
    }
    if (*p == '\r') {
        p++;
        if (p < lx->end && *p == '\n')
            p++;
    } else if (*p == '\n') {
        p++;
    } else {
        return F_ERROR;
    }
    lx->p = p;
    lx->line++;
    return F_END;
}

/* Read the field at lx->p into *f: F_MORE when another field of the
 * same record follows, F_END when the record ended, F_ERROR with *why. */
static int
next_field(lexer *lx, field *f, const char **why)
{
    const char *p = lx->p, *end = lx->end;
    if (p < end && *p == '"') {
        const char *s = ++p;
        size_t q = 0;
        for (;;) {
            const char *hit = memchr(p, '"', (size_t)(end - p));
            if (!hit) {
                *why = "a quoted field is not closed (a '\"' is missing)";
                return F_ERROR;
            }
            if (hit + 1 < end && hit[1] == '"') {
                q++;
                p = hit + 2;
                continue;
            }
            p = hit;
            break;
        }
        *f = (field){s, (size_t)(p - s), q, true};
        lx->line += breaks(s, f->len);
        lx->p = p + 1;
        int rc = after_field(lx);
        if (rc == F_ERROR)
            *why = "a closing '\"' must be followed by the delimiter or "
                   "the end of the line";
        return rc;
    }
    const char *s = p;
    while (p < end && *p != lx->delim && *p != '\r' && *p != '\n')
        p++;
    *f = (field){s, (size_t)(p - s), 0, false};
    lx->p = p;
    return after_field(lx);
}

/* The first record's most frequent delimiter outside quotes. */
static char
detect(sy_str in)
{
    size_t comma = 0, semi = 0, tab = 0;
    bool quoted = false;
    for (size_t i = 0; i < in.len; i++) {
        char c = in.p[i];
        if (c == '"')
            quoted = !quoted;
        else if (quoted)
            continue;
        else if (c == '\r' || c == '\n')
            break;
        else if (c == ',')
            comma++;
        else if (c == ';')
            semi++;
        else if (c == '\t')
            tab++;
    }
    if (semi > comma && semi >= tab)
        return ';';
    if (tab > comma && tab > semi)
        return '\t';
    return ',';
}

/* The trimmed content of a field, as written (doubled quotes and all). */
static sy_str
raw_trimmed(const field *f)
{
    return sy_text_trim((sy_str){f->p, f->len});
}

/* A blank line: a record of one unquoted field of white space only. */
static bool
blank(const field *f, int rc)
{
    return rc == F_END && !f->quoted && raw_trimmed(f).len == 0;
}

/* Content rules of a cell (header: a line without control characters). */
static const char *
content_problem(const field *f, bool header, size_t max_cell)
{
    sy_str s = {f->p, f->len};
    if (f->len > max_cell)
        return header ? "a column name is longer than the cell limit"
                      : "a cell is larger than the cell limit";
    if (!sy_text_utf8(s))
        return "the text is not valid UTF-8";
    if (memchr(s.p, '\0', s.len))
        return "the text contains a NUL byte";
    if (header ? !sy_text_line_ok(raw_trimmed(f)) : !sy_text_multiline_ok(s))
        return header ? "a column name contains a control character or a "
                        "line break"
                      : "the text contains a control character";
    if (header &&
        sy_str_utf8_chars(raw_trimmed(f)) - f->quotes > SY_CSV_NAME_MAX)
        return "a column name is longer than 200 characters";
    return NULL;
}

typedef struct scan {
    sy_str in;
    const sy_csv_opts *o;
    char delim;
    uint32_t cols, rows;
    sy_csv_error *err;
} scan;

static int
fail(scan *s, const char *msg, int64_t row, int64_t line, int64_t col)
{
    *s->err = (sy_csv_error){msg, row, line, col};
    return SY_EVALIDATION;
}

/* Pass 1: check every record, count the columns and rows. */
static int
check(scan *s)
{
    lexer lx = {s->in.p, s->in.p + s->in.len, s->delim, 1};
    field f;
    const char *why;
    int64_t row = -1; /* the header first */
    while (lx.p < lx.end) {
        int64_t line = lx.line;
        uint32_t n = 0;
        int rc;
        do {
            rc = next_field(&lx, &f, &why);
            if (rc == F_ERROR)
                return fail(s, why, row, line, n);
            if (n == 0 && blank(&f, rc))
                break;
            if (row < 0 && n >= s->o->max_cols)
                return fail(s, "the file has more columns than allowed",
                            row, line, n);
            if (row >= 0 && n >= s->cols && raw_trimmed(&f).len > 0)
                return fail(s, "the row has more fields than the header has "
                               "columns",
                            row, line, n);
            const char *bad = content_problem(&f, row < 0, s->o->max_cell);
            if (bad)
                return fail(s, bad, row, line, n);
            n++;
        } while (rc == F_MORE);
        if (n == 0)
            continue; /* a blank line */
        if (row < 0) {
            s->cols = n;
        } else {
            if ((uint64_t)row + 1 > s->o->max_rows)
                return fail(s, "the file has more rows than allowed", row,
                            line, -1);
            if (((uint64_t)row + 1) * s->cols > s->o->max_cells)
                return fail(s, "the file has more cells than allowed", row,
                            line, -1);
        }
        row++;
    }
    if (row < 0)
        return fail(s, "the file is empty: the first line must name the "
                       "columns",
                    -1, 1, -1);
    s->rows = (uint32_t)row;
    return 0;
}

/* The value of a field: trimmed, doubled quotes undone (copied then). */
static int
value(sy_arena *a, const field *f, sy_str *out)
{
    sy_str t = raw_trimmed(f);
    if (!f->quotes) {
        *out = t;
        return 0;
    }
    char *v = sy_arena_alloc(a, t.len + 1);
    if (!v)
        return SY_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < t.len; i++) {
        v[n++] = t.p[i];
        if (t.p[i] == '"' && i + 1 < t.len && t.p[i + 1] == '"')
            i++;
    }
    v[n] = '\0';
    *out = (sy_str){v, n};
    return 0;
}

static bool
name_taken(const sy_table *t, uint32_t upto, sy_str name)
{
    for (uint32_t c = 0; c < upto; c++)
        if (sy_str_eq(t->col[c].name, name))
            return true;
    return false;
}

/* Column c's name: its header cell, "column_N" when empty, "name (k)"
 * when an earlier column has it. */
static int
name_column(sy_arena *a, sy_table *t, uint32_t c, sy_str v)
{
    sy_buf b;
    sy_buf_init(&b, a, v.len + 32);
    if (v.len == 0)
        sy_buf_printf(&b, "column_%u", c + 1);
    else
        sy_buf_add_str(&b, v);
    size_t base = b.len;
    for (unsigned k = 2; !b.failed && name_taken(t, c, sy_buf_str(&b)); k++) {
        b.len = base;
        sy_buf_printf(&b, " (%u)", k);
    }
    if (!sy_buf_cstr(&b))
        return SY_ENOMEM;
    t->col[c].name = sy_buf_str(&b);
    return 0;
}

/* Pass 2: the table.  The input passed check(), so the lexer cannot
 * fail here. */
static int
fill(sy_arena *a, const scan *s, sy_table *t)
{
    lexer lx = {s->in.p, s->in.p + s->in.len, s->delim, 1};
    field f;
    const char *why;
    int64_t row = -1;
    int rc = sy_table_init(a, t, s->rows, s->cols);
    while (rc == 0 && lx.p < lx.end) {
        uint32_t n = 0;
        int more;
        do {
            more = next_field(&lx, &f, &why);
            if (more == F_ERROR)
                return SY_EINTERNAL;
            if (n == 0 && blank(&f, more))
                break;
            sy_str v;
            if (n < s->cols && (rc = value(a, &f, &v)) == 0) {
                if (row < 0)
                    rc = name_column(a, t, n, v);
                else if (v.len > 0)
                    *sy_table_at(t, (uint32_t)row, n) = v;
            }
            n++;
        } while (rc == 0 && more == F_MORE);
        if (n > 0)
            row++;
    }
    return rc;
}

int
sy_csv_parse(sy_arena *a, sy_str in, const sy_csv_opts *o, sy_table *out,
             sy_csv_info *info, sy_csv_error *err)
{
    sy_csv_info inf = {0};
    if (in.len >= 3 && memcmp(in.p, "\xef\xbb\xbf", 3) == 0) {
        inf.bom = true;
        in.p += 3;
        in.len -= 3;
    }
    inf.delimiter = o->delimiter ? o->delimiter : detect(in);
    scan s = {.in = in, .o = o, .delim = inf.delimiter, .err = err};
    sy_table t;
    int rc = check(&s);
    if (rc == 0)
        rc = fill(a, &s, &t);
    if (rc < 0)
        return rc;
    *out = t;
    *info = inf;
    return 0;
}
