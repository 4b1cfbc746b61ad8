/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_products.c - unit tests of the catalog's rules that need no
 * database (products.h): reading a product body for create and for a
 * PATCH (required fields, defaults left to the write, normalised
 * values, every problem reported at once) and the list filters.  Writes
 * and reads are covered by tests/integration/test_products.py.
 */
#include <stdio.h>
#include <string.h>

#include "sycheck.h"
#include "synthia/error.h"
#include "synthia/products.h"

SY_CHECK_FIXTURE(1 << 16)

/* Read text (a JSON object) as a product body. */
static int
read_body(const char *text, bool create, sy_product_fields *f)
{
    return sy_products_read(&A, sy_check_json(&A, text), create, &E, f);
}

static const char *
error_fields(void)
{
    return sy_check_error_fields(&E);
}

START_TEST(test_a_full_body_is_read_and_normalised)
{
    sy_product_fields f;
    ck_assert_int_eq(
        read_body("{\"sku\": \"SKU-1.a_b\", \"name\": \"  Linen Shirt \","
                  " \"description\": \"Line one\\nline two\","
                  " \"category\": \" shirts \", \"price_cents\": 4900,"
                  " \"currency\": \"EUR\", \"stock\": 7,"
                  " \"colors\": [\"#FFFFFF\", \"#aAbBcC\"],"
                  " \"attributes\": {\"fit\": \"slim/long\"},"
                  " \"image_url\": \"https://img.example/a.jpg\"}",
                  true, &f),
        0);
    ck_assert_str_eq(f.sku, "SKU-1.a_b");
    ck_assert_str_eq(f.name, "Linen Shirt");
    ck_assert_str_eq(f.description, "Line one\nline two");
    ck_assert_str_eq(f.category, "shirts");
    ck_assert_str_eq(f.price, "4900");
    ck_assert_str_eq(f.currency, "EUR");
    ck_assert_str_eq(f.stock, "7");
    ck_assert_str_eq(f.colors, "[\"#ffffff\",\"#aabbcc\"]");
    ck_assert_str_eq(f.attributes, "{\"fit\":\"slim/long\"}");
    ck_assert_str_eq(f.image_url, "https://img.example/a.jpg");
    ck_assert(f.image_set);
    ck_assert_ptr_null(f.active); /* not read on create */
    ck_assert(!sy_errs_any(&E));
}
END_TEST

START_TEST(test_create_requires_sku_name_price_and_currency)
{
    sy_product_fields f;
    ck_assert_int_eq(read_body("{\"active\": false}", true, &f),
                     SY_EVALIDATION);
    ck_assert_str_eq(error_fields(), "sku name price_cents currency");
}
END_TEST

START_TEST(test_optional_fields_are_left_for_the_write)
{
    sy_product_fields f;
    ck_assert_int_eq(read_body("{\"sku\": \"A\", \"name\": \"N\","
                               " \"price_cents\": 0, \"currency\": \"USD\"}",
                               true, &f),
                     0);
    ck_assert_ptr_null(f.description);
    ck_assert_ptr_null(f.category);
    ck_assert_ptr_null(f.stock);
    ck_assert_ptr_null(f.colors);
    ck_assert_ptr_null(f.attributes);
    ck_assert_ptr_null(f.image_url);
    ck_assert(!f.image_set);
}
END_TEST

START_TEST(test_a_patch_reads_only_what_it_names)
{
    sy_product_fields f;
    ck_assert_int_eq(read_body("{}", false, &f), 0);
    ck_assert_ptr_null(f.sku);
    ck_assert_ptr_null(f.name);
    ck_assert_ptr_null(f.price);
    ck_assert_ptr_null(f.active);
    ck_assert_int_eq(
        read_body("{\"active\": false, \"image_url\": null}", false, &f), 0);
    ck_assert_str_eq(f.active, "false");
    ck_assert(f.image_set);
    ck_assert_ptr_null(f.image_url); /* null: remove the image */
}
END_TEST

START_TEST(test_every_bad_field_is_reported_at_once)
{
    sy_product_fields f;
    ck_assert_int_eq(
        read_body("{\"sku\": \"has space\", \"name\": \"   \","
                  " \"description\": \"bell\\u0007\", \"category\": 5,"
                  " \"price_cents\": -1, \"currency\": \"eur\","
                  " \"stock\": 2147483648, \"colors\": \"#ffffff\","
                  " \"attributes\": [], \"image_url\": \"ftp://x\","
                  " \"active\": \"yes\"}",
                  false, &f),
        SY_EVALIDATION);
    ck_assert_str_eq(error_fields(),
                     "sku name description category price_cents currency "
                     "stock colors attributes image_url active");
}
END_TEST

