/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_apikey.c - unit tests of API key generation (shape, prefix,
 * hash, alphabet, uniform characters) and of the syntax check that
 * refuses malformed keys before any store is asked.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sycheck.h"
#include "synthia/apikey.h"
#include "synthia/arena.h"
#include "synthia/crypto.h"
#include "synthia/error.h"

static const char alphabet[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

START_TEST(test_generate_makes_prefix_body_and_hash)
{
    char key[SY_APIKEY_LEN + 1], prefix[SY_APIKEY_PREFIX_LEN + 1];
    unsigned char hash[32], want[32];
    sy_apikey_generate(SY_KEY_SECRET, key, prefix, hash);
    ck_assert_uint_eq(strlen(key), 35);
    ck_assert(strncmp(key, "sk_", 3) == 0);
    ck_assert_uint_eq(strspn(key + 3, alphabet), 32);
    ck_assert_uint_eq(strlen(prefix), 11);
    ck_assert(strncmp(key, prefix, 11) == 0);
    sy_sha256(key, strlen(key), want);
    ck_assert(memcmp(hash, want, 32) == 0);
    sy_apikey_generate(SY_KEY_PUBLISHABLE, key, prefix, hash);
    ck_assert(strncmp(key, "pk_", 3) == 0);
}
END_TEST

START_TEST(test_generate_never_repeats)
{
    char a[SY_APIKEY_LEN + 1], b[SY_APIKEY_LEN + 1], p[16];
    unsigned char h[32];
    sy_apikey_generate(SY_KEY_SECRET, a, p, h);
    sy_apikey_generate(SY_KEY_SECRET, b, p, h);
    ck_assert_str_ne(a, b);
}
END_TEST

/* 20,000 keys = 640,000 characters, about 10,300 per symbol.  With
 * modulo bias over bytes the first 8 symbols would come out ~25% more
 * often; the bound below is far outside chance (sigma ~ 100). */
START_TEST(test_generate_uses_every_character_evenly)
{
    static long counts[128];
    char key[SY_APIKEY_LEN + 1], p[16];
    unsigned char h[32];
    for (int i = 0; i < 20000; i++) {
        sy_apikey_generate(SY_KEY_SECRET, key, p, h);
        for (int j = 3; j < SY_APIKEY_LEN; j++)
            counts[(unsigned char)key[j]]++;
    }
    double expect = 20000.0 * 32 / 62;
    for (const char *c = alphabet; *c; c++) {
        long n = counts[(unsigned char)*c];
        ck_assert_msg(n > expect * 0.94 && n < expect * 1.06,
                      "'%c' appeared %ld times (expected ~%.0f)", *c, n,
                      expect);
    }
}
END_TEST

START_TEST(test_resolve_refuses_malformed_keys_without_io)
{
    sy_arena a;
    sy_principal who;
    const char *bad[] = {
        "",
        "sk_",
        "xk_0123456789abcdefghijABCDEFGHIJ01",
        "sk_0123456789abcdefghijABCDEFGHIJ0",   /* one short */
        "sk_0123456789abcdefghijABCDEFGHIJ012", /* one long */
        "sk_0123456789abcdefghij-BCDEFGHIJ01",  /* not base62 */
        "SK_0123456789abcdefghijABCDEFGHIJ01",
    };
    sy_arena_init(&a, 4096, 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_int_eq(sy_apikey_resolve(&a, sy_str_c(bad[i]), &who),
                         SY_EUNAUTH);
    sy_arena_cleanup(&a);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("apikey");
    TCase *tc;
    const TTest *const generate_tests[] = {
        test_generate_makes_prefix_body_and_hash, test_generate_never_repeats,
        test_generate_uses_every_character_evenly,
        test_resolve_refuses_malformed_keys_without_io, NULL};
    tc = sy_check_tcase(s, "generate", NULL, NULL, generate_tests);
    tcase_set_timeout(tc, 30);
    return sy_check_run(s);
}
