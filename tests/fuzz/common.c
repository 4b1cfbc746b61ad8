/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * common.c - the part of every fuzz target that is not about its parser:
 * traces, input helpers, the allocation-failure runs and the libFuzzer
 * entry points (fuzz.h says how they fit together).
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "synthia/arena.h"
#include "synthia/crypto.h"

#define TRACE_MAX (16u << 20)

void
fz_put(sy_buf *trace, const char *label, int rc, sy_str value)
{
    static const char hex[] = "0123456789abcdef";
    sy_buf_printf(trace, "%s %d ", label, rc);
    for (size_t i = 0; i < value.len; i++) {
        unsigned char c = (unsigned char)value.p[i];
        if (c == '\\') {
            sy_buf_append(trace, "\\\\", 2);
        } else if (c >= 0x20 && c < 0x7f) {
            sy_buf_putc(trace, (char)c);
        } else {
            char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            sy_buf_append(trace, e, 4);
        }
    }
    sy_buf_putc(trace, '\n');
}

void
fz_putc(sy_buf *trace, const char *label, int rc, const char *value)
{
    fz_put(trace, label, rc, value ? sy_str_c(value) : SY_STR("(null)"));
}

void
fz_puti(sy_buf *trace, const char *label, int rc, int64_t value)
{
    sy_buf_printf(trace, "%s %d %lld\n", label, rc, (long long)value);
}

void
fz_split(sy_str in, char c, sy_str *head, sy_str *tail)
{
    const char *at = in.len ? memchr(in.p, c, in.len) : NULL;
    if (!at) {
        *head = in;
        *tail = (sy_str){in.p ? in.p + in.len : "", 0};
        return;
    }
    *head = (sy_str){in.p, (size_t)(at - in.p)};
    *tail = (sy_str){at + 1, in.len - head->len - 1};
}

char *
fz_cstr(sy_str s)
{
    size_t n = s.len ? strnlen(s.p, s.len) : 0;
    char *c = malloc(n + 1);
    if (!c)
        abort();
    if (n)
        memcpy(c, s.p, n);
    c[n] = 0;
    return c;
}

void
fz_fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fuzz %s: ", fz_target_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

long
fz_run_failing(const uint8_t *data, size_t size, long n, sy_buf *out)
{
    sy_buf_init(out, NULL, TRACE_MAX);
    sy_arena_fail_after(n > 0 ? n : LONG_MAX);
    fz_run(data, size, out);
    long left = sy_arena_fail_after(0);
    if (out->failed)
        fz_fail("the trace is over %u bytes", TRACE_MAX);
    if (n > 0)
        return left == 0; /* the countdown reached n: it fired */
    return LONG_MAX - left;
}

/* Line i of a trace (its start and length), or false past the end. */
static bool
line_at(const sy_buf *b, size_t *off, sy_str *line)
{
    if (*off >= b->len)
        return false;
    const char *p = b->p + *off;
    const char *nl = memchr(p, '\n', b->len - *off);
    size_t n = nl ? (size_t)(nl - p) : b->len - *off;
    *line = (sy_str){p, n};
    *off += n + (nl ? 1 : 0);
    return true;
}

/* The rc of "label rc value", or 0 when the line has none. */
static long
line_rc(sy_str line)
{
    const char *sp = memchr(line.p, ' ', line.len);
    if (!sp)
        return 0;
    char num[24];
    size_t n = 0, i = (size_t)(sp + 1 - line.p);
    while (i < line.len && line.p[i] != ' ' && n < sizeof(num) - 1)
        num[n++] = line.p[i++];
    num[n] = 0;
    return strtol(num, NULL, 10);
}

int
fz_compare(const sy_buf *clean, const sy_buf *failing, long n)
{
    size_t oc = 0, of = 0;
    int lineno = 0;
    for (;;) {
        sy_str lc = SY_STR_NULL, lf = SY_STR_NULL;
        bool hc = line_at(clean, &oc, &lc);
        bool hf = line_at(failing, &of, &lf);
        lineno++;
        if (!hc && !hf)
            return 0;
        if (hc && hf && sy_str_eq(lc, lf))
            continue;
        if (hf && line_rc(lf) < 0)
            return 0; /* the failure surfaced as an error: what we want */
        fprintf(stderr,
                "fuzz %s: allocation %ld failed and line %d of the trace "
                "changed without an error:\n  clean:   %.*s\n  failing: "
                "%.*s\n",
                fz_target_name, n, lineno, hc ? (int)lc.len : 6,
                hc ? lc.p : "(none)", hf ? (int)lf.len : 6,
                hf ? lf.p : "(none)");
        return -1;
    }
}

/* ------------------------------------------------------------ libFuzzer */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (fz_init() < 0)
        fz_fail("initialisation failed");
    return 0;
}

/* The clean run, then one failing run at an allocation picked from the
 * input's hash (deterministic, as libFuzzer wants). */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sy_buf clean, failing;
    long k = fz_run_failing(data, size, 0, &clean);
    if (k > 0) {
        unsigned char h[SY_SHA256_LEN];
        sy_sha256(data, size, h);
        uint32_t pick = (uint32_t)h[0] | (uint32_t)h[1] << 8 |
                        (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
        long n = 1 + (long)(pick % (uint32_t)(k > 1000000 ? 1000000 : k));
        fz_run_failing(data, size, n, &failing);
        int rc = fz_compare(&clean, &failing, n);
        sy_buf_free(&failing);
        if (rc < 0)
            abort();
    }
    sy_buf_free(&clean);
    return 0;
}
