/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * impcodec.c - an import session's table as stored in Redis
 * (impcodec.h): column-major, varint lengths, LZ4.
 */
#include "synthia/impcodec.h"

#include <lz4.h>
#include <stdint.h>
#include <string.h>

#include "synthia/error.h"

#define RAW_MAGIC "SYT1"
#define ZIP_MAGIC "SYZ1"
#define ZIP_HEADER 8

/* ------------------------------------------------------------ writing */

static size_t
varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *
put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static uint8_t *
put_bytes(uint8_t *p, sy_str s)
{
    p = put_varint(p, s.len);
    if (s.len)
        memcpy(p, s.p, s.len);
    return p + s.len;
}

/* The first marked cell at or after bit i (column-major: i = c * rows
 * + r), or cells when none is.  Marks are rare: whole zero bytes of the
 * bitmap are skipped, so a pass over 120,000 cells costs about 15,000
 * byte reads rather than 120,000 bit tests. */
static uint64_t
next_mark(const sy_table *t, uint64_t i, uint64_t cells)
{
    while (i < cells) {
        uint8_t b = (uint8_t)(t->mark[i / 8] >> (i % 8));
        if (b) {
            i += (uint64_t)__builtin_ctz(b);
            return i < cells ? i : cells;
        }
        i = (i / 8 + 1) * 8;
    }
    return cells;
}

static uint64_t
count_marks(const sy_table *t)
{
    uint64_t n = 0, cells = (uint64_t)t->rows * t->cols;
    for (uint64_t i = next_mark(t, 0, cells); i < cells;
         i = next_mark(t, i + 1, cells))
        n++;
    return n;
}

/* Bytes of the raw form of t. */
static uint64_t
raw_size(const sy_table *t, uint64_t marks)
{
    uint64_t n = 4 + varint_len(t->rows) + varint_len(t->cols);
    for (uint32_t c = 0; c < t->cols; c++)
        n += varint_len(t->col[c].name.len) + t->col[c].name.len +
             varint_len(t->col[c].field.len) + t->col[c].field.len + 1;
    uint64_t cells = (uint64_t)t->rows * t->cols;
    for (uint64_t i = 0; i < cells; i++)
        n += t->cell[i].p ? varint_len(t->cell[i].len + 1) + t->cell[i].len
                          : 1;
    n += varint_len(marks);
    for (uint64_t i = next_mark(t, 0, cells); i < cells;
         i = next_mark(t, i + 1, cells))
        n += varint_len(i / t->rows) + varint_len(i % t->rows);
    return n;
}

static void
write_raw(const sy_table *t, uint64_t marks, uint8_t *p)
{
    memcpy(p, RAW_MAGIC, 4);
    p = put_varint(p + 4, t->rows);
    p = put_varint(p, t->cols);
    for (uint32_t c = 0; c < t->cols; c++) {
        p = put_bytes(p, t->col[c].name);
        p = put_bytes(p, t->col[c].field);
        *p++ = t->col[c].type;
    }
    uint64_t cells = (uint64_t)t->rows * t->cols;
    for (uint64_t i = 0; i < cells; i++) {
        const sy_str *s = &t->cell[i];
        if (!s->p) {
            *p++ = 0;
            continue;
        }
        p = put_varint(p, s->len + 1);
        memcpy(p, s->p, s->len);
        p += s->len;
    }
    p = put_varint(p, marks);
    for (uint64_t i = next_mark(t, 0, cells); i < cells;
         i = next_mark(t, i + 1, cells)) {
        p = put_varint(p, i / t->rows);
        p = put_varint(p, i % t->rows);
    }
}

int
sy_impcodec_encode(sy_arena *a, const sy_table *t, sy_str *out)
{
    uint64_t marks = count_marks(t);
    uint64_t n = raw_size(t, marks);
    if (n > SY_IMPCODEC_RAW_MAX)
        return SY_ETOOBIG;
    uint8_t *raw = sy_arena_alloc(a, n);
    int bound = LZ4_compressBound((int)n);
    uint8_t *z = bound > 0 ? sy_arena_alloc(a, ZIP_HEADER + (size_t)bound)
                           : NULL;
    if (!raw || !z)
        return SY_ENOMEM;
    write_raw(t, marks, raw);
    memcpy(z, ZIP_MAGIC, 4);
    for (int i = 0; i < 4; i++)
        z[4 + i] = (uint8_t)(n >> (8 * i));
    int zn = LZ4_compress_default((const char *)raw, (char *)z + ZIP_HEADER,
                                  (int)n, bound);
    if (zn <= 0)
        return SY_EINTERNAL;
    *out = (sy_str){(const char *)z, ZIP_HEADER + (size_t)zn};
    return 0;
}

