/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * str.c - string views, the one range-checked number parser, durations,
 * sizes, URL decoding and bounded growable buffers.
 */
#include "synthia/str.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/error.h"

sy_str
sy_str_c(const char *s)
{
    return s ? (sy_str){s, strlen(s)} : (sy_str){NULL, 0};
}

bool
sy_str_eq(sy_str a, sy_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool
sy_str_eqc(sy_str a, const char *lit)
{
    return sy_str_eq(a, sy_str_c(lit));
}

bool
sy_str_ieqc(sy_str a, const char *lit)
{
    size_t n = strlen(lit);
    if (a.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)a.p[i]) != tolower((unsigned char)lit[i]))
            return false;
    return true;
}

bool
sy_str_starts(sy_str a, const char *prefix)
{
    size_t n = strlen(prefix);
    return a.len >= n && (n == 0 || memcmp(a.p, prefix, n) == 0);
}

sy_str
sy_str_trim_ows(sy_str s)
{
    while (s.len && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.len--;
    }
    while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
        s.len--;
    return s;
}

char *
sy_str_dup(sy_arena *a, sy_str s)
{
    return sy_arena_strndup(a, s.p, s.len);
}

int
sy_parse_i64(sy_str s, int64_t min, int64_t max, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    uint64_t v = 0;
    if (s.len == 0 || s.len > 20)
        return SY_EINVAL;
    if (s.p[0] == '-' || s.p[0] == '+') {
        neg = s.p[0] == '-';
        i = 1;
        if (s.len == 1)
            return SY_EINVAL;
    }
    for (; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return SY_EINVAL;
        uint64_t d = (uint64_t)(s.p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return SY_EINVAL;
        v = v * 10 + d;
    }
    if (!neg && v > (uint64_t)INT64_MAX)
        return SY_EINVAL;
    if (neg && v > (uint64_t)INT64_MAX + 1)
        return SY_EINVAL;
    int64_t r = neg ? (int64_t)(0 - v) : (int64_t)v;
    if (r < min || r > max)
        return SY_EINVAL;
    *out = r;
    return 0;
}

/* Split "123unit" into the number and the unit suffix. */
static int
split_unit(sy_str s, int64_t *num, sy_str *unit)
{
    size_t i = 0;
    while (i < s.len && s.p[i] >= '0' && s.p[i] <= '9')
        i++;
    if (i == 0)
        return SY_EINVAL;
    if (sy_parse_i64((sy_str){s.p, i}, 0, INT64_MAX, num) < 0)
        return SY_EINVAL;
    *unit = (sy_str){s.p + i, s.len - i};
    return 0;
}

static int
scale(int64_t num, int64_t mul, int64_t *out)
{
    if (num > INT64_MAX / mul)
        return SY_EINVAL;
    *out = num * mul;
    return 0;
}

int
sy_parse_duration_ms(sy_str s, int64_t *out_ms)
{
    int64_t n;
    sy_str u;
    if (split_unit(s, &n, &u) < 0)
        return SY_EINVAL;
    if (u.len == 0 || sy_str_eqc(u, "s"))
        return scale(n, 1000, out_ms);
    if (sy_str_eqc(u, "ms"))
        return scale(n, 1, out_ms);
    if (sy_str_eqc(u, "m") || sy_str_eqc(u, "min"))
        return scale(n, 60000, out_ms);
    if (sy_str_eqc(u, "h"))
        return scale(n, 3600000, out_ms);
    if (sy_str_eqc(u, "d"))
        return scale(n, 86400000, out_ms);
    return SY_EINVAL;
}

int
sy_parse_size(sy_str s, int64_t *out)
{
    int64_t n;
    sy_str u;
    if (split_unit(s, &n, &u) < 0)
        return SY_EINVAL;
    if (u.len == 0 || sy_str_ieqc(u, "b"))
        return scale(n, 1, out);
    if (sy_str_ieqc(u, "k") || sy_str_ieqc(u, "kb") || sy_str_ieqc(u, "kib"))
        return scale(n, 1024, out);
    if (sy_str_ieqc(u, "m") || sy_str_ieqc(u, "mb") || sy_str_ieqc(u, "mib"))
        return scale(n, 1024 * 1024, out);
    if (sy_str_ieqc(u, "g") || sy_str_ieqc(u, "gb") || sy_str_ieqc(u, "gib"))
        return scale(n, 1024LL * 1024 * 1024, out);
    return SY_EINVAL;
}

int
sy_parse_bool(sy_str s, bool *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (sy_str_ieqc(s, yes[i])) {
            *out = true;
            return 0;
        }
        if (sy_str_ieqc(s, no[i])) {
            *out = false;
            return 0;
        }
    }
    return SY_EINVAL;
}

