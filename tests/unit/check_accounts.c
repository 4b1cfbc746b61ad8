/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_accounts.c - unit tests of the account helpers shared by the
 * identity routes (accounts.h): email syntax and trimming, the throttling
 * key of an email, login bodies refused before any lookup (control
 * characters in the email, a tenant that is no slug), and the tenant
 * parameter of a principal.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sycheck.h"
#include "synthia/accounts.h"
#include "synthia/arena.h"
#include "synthia/error.h"

static sy_arena A;

static void
setup(void)
{
    sy_arena_init(&A, 4096, 0);
}

static void
teardown(void)
{
    sy_arena_cleanup(&A);
}

static void
email_ok(const char *in, const char *want)
{
    sy_str out = SY_STR_NULL;
    ck_assert_msg(sy_accounts_email(sy_str_c(in), &out) == 0, "'%s' refused",
                  in);
    ck_assert_msg(out.len == strlen(want) && memcmp(out.p, want, out.len) == 0,
                  "'%s' gave '%.*s'", in, (int)out.len, out.p);
}

static void
email_bad(const char *in)
{
    sy_str out = SY_STR("untouched");
    ck_assert_msg(sy_accounts_email(sy_str_c(in), &out) == SY_EVALIDATION,
                  "'%s' accepted", in);
    ck_assert(sy_str_eqc(out, "untouched"));
}

START_TEST(test_email_accepts_common_addresses)
{
    email_ok("a@example.com", "a@example.com");
    email_ok("First.Last+tag@Mail.Example.CO.UK",
             "First.Last+tag@Mail.Example.CO.UK");
    email_ok("o'brien@example.ie", "o'brien@example.ie");
    email_ok("x_y-z@sub-domain.example.org", "x_y-z@sub-domain.example.org");
    email_ok("user@xn--bcher-kva.example", "user@xn--bcher-kva.example");
}
END_TEST

START_TEST(test_email_is_trimmed_not_lowered)
{
    email_ok("  Ada@Example.com \t\r\n", "Ada@Example.com");
}
END_TEST

START_TEST(test_email_refuses_bad_syntax)
{
    email_bad("");
    email_bad("   ");
    email_bad("plain");
    email_bad("@example.com");
    email_bad("a@");
    email_bad("a@b@example.com");
    email_bad("a@localhost"); /* one label */
    email_bad("a b@example.com");
    email_bad(".a@example.com");
    email_bad("a.@example.com");
    email_bad("a..b@example.com");
    email_bad("a@-example.com");
    email_bad("a@example-.com");
    email_bad("a@example..com");
    email_bad("a@example.com.");
    email_bad("a@exa_mple.com");
    email_bad("\"quoted\"@example.com");
    email_bad("a(b)@example.com");
    email_bad("caf\xc3\xa9@example.com"); /* non-ASCII */
    email_bad("a@b\x7f.com");
}
END_TEST

/* local@<labels of `label` characters>.com, n characters in all. */
static void
build(char *out, size_t cap, size_t local, size_t label, size_t n)
{
    size_t i = 0;
    memset(out, 0, cap);
    memset(out, 'a', local);
    i = local;
    out[i++] = '@';
    while (i < n - 4) {
        size_t k = n - 4 - i > label ? label : n - 4 - i;
        memset(out + i, 'c', k);
        i += k;
        if (i < n - 4 - 1)
            out[i++] = '.';
    }
    memcpy(out + i, ".com", 4);
}

START_TEST(test_email_length_limits)
{
    char addr[300];
    build(addr, sizeof(addr), 64, 60, 64 + 1 + 7 + 4);
    email_ok(addr, addr); /* 64-character local part */
    build(addr, sizeof(addr), 65, 60, 65 + 1 + 7 + 4);
    email_bad(addr);
    build(addr, sizeof(addr), 1, 63, 1 + 1 + 63 + 4);
    email_ok(addr, addr); /* 63-character label */
    build(addr, sizeof(addr), 1, 64, 1 + 1 + 64 + 4);
    email_bad(addr);
    build(addr, sizeof(addr), 10, 60, 254);
    ck_assert_uint_eq(strlen(addr), 254);
    email_ok(addr, addr); /* 254 characters in all */
    build(addr, sizeof(addr), 11, 60, 255);
    ck_assert_uint_eq(strlen(addr), 255);
    email_bad(addr);
}
END_TEST

