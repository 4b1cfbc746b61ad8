/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_cache.c - unit tests of the result cache without Redis (the
 * redis.url here cannot be parsed, so Redis is "down" at once): the value
 * format (LZ4 and raw round trips, foreign and damaged values refused),
 * key canonicalisation (cachekey.h), and the per-responder memory
 * fallback (LRU, size limits, catalog bumps).  The memory's TTL is the
 * primitive's (check_memcache.c); the Redis path is covered by
 * tests/integration/test_cache.py.
 */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sycheck.h"
#include "synthia/cache.h"
#include "synthia/cachekey.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/redis.h"

#define HEADER_LEN SY_CACHEVAL_HEADER
#define MAGIC SY_CACHEVAL_MAGIC
#define FMT_RAW SY_CACHEVAL_RAW
#define FMT_LZ4 SY_CACHEVAL_LZ4
#define RAW_BELOW SY_CACHEVAL_RAW_BELOW
#define VALUE_MAX SY_CACHEVAL_MAX
#define MEM_SLOTS SY_CACHE_MEMORY_ENTRIES
#define MEM_TOTAL SY_CACHE_MEMORY_BYTES
#define MEM_VALUE_MAX SY_CACHE_MEMORY_VALUE_MAX
#define encode sy_cache_value_encode
#define decode sy_cache_value_decode
#define make_key sy_cache_key_make
typedef sy_cache_key cache_key;

#define TA "0a0a0a0a-0000-4000-8000-00000000000a"
#define TA_UPPER "0A0A0A0A-0000-4000-8000-00000000000A"
#define TB "0b0b0b0b-0000-4000-8000-00000000000b"
#define U1 "00000000-0000-4000-8000-000000000001"
#define U2 "00000000-0000-4000-8000-000000000002"

static sy_arena A;
static sy_config C;
static char bad_url[] = "not-a-url";

static void
setup(void)
{
    sy_arena_init(&A, 4096, 64 << 20);
    memset(&C, 0, sizeof(C));
    C.redis_url = bad_url;
    C.redis_retry_ms = 60000;
    C.redis_timeout_ms = 100;
    sy_conf = &C;
}

/* little-endian, as the value header stores the raw length */
static void
put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void
teardown(void)
{
    sy_arena_cleanup(&A);
    sy_conf = NULL;
}

/* A value of n bytes: JSON-like and repetitive, or random. */
static sy_str
value_of(size_t n, bool random)
{
    char *p = sy_arena_alloc(&A, n + 1);
    ck_assert_ptr_nonnull(p);
    if (random) {
        sy_random_bytes(p, n);
    } else {
        static const char rec[] = "{\"id\":\"p-0001\",\"name\":\"Linen shirt\","
                                  "\"colors\":[\"#aabbcc\"],\"price\":4900},";
        for (size_t i = 0; i < n; i++)
            p[i] = rec[i % (sizeof(rec) - 1)];
    }
    return (sy_str){p, n};
}

static void
assert_round_trip(sy_str v, int want_format)
{
    sy_str stored, back;
    ck_assert_int_eq(encode(&A, v, &stored), 0);
    ck_assert_uint_ge(stored.len, HEADER_LEN);
    ck_assert_int_eq((unsigned char)stored.p[0], MAGIC);
    ck_assert_int_eq(stored.p[1], want_format);
    ck_assert_int_eq(decode(&A, stored, &back), 0);
    ck_assert_uint_eq(back.len, v.len);
    ck_assert(v.len == 0 || memcmp(back.p, v.p, v.len) == 0);
    ck_assert_int_eq(back.p[back.len], '\0');
}

/* ---------------------------------------------------------- the format */

START_TEST(test_small_values_are_stored_raw)
{
    assert_round_trip(SY_STR("{\"a\":1}"), FMT_RAW);
    assert_round_trip(SY_STR(""), FMT_RAW);
    assert_round_trip(value_of(RAW_BELOW - 1, false), FMT_RAW);
}
END_TEST

