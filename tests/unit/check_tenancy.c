/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_tenancy.c - unit tests of list pagination (page.c: limits,
 * cursors and their strict decoding) and of the tenant and key rules
 * shared by the API and `synthia admin` (tenancy.h: slugs, websites,
 * plans, origins, names, key kinds and scopes).
 */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sycheck.h"
#include "synthia/arena.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/page.h"
#include "synthia/request.h"
#include "synthia/response.h"
#include "synthia/router.h"
#include "synthia/tenancy.h"

#define TS "2024-02-29T23:59:59.123456Z"
#define ID "0b5e5f1c-6a3e-4c1f-9d2a-7e8f9a0b1c2d"

static sy_arena A;
static sy_req R;
static sy_res RES;

static void
setup(void)
{
    sy_arena_init(&A, 4096, 1 << 20);
}

static void
teardown(void)
{
    sy_arena_cleanup(&A);
}

/* A GET request with this query string, and a fresh response. */
static void
request(const char *query)
{
    char uri[512];
    char *env[3];
    snprintf(uri, sizeof(uri), "REQUEST_URI=/api/v1/tenants?%s", query);
    env[0] = sy_str_dup(&A, SY_STR("REQUEST_METHOD=GET"));
    env[1] = sy_str_dup(&A, sy_str_c(uri));
    env[2] = NULL;
    ck_assert_int_eq(sy_req_parse_env(&R, &A, env), 0);
    sy_res_init(&RES, &A, &R, 65536);
}

static const char *
cursor_of(const char *raw)
{
    char *out = sy_arena_alloc(&A, SY_B64URL_LEN(strlen(raw)) + 1);
    sy_b64url_encode(out, raw, strlen(raw));
    return out;
}

static int
parse_with_cursor(const char *cursor, sy_page *p)
{
    char q[300];
    snprintf(q, sizeof(q), "cursor=%s", cursor);
    request(q);
    return sy_page_parse(&R, &RES, p);
}

/* ------------------------------------------------------------ page */

START_TEST(test_page_defaults_to_20_from_the_lowest_key)
{
    sy_page p;
    request("");
    ck_assert_int_eq(sy_page_parse(&R, &RES, &p), 0);
    ck_assert_int_eq(p.limit, 20);
    ck_assert_str_eq(p.limit_text, "21");
    ck_assert(!p.after);
    ck_assert_str_eq(p.after_ts, "-infinity");
    ck_assert_str_eq(p.after_id, "00000000-0000-0000-0000-000000000000");
}
END_TEST

START_TEST(test_page_limit_bounds)
{
    sy_page p;
    request("limit=1");
    ck_assert_int_eq(sy_page_parse(&R, &RES, &p), 0);
    ck_assert_str_eq(p.limit_text, "2");
    request("limit=100");
    ck_assert_int_eq(sy_page_parse(&R, &RES, &p), 0);
    ck_assert_str_eq(p.limit_text, "101");
    static const char *const bad[] = {"limit=0",   "limit=101", "limit=-1",
                                      "limit=abc", "limit=",    "limit=5x",
                                      "limit=%zz"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        request(bad[i]);
        ck_assert_msg(sy_page_parse(&R, &RES, &p) == SY_EVALIDATION, "%s",
                      bad[i]);
        ck_assert_msg(RES.errs.fields != NULL, "%s: no field error", bad[i]);
    }
}
END_TEST

START_TEST(test_cursor_round_trips)
{
    char *c;
    sy_page p;
    ck_assert_int_eq(sy_page_cursor(&A, TS, ID, &c), 0);
    ck_assert_ptr_null(strchr(c, '='));
    ck_assert_int_eq(parse_with_cursor(c, &p), 0);
    ck_assert(p.after);
    ck_assert_str_eq(p.after_ts, TS);
    ck_assert_str_eq(p.after_id, ID);
}
END_TEST

/* Found by the allocation-failure sweep (tests/fuzz): a cursor that
 * could not be decoded for want of memory was dropped, serving the first
 * page again; a limit became a 422.  Both are SY_ENOMEM now. */
START_TEST(test_page_out_of_memory_is_enomem_not_the_first_page)
{
    char *c, q[300];
    sy_page p = {.limit = 7};
    ck_assert_int_eq(sy_page_cursor(&A, TS, ID, &c), 0);
    snprintf(q, sizeof(q), "limit=5&cursor=%s", c);
    request(q);
    /* allocation 1 decodes the limit's value, 2 the cursor's */
    for (long n = 1; n <= 2; n++) {
        sy_res_init(&RES, &A, &R, 65536);
        sy_arena_fail_after(n);
        int rc = sy_page_parse(&R, &RES, &p);
        sy_arena_fail_after(0);
        ck_assert_msg(rc == SY_ENOMEM, "allocation %ld: rc %d", n, rc);
        ck_assert_int_eq(p.limit, 7); /* out written only on success */
        ck_assert_ptr_null(RES.errs.fields);
    }
}
END_TEST