/* ------------------------------------------------------------ reading */

typedef struct reader {
    const uint8_t *p, *end;
    bool bad;
} reader;

static uint64_t
get_varint(reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->bad = true;
            return 0;
        }
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

static sy_str
get_bytes(reader *r, uint64_t n)
{
    if (r->bad || n > (uint64_t)(r->end - r->p)) {
        r->bad = true;
        return SY_STR_NULL;
    }
    sy_str s = {(const char *)r->p, (size_t)n};
    r->p += n;
    return s;
}

static int
read_columns(reader *r, sy_table *t)
{
    for (uint32_t c = 0; c < t->cols && !r->bad; c++) {
        t->col[c].name = get_bytes(r, get_varint(r));
        t->col[c].field = get_bytes(r, get_varint(r));
        sy_str type = get_bytes(r, 1);
        t->col[c].type = type.p ? (uint8_t)type.p[0] : 0;
    }
    return r->bad ? SY_EINVAL : 0;
}

static int
read_cells(reader *r, sy_table *t)
{
    uint64_t cells = (uint64_t)t->rows * t->cols;
    for (uint64_t i = 0; i < cells && !r->bad; i++) {
        uint64_t n = get_varint(r);
        if (n == 1)
            r->bad = true; /* an empty cell is written as missing */
        else if (n > 1)
            t->cell[i] = get_bytes(r, n - 1);
    }
    uint64_t marks = get_varint(r);
    if (marks > cells)
        r->bad = true;
    for (uint64_t i = 0; i < marks && !r->bad; i++) {
        uint64_t c = get_varint(r), row = get_varint(r);
        if (c >= t->cols || row >= t->rows)
            r->bad = true;
        else
            sy_table_set_mark(t, (uint32_t)row, (uint32_t)c, true);
    }
    return r->bad || r->p != r->end ? SY_EINVAL : 0;
}

int
sy_impcodec_decode(sy_arena *a, sy_str stored, sy_table *out)
{
    const uint8_t *z = (const uint8_t *)stored.p;
    if (stored.len < ZIP_HEADER || memcmp(z, ZIP_MAGIC, 4) != 0 ||
        stored.len - ZIP_HEADER > INT32_MAX)
        return SY_EINVAL;
    uint32_t n = 0;
    for (int i = 0; i < 4; i++)
        n |= (uint32_t)z[4 + i] << (8 * i);
    if (n < 6 || n > SY_IMPCODEC_RAW_MAX)
        return SY_EINVAL;
    uint8_t *raw = sy_arena_alloc(a, n);
    if (!raw)
        return SY_ENOMEM;
    int got = LZ4_decompress_safe((const char *)z + ZIP_HEADER, (char *)raw,
                                  (int)(stored.len - ZIP_HEADER), (int)n);
    if (got != (int)n || memcmp(raw, RAW_MAGIC, 4) != 0)
        return SY_EINVAL;
    reader r = {raw + 4, raw + n, false};
    uint64_t rows = get_varint(&r), cols = get_varint(&r);
    /* every cell takes at least one byte: no table larger than that */
    if (r.bad || rows > UINT32_MAX || cols > UINT32_MAX ||
        rows * cols > (uint64_t)(r.end - r.p) || (cols == 0 && rows > n))
        return SY_EINVAL;
    sy_table t;
    int rc = sy_table_init(a, &t, (uint32_t)rows, (uint32_t)cols);
    if (rc == 0)
        rc = read_columns(&r, &t);
    if (rc == 0)
        rc = read_cells(&r, &t);
    if (rc < 0)
        return rc == SY_ENOMEM ? rc : SY_EINVAL;
    *out = t;
    return 0;
}
