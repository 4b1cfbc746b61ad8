/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_str.c - unit tests of string views, the range-checked number
 * parser, durations, sizes, booleans, URL decoding and bounded buffers
 * (including JSON string escaping of invalid UTF-8).
 */
#include <check.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sycheck.h"
#include "synthia/arena.h"
#include "synthia/error.h"
#include "synthia/str.h"

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

/* Parse s as an int64 in [min, max]; the sentinel shows *out untouched. */
static int
parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    *out = 4242;
    return sy_parse_i64(sy_str_c(s), min, max, out);
}

static int64_t
duration_ok(const char *s)
{
    int64_t ms = -1;
    ck_assert_msg(sy_parse_duration_ms(sy_str_c(s), &ms) == 0, "'%s' refused",
                  s);
    return ms;
}

static void
duration_bad(const char *s)
{
    int64_t ms = 4242;
    ck_assert_msg(sy_parse_duration_ms(sy_str_c(s), &ms) == SY_EINVAL,
                  "'%s' accepted", s);
    ck_assert_int_eq(ms, 4242);
}

static int64_t
size_ok(const char *s)
{
    int64_t n = -1;
    ck_assert_msg(sy_parse_size(sy_str_c(s), &n) == 0, "'%s' refused", s);
    return n;
}

static void
size_bad(const char *s)
{
    int64_t n = 4242;
    ck_assert_msg(sy_parse_size(sy_str_c(s), &n) == SY_EINVAL, "'%s' accepted",
                  s);
    ck_assert_int_eq(n, 4242);
}

/* URL-decode a C string; returns the rc and the result in *out. */
static int
decode(const char *in, bool plus, sy_str *out)
{
    return sy_url_decode(&A, sy_str_c(in), plus, out);
}

/* JSON-escape n bytes into a fresh arena buffer and return the text. */
static const char *
json_escape(const char *p, size_t n)
{
    sy_buf b;
    sy_buf_init(&b, &A, 4096);
    ck_assert_int_eq(sy_buf_json_str(&b, p, n), 0);
    return sy_buf_cstr(&b);
}

/* ------------------------------------------------------------ views */

START_TEST(test_str_c_of_null_is_empty_view)
{
    sy_str s = sy_str_c(NULL);
    ck_assert_ptr_null(s.p);
    ck_assert_uint_eq(s.len, 0);
    ck_assert(sy_str_eqc(s, ""));
}
END_TEST

START_TEST(test_str_eq_compares_length_and_bytes)
{
    ck_assert(sy_str_eq(SY_STR("abc"), sy_str_c("abc")));
    ck_assert(!sy_str_eq(SY_STR("abc"), SY_STR("abd")));
    ck_assert(!sy_str_eq(SY_STR("abc"), SY_STR("ab")));
    ck_assert(sy_str_eq(SY_STR_NULL, SY_STR("")));
    ck_assert(sy_str_eq(SY_STR("a\0b"), SY_STR("a\0b")));
    ck_assert(!sy_str_eq(SY_STR("a\0b"), SY_STR("a\0c")));
}
END_TEST

START_TEST(test_str_ieqc_ignores_ascii_case_only)
{
    ck_assert(sy_str_ieqc(SY_STR("Content-TYPE"), "content-type"));
    ck_assert(!sy_str_ieqc(SY_STR("content-typ"), "content-type"));
    ck_assert(!sy_str_eqc(SY_STR("ABC"), "abc"));
}
END_TEST

START_TEST(test_str_starts_checks_prefix)
{
    ck_assert(sy_str_starts(SY_STR("postgresql://x"), "postgresql://"));
    ck_assert(!sy_str_starts(SY_STR("postgres"), "postgresql://"));
    ck_assert(sy_str_starts(SY_STR("abc"), ""));
}
END_TEST

START_TEST(test_str_starts_with_empty_prefix_on_null_view)
{
    ck_assert(sy_str_starts(SY_STR_NULL, ""));
    ck_assert(!sy_str_starts(SY_STR_NULL, "a"));
}
END_TEST

START_TEST(test_str_trim_ows_strips_spaces_and_tabs_only)
{
    sy_str t = sy_str_trim_ows(SY_STR(" \t a b\t "));
    ck_assert(sy_str_eqc(t, "a b"));
    t = sy_str_trim_ows(SY_STR("\r\na\n"));
    ck_assert(sy_str_eqc(t, "\r\na\n")); /* CR and LF are not OWS */
    ck_assert_uint_eq(sy_str_trim_ows(SY_STR(" \t ")).len, 0);
    ck_assert_uint_eq(sy_str_trim_ows(SY_STR_NULL).len, 0);
}
END_TEST

