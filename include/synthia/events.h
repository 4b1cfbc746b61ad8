/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * events.h - analytics events and the metrics read from them
 * (app/domain/events.c): which batch is accepted, which ranges may be
 * asked for, and the summary's figures.
 *
 * A batch is all or nothing: one invalid event refuses the call with a
 * field error per problem ("events[3].type").  tenant NULL in the reads
 * means every tenant (a sysadmin's "all").
 */
#ifndef SYNTHIA_EVENTS_H
#define SYNTHIA_EVENTS_H

#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/errs.h"
#include "synthia/str.h"

struct json_object;

#define SY_EVENTS_MAX_BATCH 100 /* events of one call */
#define SY_EVENTS_TYPE_MAX 64   /* characters of a type */
#define SY_EVENTS_DATA_MAX 4096 /* bytes of one event's data (compact) */
#define SY_EVENTS_DATA_KEYS 64  /* top-level keys of one event's data */
#define SY_EVENTS_PAST_MS (7LL * 86400 * 1000) /* oldest ts accepted */
#define SY_EVENTS_FUTURE_MS (5LL * 60 * 1000)  /* ts ahead of our clock */
/* The largest valid body, with room for whitespace: the route's limit. */
#define SY_EVENTS_MAX_BODY ((size_t)SY_EVENTS_MAX_BATCH * 6144 + 4096)

/* Validate {events: [{type, ts?, data?}]} (body: a parsed object) and
 * store the batch for the tenant (key_id: the sending key or NULL).
 * 0 with *accepted; SY_EVALIDATION (fields in e); SY_EDB. */
int sy_events_ingest(sy_arena *a, const char *tenant, const char *key_id,
                     struct json_object *body, sy_errs *e, int64_t *accepted);

/* The batch of body ({events: [...]}) checked and read, without storing
 * it: 0 with *ev (sy_event_new of events_db.h, in the arena) and *n (1 to
 * SY_EVENTS_MAX_BATCH); SY_EVALIDATION (every problem recorded in e);
 * SY_ENOMEM.  now_ms: the clock the ts bounds are measured from. */
struct sy_event_new;
int sy_events_read(sy_arena *a, struct json_object *body, int64_t now_ms,
                   sy_errs *e, struct sy_event_new **ev, int *n);

/* Is s a valid event type ([a-z0-9_.]{1,64})? */
bool sy_events_type_ok(sy_str s);

/* GET /metrics/timeseries: period "24h" | "7d" | "30d" (NULL: 24h),
 * bucket "hour" | "day" (NULL: hour for 24h, day otherwise), type NULL
 * or one event type.  0 with *out (JSON text), SY_EVALIDATION, SY_EDB. */
int sy_events_timeseries(sy_arena *a, const char *tenant, const char *period,
                         const char *bucket, const char *type, sy_errs *e,
                         sy_str *out);

/* GET /metrics/summary: period as above (NULL: 30d).  0 with *out (a
 * new object: the caller puts it), SY_EVALIDATION, SY_EDB.  Redis being down
 * only nulls the cache figures. */
int sy_events_summary(sy_arena *a, const char *tenant, const char *period,
                      sy_errs *e, struct json_object **out);

/* `synthia events prune`: partitions made ahead, those older than
 * retention_ms dropped, counts pruned; *out is the JSON line to print. */
int sy_events_prune(sy_arena *a, int64_t retention_ms, sy_str *out);

#endif
