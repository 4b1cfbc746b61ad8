/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * arena.h - per-request bump allocator with deferred destructors.
 *
 * Every allocation a request makes comes from its arena and is released in
 * one go by sy_arena_reset() once the response is written, so a long-lived
 * responder cannot leak across requests.  Objects owned by libraries
 * (PGresult, json_object, redisReply) are registered with sy_arena_defer()
 * and destroyed at reset, last registered first.
 *
 * The arena has a byte budget: sy_arena_alloc() returns NULL once the
 * request has used more than that, and callers turn it into SY_ENOMEM.  A
 * real malloc failure aborts the process (the master replaces it).
 */
#ifndef SYNTHIA_ARENA_H
#define SYNTHIA_ARENA_H

#include <stddef.h>

typedef struct sy_arena_chunk sy_arena_chunk;
typedef struct sy_arena_defer sy_arena_defer_item;

typedef struct sy_arena {
    sy_arena_chunk *head;        /* current chunk; older ones behind it */
    sy_arena_defer_item *defers; /* LIFO list of destructors */
    size_t chunk_size;           /* size of ordinary chunks */
    size_t used;                 /* bytes handed out since the last reset */
    size_t budget;               /* maximum bytes per request (0: none) */
} sy_arena;

/* Prepare an arena; no memory is taken until the first allocation. */
void sy_arena_init(sy_arena *a, size_t chunk_size, size_t budget);

/* Free every chunk and run pending destructors. */
void sy_arena_cleanup(sy_arena *a);

/* Run destructors and release all but the first chunk for reuse. */
void sy_arena_reset(sy_arena *a);

/* 16-byte aligned memory, or NULL when the budget is exhausted. */
void *sy_arena_alloc(sy_arena *a, size_t n);

/* Zeroed memory, or NULL when the budget is exhausted. */
void *sy_arena_calloc(sy_arena *a, size_t n);

/* NUL-terminated copy of n bytes of s, or NULL. */
char *sy_arena_strndup(sy_arena *a, const char *s, size_t n);

/* Call fn(ptr) at the next reset.  Returns 0 or SY_ENOMEM (then fn(ptr) has
 * already been called, so the caller never leaks ptr). */
int sy_arena_defer(sy_arena *a, void (*fn)(void *), void *ptr);

/* Bytes handed out since the last reset. */
size_t sy_arena_used(const sy_arena *a);

/* Torture switch for tests (always compiled in, off unless called): when
 * n > 0, the nth arena allocation after this call fails as if the budget
 * were spent, in whichever arena it happens; 0 turns it off.  Returns what
 * was left of the previous countdown: 0 when it fired (or was off), so
 * sy_arena_fail_after(LONG_MAX) then sy_arena_fail_after(0) counts the
 * allocations in between.  Process-wide, not thread-safe. */
long sy_arena_fail_after(long n);

#endif