START_TEST(test_cursor_refuses_malformed_rows)
{
    sy_page p;
    char *c;
    ck_assert_int_eq(sy_page_cursor(&A, "2024-01-01", ID, &c), SY_EINVAL);
    static const char *const bad[] = {
        "2024-02-30T00:00:00.000000Z|" ID, /* no such day */
        "2023-02-29T00:00:00.000000Z|" ID, /* not a leap year */
        "2024-13-01T00:00:00.000000Z|" ID,
        "2024-01-01T24:00:00.000000Z|" ID,
        "2024-01-01T00:60:00.000000Z|" ID,
        "2024-01-01 00:00:00.000000Z|" ID,
        "2024-01-01T00:00:00.000000+|" ID,
        "2024-01-01T00:00:00.00000aZ|" ID,
        TS "|"
           "0b5e5f1c-6a3e-4c1f-9d2a-7e8f9a0b1c2z",
        TS "-" ID,
        TS "|" ID "x",
        TS "|"
           "0b5e5f1c-6a3e-4c1f-9d2a-7e8f9a0b1c2",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(parse_with_cursor(cursor_of(bad[i]), &p) == SY_EBADREQ,
                      "%s", bad[i]);
        ck_assert_int_eq(RES.status, 400);
    }
}
END_TEST