START_TEST(test_repetitive_values_are_compressed)
{
    sy_str v = value_of(100000, false), stored;
    assert_round_trip(v, FMT_LZ4);
    ck_assert_int_eq(encode(&A, v, &stored), 0);
    ck_assert_uint_lt(stored.len, v.len / 4);
    char spaces[RAW_BELOW];
    memset(spaces, ' ', sizeof(spaces));
    assert_round_trip((sy_str){spaces, sizeof(spaces)}, FMT_LZ4);
}
END_TEST

START_TEST(test_incompressible_values_stay_raw)
{
    sy_str v = value_of(10000, true), stored;
    assert_round_trip(v, FMT_RAW);
    ck_assert_int_eq(encode(&A, v, &stored), 0);
    ck_assert_uint_eq(stored.len, v.len + HEADER_LEN);
}
END_TEST

START_TEST(test_values_over_the_limit_are_refused)
{
    sy_str stored;
    assert_round_trip(value_of(VALUE_MAX, false), FMT_LZ4);
    ck_assert_int_eq(encode(&A, value_of(VALUE_MAX + 1, false), &stored),
                     SY_ETOOBIG);
}
END_TEST

/* A copy of stored that the test may damage. */
static char *
copy_of(sy_str s)
{
    char *p = sy_arena_alloc(&A, s.len);
    ck_assert_ptr_nonnull(p);
    memcpy(p, s.p, s.len);
    return p;
}

START_TEST(test_foreign_and_damaged_values_are_refused)
{
    sy_str out, lz, raw;
    ck_assert_int_eq(encode(&A, value_of(5000, false), &lz), 0);
    ck_assert_int_eq(encode(&A, SY_STR("hello"), &raw), 0);
    /* not ours at all */
    ck_assert_int_eq(decode(&A, SY_STR("{\"a\":1}"), &out), SY_EINVAL);
    ck_assert_int_eq(decode(&A, SY_STR(""), &out), SY_EINVAL);
    ck_assert_int_eq(decode(&A, (sy_str){raw.p, HEADER_LEN - 1}, &out),
                     SY_EINVAL);
    /* wrong magic, unknown format */
    char *p = copy_of(lz);
    p[0] = 'x';
    ck_assert_int_eq(decode(&A, (sy_str){p, lz.len}, &out), SY_EINVAL);
    p = copy_of(lz);
    p[1] = 3;
    ck_assert_int_eq(decode(&A, (sy_str){p, lz.len}, &out), SY_EINVAL);
    /* truncated payloads */
    ck_assert_int_eq(decode(&A, (sy_str){lz.p, lz.len - 1}, &out), SY_EINVAL);
    ck_assert_int_eq(decode(&A, (sy_str){raw.p, raw.len - 1}, &out), SY_EINVAL);
    /* a header that lies about the length */
    p = copy_of(lz);
    put_u32((unsigned char *)p + 2, 4999);
    ck_assert_int_eq(decode(&A, (sy_str){p, lz.len}, &out), SY_EINVAL);
    put_u32((unsigned char *)p + 2, VALUE_MAX + 1);
    ck_assert_int_eq(decode(&A, (sy_str){p, lz.len}, &out), SY_EINVAL);
    /* garbage where the LZ4 block should be */
    p = copy_of(lz);
    memset(p + HEADER_LEN, 0xff, lz.len - HEADER_LEN);
    ck_assert_int_eq(decode(&A, (sy_str){p, lz.len}, &out), SY_EINVAL);
}
END_TEST

/* ---------------------------------------------------------------- keys */

