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

#endif