START_TEST(test_email_key_is_trimmed_and_ascii_lowered)
{
    sy_str k = sy_accounts_email_key(&A, SY_STR("  Ada.LOVELACE@Example.COM "));
    ck_assert(sy_str_eqc(k, "ada.lovelace@example.com"));
    ck_assert_int_eq(k.p[k.len], 0);
    /* bytes above ASCII are kept as they are */
    k = sy_accounts_email_key(&A, SY_STR("\xc3\x89T\xc3\x89@X.io"));
    ck_assert(sy_str_eqc(k, "\xc3\x89t\xc3\x89@x.io"));
}
END_TEST

START_TEST(test_email_key_out_of_budget_is_empty)
{
    sy_arena tiny;
    sy_arena_init(&tiny, 64, 16);
    sy_str big = SY_STR("a-rather-long-address-for-a-tiny-arena@example.com");
    sy_str k = sy_accounts_email_key(&tiny, big);
    ck_assert_ptr_null(k.p);
    ck_assert_uint_eq(k.len, 0);
    sy_arena_cleanup(&tiny);
}
END_TEST

/* A login body refused before anything is looked up (no store needed):
 * the fields that were refused. */
static const char *
login_refused(const char *body)
{
    sy_errs e;
    sy_signin si;
    sy_errs_init(&e, &A);
    int rc = sy_accounts_login(&A, sy_check_json(&A, body), NULL,
                               SY_STR("192.0.2.1"), &e, &si);
    ck_assert_msg(rc == SY_EVALIDATION, "%s: rc %d", body, rc);
    return sy_check_error_fields(&e);
}

START_TEST(test_login_refuses_control_characters_before_any_lookup)
{
    /* NUL (the throttle bypass of issue 10) and any other C0 or DEL
     * inside the address (white space around it is trimmed, as sign-up
     * does): what reaches the throttle and the lookup is one normalised
     * email */
    static const char *const bad[] = {
        "{\"email\": \"victim@x.example\\u0000zz\", \"password\": \"p\"}",
        "{\"email\": \"victim@x.example\\u0001\", \"password\": \"p\"}",
        "{\"email\": \"victim@x.exa\\nmple\", \"password\": \"p\"}",
        "{\"email\": \" victim@x.example\\u0000 \", \"password\": \"p\"}",
        "{\"email\": \"vic\\ttim@x.example\", \"password\": \"p\"}",
        "{\"email\": \"victim@x.example\\u007f\", \"password\": \"p\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_str_eq(login_refused(bad[i]), "email");
}
END_TEST

START_TEST(test_login_tenant_must_be_a_slug)
{
    /* the slug is looked up and names the throttle's namespace */
    ck_assert_str_eq(login_refused("{\"email\": \"a@b.example\", "
                                   "\"password\": \"p\", \"tenant\": "
                                   "\"Shop One\"}"),
                     "tenant");
    ck_assert_str_eq(login_refused("{\"email\": \"a@b.example\", "
                                   "\"password\": \"p\", \"tenant\": "
                                   "\"shop\\u0001\"}"),
                     "tenant");
    ck_assert_str_eq(login_refused("{\"email\": \"a\\u0000@b.example\", "
                                   "\"password\": \"\", \"tenant\": "
                                   "\"-shop\"}"),
                     "email password tenant");
}
END_TEST

START_TEST(test_tenant_param_is_null_for_sysadmins)
{
    sy_principal w;
    memset(&w, 0, sizeof(w));
    ck_assert_ptr_null(sy_principal_tenant(&w));
    memcpy(w.tenant_id, "0b8e2a52-5c1e-4e52-9d43-4f1f7b1d8a11", 37);
    ck_assert_str_eq(sy_principal_tenant(&w), w.tenant_id);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("account");
    const TTest *const email_tests[] = {
        test_email_accepts_common_addresses,
        test_email_is_trimmed_not_lowered, test_email_refuses_bad_syntax,
        test_email_length_limits, test_email_key_is_trimmed_and_ascii_lowered,
        test_email_key_out_of_budget_is_empty, NULL};
    sy_check_tcase(s, "email", setup, teardown, email_tests);
    const TTest *const login_tests[] = {
        test_login_refuses_control_characters_before_any_lookup,
        test_login_tenant_must_be_a_slug, NULL};
    sy_check_tcase(s, "login", setup, teardown, login_tests);
    const TTest *const principal_tests[] = {
        test_tenant_param_is_null_for_sysadmins, NULL};
    sy_check_tcase(s, "principal", NULL, NULL, principal_tests);
    return sy_check_run(s);
}
