/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_orders.c - unit tests of the order rules that need no database
 * (orders.h): reading an order body (lines, ids, quantities,
 * duplicates, the note), status names, and who may place orders.
 * Placing, stock, transitions and Idempotency-Key are covered by
 * tests/integration/test_orders.py.
 */
#include <stdio.h>
#include <string.h>

#include "sycheck.h"
#include "synthia/error.h"
#include "synthia/orders.h"

#define P1 "0b9a8c6e-1f2d-4c3b-9a8e-7d6c5b4a3f21"
#define P2 "7E1D2C3B-4A59-4687-9786-A5B4C3D2E1F0"

SY_CHECK_FIXTURE(1 << 16)
static sy_order_in in;

static int
read_order(const char *text)
{
    sy_errs_init(&E, &A);
    return sy_orders_read(&A, sy_check_json(&A, text), &E, &in);
}

/* Field and message of error i. */
static void
error_is(size_t i, const char *field, const char *message)
{
    ck_assert_ptr_nonnull(E.fields);
    ck_assert_uint_gt(json_object_array_length(E.fields), i);
    json_object *o = json_object_array_get_idx(E.fields, i), *f, *m;
    json_object_object_get_ex(o, "field", &f);
    json_object_object_get_ex(o, "message", &m);
    ck_assert_str_eq(json_object_get_string(f), field);
    if (message)
        ck_assert_str_eq(json_object_get_string(m), message);
}

static size_t
nerrors(void)
{
    return E.fields ? json_object_array_length(E.fields) : 0;
}

START_TEST(test_lines_and_note_are_read)
{
    ck_assert_int_eq(read_order("{\"items\": [{\"product_id\": \"" P1 "\","
                                " \"quantity\": 2}, {\"product_id\": \"" P2
                                "\", \"quantity\": 1000}],"
                                " \"note\": \"ring twice\"}"),
                     0);
    ck_assert_int_eq(in.n, 2);
    ck_assert_str_eq(in.lines[0].product_id, P1);
    ck_assert_int_eq(in.lines[0].quantity, 2);
    /* ids are compared and stored in lower case */
    ck_assert_str_eq(in.lines[1].product_id,
                     "7e1d2c3b-4a59-4687-9786-a5b4c3d2e1f0");
    ck_assert_int_eq(in.lines[1].quantity, 1000);
    ck_assert_str_eq(in.note, "ring twice");
    ck_assert_int_eq(read_order("{\"items\": [{\"product_id\": \"" P1 "\","
                                " \"quantity\": 1}]}"),
                     0);
    ck_assert_ptr_null(in.note);
}
END_TEST

START_TEST(test_items_must_be_one_to_a_hundred_lines)
{
    ck_assert_int_eq(read_order("{}"), SY_EVALIDATION);
    error_is(0, "items", "must be an array of lines");
    ck_assert_int_eq(read_order("{\"items\": {}}"), SY_EVALIDATION);
    error_is(0, "items", "must be an array of lines");
    ck_assert_int_eq(read_order("{\"items\": []}"), SY_EVALIDATION);
    error_is(0, "items", "must have 1 to 100 lines");

    sy_buf b;
    sy_buf_init(&b, &A, 1 << 16);
    sy_buf_puts(&b, "{\"items\": [");
    for (int i = 0; i < 101; i++)
        sy_buf_printf(&b,
                      "%s{\"product_id\": \"%08d-1f2d-4c3b-9a8e-"
                      "7d6c5b4a3f21\", \"quantity\": 1}",
                      i ? "," : "", i);
    sy_buf_puts(&b, "]}");
    ck_assert_int_eq(read_order(sy_buf_cstr(&b)), SY_EVALIDATION);
    error_is(0, "items", "must have 1 to 100 lines");
}
END_TEST

START_TEST(test_each_bad_line_is_named)
{
    ck_assert_int_eq(
        read_order("{\"items\": [7, {\"product_id\": \"nope\","
                   " \"quantity\": 0}, {\"product_id\": \"" P1 "\","
                   " \"quantity\": \"2\"}, {\"product_id\": \"" P2 "\","
                   " \"quantity\": 1001}]}"),
        SY_EVALIDATION);
    ck_assert_uint_eq(nerrors(), 5);
    error_is(0, "items[0]", "must be an object");
    error_is(1, "items[1].product_id", "must be a product id (a UUID)");
    error_is(2, "items[1].quantity", "must be an integer from 1 to 1000");
    error_is(3, "items[2].quantity", NULL);
    error_is(4, "items[3].quantity", NULL);
}
END_TEST

