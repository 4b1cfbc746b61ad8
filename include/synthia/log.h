/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log.h - one JSON object per line on stderr (journald picks it up).
 *
 * Every line has time, level, pid, event and, inside a request, its
 * request_id.  Structured lines are built with sy_log_begin/..._end; quick
 * messages with sy_log().  Never log tokens, keys, passwords or photos.
 */
#ifndef SYNTHIA_LOG_H
#define SYNTHIA_LOG_H

#include <stdint.h>

#include "synthia/str.h"

enum sy_log_level {
    SY_LOG_DEBUG = 0,
    SY_LOG_INFO = 1,
    SY_LOG_WARN = 2,
    SY_LOG_ERROR = 3,
};

void sy_log_set_level(int level);
int sy_log_get_level(void);
/* "debug", "info", "warn"/"warning", "error" → level; SY_EINVAL otherwise. */
int sy_log_parse_level(sy_str s, int *level);
/* Request id for following lines of this process (NULL clears it). */
void sy_log_set_request_id(const char *id);
/* Component name written as "proc" (master, responder, cli). */
void sy_log_set_proc(const char *proc);

/* One line: {"time",..,"level",..,"event": event, "msg": formatted}. */
void sy_log(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Structured line: begin, add fields, end (writes it).  begin returns
 * NULL when the level is filtered out; the kv functions accept NULL. */
typedef struct sy_logline sy_logline;
sy_logline *sy_log_begin(int level, const char *event);
void sy_log_str(sy_logline *l, const char *key, sy_str value);
void sy_log_cstr(sy_logline *l, const char *key, const char *value);
void sy_log_int(sy_logline *l, const char *key, int64_t value);
void sy_log_end(sy_logline *l);

/* Access lines may be batched (server.access_log_buffer bytes, at most
 * 4096 so a batch stays one atomic write to a pipe): sy_log_end_access
 * appends the line to the batch instead of writing it.  Any other line
 * flushes the batch first, so order is kept.  The responder flushes when
 * it has nothing waiting, when the oldest line is 100 ms old, and before
 * exiting. */
void sy_log_set_access_buffer(size_t bytes);
void sy_log_end_access(sy_logline *l);

/* Where a batch lives.  By default in the process; a responder keeps
 * its batch in its slot of the shared pool segment, so that the master
 * writes what a killed responder left unwritten (sy_log_write_batch). */
#define SY_LOG_BATCH_MAX 4096
typedef struct sy_log_batch {
    uint32_t len;                /* bytes of whole lines in buf */
    char buf[SY_LOG_BATCH_MAX];
} sy_log_batch;
/* Batch into b from now on (NULL: the process's own); flushes first and
 * starts b empty. */
void sy_log_set_access_batch(sy_log_batch *b);
/* Write b's lines to stderr and empty it: the master does this with the
 * batch of a responder it reaped.  A process killed between the write
 * and the emptying has those lines written twice, never lost. */
void sy_log_write_batch(sy_log_batch *b);
/* Write the batched lines now.  Async-signal-safe when no line is being
 * added at the same time (the responder's timeout handler runs while a
 * handler, not the logger, has control). */
void sy_log_flush(void);
/* Age in microseconds of the oldest batched line, or -1 when none. */
int64_t sy_log_pending_age_us(void);

#endif