START_TEST(test_limits_of_the_bigger_fields)
{
    sy_product_fields f;
    sy_buf b;
    sy_buf_init(&b, &A, 1 << 16);
    sy_buf_puts(&b, "{\"colors\": [\"#000000\"");
    for (int i = 1; i < 33; i++)
        sy_buf_puts(&b, ",\"#000000\"");
    sy_buf_puts(&b, "]}");
    ck_assert_int_eq(read_body(sy_buf_cstr(&b), false, &f), SY_EVALIDATION);
    ck_assert_str_eq(error_fields(), "colors");

    sy_errs_init(&E, &A);
    ck_assert_int_eq(read_body("{\"colors\": [\"#12345\"]}", false, &f),
                     SY_EVALIDATION);
    ck_assert_str_eq(error_fields(), "colors");

    sy_errs_init(&E, &A);
    ck_assert_int_eq(
        read_body("{\"price_cents\": 1000000000000000}", false, &f),
        SY_EVALIDATION);
    ck_assert_str_eq(error_fields(), "price_cents");

    sy_errs_init(&E, &A);
    sy_buf_init(&b, &A, 1 << 16);
    sy_buf_puts(&b, "{\"attributes\": {\"a\": \"");
    for (int i = 0; i < 16400; i++)
        sy_buf_putc(&b, 'x');
    sy_buf_puts(&b, "\"}}");
    ck_assert_int_eq(read_body(sy_buf_cstr(&b), false, &f), SY_EVALIDATION);
    ck_assert_str_eq(error_fields(), "attributes");
}
END_TEST

/* {"name": "<n times s>"} in arena memory. */
static const char *
name_body(const char *s, int n)
{
    sy_buf b;
    sy_buf_init(&b, &A, 4096);
    sy_buf_puts(&b, "{\"name\": \"");
    for (int i = 0; i < n; i++)
        sy_buf_puts(&b, s);
    sy_buf_puts(&b, "\"}");
    return sy_buf_cstr(&b);
}

START_TEST(test_names_are_counted_in_characters)
{
    sy_product_fields f;
    /* \xc3\xa9 (e acute): two bytes, one character */
    ck_assert_int_eq(read_body(name_body("\xc3\xa9", 200), false, &f), 0);
    ck_assert_uint_eq(strlen(f.name), 400);
    ck_assert_int_eq(read_body(name_body("\xc3\xa9", 201), false, &f),
                     SY_EVALIDATION);
    ck_assert_str_eq(error_fields(), "name");
}
END_TEST

START_TEST(test_currency_is_a_current_iso_4217_code)
{
    sy_product_fields f;
    static const char *const ok[] = {"EUR", "USD", "JPY", "CHF"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char body[64];
        snprintf(body, sizeof(body), "{\"currency\": \"%s\"}", ok[i]);
        sy_errs_init(&E, &A);
        ck_assert_msg(read_body(body, false, &f) == 0, "%s", ok[i]);
        ck_assert_str_eq(f.currency, ok[i]);
    }
    /* three capitals are not enough: no such currency, a precious metal,
     * the test code, a withdrawn currency */
    static const char *const no[] = {"ABC", "XAU", "XTS", "HRK", "eur"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        char body[64];
        snprintf(body, sizeof(body), "{\"currency\": \"%s\"}", no[i]);
        sy_errs_init(&E, &A);
        ck_assert_msg(read_body(body, false, &f) == SY_EVALIDATION, "%s",
                      no[i]);
        ck_assert_str_eq(error_fields(), "currency");
    }
}
END_TEST

START_TEST(test_single_and_multi_line_text_rules)
{
    sy_product_fields f;
    /* a description is multi-line: tab, LF and CR only */
    ck_assert_int_eq(read_body("{\"description\": \"a\\tb\\r\\nc\"}", false,
                               &f),
                     0);
    ck_assert_str_eq(f.description, "a\tb\r\nc");
    static const char *const bad_desc[] = {
        "{\"description\": \"esc \\u001b[31m\"}",
        "{\"description\": \"del \\u007f\"}",
        "{\"description\": \"\xc0\xaf\"}", /* the rule checks UTF-8 too */
    };
    for (size_t i = 0; i < sizeof(bad_desc) / sizeof(bad_desc[0]); i++) {
        sy_errs_init(&E, &A);
        /* json-c's plain parser takes the bytes as they are */
        json_object *o = sy_check_json(&A, bad_desc[i]);
        ck_assert_msg(sy_products_read(&A, o, false, &E, &f) ==
                          SY_EVALIDATION,
                      "%s", bad_desc[i]);
        ck_assert_str_eq(error_fields(), "description");
    }
    /* names, categories and skus are single-line */
    sy_errs_init(&E, &A);
    ck_assert_int_eq(read_body("{\"name\": \"a\\nb\", \"category\": \"x\\ty\","
                               " \"sku\": \"a\\u0001\"}",
                               false, &f),
                     SY_EVALIDATION);
    ck_assert_str_eq(error_fields(), "sku name category");
}
END_TEST

