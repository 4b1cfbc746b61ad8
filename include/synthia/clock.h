/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * clock.h - time sources and RFC 3339 formatting.
 */
#ifndef SYNTHIA_CLOCK_H
#define SYNTHIA_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic microseconds, for durations. */
int64_t sy_mono_us(void);
/* Wall-clock milliseconds since the epoch. */
int64_t sy_wall_ms(void);
/* "2026-11-22T08:30:00.123Z" into out (at least 25 bytes); returns length. */
size_t sy_rfc3339_ms(char *out, size_t outlen, int64_t wall_ms);
/* "2026-11-22T08:30:00Z" (seconds precision). */
size_t sy_rfc3339(char *out, size_t outlen, int64_t wall_s);
/* Parse an RFC 3339 date-time ("2026-11-22T08:30:00Z",
 * "2026-11-22t08:30:00.123456+01:00"; fractions past milliseconds are
 * dropped; years 1970 to 9999; no leap second) into milliseconds since
 * the epoch.  0, or -1 when s is not one. */
int sy_rfc3339_parse(const char *s, size_t len, int64_t *wall_ms);

#endif
