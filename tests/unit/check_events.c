/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_events.c - the pieces of events that need no database: the type
 * rule (events.h) and the RFC 3339 parser its timestamps go through
 * (clock.h), checked against the formatter both ways.
 */
#include <string.h>

#include "sycheck.h"
#include "synthia/clock.h"
#include "synthia/events.h"

static int
parse(const char *s, int64_t *ms)
{
    return sy_rfc3339_parse(s, strlen(s), ms);
}

START_TEST(test_type_rule)
{
    ck_assert(sy_events_type_ok(sy_str_c("page_view")));
    ck_assert(sy_events_type_ok(sy_str_c("tryon.shared")));
    ck_assert(sy_events_type_ok(sy_str_c("a")));
    char t64[65], t65[66];
    memset(t64, 'x', 64);
    t64[64] = 0;
    memset(t65, 'x', 65);
    t65[65] = 0;
    ck_assert(sy_events_type_ok(sy_str_c(t64)));
    ck_assert(!sy_events_type_ok(sy_str_c(t65)));
    ck_assert(!sy_events_type_ok(sy_str_c("")));
    ck_assert(!sy_events_type_ok(sy_str_c("Page_view")));
    ck_assert(!sy_events_type_ok(sy_str_c("page-view")));
    ck_assert(!sy_events_type_ok(sy_str_c("page view")));
    ck_assert(!sy_events_type_ok((sy_str){"a\0b", 3}));
    ck_assert(!sy_events_type_ok(sy_str_c("caf\xc3\xa9")));
}
END_TEST

START_TEST(test_rfc3339_accepts_and_converts)
{
    int64_t ms;
    ck_assert_int_eq(parse("1970-01-01T00:00:00Z", &ms), 0);
    ck_assert_int_eq(ms, 0);
    ck_assert_int_eq(parse("2026-12-03T04:05:06Z", &ms), 0);
    ck_assert_int_eq(ms, 1796270706000LL);
    ck_assert_int_eq(parse("2026-12-03t04:05:06.7z", &ms), 0);
    ck_assert_int_eq(ms, 1796270706700LL);
    ck_assert_int_eq(parse("2026-12-03T04:05:06.123456789Z", &ms), 0);
    ck_assert_int_eq(ms, 1796270706123LL);
    ck_assert_int_eq(parse("2026-12-03T05:05:06+01:00", &ms), 0);
    ck_assert_int_eq(ms, 1796270706000LL);
    ck_assert_int_eq(parse("2026-12-02T23:35:06-04:30", &ms), 0);
    ck_assert_int_eq(ms, 1796270706000LL);
    ck_assert_int_eq(parse("2024-02-29T12:00:00Z", &ms), 0);
    /* every formatted millisecond time reads back as itself */
    for (int64_t t = 0; t < 4102444800000LL; t += 86399999LL * 37) {
        char s[32];
        sy_rfc3339_ms(s, sizeof(s), t);
        ck_assert_int_eq(parse(s, &ms), 0);
        ck_assert_int_eq(ms, t);
    }
}
END_TEST

START_TEST(test_rfc3339_refuses)
{
    static const char *const bad[] = {
        "",
        "2026-12-03",
        "2026-12-03T04:05:06",  /* no offset */
        "2026-12-03 04:05:06Z", /* space */
        "2026-13-03T04:05:06Z",
        "2026-00-03T04:05:06Z",
        "2026-02-29T04:05:06Z", /* not a leap year */
        "2026-04-31T04:05:06Z",
        "2026-12-03T24:00:00Z",
        "2026-12-03T04:60:06Z",
        "2026-12-03T04:05:60Z", /* no leap seconds */
        "2026-12-03T04:05:06.Z",
        "2026-12-03T04:05:06+0100",
        "2026-12-03T04:05:06+24:00",
        "2026-12-03T04:05:06Zjunk",
        "1969-12-31T23:59:59Z",
        "+2026-12-03T04:05:06Z",
        "2026-1a-03T04:05:06Z",
    };
    int64_t ms = 42;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(parse(bad[i], &ms) < 0, "%s", bad[i]);
    ck_assert_int_eq(ms, 42);
    /* length-counted: a valid prefix is not enough */
    ck_assert(sy_rfc3339_parse("2026-12-03T04:05:06Z", 19, &ms) < 0);
}
END_TEST

int
main(void)
{
    const TTest *const tests[] = {test_type_rule,
                                  test_rfc3339_accepts_and_converts,
                                  test_rfc3339_refuses, NULL};
    return sy_check_suite("events", NULL, NULL, tests);
}
