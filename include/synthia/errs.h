/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * errs.h - what went wrong, in words a client may read, without HTTP.
 *
 * Rules in app/domain/ (and the JSON getters they use) report failures
 * here rather than in a response: field errors ([{field, message}], a
 * 422 once rendered) and, for any other refusal, a stable problem code
 * and a sentence.  The HTTP layer embeds one in every response (sy_res)
 * and turns it into problem+json in one place (problem.c); the CLI and
 * the worker print it.  Functions still return their SY_E* code; the
 * errs only add the words.
 */
#ifndef SYNTHIA_ERRS_H
#define SYNTHIA_ERRS_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"

struct json_object;

typedef struct sy_errs {
    sy_arena *arena;
    struct json_object *fields; /* [{field, message}] or NULL; owned by
                                   the arena */
    const char *code;    /* stable snake_case problem code of a refusal
                            ("insufficient_stock"), NULL: by SY_E* code */
    const char *detail;  /* a sentence for the client, NULL: the title */
    int64_t retry_after; /* seconds (Retry-After), 0: none */
} sy_errs;

void sy_errs_init(sy_errs *e, sy_arena *a);

/* Record a field error; returns SY_EVALIDATION (or SY_ENOMEM). */
int sy_errs_field(sy_errs *e, const char *field, const char *message);

/* Record why a request is refused: rc is returned as is, so a rule reads
 * `return sy_errs_fail(e, SY_ECONFLICT, "conflict", "...");`.  code and
 * detail must outlive the request (static strings, or arena memory). */
int sy_errs_fail(sy_errs *e, int rc, const char *code, const char *detail);

/* Were field errors recorded? */
static inline bool
sy_errs_any(const sy_errs *e)
{
    return e->fields != NULL;
}

/* The errors as one line of text for a terminal ("email: must be ...;
 * name: is required"), arena memory; the detail when there are no
 * field errors; NULL when there is nothing. */
const char *sy_errs_text(const sy_errs *e);

#endif