START_TEST(test_attribute_names_are_single_line_values_multi_line)
{
    sy_product_fields f;
    ck_assert_int_eq(read_body("{\"attributes\": {\"care\": \"wash\\ncold\","
                               " \"sizes\": [\"S\", {\"fit\": \"x\\ty\"}],"
                               " \"n\": 1.5, \"ok\": true}}",
                               false, &f),
                     0);
    static const char *const bad[] = {
        "{\"attributes\": {\"ca\\nre\": \"x\"}}",
        "{\"attributes\": {\"care\": \"bell\\u0007\"}}",
        "{\"attributes\": {\"a\": {\"b\\tc\": 1}}}",
        "{\"attributes\": {\"a\": [[\"\\u001b\"]]}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sy_errs_init(&E, &A);
        ck_assert_msg(read_body(bad[i], false, &f) == SY_EVALIDATION, "%s",
                      bad[i]);
        ck_assert_str_eq(error_fields(), "attributes");
    }
}
END_TEST

/* ------------------------------------------------------------ filters */

static int
filter(const char *name, const char *v, sy_product_filter *f)
{
    return sy_products_filter_set(&A, &E, name, sy_str_c(v), f);
}

START_TEST(test_filters_are_checked_and_normalised)
{
    sy_product_filter f = {.category = NULL};
    ck_assert_int_eq(filter("category", "  shirts ", &f), 0);
    ck_assert_str_eq(f.category, "shirts");
    ck_assert_int_eq(filter("min_price", "0", &f), 0);
    ck_assert_int_eq(filter("max_price", "0012", &f), 0);
    ck_assert_str_eq(f.min_price, "0");
    ck_assert_str_eq(f.max_price, "12");
    ck_assert_int_eq(filter("in_stock", "yes", &f), 0);
    ck_assert_str_eq(f.in_stock, "true");
    ck_assert_int_eq(filter("color", "AABBCC", &f), 0);
    ck_assert_str_eq(f.color, "#aabbcc");
    ck_assert_int_eq(filter("color", "#AbCdEf", &f), 0);
    ck_assert_str_eq(f.color, "#abcdef");
    ck_assert(!sy_errs_any(&E));
}
END_TEST

START_TEST(test_bad_filters_are_field_errors)
{
    sy_product_filter f = {.category = NULL};
    ck_assert_int_eq(filter("min_price", "-1", &f), SY_EVALIDATION);
    ck_assert_int_eq(filter("max_price", "1e3", &f), SY_EVALIDATION);
    ck_assert_int_eq(filter("in_stock", "maybe", &f), SY_EVALIDATION);
    ck_assert_int_eq(filter("color", "#12345", &f), SY_EVALIDATION);
    ck_assert_int_eq(filter("category", "tab\there", &f), SY_EVALIDATION);
    ck_assert_str_eq(error_fields(),
                     "min_price max_price in_stock color category");
    ck_assert_ptr_null(f.min_price);
    ck_assert_ptr_null(f.color);
    ck_assert_int_eq(filter("size", "M", &f), SY_EINVAL);
}
END_TEST

START_TEST(test_filter_names_are_listed_in_report_order)
{
    const char *want[] = {"category", "min_price", "max_price", "in_stock",
                          "color"};
    int i = 0;
    for (; sy_products_filter_names[i]; i++)
        ck_assert_str_eq(sy_products_filter_names[i], want[i]);
    ck_assert_int_eq(i, 5);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("products");
    sy_check_tcase(
        s, "body", setup, teardown,
        (const TTest *[]){test_a_full_body_is_read_and_normalised,
                          test_create_requires_sku_name_price_and_currency,
                          test_optional_fields_are_left_for_the_write,
                          test_a_patch_reads_only_what_it_names,
                          test_every_bad_field_is_reported_at_once,
                          test_limits_of_the_bigger_fields,
                          test_names_are_counted_in_characters,
                          test_currency_is_a_current_iso_4217_code,
                          test_single_and_multi_line_text_rules,
                          test_attribute_names_are_single_line_values_multi_line,
                          NULL});
    sy_check_tcase(
        s, "filters", setup, teardown,
        (const TTest *[]){test_filters_are_checked_and_normalised,
                          test_bad_filters_are_field_errors,
                          test_filter_names_are_listed_in_report_order, NULL});
    return sy_check_run(s);
}
