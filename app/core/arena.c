/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * arena.c - bump allocation in chunks, deferred destructors, a budget.
 *
 * The first chunk is kept across resets, so a responder serving small
 * requests allocates nothing after warm-up; larger requests grow extra
 * chunks that reset returns to the heap, which keeps RSS flat.
 */
#include "synthia/arena.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/error.h"

#define ALIGN 16

struct sy_arena_chunk {
    sy_arena_chunk *next;
    size_t size; /* usable bytes in data */
    size_t used;
    _Alignas(ALIGN) unsigned char data[];
};

struct sy_arena_defer {
    sy_arena_defer_item *next;
    void (*fn)(void *);
    void *ptr;
};

static long fail_countdown; /* torture switch: 0 = off */

long
sy_arena_fail_after(long n)
{
    long left = fail_countdown;
    fail_countdown = n > 0 ? n : 0;
    return left;
}

static int
torture_fail(void)
{
    if (fail_countdown <= 0)
        return 0;
    return --fail_countdown == 0;
}

static void *
xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        abort(); /* a real allocation failure: the master replaces us */
    return p;
}

void
sy_arena_init(sy_arena *a, size_t chunk_size, size_t budget)
{
    memset(a, 0, sizeof(*a));
    a->chunk_size = chunk_size < 1024 ? 1024 : chunk_size;
    a->budget = budget;
}

static void
run_defers(sy_arena *a)
{
    while (a->defers) {
        sy_arena_defer_item *d = a->defers;
        a->defers = d->next;
        d->fn(d->ptr);
    }
}

void
sy_arena_cleanup(sy_arena *a)
{
    run_defers(a);
    while (a->head) {
        sy_arena_chunk *c = a->head;
        a->head = c->next;
        free(c);
    }
    a->used = 0;
}

void
sy_arena_reset(sy_arena *a)
{
    run_defers(a);
    /* keep the oldest chunk of the ordinary size (a big block may sit
     * behind it, so it is not necessarily the last in the list) */
    sy_arena_chunk *keep = NULL;
    while (a->head) {
        sy_arena_chunk *c = a->head;
        a->head = c->next;
        if (c->size == a->chunk_size) {
            free(keep);
            keep = c;
        } else {
            free(c);
        }
    }
    if (keep) {
        keep->used = 0;
        keep->next = NULL;
    }
    a->head = keep;
    a->used = 0;
}

static sy_arena_chunk *
new_chunk(sy_arena *a, size_t need)
{
    size_t size = need > a->chunk_size ? need : a->chunk_size;
    sy_arena_chunk *c = xmalloc(sizeof(*c) + size);
    c->size = size;
    c->used = 0;
    c->next = a->head;
    a->head = c;
    return c;
}

void *
sy_arena_alloc(sy_arena *a, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / 2)
        return NULL;
    size_t rounded = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (a->budget && a->used + rounded > a->budget)
        return NULL;
    if (torture_fail())
        return NULL;
    sy_arena_chunk *c = a->head;
    if (!c || c->size - c->used < rounded) {
        /* big requests get their own chunk behind the current one, so the
         * current chunk's free space is not wasted */
        if (c && rounded > a->chunk_size / 4) {
            sy_arena_chunk *big = xmalloc(sizeof(*big) + rounded);
            big->size = rounded;
            big->used = rounded;
            big->next = c->next;
            c->next = big;
            a->used += rounded;
            return big->data;
        }
        c = new_chunk(a, rounded);
    }
    void *p = c->data + c->used;
    c->used += rounded;
    a->used += rounded;
    return p;
}

void *
sy_arena_calloc(sy_arena *a, size_t n)
{
    void *p = sy_arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *
sy_arena_strndup(sy_arena *a, const char *s, size_t n)
{
    char *p = sy_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = 0;
    return p;
}

int
sy_arena_defer(sy_arena *a, void (*fn)(void *), void *ptr)
{
    sy_arena_defer_item *d = sy_arena_alloc(a, sizeof(*d));
    if (!d) {
        fn(ptr);
        return SY_ENOMEM;
    }
    d->fn = fn;
    d->ptr = ptr;
    d->next = a->defers;
    a->defers = d;
    return 0;
}

size_t
sy_arena_used(const sy_arena *a)
{
    return a->used;
}
