/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_aikey.c - the AI result cache's canonical key (analysis.h
 * sy_analysis_cache_what) and the Redis names made of it (airesult.h):
 * parameters in any member order or spacing are one key, every part of
 * the request changes it, the input's sha256 is case-folded, and names
 * carry the tenant's hash tag and the user's segment.
 */
#include <string.h>

#include "sycheck.h"
#include "synthia/airesult.h"
#include "synthia/analysis.h"
#include "synthia/cache.h"
#include "synthia/error.h"

SY_CHECK_FIXTURE(16384)

#define SHA "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define TENANT "6f1c2a4e-8b3d-4c5e-9f01-23456789abcd"
#define USER "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"

static const char *
what(const char *cap, const char *prov, const char *model,
     const char *params, const char *sha)
{
    sy_str out;
    json_object *p = params ? sy_check_json(&A, params) : NULL;
    int rc = sy_analysis_cache_what(&A, cap, prov, model, p, sha, &out);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(strlen(out.p), out.len);
    return out.p;
}

static int
what_rc(const char *cap, const char *prov, const char *model,
        const char *params, const char *sha)
{
    sy_str out;
    json_object *p = params ? sy_check_json(&A, params) : NULL;
    return sy_analysis_cache_what(&A, cap, prov, model, p, sha, &out);
}

START_TEST(test_the_canonical_form)
{
    ck_assert_str_eq(what("chromatic", "local", "local-lab-kmeans-v1",
                          "{\"side\": 256}", SHA),
                     "ai1\ncapability=chromatic\nprovider=local\n"
                     "model=local-lab-kmeans-v1\nparams={\"side\":256}\n"
                     "sha256=" SHA);
    ck_assert_str_eq(what("facial", "openai", "gpt-4o-mini", NULL, SHA),
                     "ai1\ncapability=facial\nprovider=openai\n"
                     "model=gpt-4o-mini\nparams={}\nsha256=" SHA);
}
END_TEST

START_TEST(test_member_order_and_spacing_do_not_matter)
{
    const char *a = what("facial", "openai", "m",
                         "{\"version\": 1, \"schema\": \"f\", \"o\": "
                         "{\"b\": [1, \"x\", true, null], \"a\": 2.5}}",
                         SHA);
    const char *b = what("facial", "openai", "m",
                         "{\"o\":{\"a\":2.5,\"b\":[1,\"x\",true,null]},"
                         "\"schema\":\"f\",\"version\":1}",
                         SHA);
    ck_assert_str_eq(a, b);
    ck_assert_ptr_nonnull(
        strstr(a, "params={\"o\":{\"a\":2.5,\"b\":[1,\"x\",true,null]},"
                  "\"schema\":\"f\",\"version\":1}\n"));
    /* array order is meaning, not form */
    ck_assert_str_ne(what("c", "p", "m", "{\"a\": [1, 2]}", SHA),
                     what("c", "p", "m", "{\"a\": [2, 1]}", SHA));
}
END_TEST

START_TEST(test_every_part_changes_the_key)
{
    const char *base = what("facial", "openai", "m", "{\"v\": 1}", SHA);
    ck_assert_str_ne(base, what("chromatic", "openai", "m", "{\"v\": 1}", SHA));
    ck_assert_str_ne(base, what("facial", "gemini", "m", "{\"v\": 1}", SHA));
    ck_assert_str_ne(base, what("facial", "openai", "m2", "{\"v\": 1}", SHA));
    ck_assert_str_ne(base, what("facial", "openai", "m", "{\"v\": 2}", SHA));
    ck_assert_str_ne(base, what("facial", "openai", "m", "{\"v\": \"1\"}",
                                SHA));
    char other[65];
    memcpy(other, SHA, 65);
    other[63] = '9';
    ck_assert_str_ne(base, what("facial", "openai", "m", "{\"v\": 1}", other));
}
END_TEST

START_TEST(test_sha256_is_case_folded)
{
    char upper[65];
    for (int i = 0; i < 65; i++)
        upper[i] = SHA[i] >= 'a' && SHA[i] <= 'f' ? (char)(SHA[i] - 32)
                                                   : SHA[i];
    ck_assert_str_eq(what("c", "p", "m", NULL, upper),
                     what("c", "p", "m", NULL, SHA));
}
END_TEST