START_TEST(test_catalog_keys)
{
    cache_key k;
    ck_assert_int_eq(
        make_key(&k, TA_UPPER, SY_CACHE_LIST, U1, SY_STR("limit=20")), 0);
    /* sha256(U1 "\n" "limit=20"), first 32 hex digits */
    ck_assert_str_eq(k.hash, "2b174e4110bc60f2d7ebb9e346fe9229");
    ck_assert_str_eq(k.prefix, "sy:{t:" TA "}:c:list:");
    ck_assert_str_eq(k.catver, "sy:{t:" TA "}:catver");
    ck_assert_str_eq(k.stats, "sy:{t:" TA "}:c:stats");
    ck_assert_str_eq(k.tenant, TA);

    cache_key same, other;
    ck_assert_int_eq(make_key(&same, TA, SY_CACHE_LIST, U1, SY_STR("limit=20")),
                     0);
    ck_assert_str_eq(same.hash, k.hash);
    ck_assert_int_eq(
        make_key(&other, TA, SY_CACHE_LIST, NULL, SY_STR("limit=20")), 0);
    ck_assert_str_eq(other.hash, "fe5fec9cca1e1dbe888e65158998770a");
    ck_assert_int_eq(
        make_key(&other, TA, SY_CACHE_LIST, U1, SY_STR("limit=21")), 0);
    ck_assert_str_ne(other.hash, k.hash);
    ck_assert_int_eq(
        make_key(&other, TB, SY_CACHE_LIST, U1, SY_STR("limit=20")), 0);
    ck_assert_str_ne(other.prefix, k.prefix);
    ck_assert_int_eq(
        make_key(&other, TA, SY_CACHE_SEARCH, U1, SY_STR("limit=20")), 0);
    ck_assert_str_eq(other.prefix, "sy:{t:" TA "}:c:search:");
}
END_TEST

START_TEST(test_user_keys)
{
    cache_key k;
    ck_assert_int_eq(make_key(&k, TA, SY_CACHE_ANALYSIS, U1, SY_STR("x")), 0);
    ck_assert_str_eq(k.prefix, "sy:{t:" TA "}:c:analysis:u:" U1 ":");
    ck_assert_int_eq(make_key(&k, TA, SY_CACHE_TRYON, NULL, SY_STR("x")), 0);
    ck_assert_str_eq(k.prefix, "sy:{t:" TA "}:c:tryon:u:-:");
    /* a user that is not a uuid never reaches the key as written */
    ck_assert_int_eq(make_key(&k, TA, SY_CACHE_TRYON, "bob*?", SY_STR("x")), 0);
    ck_assert_str_eq(
        k.prefix, "sy:{t:" TA "}:c:tryon:u:x89b4a7a022ce9db80714bc1dd80a6605:");
}
END_TEST

START_TEST(test_bad_keys_are_refused)
{
    cache_key k;
    ck_assert_int_eq(make_key(&k, "acme", SY_CACHE_LIST, NULL, SY_STR("x")),
                     SY_EINVAL);
    ck_assert_int_eq(make_key(&k, NULL, SY_CACHE_LIST, NULL, SY_STR("x")),
                     SY_EINVAL);
    ck_assert_int_eq(make_key(&k, TA, SY_CACHE__COUNT, NULL, SY_STR("x")),
                     SY_EINVAL);
    ck_assert_int_eq(make_key(&k, TA, -1, NULL, SY_STR("x")), SY_EINVAL);
}
END_TEST

START_TEST(test_type_names)
{
    for (int i = 0; i < SY_CACHE__COUNT; i++)
        ck_assert_int_eq(sy_cache_type_parse(sy_str_c(sy_cache_type_name(i))),
                         i);
    ck_assert_int_eq(sy_cache_type_parse(SY_STR("analysis")),
                     SY_CACHE_ANALYSIS);
    ck_assert_int_eq(sy_cache_type_parse(SY_STR("List")), -1);
    ck_assert_int_eq(sy_cache_type_parse(SY_STR("stats")), -1);
    ck_assert_int_eq(sy_cache_type_parse(SY_STR("")), -1);
    ck_assert_ptr_null(sy_cache_type_name(SY_CACHE__COUNT));
    ck_assert_ptr_null(sy_cache_type_name(-1));
}
END_TEST

/* -------------------------------------------------------------- memory */

static void
put(const char *tenant, int type, const char *user, const char *what,
    sy_str value)
{
    sy_cache_put(&A, tenant, type, user, sy_str_c(what), value);
}

