/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * clock.c - monotonic and wall clocks, RFC 3339 formatting.
 *
 * Formatting uses plain integer arithmetic (no gmtime, no locale), so it is
 * async-signal-safe and can be used by the request-timeout handler.
 */
#include "synthia/clock.h"

#include <time.h>

int64_t
sy_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
sy_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Days since 1970-01-01 to civil date (H. Hinnant's algorithm). */
static void
civil(int64_t days, int *y, int *m, int *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static char *
digits(char *p, int v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

/* Writes "YYYY-MM-DDTHH:MM:SS" (19 bytes) and returns the end. */
static char *
format_s(char *p, int64_t s)
{
    int64_t days = s >= 0 ? s / 86400 : (s - 86399) / 86400;
    int64_t rem = s - days * 86400;
    int y, m, d;
    civil(days, &y, &m, &d);
    p = digits(p, y, 4);
    *p++ = '-';
    p = digits(p, m, 2);
    *p++ = '-';
    p = digits(p, d, 2);
    *p++ = 'T';
    p = digits(p, (int)(rem / 3600), 2);
    *p++ = ':';
    p = digits(p, (int)(rem / 60 % 60), 2);
    *p++ = ':';
    return digits(p, (int)(rem % 60), 2);
}

size_t
sy_rfc3339_ms(char *out, size_t outlen, int64_t wall_ms)
{
    if (outlen < 25)
        return 0;
    int64_t s = wall_ms >= 0 ? wall_ms / 1000 : (wall_ms - 999) / 1000;
    char *p = format_s(out, s);
    *p++ = '.';
    p = digits(p, (int)(wall_ms - s * 1000), 3);
    *p++ = 'Z';
    *p = 0;
    return (size_t)(p - out);
}

size_t
sy_rfc3339(char *out, size_t outlen, int64_t wall_s)
{
    if (outlen < 21)
        return 0;
    char *p = format_s(out, wall_s);
    *p++ = 'Z';
    *p = 0;
    return (size_t)(p - out);
}
