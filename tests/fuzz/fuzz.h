/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz.h - what a fuzz target provides, and what the framework gives it.
 *
 * A target (target_<name>.c) feeds one input to one parser entry point
 * (or a few that belong together) and writes what each call returned into
 * a trace: one line per call, "label rc value".  The same target object
 * is linked two ways:
 *
 *   fuzz_<name>    with libFuzzer (clang, --enable-fuzz; `make fuzz`);
 *   replay_<name>  with replay.c (any compiler; a `make check` test) that
 *                  runs every seed of tests/fuzz/corpus/<name>/ and, for
 *                  each, the allocation-failure sweep.
 *
 * The sweep runs an input once to count its arena allocations K, then
 * again with allocation N failing for N = 1 .. K (sy_arena_fail_after),
 * and compares each trace with the first: at the first line that differs,
 * the call must have returned an error (rc < 0).  A failed allocation may
 * make a parser fail; it must never make it succeed with another answer
 * (say, a page request that silently drops its cursor), crash, or leak
 * (ASan reports leaks at exit).  Under libFuzzer every input gets the
 * first run plus one failing run at an N chosen from the input's hash.
 */
#ifndef SYNTHIA_FUZZ_H
#define SYNTHIA_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "synthia/str.h"

/* ----------------------------------------------- provided by each target */

/* The target's name: its corpus is tests/fuzz/corpus/<name>/. */
extern const char fz_target_name[];

/* Once per process, before the first input (keys, files, config).
 * Returns 0, or -1 to stop. */
int fz_init(void);

/* Feed data to the parser, append one line per call to trace.  Must not
 * allocate from an arena other than those the parsers use (the sweep
 * counts every arena allocation) and must free what it takes. */
void fz_run(const uint8_t *data, size_t size, sy_buf *trace);

/* ------------------------------------------------- provided by common.c */

/* Append "label rc value\n" with value's bytes escaped (\xHH for bytes
 * outside printable ASCII, \\ for a backslash). */
void fz_put(sy_buf *trace, const char *label, int rc, sy_str value);
void fz_putc(sy_buf *trace, const char *label, int rc, const char *value);
void fz_puti(sy_buf *trace, const char *label, int rc, int64_t value);

/* Split at the first c: head before it, tail after it (tail empty when c
 * is absent). */
void fz_split(sy_str in, char c, sy_str *head, sy_str *tail);

/* NUL-terminated malloc'd copy (stops at an embedded NUL, as a C string
 * handed to the parser would). */
char *fz_cstr(sy_str s);

/* Run data once with allocation n failing (0: none); the trace goes to
 * out (a heap buffer the caller frees).  Returns the number of arena
 * allocations made when n == 0, else whether allocation n happened. */
long fz_run_failing(const uint8_t *data, size_t size, long n, sy_buf *out);

/* Compare the trace of a failing run with the clean one (see above).
 * Returns 0, or -1 after printing the defect to stderr. */
int fz_compare(const sy_buf *clean, const sy_buf *failing, long n);

/* Abort with a message: a property of the parser does not hold.  Under
 * libFuzzer this is a crash that saves the input. */
_Noreturn void fz_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