static bool
hit(const char *tenant, int type, const char *user, const char *what,
    sy_str want)
{
    sy_str got;
    int rc = sy_cache_get(&A, NULL, tenant, type, user, sy_str_c(what), &got);
    ck_assert(rc == 0 || rc == SY_ENOTFOUND);
    if (rc == 0)
        ck_assert(sy_str_eq(got, want));
    return rc == 0;
}

static int
mem_entries(void)
{
    int n, owed;
    size_t bytes;
    sy_cache_memory(&n, &bytes, &owed);
    return n;
}

static size_t
mem_bytes(void)
{
    int n, owed;
    size_t bytes;
    sy_cache_memory(&n, &bytes, &owed);
    return bytes;
}

static int
owed_bumps(void)
{
    int n, owed;
    size_t bytes;
    sy_cache_memory(&n, &bytes, &owed);
    return owed;
}

START_TEST(test_memory_answers_when_redis_is_down)
{
    sy_str v = SY_STR("[{\"id\":1}]");
    ck_assert(!hit(TA, SY_CACHE_LIST, NULL, "q", v));
    put(TA, SY_CACHE_LIST, NULL, "q", v);
    ck_assert(sy_redis_down());
    ck_assert(hit(TA, SY_CACHE_LIST, NULL, "q", v));
    ck_assert(hit(TA_UPPER, SY_CACHE_LIST, NULL, "q", v));
    ck_assert(!hit(TA, SY_CACHE_LIST, NULL, "q2", v));
    ck_assert(!hit(TA, SY_CACHE_LIST, U1, "q", v));
    ck_assert(!hit(TA, SY_CACHE_SEARCH, NULL, "q", v));
    ck_assert(!hit(TB, SY_CACHE_LIST, NULL, "q", v));
    /* a newer value replaces the old one */
    put(TA, SY_CACHE_LIST, NULL, "q", SY_STR("[]"));
    ck_assert(hit(TA, SY_CACHE_LIST, NULL, "q", SY_STR("[]")));
    ck_assert_int_eq(mem_entries(), 1);
}
END_TEST

START_TEST(test_memory_drops_the_least_recently_used)
{
    char what[32];
    sy_str v = SY_STR("v");
    for (int i = 0; i < MEM_SLOTS; i++) {
        snprintf(what, sizeof(what), "k%d", i);
        put(TA, SY_CACHE_ANALYSIS, U1, what, v);
    }
    ck_assert_int_eq(mem_entries(), MEM_SLOTS);
    ck_assert(hit(TA, SY_CACHE_ANALYSIS, U1, "k0", v)); /* k1 is now oldest */
    put(TA, SY_CACHE_ANALYSIS, U1, "new", v);
    ck_assert_int_eq(mem_entries(), MEM_SLOTS);
    ck_assert(hit(TA, SY_CACHE_ANALYSIS, U1, "new", v));
    ck_assert(hit(TA, SY_CACHE_ANALYSIS, U1, "k0", v));
    ck_assert(!hit(TA, SY_CACHE_ANALYSIS, U1, "k1", v));
    ck_assert(hit(TA, SY_CACHE_ANALYSIS, U1, "k2", v));
}
END_TEST

START_TEST(test_memory_size_limits)
{
    char what[32];
    put(TA, SY_CACHE_TRYON, U1, "big", value_of(MEM_VALUE_MAX + 1, false));
    ck_assert_int_eq(mem_entries(), 0);
    sy_str v = value_of(MEM_VALUE_MAX, false);
    for (int i = 0; i < 40; i++) {
        snprintf(what, sizeof(what), "k%d", i);
        put(TA, SY_CACHE_TRYON, U1, what, v);
        ck_assert_uint_le(mem_bytes(), MEM_TOTAL);
    }
    /* the bound counts keys and entry headers too: one value fewer */
    ck_assert_int_eq(mem_entries(), MEM_TOTAL / MEM_VALUE_MAX - 1);
    ck_assert(hit(TA, SY_CACHE_TRYON, U1, "k39", v));
    ck_assert(!hit(TA, SY_CACHE_TRYON, U1, "k0", v));
}
END_TEST