START_TEST(test_cursor_refuses_bad_encodings)
{
    sy_page p;
    char *c;
    ck_assert_int_eq(sy_page_cursor(&A, TS, ID, &c), 0);
    char padded[200], cut[200];
    snprintf(padded, sizeof(padded), "%s%%3D%%3D", c);
    snprintf(cut, sizeof(cut), "%.*s", (int)strlen(c) - 3, c);
    const char *bad[] = {padded, cut, "not base64!", "", "%00", "AAAA"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(parse_with_cursor(bad[i], &p) == SY_EBADREQ, "%s",
                      bad[i]);
}
END_TEST

/* ------------------------------------------------------------ rules */

static const char *
why_origin(const char *in, char *out)
{
    const char *why = NULL;
    if (sy_tenancy_origin(sy_str_c(in), out, SY_TENANCY_ORIGIN_MAX + 1, &why) ==
        0)
        return NULL;
    ck_assert_ptr_nonnull(why);
    return why;
}

START_TEST(test_origins_are_normalised_as_browsers_send_them)
{
    static const char *const ok[][2] = {
        {"https://shop.example", "https://shop.example"},
        {"HTTPS://Shop.Example", "https://shop.example"},
        {"https://shop.example:443", "https://shop.example"},
        {"http://localhost:80", "http://localhost"},
        {"http://localhost:3000", "http://localhost:3000"},
        {"https://shop.example:8443", "https://shop.example:8443"},
        {"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
        {"http://[::1]:8080", "http://[::1]:8080"},
        {"https://a-b.c-d.example", "https://a-b.c-d.example"},
    };
    char out[SY_TENANCY_ORIGIN_MAX + 1];
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ck_assert_msg(why_origin(ok[i][0], out) == NULL, "%s", ok[i][0]);
        ck_assert_str_eq(out, ok[i][1]);
    }
}
END_TEST

START_TEST(test_origins_with_more_than_scheme_host_port_are_refused)
{
    static const char *const bad[] = {
        "https://shop.example/",
        "https://shop.example/path",
        "https://shop.example?q=1",
        "https://shop.example#x",
        "ftp://shop.example",
        "shop.example",
        "https://",
        "https://user@shop.example",
        "https://shop.example:0",
        "https://shop.example:65536",
        "https://shop.example:080",
        "https://shop.example:",
        "https://-shop.example",
        "https://shop-.example",
        "https://shop..example",
        "https://shop.example.",
        "https://shop example",
        "null",
        "*",
        "https://[::1",
        "https://sh\xc3\xb6p.example",
    };
    char out[SY_TENANCY_ORIGIN_MAX + 1];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(why_origin(bad[i], out) != NULL, "%s accepted", bad[i]);
}
END_TEST

START_TEST(test_slug_is_a_dns_label)
{
    const char *why;
    static const char *const ok[] = {"a", "shop", "my-shop-2", "0", "a1"};
    static const char *const bad[] = {"",    "-a",  "a-",  "My-shop",
                                      "a_b", "a.b", "a b", "\xc3\xa9"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        ck_assert_msg(sy_tenancy_check_slug(sy_str_c(ok[i]), &why) == 0, "%s",
                      ok[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(sy_tenancy_check_slug(sy_str_c(bad[i]), &why) ==
                          SY_EVALIDATION,
                      "%s", bad[i]);
    char long_slug[70];
    memset(long_slug, 'a', 64);
    long_slug[64] = '\0';
    ck_assert_int_eq(sy_tenancy_check_slug(sy_str_c(long_slug), &why),
                     SY_EVALIDATION);
    long_slug[63] = '\0';
    ck_assert_int_eq(sy_tenancy_check_slug(sy_str_c(long_slug), &why), 0);
}
END_TEST

START_TEST(test_website_and_plan_rules)
{
    const char *why;
    ck_assert_int_eq(
        sy_tenancy_check_website(SY_STR("https://shop.example/a?b"), &why), 0);
    ck_assert_int_eq(sy_tenancy_check_website(SY_STR("http://x"), &why), 0);
    ck_assert_int_eq(sy_tenancy_check_website(SY_STR("https://"), &why),
                     SY_EVALIDATION);
    ck_assert_int_eq(
        sy_tenancy_check_website(SY_STR("javascript:alert(1)"), &why),
        SY_EVALIDATION);
    ck_assert_int_eq(sy_tenancy_check_website(SY_STR("https://a b"), &why),
                     SY_EVALIDATION);
    ck_assert_int_eq(
        sy_tenancy_check_website(SY_STR("https://caf\xc3\xa9.example"), &why),
        SY_EVALIDATION);
    ck_assert_int_eq(sy_tenancy_check_plan(SY_STR("pro"), &why), 0);
    ck_assert_int_eq(sy_tenancy_check_plan(SY_STR("bench_2"), &why), 0);
    ck_assert_int_eq(sy_tenancy_check_plan(SY_STR("Pro"), &why),
                     SY_EVALIDATION);
    ck_assert_int_eq(sy_tenancy_check_plan(SY_STR("2pro"), &why),
                     SY_EVALIDATION);
}
END_TEST

START_TEST(test_text_trims_counts_characters_and_refuses_controls)
{
    const char *why;
    sy_str s = SY_STR("  Caf\xc3\xa9  ");
    ck_assert_int_eq(sy_tenancy_text(&s, true, 1, 4, &why), 0);
    ck_assert_int_eq((int)s.len, 5); /* 4 characters, 5 bytes */
    s = SY_STR("   ");
    ck_assert_int_eq(sy_tenancy_text(&s, true, 1, 4, &why), SY_EVALIDATION);
    s = (sy_str){"a\0b", 3};
    ck_assert_int_eq(sy_tenancy_text(&s, false, 0, 10, &why), SY_EVALIDATION);
    s = SY_STR("line\nbreak");
    ck_assert_int_eq(sy_tenancy_text(&s, true, 0, 20, &why), SY_EVALIDATION);
    s = SY_STR("abcde");
    ck_assert_int_eq(sy_tenancy_text(&s, false, 0, 4, &why), SY_EVALIDATION);
}
END_TEST

START_TEST(test_key_kinds_and_scopes)
{
    const char *why;
    ck_assert_int_eq(sy_tenancy_key_kind(SY_STR("publishable")),
                     SY_KEY_PUBLISHABLE);
    ck_assert_int_eq(sy_tenancy_key_kind(SY_STR("secret")), SY_KEY_SECRET);
    ck_assert_int_eq(sy_tenancy_key_kind(SY_STR("Secret")), 0);
    ck_assert_uint_eq(sy_tenancy_key_scopes(SY_KEY_PUBLISHABLE),
                      SY_SCOPES_PUBLISHABLE);
    ck_assert_uint_eq(sy_tenancy_key_scopes(SY_KEY_SECRET), SY_SCOPES_ALL);
    ck_assert_uint_eq(
        sy_tenancy_key_scope(SY_KEY_PUBLISHABLE, SY_STR("catalog:read"), &why),
        SY_SCOPE_CATALOG_READ);
    ck_assert_uint_eq(
        sy_tenancy_key_scope(SY_KEY_PUBLISHABLE, SY_STR("orders:read"), &why),
        0);
    ck_assert_uint_eq(
        sy_tenancy_key_scope(SY_KEY_SECRET, SY_STR("orders:read"), &why),
        SY_SCOPE_ORDERS_READ);
    ck_assert_uint_eq(
        sy_tenancy_key_scope(SY_KEY_SECRET, SY_STR("orders:nope"), &why), 0);
    const char *t = sy_tenancy_scopes_text(&A, SY_SCOPE_TENANT_READ |
                                                   SY_SCOPE_CATALOG_READ);
    ck_assert_str_eq(t, "[\"catalog:read\",\"tenant:read\"]");
    json_object *all =
        json_tokener_parse(sy_tenancy_scopes_text(&A, SY_SCOPES_ALL));
    ck_assert_int_eq((int)json_object_array_length(all), 13);
    json_object_put(all);
}
END_TEST

static Suite *
tenancy_suite(void)
{
    Suite *s = suite_create("tenancy");
    const TTest *const page_tests[] = {
        test_page_defaults_to_20_from_the_lowest_key, test_page_limit_bounds,
        test_cursor_round_trips,
        test_page_out_of_memory_is_enomem_not_the_first_page,
        test_cursor_refuses_malformed_rows, test_cursor_refuses_bad_encodings,
        NULL};
    sy_check_tcase(s, "page", setup, teardown, page_tests);
    const TTest *const rules_tests[] = {
        test_origins_are_normalised_as_browsers_send_them,
        test_origins_with_more_than_scheme_host_port_are_refused,
        test_slug_is_a_dns_label, test_website_and_plan_rules,
        test_text_trims_counts_characters_and_refuses_controls,
        test_key_kinds_and_scopes, NULL};
    sy_check_tcase(s, "rules", setup, teardown, rules_tests);
    return s;
}

int
main(void)
{
    return sy_check_run(tenancy_suite());
}
