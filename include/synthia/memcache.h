/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * memcache.h - the one in-process cache primitive (app/core/memcache.c).
 *
 * A bounded map from byte keys to byte values in this process's memory:
 * at most max_entries entries and max_bytes of keys and values, each
 * entry at most ttl_ms old (0: no age limit), the least recently used
 * entry evicted first.  Hits, misses and evictions are counted in
 * /metrics as synthia_memcache_{hits,misses,evictions}_total{cache}.
 * Not shared between processes: every responder has its own, so what a
 * cache may serve stale is bounded by its TTL, or by an explicit check
 * against the shared store (README, "In-process caches").
 *
 * A cache is a static object made with SY_MEMCACHE and registered with
 * SY_MEMCACHE_REGISTER; its memory is allocated on first use.  Values
 * are stored 16-byte aligned, so a struct may be kept and updated in
 * place through the pointer a get returns.
 */
#ifndef SYNTHIA_MEMCACHE_H
#define SYNTHIA_MEMCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synthia/metrics.h"

typedef struct sy_memcache_slot {
    unsigned char *data; /* key, then the value at an aligned offset */
    uint32_t klen, vlen;
    uint64_t hash;
    int64_t at_us;  /* stored */
    uint64_t tick;  /* last use */
    int next;       /* hash chain, -1: end */
} sy_memcache_slot;

typedef struct sy_memcache {
    const char *name;
    int max_entries;
    size_t max_bytes;
    int64_t ttl_ms;
    sy_metric hits, misses, evictions;
    /* state, allocated on first use */
    sy_memcache_slot *slots;
    int *buckets;
    int nbuckets;
    int used;
    size_t bytes;
    uint64_t tick;
} sy_memcache;

#define SY_MEMCACHE_METRIC_(what, help_, label)                             \
    {.name = "synthia_memcache_" what "_total", .help = help_,             \
     .labels = "cache=\"" label "\""}
/* A cache named label (a string literal: its metrics label). */
#define SY_MEMCACHE(label, entries, bytes_, ttl)                            \
    {.name = label, .max_entries = (entries), .max_bytes = (bytes_),       \
     .ttl_ms = (ttl),                                                       \
     .hits = SY_MEMCACHE_METRIC_("hits", "In-process cache hits.", label), \
     .misses = SY_MEMCACHE_METRIC_("misses", "In-process cache misses.",   \
                                   label),                                  \
     .evictions = SY_MEMCACHE_METRIC_(                                      \
         "evictions", "In-process cache entries evicted to make room.",     \
         label)}
#define SY_MEMCACHE_REGISTER(c)                                             \
    SY_METRICS_REGISTER(&(c).hits, &(c).misses, &(c).evictions)

/* The value stored for key (NULL on a miss or when older than the TTL;
 * then counted as a miss), *vlen its length.  The pointer stays valid
 * until the next put, drop or clear of this cache. */
void *sy_memcache_get(sy_memcache *c, const void *key, size_t klen,
                      size_t *vlen);

/* Store a copy of the value for key, replacing any, evicting the least
 * recently used entries past the bounds.  Returns the stored copy, or
 * NULL when key and value alone are over max_bytes (nothing stored).
 * A real allocation failure aborts (as the arena does). */
void *sy_memcache_put(sy_memcache *c, const void *key, size_t klen,
                      const void *val, size_t vlen);

/* Forget key. */
void sy_memcache_drop(sy_memcache *c, const void *key, size_t klen);

/* Forget every entry for which match(key, value, ud) is true. */
void sy_memcache_drop_if(sy_memcache *c,
                         bool (*match)(const void *key, size_t klen,
                                       const void *val, size_t vlen,
                                       void *ud),
                         void *ud);

/* Forget everything. */
void sy_memcache_clear(sy_memcache *c);

#endif