size_t
sy_str_utf8_chars(sy_str s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        if (((unsigned char)s.p[i] & 0xc0) != 0x80)
            n++;
    return n;
}

int
sy_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
sy_url_decode(sy_arena *a, sy_str in, bool plus_is_space, sy_str *out)
{
    char *d = sy_arena_alloc(a, in.len + 1);
    size_t n = 0;
    if (!d)
        return SY_ENOMEM;
    for (size_t i = 0; i < in.len; i++) {
        char c = in.p[i];
        if (c == '%') {
            int hi, lo;
            if (in.len - i < 3) /* needs '%' and two hex digits */
                return SY_EBADREQ;
            hi = sy_hex_digit(in.p[i + 1]);
            lo = sy_hex_digit(in.p[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return SY_EBADREQ;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        d[n++] = c;
    }
    d[n] = 0;
    *out = (sy_str){d, n};
    return 0;
}

/* ------------------------------------------------------------ buffers */

void
sy_buf_init(sy_buf *b, sy_arena *a, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->arena = a;
    b->max = max;
}

void
sy_buf_free(sy_buf *b)
{
    if (!b->arena)
        free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void
sy_buf_reset(sy_buf *b)
{
    b->len = 0;
    b->failed = false;
}

/* Make room for n more bytes plus a NUL. */
static int
grow(sy_buf *b, size_t n)
{
    if (b->failed)
        return SY_ENOMEM;
    if (n > b->max || b->len + n > b->max) {
        b->failed = true;
        return SY_ENOMEM;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p;
    if (b->arena) {
        p = sy_arena_alloc(b->arena, cap);
        if (!p) {
            b->failed = true;
            return SY_ENOMEM;
        }
        if (b->len)
            memcpy(p, b->p, b->len);
    } else {
        p = realloc(b->p, cap);
        if (!p)
            abort();
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

int
sy_buf_append(sy_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return b->failed ? SY_ENOMEM : 0;
    if (grow(b, n) < 0)
        return SY_ENOMEM;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

int
sy_buf_puts(sy_buf *b, const char *s)
{
    return sy_buf_append(b, s, strlen(s));
}

int
sy_buf_putc(sy_buf *b, char c)
{
    return sy_buf_append(b, &c, 1);
}

int
sy_buf_add_str(sy_buf *b, sy_str s)
{
    return sy_buf_append(b, s.p, s.len);
}

int
sy_buf_vprintf(sy_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || grow(b, (size_t)n) < 0)
        return SY_ENOMEM;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int
sy_buf_printf(sy_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = sy_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int
sy_buf_add_i64(sy_buf *b, int64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    return sy_buf_append(b, tmp + i, sizeof(tmp) - i);
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0) {
        len = 2;
        cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3;
        cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

int
sy_buf_json_str(sy_buf *b, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)p;
    int rc = sy_buf_putc(b, '"');
    size_t run = 0; /* start of bytes that need no escaping */
    for (size_t i = 0; i < n && rc == 0;) {
        unsigned char c = s[i];
        size_t l = c < 0x80 ? 1 : utf8_len(s + i, n - i);
        if (l == 1 && c >= 0x20 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        if (l > 1) {
            i += l;
            continue;
        }
        rc = sy_buf_append(b, s + run, i - run);
        if (rc < 0)
            break;
        if (l == 0) {
            rc = sy_buf_puts(b, "\\ufffd");
        } else if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            rc = sy_buf_append(b, e, 2);
        } else if (c == '\n') {
            rc = sy_buf_puts(b, "\\n");
        } else if (c == '\r') {
            rc = sy_buf_puts(b, "\\r");
        } else if (c == '\t') {
            rc = sy_buf_puts(b, "\\t");
        } else {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            rc = sy_buf_append(b, e, 6);
        }
        i++;
        run = i;
    }
    if (rc == 0)
        rc = sy_buf_append(b, s + run, n - run);
    if (rc == 0)
        rc = sy_buf_putc(b, '"');
    return rc;
}

const char *
sy_buf_cstr(sy_buf *b)
{
    if (b->failed)
        return NULL;
    if (!b->p && grow(b, 0) < 0)
        return NULL;
    if (b->len + 1 > b->cap && grow(b, 0) < 0)
        return NULL;
    b->p[b->len] = 0;
    return b->p;
}
