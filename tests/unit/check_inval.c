/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_inval.c - the sy:inval message parser (inval.h): what every
 * message that the code publishes parses to, and the shapes refused
 * (so that a stray or corrupted message drops nothing).
 */
#include <stdint.h>

#include "sycheck.h"
#include "synthia/error.h"
#include "synthia/inval.h"

#define TENANT "3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f"

static int
parse(const char *msg, sy_str *type, sy_str *arg)
{
    return sy_inval_parse(sy_str_c(msg), type, arg);
}

START_TEST(test_published_messages_split_at_the_first_space)
{
    sy_str type, arg;
    ck_assert_int_eq(parse("cat " TENANT " 42", &type, &arg), 0);
    ck_assert(sy_str_eqc(type, "cat"));
    ck_assert(sy_str_eqc(arg, TENANT " 42"));
    ck_assert_int_eq(parse("key 0123456789abcdef", &type, &arg), 0);
    ck_assert(sy_str_eqc(type, "key"));
    ck_assert(sy_str_eqc(arg, "0123456789abcdef"));
    ck_assert_int_eq(parse("tenant " TENANT, &type, &arg), 0);
    ck_assert(sy_str_eqc(type, "tenant"));
}
END_TEST

START_TEST(test_malformed_messages_are_refused_untouched)
{
    static const char *const bad[] = {
        "", "key", "key ", " key x", "Key x", "k3y x", "key\tx",
        "abcdefghijklmnop x", /* a type of 16 letters */
        "user a\x01" "b", "user \xc3\xa9", NULL};
    for (int i = 0; bad[i]; i++) {
        sy_str type = SY_STR("t"), arg = SY_STR("a");
        ck_assert_msg(parse(bad[i], &type, &arg) == SY_EINVAL, "%d", i);
        ck_assert(sy_str_eqc(type, "t") && sy_str_eqc(arg, "a"));
    }
    char nul[] = "sess a\0b";
    sy_str type, arg;
    ck_assert_int_eq(sy_inval_parse((sy_str){nul, 8}, &type, &arg),
                     SY_EINVAL);
    char big[SY_INVAL_MSG_MAX + 2];
    memset(big, 'x', sizeof(big));
    memcpy(big, "user ", 5);
    ck_assert_int_eq(
        sy_inval_parse((sy_str){big, SY_INVAL_MSG_MAX}, &type, &arg), 0);
    ck_assert_int_eq(
        sy_inval_parse((sy_str){big, SY_INVAL_MSG_MAX + 1}, &type, &arg),
        SY_EINVAL);
}
END_TEST

START_TEST(test_cat_argument_is_a_tenant_and_a_canonical_version)
{
    char tenant[37];
    int64_t v;
    ck_assert_int_eq(sy_inval_parse_cat(sy_str_c(TENANT " 42"), tenant, &v),
                     0);
    ck_assert_str_eq(tenant, TENANT);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(sy_inval_parse_cat(
                         sy_str_c("3F2B8C1E-4D5A-4B6C-9E7F-0A1B2C3D4E5F 0"),
                         tenant, &v),
                     0);
    ck_assert_str_eq(tenant, TENANT); /* lower case, as the cache keys */
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(sy_inval_parse_cat(
                         sy_str_c(TENANT " 9223372036854775807"), tenant, &v),
                     0);
    ck_assert_int_eq(v, INT64_MAX);
    static const char *const bad[] = {
        TENANT, TENANT " ", TENANT " 007", TENANT " +7", TENANT " -1",
        TENANT " 9223372036854775808", TENANT "  7", TENANT " 7 ",
        "3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5 7", "not-a-uuid 7", NULL};
    for (int i = 0; bad[i]; i++) {
        v = -5;
        ck_assert_msg(sy_inval_parse_cat(sy_str_c(bad[i]), tenant, &v) ==
                          SY_EINVAL,
                      "%s", bad[i]);
        ck_assert_int_eq(v, -5);
    }
}
END_TEST

int
main(void)
{
    const TTest *const tests[] = {
        test_published_messages_split_at_the_first_space,
        test_malformed_messages_are_refused_untouched,
        test_cat_argument_is_a_tenant_and_a_canonical_version,
        NULL};
    return sy_check_suite("inval", NULL, NULL, tests);
}
