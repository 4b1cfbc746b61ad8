/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_memcache.c - the in-process cache primitive (memcache.h):
 * lookups and replacement, the entry and byte bounds with least recently
 * used eviction, the TTL, dropping by key and by predicate, aligned
 * values updated in place, and the hit/miss/eviction counters.
 */
#include <stdint.h>
#include <time.h>

#include "sycheck.h"
#include "synthia/memcache.h"

static sy_memcache small = SY_MEMCACHE("test_small", 3, 1000, 0);
static sy_memcache tiny_bytes = SY_MEMCACHE("test_bytes", 100, 40, 0);
static sy_memcache aging = SY_MEMCACHE("test_ttl", 10, 1000, 50);
SY_MEMCACHE_REGISTER(small)

static const char *
get(sy_memcache *c, const char *k)
{
    size_t n = 0;
    const char *v = sy_memcache_get(c, k, strlen(k), &n);
    static char out[128];
    if (!v)
        return NULL;
    memcpy(out, v, n);
    out[n] = '\0';
    return out;
}

static void
put(sy_memcache *c, const char *k, const char *v)
{
    ck_assert_ptr_nonnull(sy_memcache_put(c, k, strlen(k), v, strlen(v)));
}

START_TEST(test_put_get_replace_drop)
{
    ck_assert_ptr_null(get(&small, "a"));
    put(&small, "a", "one");
    put(&small, "b", "two");
    ck_assert_str_eq(get(&small, "a"), "one");
    put(&small, "a", "uno");
    ck_assert_str_eq(get(&small, "a"), "uno");
    ck_assert_int_eq(small.used, 2);
    sy_memcache_drop(&small, "a", 1);
    ck_assert_ptr_null(get(&small, "a"));
    ck_assert_str_eq(get(&small, "b"), "two");
    sy_memcache_clear(&small);
    ck_assert_ptr_null(get(&small, "b"));
    ck_assert_int_eq(small.used, 0);
    ck_assert_uint_eq(small.bytes, 0);
}
END_TEST

START_TEST(test_least_recently_used_goes_first)
{
    put(&small, "a", "1");
    put(&small, "b", "2");
    put(&small, "c", "3");
    ck_assert_ptr_nonnull(get(&small, "a")); /* a is now the newest */
    put(&small, "d", "4");                   /* b goes */
    ck_assert_ptr_null(get(&small, "b"));
    ck_assert_ptr_nonnull(get(&small, "a"));
    ck_assert_ptr_nonnull(get(&small, "c"));
    ck_assert_ptr_nonnull(get(&small, "d"));
    ck_assert_int_eq(small.used, 3);
}
END_TEST

START_TEST(test_byte_bound_evicts_and_refuses_the_oversized)
{
    put(&tiny_bytes, "k1", "0123456789"); /* 12 bytes */
    put(&tiny_bytes, "k2", "0123456789");
    put(&tiny_bytes, "k3", "0123456789"); /* 36 */
    put(&tiny_bytes, "k4", "0123456789"); /* k1 out */
    ck_assert_ptr_null(get(&tiny_bytes, "k1"));
    ck_assert_uint_le(tiny_bytes.bytes, 40);
    char big[64];
    memset(big, 'x', sizeof(big));
    ck_assert_ptr_null(sy_memcache_put(&tiny_bytes, "big", 3, big, 60));
    ck_assert_ptr_nonnull(get(&tiny_bytes, "k4"));
}
END_TEST

START_TEST(test_entries_expire_after_the_ttl)
{
    put(&aging, "a", "1");
    ck_assert_ptr_nonnull(get(&aging, "a"));
    nanosleep(&(struct timespec){0, 70 * 1000000L}, NULL);
    ck_assert_ptr_null(get(&aging, "a"));
    ck_assert_int_eq(aging.used, 0);
}
END_TEST

static bool
starts_with_x(const void *key, size_t klen, const void *val, size_t vlen,
              void *ud)
{
    (void)val;
    (void)vlen;
    (void)ud;
    return klen && ((const char *)key)[0] == 'x';
}

START_TEST(test_drop_if_drops_what_matches)
{
    put(&small, "xa", "1");
    put(&small, "xb", "2");
    put(&small, "y", "3");
    sy_memcache_drop_if(&small, starts_with_x, NULL);
    ck_assert_ptr_null(get(&small, "xa"));
    ck_assert_ptr_null(get(&small, "xb"));
    ck_assert_ptr_nonnull(get(&small, "y"));
}
END_TEST

START_TEST(test_values_are_aligned_and_updatable_in_place)
{
    int64_t zero[2] = {0, 0};
    int64_t *v = sy_memcache_put(&small, "odd", 3, zero, sizeof(zero));
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq((uintptr_t)v % 16, 0);
    v[1] += 41;
    v[1]++;
    int64_t *again = sy_memcache_get(&small, "odd", 3, NULL);
    ck_assert_ptr_eq(again, v);
    ck_assert_int_eq(again[1], 42);
}
END_TEST

START_TEST(test_hits_misses_and_evictions_are_counted)
{
    uint64_t *cells = calloc(SY_METRICS_CELLS, sizeof(*cells));
    sy_metrics_attach(cells);
    put(&small, "a", "1");
    get(&small, "a");
    get(&small, "a");
    get(&small, "nope");
    put(&small, "b", "2");
    put(&small, "c", "3");
    put(&small, "d", "4");
    ck_assert_uint_eq(cells[small.hits.cell], 2);
    ck_assert_uint_eq(cells[small.misses.cell], 1);
    ck_assert_uint_eq(cells[small.evictions.cell], 1);
    sy_metrics_attach(NULL);
    free(cells);
}
END_TEST

int
main(void)
{
    const TTest *const tests[] = {
        test_put_get_replace_drop,
        test_least_recently_used_goes_first,
        test_byte_bound_evicts_and_refuses_the_oversized,
        test_entries_expire_after_the_ttl,
        test_drop_if_drops_what_matches,
        test_values_are_aligned_and_updatable_in_place,
        test_hits_misses_and_evictions_are_counted,
        NULL};
    return sy_check_suite("memcache", NULL, NULL, tests);
}
