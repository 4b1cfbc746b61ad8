/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * memcache.c - the in-process cache primitive (memcache.h): a hash table
 * of chained slot indexes over a fixed array of slots.  Lookups are
 * O(1); finding a free slot or the least recently used one scans the
 * array, which only puts do, and caches hold at most a few thousand
 * entries.
 */
#include "synthia/memcache.h"

#include <stdlib.h>
#include <string.h>

#include "synthia/clock.h"

#define ALIGN 16

static size_t
value_off(size_t klen)
{
    return (klen + ALIGN - 1) / ALIGN * ALIGN;
}

static uint64_t
hash_key(const void *key, size_t n)
{
    const unsigned char *p = key;
    uint64_t h = 14695981039346656037ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort(); /* as the arena does: the master replaces us */
    return p;
}

static void
init(sy_memcache *c)
{
    if (c->slots)
        return;
    c->slots = xcalloc((size_t)c->max_entries, sizeof(*c->slots));
    c->nbuckets = 1;
    while (c->nbuckets < 2 * c->max_entries)
        c->nbuckets *= 2;
    c->buckets = xcalloc((size_t)c->nbuckets, sizeof(*c->buckets));
    for (int i = 0; i < c->nbuckets; i++)
        c->buckets[i] = -1;
}

static int *
bucket(sy_memcache *c, uint64_t h)
{
    return &c->buckets[h & (uint64_t)(c->nbuckets - 1)];
}

static int
find(sy_memcache *c, const void *key, size_t klen, uint64_t h)
{
    for (int i = *bucket(c, h); i >= 0; i = c->slots[i].next) {
        sy_memcache_slot *s = &c->slots[i];
        if (s->hash == h && s->klen == klen && memcmp(s->data, key, klen) == 0)
            return i;
    }
    return -1;
}

static void
release(sy_memcache *c, int i)
{
    sy_memcache_slot *s = &c->slots[i];
    int *link = bucket(c, s->hash);
    while (*link != i)
        link = &c->slots[*link].next;
    *link = s->next;
    c->bytes -= s->klen + s->vlen;
    c->used--;
    free(s->data);
    memset(s, 0, sizeof(*s));
}

void *
sy_memcache_get(sy_memcache *c, const void *key, size_t klen, size_t *vlen)
{
    int i = c->slots ? find(c, key, klen, hash_key(key, klen)) : -1;
    if (i >= 0 && c->ttl_ms > 0 &&
        sy_mono_us() - c->slots[i].at_us >= c->ttl_ms * 1000) {
        release(c, i);
        i = -1;
    }
    if (i < 0) {
        sy_counter_inc(&c->misses);
        return NULL;
    }
    sy_memcache_slot *s = &c->slots[i];
    s->tick = ++c->tick;
    sy_counter_inc(&c->hits);
    if (vlen)
        *vlen = s->vlen;
    return s->data + value_off(s->klen);
}

/* Make room for need more bytes and one more entry. */
static void
evict(sy_memcache *c, size_t need)
{
    while (c->used > 0 &&
           (c->used >= c->max_entries || c->bytes + need > c->max_bytes)) {
        int lru = -1;
        for (int i = 0; i < c->max_entries; i++)
            if (c->slots[i].data &&
                (lru < 0 || c->slots[i].tick < c->slots[lru].tick))
                lru = i;
        release(c, lru);
        sy_counter_inc(&c->evictions);
    }
}

void *
sy_memcache_put(sy_memcache *c, const void *key, size_t klen,
                const void *val, size_t vlen)
{
    if (klen + vlen > c->max_bytes || c->max_entries <= 0)
        return NULL;
    init(c);
    uint64_t h = hash_key(key, klen);
    int i = find(c, key, klen, h);
    if (i >= 0)
        release(c, i);
    evict(c, klen + vlen);
    for (i = 0; c->slots[i].data; i++)
        ;
    sy_memcache_slot *s = &c->slots[i];
    s->data = xcalloc(1, value_off(klen) + (vlen ? vlen : 1));
    memcpy(s->data, key, klen);
    if (vlen)
        memcpy(s->data + value_off(klen), val, vlen);
    s->klen = (uint32_t)klen;
    s->vlen = (uint32_t)vlen;
    s->hash = h;
    s->at_us = sy_mono_us();
    s->tick = ++c->tick;
    s->next = *bucket(c, h);
    *bucket(c, h) = i;
    c->bytes += klen + vlen;
    c->used++;
    return s->data + value_off(klen);
}

void
sy_memcache_drop(sy_memcache *c, const void *key, size_t klen)
{
    int i = c->slots ? find(c, key, klen, hash_key(key, klen)) : -1;
    if (i >= 0)
        release(c, i);
}

void
sy_memcache_drop_if(sy_memcache *c,
                    bool (*match)(const void *key, size_t klen,
                                  const void *val, size_t vlen, void *ud),
                    void *ud)
{
    for (int i = 0; c->slots && i < c->max_entries; i++) {
        sy_memcache_slot *s = &c->slots[i];
        if (s->data && match(s->data, s->klen, s->data + value_off(s->klen),
                             s->vlen, ud))
            release(c, i);
    }
}

void
sy_memcache_clear(sy_memcache *c)
{
    for (int i = 0; c->slots && i < c->max_entries; i++)
        if (c->slots[i].data)
            release(c, i);
}