START_TEST(test_a_product_appears_on_one_line_only)
{
    ck_assert_int_eq(
        read_order("{\"items\": [{\"product_id\": \"" P2 "\", \"quantity\": 1},"
                   " {\"product_id\": \"" P1 "\", \"quantity\": 1},"
                   " {\"product_id\": \"7e1d2c3b-4a59-4687-9786-a5b4c3d2e1f0\","
                   " \"quantity\": 2}]}"),
        SY_EVALIDATION);
    ck_assert_uint_eq(nerrors(), 1);
    error_is(0, "items[2].product_id",
             "duplicate product_id (also in items[0])");
}
END_TEST

START_TEST(test_the_note_is_at_most_a_thousand_characters)
{
    sy_buf b;
    sy_buf_init(&b, &A, 1 << 16);
    sy_buf_puts(&b, "{\"items\": [{\"product_id\": \"" P1 "\","
                    " \"quantity\": 1}], \"note\": \"");
    for (int i = 0; i < 1000; i++)
        sy_buf_puts(&b, "\xc3\xb1"); /* n tilde: one character */
    sy_buf_puts(&b, "\"}");
    ck_assert_int_eq(read_order(sy_buf_cstr(&b)), 0);
    ck_assert_uint_eq(strlen(in.note), 2000);
    b.len -= 2;
    sy_buf_puts(&b, "x\"}");
    ck_assert_int_eq(read_order(sy_buf_cstr(&b)), SY_EVALIDATION);
    error_is(0, "note", NULL);
    ck_assert_int_eq(read_order("{\"items\": [{\"product_id\": \"" P1 "\","
                                " \"quantity\": 1}], \"note\": 5}"),
                     SY_EVALIDATION);
    error_is(0, "note", NULL);
}
END_TEST

START_TEST(test_the_note_is_multi_line_text)
{
    ck_assert_int_eq(read_order("{\"items\": [{\"product_id\": \"" P1 "\","
                                " \"quantity\": 1}],"
                                " \"note\": \"ring twice\\r\\n\\tthen knock\"}"),
                     0);
    ck_assert_str_eq(in.note, "ring twice\r\n\tthen knock");
    static const char *const bad[] = {"\\u0007", "\\u001b[2J", "\\u007f",
                                      "a\\u000bb"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"items\": [{\"product_id\": \"" P1 "\", \"quantity\": 1}],"
                 " \"note\": \"%s\"}",
                 bad[i]);
        ck_assert_msg(read_order(body) == SY_EVALIDATION, "%s", bad[i]);
        error_is(0, "note", NULL);
    }
}
END_TEST

START_TEST(test_status_names)
{
    const char *names[] = {"pending", "paid", "fulfilled", "canceled"};
    for (int i = 0; i < 4; i++)
        ck_assert_str_eq(sy_orders_status(sy_str_c(names[i])), names[i]);
    ck_assert_ptr_null(sy_orders_status(SY_STR("Paid")));
    ck_assert_ptr_null(sy_orders_status(SY_STR("cancelled")));
    ck_assert_ptr_null(sy_orders_status(SY_STR("")));
}
END_TEST

START_TEST(test_sysadmins_do_not_place_orders)
{
    sy_order_actor shopper = {.user_id = P1, .shopper = true};
    sy_order_actor staff = {.user_id = P1};
    sy_order_actor root = {.sysadmin = true};
    ck_assert_int_eq(sy_orders_may_place(&shopper, &E), 0);
    ck_assert_int_eq(sy_orders_may_place(&staff, &E), 0);
    ck_assert_ptr_null(E.code);
    ck_assert_int_eq(sy_orders_may_place(&root, &E), SY_EFORBIDDEN);
    ck_assert_str_eq(E.code, "forbidden");
    ck_assert_ptr_nonnull(strstr(E.detail, "sysadmins"));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("orders");
    sy_check_tcase(s, "body", setup, teardown,
                   (const TTest *[]){
                       test_lines_and_note_are_read,
                       test_items_must_be_one_to_a_hundred_lines,
                       test_each_bad_line_is_named,
                       test_a_product_appears_on_one_line_only,
                       test_the_note_is_at_most_a_thousand_characters,
                       test_the_note_is_multi_line_text, NULL});
    sy_check_tcase(s, "rules", setup, teardown,
                   (const TTest *[]){test_status_names,
                                     test_sysadmins_do_not_place_orders, NULL});
    return sy_check_run(s);
}