START_TEST(test_refused_parts)
{
    ck_assert_int_eq(what_rc("c", "p", "m", NULL, "abc"), SY_EINVAL);
    ck_assert_int_eq(what_rc("c", "p", "m", NULL, NULL), SY_EINVAL);
    char bad[65];
    memcpy(bad, SHA, 65);
    bad[10] = 'g';
    ck_assert_int_eq(what_rc("c", "p", "m", NULL, bad), SY_EINVAL);
    ck_assert_int_eq(what_rc("c", "p q", "m", NULL, SHA), SY_EINVAL);
    ck_assert_int_eq(what_rc("c", "p", "m\nsha256=x", NULL, SHA), SY_EINVAL);
    ck_assert_int_eq(what_rc("", "p", "m", NULL, SHA), SY_EINVAL);
    ck_assert_int_eq(what_rc("c", "p", NULL, NULL, SHA), SY_EINVAL);
    ck_assert_int_eq(what_rc("c", "p", "m", "[1]", SHA), SY_EINVAL);
}
END_TEST

START_TEST(test_redis_names)
{
    sy_airesult_key k, u, t2, upper;
    sy_str w = sy_str_c(what("facial", "openai", "m", NULL, SHA));
    ck_assert_int_eq(sy_airesult_key_make(&k, TENANT, SY_CACHE_ANALYSIS,
                                           NULL, w), 0);
    ck_assert_int_eq(strncmp(k.entry, "sy:{t:" TENANT "}:c:analysis:u:-:",
                             strlen("sy:{t:" TENANT "}:c:analysis:u:-:")),
                     0);
    ck_assert_uint_eq(strlen(k.entry),
                      strlen("sy:{t:" TENANT "}:c:analysis:u:-:") + 32);
    char want[sizeof(k.stale)];
    snprintf(want, sizeof(want), "%s:stale", k.entry);
    ck_assert_str_eq(k.stale, want);
    snprintf(want, sizeof(want), "%s:neg", k.entry);
    ck_assert_str_eq(k.neg, want);
    snprintf(want, sizeof(want), "%s:lock", k.entry);
    ck_assert_str_eq(k.lock, want);
    /* the user's segment, and the user in the hash */
    ck_assert_int_eq(sy_airesult_key_make(&u, TENANT, SY_CACHE_ANALYSIS,
                                           USER, w), 0);
    ck_assert_ptr_nonnull(strstr(u.entry, ":u:" USER ":"));
    ck_assert_str_ne(strrchr(u.entry, ':'), strrchr(k.entry, ':'));
    /* another tenant: another hash tag; a tenant's case does not matter */
    ck_assert_int_eq(sy_airesult_key_make(&t2, "7f1c2a4e-8b3d-4c5e-9f01-"
                                                "23456789abcd",
                                           SY_CACHE_ANALYSIS, NULL, w), 0);
    ck_assert_str_ne(t2.entry, k.entry);
    ck_assert_int_eq(sy_airesult_key_make(&upper, "6F1C2A4E-8B3D-4C5E-9F01-"
                                                   "23456789ABCD",
                                           SY_CACHE_ANALYSIS, NULL, w), 0);
    ck_assert_str_eq(upper.entry, k.entry);
    ck_assert_int_eq(sy_airesult_key_make(&t2, "not-a-tenant",
                                           SY_CACHE_ANALYSIS, NULL, w),
                     SY_EINVAL);
    ck_assert_int_eq(sy_airesult_key_make(&t2, TENANT, 99, NULL, w),
                     SY_EINVAL);
}
END_TEST

int
main(void)
{
    const TTest *const tests[] = {test_the_canonical_form,
                                  test_member_order_and_spacing_do_not_matter,
                                  test_every_part_changes_the_key,
                                  test_sha256_is_case_folded,
                                  test_refused_parts,
                                  test_redis_names,
                                  NULL};
    return sy_check_suite("aikey", setup, teardown, tests);
}
