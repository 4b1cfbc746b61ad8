/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * str.h - length-counted string views and bounded growable buffers.
 *
 * sy_str is a view: it never owns memory.  sy_buf is a growable buffer with
 * a hard maximum (curl's dynbuf idea): an append that would pass the
 * maximum marks the buffer failed and is dropped, so a buffer can never
 * grow without bound.  A buffer allocates from an arena when it has one,
 * otherwise from the heap (then sy_buf_free releases it).
 */
#ifndef SYNTHIA_STR_H
#define SYNTHIA_STR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synthia/arena.h"

typedef struct sy_str {
    const char *p;
    size_t len;
} sy_str;

#define SY_STR(lit) ((sy_str){(lit), sizeof(lit) - 1})
#define SY_STR_NULL ((sy_str){NULL, 0})

/* View of a NUL-terminated string (NULL gives the empty view). */
sy_str sy_str_c(const char *s);
bool sy_str_eq(sy_str a, sy_str b);
bool sy_str_eqc(sy_str a, const char *lit);
/* ASCII case-insensitive comparison. */
bool sy_str_ieqc(sy_str a, const char *lit);
bool sy_str_starts(sy_str a, const char *prefix);
/* The view without HTTP's optional white space (space, tab) at either
 * end (RFC 9110, 5.6.3). */
sy_str sy_str_trim_ows(sy_str s);
/* Arena copy with a terminating NUL, or NULL. */
char *sy_str_dup(sy_arena *a, sy_str s);

/* Strict integer parse of the whole view within [min, max]: 0 or SY_EINVAL.
 * *out is written only on success. */
int sy_parse_i64(sy_str s, int64_t min, int64_t max, int64_t *out);
/* Durations: "250ms", "30s", "15m", "2h", "30d"; a bare number is seconds. */
int sy_parse_duration_ms(sy_str s, int64_t *out_ms);
/* Sizes: "512", "64k", "1M", "2G" (powers of 1024). */
int sy_parse_size(sy_str s, int64_t *out);
/* Booleans: true/false, yes/no, on/off, 1/0. */
int sy_parse_bool(sy_str s, bool *out);

/* Characters (UTF-8 code points) of a valid UTF-8 view: bytes that are
 * not continuation bytes. */
size_t sy_str_utf8_chars(sy_str s);

/* Value of a hexadecimal digit, or -1. */
int sy_hex_digit(char c);

/* Decode %XX and (when plus_is_space) '+'.  Fails on bad escapes and on
 * decoded NUL bytes.  Result is NUL-terminated arena memory. */
int sy_url_decode(sy_arena *a, sy_str in, bool plus_is_space, sy_str *out);

typedef struct sy_buf {
    char *p;
    size_t len;
    size_t cap;
    size_t max;
    sy_arena *arena; /* NULL: heap */
    bool failed;     /* an append was dropped (over max or out of budget) */
} sy_buf;

void sy_buf_init(sy_buf *b, sy_arena *a, size_t max);
void sy_buf_free(sy_buf *b); /* heap buffers only; arena ones go with it */
void sy_buf_reset(sy_buf *b); /* length 0, memory kept */
/* Appends return 0 or SY_ENOMEM (and mark the buffer failed). */
int sy_buf_append(sy_buf *b, const void *p, size_t n);
int sy_buf_puts(sy_buf *b, const char *s);
int sy_buf_putc(sy_buf *b, char c);
int sy_buf_add_str(sy_buf *b, sy_str s);
int sy_buf_printf(sy_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int sy_buf_vprintf(sy_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
int sy_buf_add_i64(sy_buf *b, int64_t v);
/* A JSON string literal (with quotes) of n bytes of p.  Invalid UTF-8
 * bytes become U+FFFD, control characters are escaped. */
int sy_buf_json_str(sy_buf *b, const char *p, size_t n);
/* NUL-terminate without counting it in len; returns the string or NULL. */
const char *sy_buf_cstr(sy_buf *b);
static inline sy_str
sy_buf_str(const sy_buf *b)
{
    return (sy_str){b->p, b->len};
}

#endif
