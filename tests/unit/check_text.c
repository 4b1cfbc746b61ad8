/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_text.c - what text from a client may contain (text.h): strict
 * UTF-8 (overlong forms, surrogates, code points past U+10FFFF and
 * truncated sequences refused), NUL and control characters in single-
 * and multi-line fields, trimming, UUIDs.
 */
#include "sycheck.h"
#include "synthia/text.h"

#define S(lit) ((sy_str){(lit), sizeof(lit) - 1})

START_TEST(test_utf8_accepts_shortest_forms)
{
    ck_assert(sy_text_utf8(S("")));
    ck_assert(sy_text_utf8(S("plain ascii")));
    ck_assert(sy_text_utf8(S("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x91\x97")));
    ck_assert(sy_text_utf8(S("\xed\x9f\xbf")));     /* U+D7FF */
    ck_assert(sy_text_utf8(S("\xee\x80\x80")));     /* U+E000 */
    ck_assert(sy_text_utf8(S("\xf4\x8f\xbf\xbf"))); /* U+10FFFF */
}
END_TEST

START_TEST(test_utf8_refuses_what_postgresql_refuses)
{
    ck_assert(!sy_text_utf8(S("\xc0\xaf")));         /* overlong '/' */
    ck_assert(!sy_text_utf8(S("\xe0\x80\xaf")));     /* overlong */
    ck_assert(!sy_text_utf8(S("\xf0\x80\x80\xaf"))); /* overlong */
    ck_assert(!sy_text_utf8(S("\xed\xa0\x80")));     /* U+D800 */
    ck_assert(!sy_text_utf8(S("\xed\xbf\xbf")));     /* U+DFFF */
    ck_assert(!sy_text_utf8(S("\xf4\x90\x80\x80"))); /* U+110000 */
    ck_assert(!sy_text_utf8(S("\xf8\x88\x80\x80\x80")));
    ck_assert(!sy_text_utf8(S("\x80")));             /* lone continuation */
    ck_assert(!sy_text_utf8(S("ab\xc3")));           /* truncated */
    ck_assert(!sy_text_utf8(S("\xe2\x82")));
    ck_assert(!sy_text_utf8(S("\xc3\x28")));         /* bad continuation */
    ck_assert(!sy_text_utf8(S("\xff")));
}
END_TEST

START_TEST(test_lines_refuse_nul_and_controls)
{
    ck_assert(sy_text_line_ok(S("Ada Lovelace")));
    ck_assert(!sy_text_line_ok(S("a\0b")));
    ck_assert(!sy_text_line_ok(S("a\nb")));
    ck_assert(!sy_text_line_ok(S("a\tb")));
    ck_assert(!sy_text_line_ok(S("a\x7f")));
    ck_assert(!sy_text_line_ok(S("a\x1b[31m")));
    ck_assert(!sy_text_line_ok(S("\xc0\xaf")));
    ck_assert(sy_text_multiline_ok(S("line 1\r\nline\t2")));
    ck_assert(!sy_text_multiline_ok(S("a\0b")));
    ck_assert(!sy_text_multiline_ok(S("a\x07")));
    ck_assert(!sy_text_multiline_ok(S("\xed\xa0\x80")));
}
END_TEST

START_TEST(test_trim_and_uuid)
{
    sy_str t = sy_text_trim(S(" \t\r\n x y \n"));
    ck_assert_uint_eq(t.len, 3);
    ck_assert(memcmp(t.p, "x y", 3) == 0);
    ck_assert_uint_eq(sy_text_trim(S("   ")).len, 0);
    ck_assert(sy_text_uuid("0b8e2a52-5c1e-4e52-9d43-4f1f7b1d8a11"));
    ck_assert(!sy_text_uuid("0b8e2a52-5c1e-4e52-9d43-4f1f7b1d8a1"));
    ck_assert(!sy_text_uuid("0b8e2a52x5c1e-4e52-9d43-4f1f7b1d8a11"));
    ck_assert(!sy_text_uuid(NULL));
}
END_TEST

int
main(void)
{
    const TTest *const tests[] = {
        test_utf8_accepts_shortest_forms, test_utf8_refuses_what_postgresql_refuses,
        test_lines_refuse_nul_and_controls, test_trim_and_uuid, NULL};
    return sy_check_suite("text", NULL, NULL, tests);
}
