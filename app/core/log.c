/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log.c - JSON log lines on stderr.
 *
 * A line is built in one process-wide buffer and written with a single
 * write(2), so lines from the master and its responders never interleave
 * (a pipe or an O_APPEND file keeps writes up to PIPE_BUF whole).  The
 * buffer is bounded: an oversized field is cut, never the line's framing.
 */
#include "synthia/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "synthia/clock.h"
#include "synthia/error.h"

#define LINE_MAX_BYTES 8192
#define FIELD_MAX_BYTES 2048

struct sy_logline {
    sy_buf buf;
};

static int min_level = SY_LOG_INFO;
static char request_id[72];
static const char *proc_name = "synthia";
static sy_logline line;

/* The access-line batch: the process's own, or the one a responder
 * keeps in its slot of the shared pool segment (sy_log_set_access_batch)
 * so that its master can write what it leaves behind when it is killed.
 * Lines are copied in before len grows, so len always ends on a line. */
static sy_log_batch own_batch;
static sy_log_batch *batch = &own_batch;
static size_t access_cap; /* 0: write every line at once */
static int64_t access_first_us;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
sy_log_set_level(int level)
{
    min_level = level;
}

int
sy_log_get_level(void)
{
    return min_level;
}

int
sy_log_parse_level(sy_str s, int *level)
{
    for (int i = 0; i < 4; i++) {
        if (sy_str_ieqc(s, level_names[i])) {
            *level = i;
            return 0;
        }
    }
    if (sy_str_ieqc(s, "warning")) {
        *level = SY_LOG_WARN;
        return 0;
    }
    return SY_EINVAL;
}

void
sy_log_set_request_id(const char *id)
{
    if (!id) {
        request_id[0] = 0;
        return;
    }
    size_t n = strlen(id);
    if (n >= sizeof(request_id))
        n = sizeof(request_id) - 1;
    memcpy(request_id, id, n);
    request_id[n] = 0;
}

void
sy_log_set_proc(const char *proc)
{
    proc_name = proc;
}

sy_logline *
sy_log_begin(int level, const char *event)
{
    char ts[32];
    if (level < min_level)
        return NULL;
    if (!line.buf.max)
        sy_buf_init(&line.buf, NULL, LINE_MAX_BYTES);
    sy_buf_reset(&line.buf);
    sy_rfc3339_ms(ts, sizeof(ts), sy_wall_ms());
    sy_buf_puts(&line.buf, "{\"time\":\"");
    sy_buf_puts(&line.buf, ts);
    sy_buf_puts(&line.buf, "\",\"level\":\"");
    sy_buf_puts(&line.buf, level_names[level < 0 ? 0 : level > 3 ? 3 : level]);
    sy_buf_puts(&line.buf, "\",\"proc\":\"");
    sy_buf_puts(&line.buf, proc_name);
    sy_buf_puts(&line.buf, "\",\"pid\":");
    sy_buf_add_i64(&line.buf, getpid());
    sy_buf_puts(&line.buf, ",\"event\":");
    sy_buf_json_str(&line.buf, event, strlen(event));
    if (request_id[0]) {
        sy_buf_puts(&line.buf, ",\"request_id\":");
        sy_buf_json_str(&line.buf, request_id, strlen(request_id));
    }
    return &line;
}

static void
key(sy_logline *l, const char *k)
{
    sy_buf_putc(&l->buf, ',');
    sy_buf_json_str(&l->buf, k, strlen(k));
    sy_buf_putc(&l->buf, ':');
}

void
sy_log_str(sy_logline *l, const char *k, sy_str value)
{
    if (!l)
        return;
    key(l, k);
    if (!value.p) {
        sy_buf_puts(&l->buf, "null");
        return;
    }
    sy_buf_json_str(&l->buf, value.p,
                    value.len > FIELD_MAX_BYTES ? FIELD_MAX_BYTES : value.len);
}

void
sy_log_cstr(sy_logline *l, const char *k, const char *value)
{
    sy_log_str(l, k, sy_str_c(value));
}

void
sy_log_int(sy_logline *l, const char *k, int64_t value)
{
    if (!l)
        return;
    key(l, k);
    sy_buf_add_i64(&l->buf, value);
}

static void
write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break; /* nowhere to report a failing log */
        }
        p += w;
        n -= (size_t)w;
    }
}

void
sy_log_flush(void)
{
    sy_log_write_batch(batch);
}

void
sy_log_write_batch(sy_log_batch *b)
{
    size_t n = b->len;
    if (n > sizeof(b->buf))
        n = 0; /* not ours to trust: a responder died mid-update */
    if (n)
        write_all(b->buf, n);
    /* emptied after the write: a process killed in between has its
     * lines written twice rather than lost */
    __atomic_store_n(&b->len, 0, __ATOMIC_RELEASE);
}

int64_t
sy_log_pending_age_us(void)
{
    return batch->len ? sy_mono_us() - access_first_us : -1;
}

void
sy_log_set_access_buffer(size_t bytes)
{
    sy_log_flush();
    access_cap = bytes > SY_LOG_BATCH_MAX ? SY_LOG_BATCH_MAX : bytes;
}

void
sy_log_set_access_batch(sy_log_batch *b)
{
    sy_log_flush();
    batch = b ? b : &own_batch;
    batch->len = 0;
}

/* Close the line (one that grew past the limit is replaced by a note). */
static void
finish(sy_logline *l)
{
    if (l->buf.failed) { /* too long: say so rather than write half JSON */
        sy_buf_reset(&l->buf);
        sy_buf_puts(&l->buf,
                    "{\"level\":\"error\",\"event\":\"log_truncated\"");
    }
    sy_buf_puts(&l->buf, "}\n");
}

void
sy_log_end(sy_logline *l)
{
    if (!l)
        return;
    finish(l);
    sy_log_flush(); /* batched access lines came first */
    write_all(l->buf.p, l->buf.len);
}

void
sy_log_end_access(sy_logline *l)
{
    if (!l)
        return;
    finish(l);
    if (l->buf.len > access_cap) {
        sy_log_flush();
        write_all(l->buf.p, l->buf.len);
        return;
    }
    if (batch->len + l->buf.len > access_cap)
        sy_log_flush();
    if (!batch->len)
        access_first_us = sy_mono_us();
    memcpy(batch->buf + batch->len, l->buf.p, l->buf.len);
    __atomic_store_n(&batch->len, batch->len + (uint32_t)l->buf.len,
                     __ATOMIC_RELEASE);
}

void
sy_log(int level, const char *event, const char *fmt, ...)
{
    char msg[1024];
    sy_logline *l = sy_log_begin(level, event);
    if (!l)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sy_log_cstr(l, "msg", msg);
    sy_log_end(l);
}