START_TEST(test_bump_drops_the_tenants_catalog_entries)
{
    sy_str v = SY_STR("v");
    put(TA, SY_CACHE_LIST, NULL, "q", v);
    put(TA, SY_CACHE_SEARCH, NULL, "q", v);
    put(TA, SY_CACHE_ANALYSIS, U1, "q", v);
    put(TB, SY_CACHE_LIST, NULL, "q", v);
    sy_cache_catalog_bump(&A, NULL, TA_UPPER);
    ck_assert(!hit(TA, SY_CACHE_LIST, NULL, "q", v));
    ck_assert(!hit(TA, SY_CACHE_SEARCH, NULL, "q", v));
    ck_assert(hit(TA, SY_CACHE_ANALYSIS, U1, "q", v));
    ck_assert(hit(TB, SY_CACHE_LIST, NULL, "q", v));
    /* the bump is owed to Redis, once per tenant */
    sy_cache_catalog_bump(&A, NULL, TA);
    ck_assert_int_eq(owed_bumps(), 1);
}
END_TEST

START_TEST(test_owed_bumps_are_bounded)
{
    char t[SY_UUID_LEN + 1];
    for (int i = 0; i < SY_CACHE_OWED_MAX + 4; i++) {
        snprintf(t, sizeof(t), "00000000-0000-4000-8000-%012d", i);
        sy_cache_catalog_bump(&A, NULL, t);
    }
    ck_assert_int_eq(owed_bumps(), SY_CACHE_OWED_MAX);
}
END_TEST

START_TEST(test_delete_drops_memory_and_needs_redis)
{
    sy_str v = SY_STR("v");
    int64_t n = -1, ver = -1;
    json_object *stats = NULL;
    put(TA, SY_CACHE_ANALYSIS, U1, "q", v);
    put(TA, SY_CACHE_ANALYSIS, U2, "q", v);
    put(TA, SY_CACHE_TRYON, U1, "q", v);
    ck_assert_int_eq(sy_cache_delete(&A, TA, SY_CACHE_ANALYSIS, U1, &n),
                     SY_EREDIS);
    ck_assert(!hit(TA, SY_CACHE_ANALYSIS, U1, "q", v));
    ck_assert(hit(TA, SY_CACHE_ANALYSIS, U2, "q", v));
    ck_assert(hit(TA, SY_CACHE_TRYON, U1, "q", v));
    ck_assert_int_eq(sy_cache_delete(&A, TA, -1, NULL, &n), SY_EREDIS);
    ck_assert_int_eq(mem_entries(), 0);
    ck_assert_int_eq(sy_cache_stats(&A, TA, &stats), SY_EREDIS);
    ck_assert_int_eq(sy_cache_stats(&A, NULL, &stats), SY_EREDIS);
    ck_assert_ptr_null(stats);
    ck_assert_int_eq(sy_cache_catalog_version(&A, NULL, TA, &ver), SY_EREDIS);
    ck_assert_int_eq(sy_cache_delete(&A, "acme", -1, NULL, &n), SY_EINVAL);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("cache");
    const TTest *const format_tests[] = {
        test_small_values_are_stored_raw,
        test_repetitive_values_are_compressed,
        test_incompressible_values_stay_raw,
        test_values_over_the_limit_are_refused,
        test_foreign_and_damaged_values_are_refused, NULL};
    sy_check_tcase(s, "format", setup, teardown, format_tests);
    const TTest *const keys_tests[] = {
        test_catalog_keys, test_user_keys, test_bad_keys_are_refused,
        test_type_names, NULL};
    sy_check_tcase(s, "keys", setup, teardown, keys_tests);
    const TTest *const memory_tests[] = {
        test_memory_answers_when_redis_is_down,
        test_memory_drops_the_least_recently_used, test_memory_size_limits,
        test_bump_drops_the_tenants_catalog_entries,
        test_owed_bumps_are_bounded, test_delete_drops_memory_and_needs_redis,
        NULL};
    sy_check_tcase(s, "memory", setup, teardown, memory_tests);
    return sy_check_run(s);
}
