/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * events_db.h - analytics events and their hourly counts in PostgreSQL
 * (app/store/events.c, sql/009_events.sql).
 *
 * Plain values in and out.  A batch is stored by one statement that
 * appends the events to their monthly partition and adds them to
 * event_counts (tenant, hour, type); the analytics reads use only the
 * counts, and answer JSON text built by PostgreSQL.  Which batch is
 * valid, and who may read which tenant, is the domain's (events.h).
 */
#ifndef SYNTHIA_EVENTS_DB_H
#define SYNTHIA_EVENTS_DB_H

#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/str.h"

/* One valid event. */
typedef struct sy_event_new {
    sy_str type;         /* [a-z0-9_.]{1,64} */
    int64_t occurred_ms; /* ms since the epoch */
    sy_str data;         /* a JSON object's text; len 0: none */
} sy_event_new;

/* Store n events of the tenant (key_id: the API key that sent them, or
 * NULL) in one durable statement: 0 with *stored, SY_EDB, SY_ENOMEM.
 * A month without a partition yet gets one, and the batch is retried. */
int sy_events_db_insert(sy_arena *a, const char *tenant, const char *key_id,
                        const sy_event_new *ev, int n, int64_t *stored);

/* {from, to, bucket, types: [..], buckets: [{t, counts: {type: n}}]}:
 * the last nbuckets buckets ("hour" or "day", UTC) up to and including
 * the current one, every bucket present and every listed type counted in
 * each (zeros included).  tenant NULL: every tenant; type NULL: the
 * SY_EVENTS_DB_MAX_TYPES most frequent types of the range. */
#define SY_EVENTS_DB_MAX_TYPES 100
int sy_events_db_timeseries(sy_arena *a, const char *tenant, const char *bucket,
                            int nbuckets, const char *type, sy_str *json);

/* {total, by_type: {type: n}} over the last nhours hours (the current
 * one included), the SY_EVENTS_DB_MAX_TYPES most frequent types listed.
 * tenant NULL: every tenant. */
int sy_events_db_totals(sy_arena *a, const char *tenant, int nhours,
                        sy_str *json);

/* Maintenance: create the partitions from last month through
 * months_ahead months ahead, drop those wholly older than retention_s
 * seconds, delete the counts older than that.  *json gets
 * {created: [..], dropped: [..], counts_deleted: n}. */
int sy_events_db_maintain(sy_arena *a, int64_t retention_s, int months_ahead,
                          sy_str *json);

#endif
