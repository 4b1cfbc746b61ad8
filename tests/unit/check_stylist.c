/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_stylist.c - how the stylist treats a model's text (stylist.h):
 * control characters removed, invalid UTF-8 replaced, cut on a
 * character boundary, UUIDs found (any case, each once, not inside a
 * longer token) and the ones not kept replaced.
 */
#include "sycheck.h"
#include "synthia/crypto.h"
#include "synthia/stylist.h"

#define S(lit) ((sy_str){(lit), sizeof(lit) - 1})
#define ID1 "0b8e2a52-5c1e-4e52-9d43-4f1f7b1d8a11"
#define ID2 "7d444840-9dc0-11d1-b245-5ffdce74fad2"

SY_CHECK_FIXTURE(1 << 16)

START_TEST(test_clean_removes_controls_and_bad_utf8)
{
    char ids[4][SY_UUID_LEN + 1];
    sy_str out;
    int n = sy_stylist_clean(&A, S("a\x1b[31mb\tc\r\nd\x7f\xc2\x85" "e\xff"
                                   "f\xc3\xa9"),
                             100, &out, ids, 4);
    ck_assert_int_eq(n, 0);
    ck_assert_str_eq(out.p, "a[31mb\tc\r\nde\xef\xbf\xbd" "f\xc3\xa9");
    ck_assert_uint_eq(out.len, strlen(out.p));
}
END_TEST

START_TEST(test_clean_cuts_on_a_character_boundary)
{
    char ids[1][SY_UUID_LEN + 1];
    sy_str out;
    /* "é" is two bytes: 3 bytes hold "aé", 4 do not hold "aéé" */
    ck_assert_int_eq(sy_stylist_clean(&A, S("a\xc3\xa9\xc3\xa9"), 4, &out,
                                      ids, 1), 0);
    ck_assert_str_eq(out.p, "a\xc3\xa9");
    ck_assert_int_eq(sy_stylist_clean(&A, S("abc"), 0, &out, ids, 1), 0);
    ck_assert_uint_eq(out.len, 0);
}
END_TEST

START_TEST(test_clean_finds_each_uuid_once)
{
    char ids[4][SY_UUID_LEN + 1];
    sy_str out;
    int n = sy_stylist_clean(
        &A,
        S("Try [" ID1 "] or (0B8E2A52-5C1E-4E52-9D43-4F1F7B1D8A11), "
          ID2 ". Not x" ID1 " nor " ID1 "0 nor " ID1 "-1."),
        1000, &out, ids, 4);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(ids[0], ID1);
    ck_assert_str_eq(ids[1], ID2);
    /* more than max_ids: counted, the first kept */
    n = sy_stylist_clean(&A, S(ID2 " " ID1), 1000, &out, ids, 1);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(ids[0], ID2);
}
END_TEST

START_TEST(test_redact_replaces_ids_not_kept)
{
    const char keep[1][SY_UUID_LEN + 1] = {ID1};
    sy_str out;
    int replaced;
    ck_assert_int_eq(
        sy_stylist_redact(&A, S("A [" ID1 "], B [" ID2 "], C "
                                "[7D444840-9DC0-11D1-B245-5FFDCE74FAD2]."),
                          keep, 1, &out, &replaced),
        0);
    ck_assert_int_eq(replaced, 2);
    ck_assert_str_eq(out.p, "A [" ID1 "], B [" SY_STYLIST_UNKNOWN "], C ["
                            SY_STYLIST_UNKNOWN "].");
    ck_assert_int_eq(sy_stylist_redact(&A, S("no ids"), keep, 0, &out,
                                       &replaced), 0);
    ck_assert_int_eq(replaced, 0);
    ck_assert_str_eq(out.p, "no ids");
}
END_TEST

int
main(void)
{
    const TTest *const tests[] = {
        test_clean_removes_controls_and_bad_utf8,
        test_clean_cuts_on_a_character_boundary,
        test_clean_finds_each_uuid_once, test_redact_replaces_ids_not_kept,
        NULL};
    return sy_check_suite("stylist", setup, teardown, tests);
}
