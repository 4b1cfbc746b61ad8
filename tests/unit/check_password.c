/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_password.c - unit tests of password.c: argon2id hashing with the
 * configured cost, verification, the rehash signal when the cost was
 * raised, the equal-time check for unknown accounts, and the length and
 * UTF-8 policy.
 *
 * The configuration comes from sy_config_load on files in a per-run
 * directory (mkdtemp), with a small argon2 memory cost so the suite
 * stays fast; main removes the directory.
 */
#include <argon2.h>
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sycheck.h"
#include "synthia/config.h"
#include "synthia/error.h"
#include "synthia/log.h"
#include "synthia/password.h"

static char tmp_dir[64];
static sy_config C;

static void
write_file(const char *name, const char *content, char *path, size_t n)
{
    snprintf(path, n, "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(content, f);
    fclose(f);
}

/* Load a config with the required keys plus extra [auth] lines. */
static void
use_config(const char *auth_extra)
{
    char secret[256], conf[256], text[2048], err[256];
    write_file("secret", "0123456789abcdef0123456789abcdef\n", secret,
               sizeof(secret));
    snprintf(text, sizeof(text),
             "[database]\nurl = postgresql://synthia@/synthia\n"
             "[auth]\njwt_secret_file = %s\n%s\n",
             secret, auth_extra);
    write_file("synthia.conf", text, conf, sizeof(conf));
    sy_config_free(&C);
    int rc = sy_config_load(&C, conf, err, sizeof(err));
    ck_assert_msg(rc == 0, "config: %s", err);
    sy_conf = &C;
}

#define CHEAP "argon2_memory = 1M\nargon2_iterations = 1\n"

static void
setup(void)
{
    use_config(CHEAP);
}

static void
teardown(void)
{
    sy_config_free(&C);
    sy_conf = NULL;
}

static sy_str
S(const char *s)
{
    return sy_str_c(s);
}

/* ------------------------------------------------------------- hashing */

START_TEST(test_hash_then_verify_accepts_the_password)
{
    char h[SY_PASSWORD_HASH_MAX];
    bool rehash = true;
    ck_assert_int_eq(sy_password_hash(S("correct horse"), h, sizeof(h)), 0);
    ck_assert_int_eq(sy_password_verify(h, S("correct horse"), &rehash), 0);
    ck_assert(!rehash);
}
END_TEST

START_TEST(test_verify_refuses_a_wrong_password)
{
    char h[SY_PASSWORD_HASH_MAX];
    bool rehash = false;
    ck_assert_int_eq(sy_password_hash(S("correct horse"), h, sizeof(h)), 0);
    ck_assert_int_eq(sy_password_verify(h, S("correct hors"), &rehash),
                     SY_EUNAUTH);
    ck_assert_int_eq(sy_password_verify(h, S("correct horsf"), &rehash),
                     SY_EUNAUTH);
    ck_assert_int_eq(sy_password_verify(h, S(""), &rehash), SY_EUNAUTH);
}
END_TEST

START_TEST(test_hash_is_argon2id_phc_with_the_configured_cost)
{
    char h[SY_PASSWORD_HASH_MAX];
    use_config("argon2_memory = 2M\nargon2_iterations = 3\n"
               "argon2_parallelism = 2\n");
    ck_assert_int_eq(sy_password_hash(S("pw-pw-pw-pw"), h, sizeof(h)), 0);
    ck_assert_msg(strncmp(h, "$argon2id$v=19$m=2048,t=3,p=2$", 30) == 0,
                  "hash %s", h);
    /* 16-byte salt and 32-byte hash: 22 and 43 base64 characters */
    const char *salt = h + 30, *dollar = strchr(salt, '$');
    ck_assert_ptr_nonnull(dollar);
    ck_assert_int_eq(dollar - salt, 22);
    ck_assert_int_eq(strlen(dollar + 1), 43);
}
END_TEST

START_TEST(test_two_hashes_of_one_password_differ_by_salt)
{
    char a[SY_PASSWORD_HASH_MAX], b[SY_PASSWORD_HASH_MAX];
    ck_assert_int_eq(sy_password_hash(S("same password"), a, sizeof(a)), 0);
    ck_assert_int_eq(sy_password_hash(S("same password"), b, sizeof(b)), 0);
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_hash_fails_when_the_buffer_is_too_small)
{
    char h[40];
    ck_assert_int_eq(sy_password_hash(S("password1"), h, sizeof(h)),
                     SY_EINTERNAL);
}
END_TEST

START_TEST(test_malformed_or_foreign_hashes_are_refused)
{
    bool rehash = false;
    const char *bad[] = {
        "",
        "not a hash",
        "$argon2id$",
        "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$",
        "$2b$12$abcdefghijklmnopqrstuuJ1Xoy0yCNo0yW8QiWcYqkOZqVk4m1e2",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(sy_password_verify(bad[i], S("password"), &rehash) ==
                          SY_EUNAUTH,
                      "accepted %s", bad[i]);
    ck_assert_int_eq(sy_password_verify(NULL, S("password"), &rehash),
                     SY_EUNAUTH);
}
END_TEST

START_TEST(test_argon2i_hashes_are_not_accepted)
{
    char h[SY_PASSWORD_HASH_MAX];
    bool rehash = false;
    ck_assert_int_eq(argon2i_hash_encoded(1, 1024, 1, "password", 8,
                                          "somesaltsomesalt", 16, 32, h,
                                          sizeof(h)),
                     ARGON2_OK);
    ck_assert_int_eq(sy_password_verify(h, S("password"), &rehash),
                     SY_EUNAUTH);
}
END_TEST

/* -------------------------------------------------------------- rehash */

/* Hash under cost `from`, verify under cost `to`: the rehash signal. */
static bool
rehash_after(const char *from, const char *to)
{
    char h[SY_PASSWORD_HASH_MAX];
    bool rehash = false;
    use_config(from);
    ck_assert_int_eq(sy_password_hash(S("a fine password"), h, sizeof(h)),
                     0);
    use_config(to);
    ck_assert_int_eq(sy_password_verify(h, S("a fine password"), &rehash),
                     0);
    return rehash;
}

START_TEST(test_raised_memory_asks_for_a_rehash)
{
    ck_assert(rehash_after(CHEAP, "argon2_memory = 2M\n"
                                  "argon2_iterations = 1\n"));
}
END_TEST

START_TEST(test_raised_iterations_ask_for_a_rehash)
{
    ck_assert(rehash_after(CHEAP, "argon2_memory = 1M\n"
                                  "argon2_iterations = 2\n"));
}
END_TEST

START_TEST(test_raised_parallelism_asks_for_a_rehash)
{
    ck_assert(rehash_after(CHEAP, CHEAP "argon2_parallelism = 2\n"));
}
END_TEST

START_TEST(test_lowered_cost_does_not_ask_for_a_rehash)
{
    ck_assert(!rehash_after("argon2_memory = 2M\nargon2_iterations = 2\n"
                            "argon2_parallelism = 2\n",
                            CHEAP));
}
END_TEST

START_TEST(test_wrong_password_leaves_the_rehash_flag_alone)
{
    char h[SY_PASSWORD_HASH_MAX];
    bool rehash = false;
    use_config(CHEAP);
    ck_assert_int_eq(sy_password_hash(S("a fine password"), h, sizeof(h)),
                     0);
    use_config("argon2_memory = 2M\n");
    ck_assert_int_eq(sy_password_verify(h, S("wrong"), &rehash), SY_EUNAUTH);
    ck_assert(!rehash);
}
END_TEST

/* ---------------------------------------------------------------- burn */

/* CPU time of the process (argon2 may use threads), not wall time: the work done is what must
 * match, and on a loaded machine (CI shares its cores) wall time mostly
 * measures the scheduler. */
static int64_t
cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
elapsed_us(void (*fn)(const char *), const char *arg)
{
    int64_t t0 = cpu_us();
    fn(arg);
    return cpu_us() - t0;
}

static void
do_burn(const char *arg)
{
    sy_password_burn(S(arg));
}

static void
do_verify(const char *arg)
{
    bool rehash;
    (void)sy_password_verify(arg, S("guess"), &rehash);
}

/* Best of three, so a cache-cold first run cannot decide the test. */
static int64_t
best_of_3(void (*fn)(const char *), const char *arg)
{
    int64_t best = INT64_MAX;
    for (int i = 0; i < 3; i++) {
        int64_t t = elapsed_us(fn, arg);
        best = t < best ? t : best;
    }
    return best;
}

START_TEST(test_burn_takes_as_long_as_a_verification)
{
    char h[SY_PASSWORD_HASH_MAX];
    use_config("argon2_memory = 8M\nargon2_iterations = 2\n");
    ck_assert_int_eq(sy_password_hash(S("the real one"), h, sizeof(h)), 0);
    do_burn("warm-up"); /* makes the process's dummy hash */
    int64_t verify = best_of_3(do_verify, h);
    int64_t burn = best_of_3(do_burn, "guess");
    ck_assert_msg(burn * 2 >= verify && burn <= verify * 2,
                  "burn %lld us, verify %lld us", (long long)burn,
                  (long long)verify);
}
END_TEST

START_TEST(test_burn_follows_a_cost_change)
{
    char h[SY_PASSWORD_HASH_MAX];
    use_config(CHEAP);
    do_burn("made with the cheap cost");
    use_config("argon2_memory = 16M\nargon2_iterations = 2\n");
    ck_assert_int_eq(sy_password_hash(S("the real one"), h, sizeof(h)), 0);
    do_burn("warm-up");
    int64_t verify = best_of_3(do_verify, h);
    int64_t burn = best_of_3(do_burn, "guess");
    ck_assert_msg(burn * 2 >= verify, "burn %lld us, verify %lld us",
                  (long long)burn, (long long)verify);
}
END_TEST

/* -------------------------------------------------------------- policy */

static int
policy(const char *pw, size_t n, const char **why)
{
    return sy_password_policy((sy_str){pw, n}, why);
}

#define POLICY(lit, why) policy((lit), sizeof(lit) - 1, (why))

START_TEST(test_policy_accepts_lengths_within_the_bounds)
{
    const char *why = NULL;
    ck_assert_int_eq(POLICY("12345678", &why), 0);
    char max[129];
    memset(max, 'x', 128);
    ck_assert_int_eq(policy(max, 128, &why), 0);
}
END_TEST

START_TEST(test_policy_refuses_short_and_long_passwords_saying_why)
{
    const char *why = NULL;
    ck_assert_int_eq(POLICY("1234567", &why), SY_EVALIDATION);
    ck_assert_str_eq(why, "must be at least 8 characters");
    char max[130];
    memset(max, 'x', 129);
    ck_assert_int_eq(policy(max, 129, &why), SY_EVALIDATION);
    ck_assert_str_eq(why, "must be at most 128 characters");
    ck_assert_int_eq(POLICY("", &why), SY_EVALIDATION);
}
END_TEST

START_TEST(test_policy_counts_code_points_not_bytes)
{
    const char *why = NULL;
    /* 7 x U+00E9: 14 bytes but 7 characters */
    ck_assert_int_eq(POLICY("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                            "\xc3\xa9",
                            &why),
                     SY_EVALIDATION);
    /* 8 characters of 1 to 4 bytes */
    ck_assert_int_eq(POLICY("ab\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80xyz!",
                            &why),
                     0);
    use_config(CHEAP "password_max_length = 16\n");
    char emoji[4 * 17];
    for (int i = 0; i < 17; i++)
        memcpy(emoji + 4 * i, "\xf0\x9f\x98\x80", 4);
    ck_assert_int_eq(policy(emoji, 4 * 16, &why), 0);
    ck_assert_int_eq(policy(emoji, 4 * 17, &why), SY_EVALIDATION);
}
END_TEST

START_TEST(test_policy_refuses_invalid_utf8)
{
    const char *why = NULL;
    const char *bad[] = {
        "abcdefg\x80",          /* stray continuation byte */
        "abcdefg\xc0\x80",      /* overlong NUL */
        "abcdefg\xe0\x80\xaf",  /* overlong '/' */
        "abcdefg\xed\xa0\x80",  /* surrogate */
        "abcdefg\xf4\x90\x80\x80", /* above U+10FFFF */
        "abcdefg\xf5\x80\x80\x80", /* no such lead byte */
        "abcdefgh\xe2\x82",     /* truncated */
        "abcdefg\xc3\x28",      /* bad continuation */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        ck_assert_msg(policy(bad[i], strlen(bad[i]), &why) == SY_EVALIDATION,
                      "accepted case %zu", i);
        ck_assert_str_eq(why, "must be valid UTF-8");
    }
}
END_TEST

START_TEST(test_policy_refuses_nul_characters)
{
    const char *why = NULL;
    ck_assert_int_eq(POLICY("abcd\0efgh", &why), SY_EVALIDATION);
    ck_assert_str_eq(why, "must not contain NUL characters");
}
END_TEST

/* --------------------------------------------------------------- suite */

static Suite *
password_suite(void)
{
    Suite *s = suite_create("password");
    TCase *tc;
    const TTest *const hashing_tests[] = {
        test_hash_then_verify_accepts_the_password,
        test_verify_refuses_a_wrong_password,
        test_hash_is_argon2id_phc_with_the_configured_cost,
        test_two_hashes_of_one_password_differ_by_salt,
        test_hash_fails_when_the_buffer_is_too_small,
        test_malformed_or_foreign_hashes_are_refused,
        test_argon2i_hashes_are_not_accepted, NULL};
    sy_check_tcase(s, "hashing", setup, teardown, hashing_tests);
    const TTest *const rehash_tests[] = {
        test_raised_memory_asks_for_a_rehash,
        test_raised_iterations_ask_for_a_rehash,
        test_raised_parallelism_asks_for_a_rehash,
        test_lowered_cost_does_not_ask_for_a_rehash,
        test_wrong_password_leaves_the_rehash_flag_alone, NULL};
    sy_check_tcase(s, "rehash", setup, teardown, rehash_tests);
    const TTest *const burn_tests[] = {
        test_burn_takes_as_long_as_a_verification,
        test_burn_follows_a_cost_change, NULL};
    tc = sy_check_tcase(s, "burn", setup, teardown, burn_tests);
    tcase_set_timeout(tc, 60);
    const TTest *const policy_tests[] = {
        test_policy_accepts_lengths_within_the_bounds,
        test_policy_refuses_short_and_long_passwords_saying_why,
        test_policy_counts_code_points_not_bytes,
        test_policy_refuses_invalid_utf8, test_policy_refuses_nul_characters,
        NULL};
    sy_check_tcase(s, "policy", setup, teardown, policy_tests);
    return s;
}

int
main(void)
{
    sy_check_tmpdir(tmp_dir);
    sy_check_clean_env();
    sy_log_set_level(SY_LOG_ERROR);
    return sy_check_run_in(password_suite(), tmp_dir);
}