START_TEST(test_str_dup_copies_view_with_nul)
{
    sy_str v = {"hello world", 5};
    char *d = sy_str_dup(&A, v);
    ck_assert_str_eq(d, "hello");
    ck_assert_ptr_ne(d, v.p);
}
END_TEST

/* ------------------------------------------------------------ integers */

START_TEST(test_parse_i64_accepts_values_in_range)
{
    int64_t v;
    ck_assert_int_eq(parse_i64("0", 0, 10, &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(parse_i64("10", 0, 10, &v), 0);
    ck_assert_int_eq(v, 10);
    ck_assert_int_eq(parse_i64("-42", -100, 100, &v), 0);
    ck_assert_int_eq(v, -42);
    ck_assert_int_eq(parse_i64("+7", 0, 10, &v), 0);
    ck_assert_int_eq(v, 7);
}
END_TEST

START_TEST(test_parse_i64_reaches_both_int64_limits)
{
    int64_t v;
    ck_assert_int_eq(parse_i64("9223372036854775807", INT64_MIN, INT64_MAX, &v),
                     0);
    ck_assert(v == INT64_MAX);
    ck_assert_int_eq(
        parse_i64("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
    ck_assert(v == INT64_MIN);
}
END_TEST

START_TEST(test_parse_i64_refuses_overflow)
{
    int64_t v;
    ck_assert_int_eq(parse_i64("9223372036854775808", INT64_MIN, INT64_MAX, &v),
                     SY_EINVAL);
    ck_assert_int_eq(
        parse_i64("-9223372036854775809", INT64_MIN, INT64_MAX, &v), SY_EINVAL);
    ck_assert_int_eq(
        parse_i64("18446744073709551616", INT64_MIN, INT64_MAX, &v), SY_EINVAL);
    ck_assert_int_eq(
        parse_i64("99999999999999999999", INT64_MIN, INT64_MAX, &v), SY_EINVAL);
    ck_assert_int_eq(v, 4242);
}
END_TEST

START_TEST(test_parse_i64_refuses_out_of_range_without_writing)
{
    int64_t v;
    ck_assert_int_eq(parse_i64("11", 0, 10, &v), SY_EINVAL);
    ck_assert_int_eq(v, 4242);
    ck_assert_int_eq(parse_i64("-1", 0, 10, &v), SY_EINVAL);
    ck_assert_int_eq(v, 4242);
}
END_TEST

START_TEST(test_parse_i64_refuses_non_digits)
{
    static const char *bad[] = {"",   "-",   "+",    "12a", "a12", " 1",
                                "1 ", "1.0", "0x10", "1e3", "--1", "+-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v;
        ck_assert_msg(parse_i64(bad[i], INT64_MIN, INT64_MAX, &v) == SY_EINVAL,
                      "'%s' accepted", bad[i]);
        ck_assert_int_eq(v, 4242);
    }
}
END_TEST

START_TEST(test_parse_i64_uses_view_length_not_nul)
{
    int64_t v = 0;
    sy_str s = {"123456", 3};
    ck_assert_int_eq(sy_parse_i64(s, 0, 1000, &v), 0);
    ck_assert_int_eq(v, 123);
    ck_assert_int_eq(sy_parse_i64(SY_STR("1\0002"), 0, 1000, &v), SY_EINVAL);
}
END_TEST

/* ------------------------------------------------------------ units */

START_TEST(test_duration_units_scale_to_milliseconds)
{
    ck_assert_int_eq(duration_ok("250ms"), 250);
    ck_assert_int_eq(duration_ok("30s"), 30000);
    ck_assert_int_eq(duration_ok("15m"), 15 * 60000);
    ck_assert_int_eq(duration_ok("15min"), 15 * 60000);
    ck_assert_int_eq(duration_ok("2h"), 2 * 3600000);
    ck_assert_int_eq(duration_ok("30d"), 30LL * 86400000);
    ck_assert_int_eq(duration_ok("0"), 0);
}
END_TEST

START_TEST(test_duration_bare_number_is_seconds)
{
    ck_assert_int_eq(duration_ok("5"), 5000);
}
END_TEST

START_TEST(test_duration_refuses_bad_forms)
{
    static const char *bad[] = {"",    "s",  "ms",   "-1s", "1.5s", "5x",
                                "5 s", "5S", "5sec", " 5s", "1h30m"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        duration_bad(bad[i]);
}
END_TEST

START_TEST(test_duration_refuses_overflow)
{
    duration_bad("9223372036854775807d");
    duration_bad("9223372036854775807s");
    duration_bad("99999999999999999999ms");
}
END_TEST

START_TEST(test_size_units_are_powers_of_1024)
{
    ck_assert_int_eq(size_ok("512"), 512);
    ck_assert_int_eq(size_ok("512b"), 512);
    ck_assert_int_eq(size_ok("64k"), 64 * 1024);
    ck_assert_int_eq(size_ok("64KB"), 64 * 1024);
    ck_assert_int_eq(size_ok("1M"), 1024 * 1024);
    ck_assert_int_eq(size_ok("1mib"), 1024 * 1024);
    ck_assert_int_eq(size_ok("2G"), 2LL * 1024 * 1024 * 1024);
}
END_TEST

START_TEST(test_size_refuses_bad_forms_and_overflow)
{
    static const char *bad[] = {
        "",           "k", "1T", "1.5M", "-1", "1 k", "9223372036854775807k",
        "9999999999G"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        size_bad(bad[i]);
}
END_TEST

START_TEST(test_bool_accepts_the_documented_words_in_any_case)
{
    static const char *yes[] = {"true", "yes", "on", "1", "TRUE", "On"};
    static const char *no[] = {"false", "no", "off", "0", "False", "OFF"};
    for (size_t i = 0; i < 6; i++) {
        bool v = false;
        ck_assert_int_eq(sy_parse_bool(sy_str_c(yes[i]), &v), 0);
        ck_assert_msg(v, "'%s' is not true", yes[i]);
        v = true;
        ck_assert_int_eq(sy_parse_bool(sy_str_c(no[i]), &v), 0);
        ck_assert_msg(!v, "'%s' is not false", no[i]);
    }
}
END_TEST

START_TEST(test_bool_refuses_other_words)
{
    static const char *bad[] = {"", "2", "y", "n", "enabled", "truee"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bool v = true;
        ck_assert_int_eq(sy_parse_bool(sy_str_c(bad[i]), &v), SY_EINVAL);
        ck_assert(v); /* untouched */
    }
}
END_TEST

/* ------------------------------------------------------------ url */

START_TEST(test_url_decode_percent_escapes_any_case)
{
    sy_str out;
    ck_assert_int_eq(decode("a%20b%2fc%2F%41", false, &out), 0);
    ck_assert_uint_eq(out.len, 7);
    ck_assert_str_eq(out.p, "a b/c/A");
}
END_TEST

START_TEST(test_url_decode_plus_is_space_only_when_asked)
{
    sy_str out;
    ck_assert_int_eq(decode("a+b%2B", true, &out), 0);
    ck_assert_str_eq(out.p, "a b+");
    ck_assert_int_eq(decode("a+b", false, &out), 0);
    ck_assert_str_eq(out.p, "a+b");
}
END_TEST

START_TEST(test_url_decode_keeps_utf8_bytes)
{
    sy_str out;
    ck_assert_int_eq(decode("caf%C3%A9", false, &out), 0);
    ck_assert_str_eq(out.p, "caf\xc3\xa9");
}
END_TEST

START_TEST(test_url_decode_refuses_bad_escapes)
{
    static const char *bad[] = {"%", "%4", "abc%", "%G1", "%1G", "%%41", "a%2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sy_str out = SY_STR("untouched");
        ck_assert_msg(decode(bad[i], true, &out) == SY_EBADREQ, "'%s' accepted",
                      bad[i]);
        ck_assert_str_eq(out.p, "untouched");
    }
}
END_TEST

START_TEST(test_url_decode_refuses_encoded_nul)
{
    sy_str out;
    ck_assert_int_eq(decode("a%00b", false, &out), SY_EBADREQ);
}
END_TEST

START_TEST(test_url_decode_empty_input_gives_empty_string)
{
    sy_str out;
    ck_assert_int_eq(sy_url_decode(&A, SY_STR(""), true, &out), 0);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_str_eq(out.p, "");
}
END_TEST

START_TEST(test_url_decode_out_of_budget_is_enomem)
{
    sy_arena small;
    sy_str out;
    sy_arena_init(&small, 1024, 16);
    ck_assert_int_eq(
        sy_url_decode(&small, SY_STR("0123456789abcdefg"), false, &out),
        SY_ENOMEM);
    sy_arena_cleanup(&small);
}
END_TEST

/* ------------------------------------------------------------ buffers */

START_TEST(test_buf_appends_and_counts_length)
{
    sy_buf b;
    sy_buf_init(&b, &A, 100);
    ck_assert_int_eq(sy_buf_puts(&b, "ab"), 0);
    ck_assert_int_eq(sy_buf_putc(&b, 'c'), 0);
    ck_assert_int_eq(sy_buf_append(&b, "d\0e", 3), 0);
    ck_assert_int_eq(sy_buf_add_str(&b, SY_STR("f")), 0);
    ck_assert_uint_eq(b.len, 7);
    ck_assert_mem_eq(b.p, "abcd\0ef", 7);
    ck_assert(!b.failed);
}
END_TEST

START_TEST(test_buf_fills_exactly_to_max)
{
    sy_buf b;
    sy_buf_init(&b, &A, 5);
    ck_assert_int_eq(sy_buf_puts(&b, "12345"), 0);
    ck_assert_str_eq(sy_buf_cstr(&b), "12345");
    ck_assert_uint_eq(b.len, 5);
}
END_TEST

START_TEST(test_buf_refuses_append_past_max_and_keeps_content)
{
    sy_buf b;
    sy_buf_init(&b, &A, 5);
    ck_assert_int_eq(sy_buf_puts(&b, "1234"), 0);
    ck_assert_int_eq(sy_buf_puts(&b, "56"), SY_ENOMEM);
    ck_assert(b.failed);
    ck_assert_uint_eq(b.len, 4);
    ck_assert_mem_eq(b.p, "1234", 4);
}
END_TEST

START_TEST(test_buf_failure_is_sticky_until_reset)
{
    sy_buf b;
    sy_buf_init(&b, &A, 4);
    ck_assert_int_eq(sy_buf_puts(&b, "too long"), SY_ENOMEM);
    ck_assert_int_eq(sy_buf_putc(&b, 'x'), SY_ENOMEM);
    ck_assert_int_eq(sy_buf_append(&b, "", 0), SY_ENOMEM);
    ck_assert_ptr_null(sy_buf_cstr(&b));
    sy_buf_reset(&b);
    ck_assert(!b.failed);
    ck_assert_int_eq(sy_buf_putc(&b, 'x'), 0);
    ck_assert_str_eq(sy_buf_cstr(&b), "x");
}
END_TEST

START_TEST(test_buf_reset_keeps_memory)
{
    sy_buf b;
    sy_buf_init(&b, NULL, 1000);
    sy_buf_puts(&b, "hello");
    char *p = b.p;
    sy_buf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    sy_buf_puts(&b, "bye");
    ck_assert_ptr_eq(b.p, p);
    ck_assert_str_eq(sy_buf_cstr(&b), "bye");
    sy_buf_free(&b);
}
END_TEST

START_TEST(test_heap_buf_grows_past_initial_capacity)
{
    sy_buf b;
    sy_buf_init(&b, NULL, 100000);
    for (int i = 0; i < 10000; i++)
        ck_assert_int_eq(sy_buf_putc(&b, (char)('a' + i % 26)), 0);
    ck_assert_uint_eq(b.len, 10000);
    ck_assert_uint_ge(b.cap, 10001);
    for (int i = 0; i < 10000; i++)
        ck_assert_int_eq(b.p[i], 'a' + i % 26);
    sy_buf_free(&b);
    ck_assert_ptr_null(b.p);
}
END_TEST

START_TEST(test_buf_capacity_never_exceeds_max_plus_nul)
{
    sy_buf b;
    sy_buf_init(&b, NULL, 300);
    for (int i = 0; i < 300; i++)
        sy_buf_putc(&b, 'x');
    ck_assert_uint_le(b.cap, 301);
    ck_assert_uint_eq(strlen(sy_buf_cstr(&b)), 300);
    sy_buf_free(&b);
}
END_TEST

START_TEST(test_arena_buf_out_of_budget_marks_failed)
{
    sy_arena small;
    sy_buf b;
    sy_arena_init(&small, 1024, 512);
    sy_buf_init(&b, &small, 1 << 20);
    int rc = 0;
    for (int i = 0; i < 1000 && rc == 0; i++)
        rc = sy_buf_putc(&b, 'x');
    ck_assert_int_eq(rc, SY_ENOMEM);
    ck_assert(b.failed);
    ck_assert_uint_lt(b.len, 512);
    sy_arena_cleanup(&small);
}
END_TEST

START_TEST(test_buf_cstr_of_untouched_buffer_is_empty_string)
{
    sy_buf b;
    sy_buf_init(&b, &A, 10);
    const char *s = sy_buf_cstr(&b);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s, "");
    ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(test_buf_cstr_does_not_count_the_nul)
{
    sy_buf b;
    sy_buf_init(&b, &A, 10);
    sy_buf_puts(&b, "abc");
    ck_assert_str_eq(sy_buf_cstr(&b), "abc");
    ck_assert_uint_eq(b.len, 3);
    sy_buf_puts(&b, "d");
    ck_assert_str_eq(sy_buf_cstr(&b), "abcd");
}
END_TEST

START_TEST(test_buf_printf_formats_and_appends)
{
    sy_buf b;
    sy_buf_init(&b, &A, 100);
    sy_buf_puts(&b, ">");
    ck_assert_int_eq(sy_buf_printf(&b, "%s=%d;%05.1f", "n", 42, 3.14159), 0);
    ck_assert_str_eq(sy_buf_cstr(&b), ">n=42;003.1");
}
END_TEST

START_TEST(test_buf_printf_past_max_fails_without_writing)
{
    sy_buf b;
    sy_buf_init(&b, &A, 8);
    sy_buf_puts(&b, "abc");
    ck_assert_int_eq(sy_buf_printf(&b, "%s", "123456"), SY_ENOMEM);
    ck_assert_uint_eq(b.len, 3);
    ck_assert_mem_eq(b.p, "abc", 3);
}
END_TEST

START_TEST(test_buf_add_i64_writes_decimal_including_extremes)
{
    sy_buf b;
    sy_buf_init(&b, &A, 100);
    sy_buf_add_i64(&b, 0);
    sy_buf_putc(&b, ' ');
    sy_buf_add_i64(&b, -17);
    sy_buf_putc(&b, ' ');
    sy_buf_add_i64(&b, INT64_MAX);
    sy_buf_putc(&b, ' ');
    sy_buf_add_i64(&b, INT64_MIN);
    ck_assert_str_eq(sy_buf_cstr(&b),
                     "0 -17 9223372036854775807 -9223372036854775808");
}
END_TEST

/* ------------------------------------------------------------ json */

START_TEST(test_json_str_quotes_plain_text)
{
    ck_assert_str_eq(json_escape("hello", 5), "\"hello\"");
    ck_assert_str_eq(json_escape("", 0), "\"\"");
}
END_TEST

START_TEST(test_json_str_escapes_quote_and_backslash)
{
    ck_assert_str_eq(json_escape("a\"b\\c", 5), "\"a\\\"b\\\\c\"");
}
END_TEST

START_TEST(test_json_str_escapes_control_characters)
{
    ck_assert_str_eq(json_escape("\n\r\t", 3), "\"\\n\\r\\t\"");
    ck_assert_str_eq(json_escape("\x01\x1f\b", 3), "\"\\u0001\\u001f\\u0008\"");
    ck_assert_str_eq(json_escape("a\0b", 3), "\"a\\u0000b\"");
}
END_TEST

START_TEST(test_json_str_passes_valid_utf8_through)
{
    /* é, €, U+1F600, and the largest code point U+10FFFF */
    const char *s = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf";
    const char *e = json_escape(s, strlen(s));
    ck_assert_uint_eq(strlen(e), strlen(s) + 2);
    ck_assert_mem_eq(e + 1, s, strlen(s));
}
END_TEST

START_TEST(test_json_str_replaces_invalid_utf8_with_fffd)
{
    /* lone byte, stray continuation, overlong '/', surrogate, > U+10FFFF */
    ck_assert_str_eq(json_escape("a\xff"
                                 "b",
                                 3),
                     "\"a\\ufffdb\"");
    ck_assert_str_eq(json_escape("\x80", 1), "\"\\ufffd\"");
    ck_assert_str_eq(json_escape("\xc0\xaf", 2), "\"\\ufffd\\ufffd\"");
    ck_assert_str_eq(json_escape("\xed\xa0\x80", 3),
                     "\"\\ufffd\\ufffd\\ufffd\"");
    ck_assert_str_eq(json_escape("\xf4\x90\x80\x80", 4),
                     "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
}
END_TEST

START_TEST(test_json_str_replaces_truncated_sequence_at_end)
{
    /* the first two bytes of '€' and nothing after */
    ck_assert_str_eq(json_escape("x\xe2\x82", 3), "\"x\\ufffd\\ufffd\"");
}
END_TEST

START_TEST(test_json_str_output_of_random_bytes_is_valid_json)
{
    unsigned char in[64];
    unsigned int seed = 12345;
    for (int round = 0; round < 500; round++) {
        for (size_t i = 0; i < sizeof(in); i++)
            in[i] = (unsigned char)(rand_r(&seed) & 0xff);
        const char *e = json_escape((const char *)in, sizeof(in));
        json_tokener *tok = json_tokener_new();
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
                                        JSON_TOKENER_VALIDATE_UTF8);
        json_object *o = json_tokener_parse_ex(tok, e, (int)strlen(e));
        ck_assert_msg(o != NULL && json_object_is_type(o, json_type_string),
                      "round %d: %s", round, e);
        json_object_put(o);
        json_tokener_free(tok);
    }
}
END_TEST

START_TEST(test_json_str_past_max_fails)
{
    sy_buf b;
    sy_buf_init(&b, &A, 6);
    ck_assert_int_eq(sy_buf_json_str(&b, "abcd", 4), 0); /* 6 bytes */
    sy_buf_reset(&b);
    ck_assert_int_eq(sy_buf_json_str(&b, "a\n\"", 3), SY_ENOMEM);
    ck_assert(b.failed);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("str");
    const TTest *const views_tests[] = {
        test_str_c_of_null_is_empty_view,
        test_str_eq_compares_length_and_bytes,
        test_str_ieqc_ignores_ascii_case_only, test_str_starts_checks_prefix,
        test_str_starts_with_empty_prefix_on_null_view,
        test_str_dup_copies_view_with_nul,
        test_str_trim_ows_strips_spaces_and_tabs_only, NULL};
    sy_check_tcase(s, "views", setup, teardown, views_tests);
    const TTest *const numbers_tests[] = {
        test_parse_i64_accepts_values_in_range,
        test_parse_i64_reaches_both_int64_limits,
        test_parse_i64_refuses_overflow,
        test_parse_i64_refuses_out_of_range_without_writing,
        test_parse_i64_refuses_non_digits,
        test_parse_i64_uses_view_length_not_nul,
        test_duration_units_scale_to_milliseconds,
        test_duration_bare_number_is_seconds, test_duration_refuses_bad_forms,
        test_duration_refuses_overflow, test_size_units_are_powers_of_1024,
        test_size_refuses_bad_forms_and_overflow,
        test_bool_accepts_the_documented_words_in_any_case,
        test_bool_refuses_other_words, NULL};
    sy_check_tcase(s, "numbers", NULL, NULL, numbers_tests);
    const TTest *const url_tests[] = {
        test_url_decode_percent_escapes_any_case,
        test_url_decode_plus_is_space_only_when_asked,
        test_url_decode_keeps_utf8_bytes, test_url_decode_refuses_bad_escapes,
        test_url_decode_refuses_encoded_nul,
        test_url_decode_empty_input_gives_empty_string,
        test_url_decode_out_of_budget_is_enomem, NULL};
    sy_check_tcase(s, "url", setup, teardown, url_tests);
    const TTest *const buf_tests[] = {
        test_buf_appends_and_counts_length, test_buf_fills_exactly_to_max,
        test_buf_refuses_append_past_max_and_keeps_content,
        test_buf_failure_is_sticky_until_reset, test_buf_reset_keeps_memory,
        test_heap_buf_grows_past_initial_capacity,
        test_buf_capacity_never_exceeds_max_plus_nul,
        test_arena_buf_out_of_budget_marks_failed,
        test_buf_cstr_of_untouched_buffer_is_empty_string,
        test_buf_cstr_does_not_count_the_nul,
        test_buf_printf_formats_and_appends,
        test_buf_printf_past_max_fails_without_writing,
        test_buf_add_i64_writes_decimal_including_extremes, NULL};
    sy_check_tcase(s, "buf", setup, teardown, buf_tests);
    const TTest *const json_tests[] = {
        test_json_str_quotes_plain_text,
        test_json_str_escapes_quote_and_backslash,
        test_json_str_escapes_control_characters,
        test_json_str_passes_valid_utf8_through,
        test_json_str_replaces_invalid_utf8_with_fffd,
        test_json_str_replaces_truncated_sequence_at_end,
        test_json_str_output_of_random_bytes_is_valid_json,
        test_json_str_past_max_fails, NULL};
    sy_check_tcase(s, "json", setup, teardown, json_tests);
    return sy_check_run(s);
}
