/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * events.c (domain) - the rules of analytics events (events.h): what a
 * batch may hold, what range a metrics read may span, and how the
 * summary puts the event counts, the try-on generations and the result
 * cache's figures together.
 */
#include "synthia/events.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/cache.h"
#include "synthia/clock.h"
#include "synthia/error.h"
#include "synthia/events_db.h"
#include "synthia/jobq.h"
#include "synthia/json.h"
#include "synthia/metrics.h"

static sy_metric m_accepted = {
    .name = "synthia_events_accepted_total",
    .help = "Analytics events stored (POST /api/v1/events).",
    .type = SY_METRIC_COUNTER,
};
static sy_metric m_refused = {
    .name = "synthia_events_refused_batches_total",
    .help = "Event batches refused as invalid (422), none of their events "
            "stored.",
    .type = SY_METRIC_COUNTER,
};
SY_METRICS_REGISTER(&m_accepted, &m_refused)

bool
sy_events_type_ok(sy_str s)
{
    if (s.len < 1 || s.len > SY_EVENTS_TYPE_MAX)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.'))
            return false;
    }
    return true;
}

/* A field error on "events[i]<what>"; *bad counts them, recorded or
 * not (recording may fail for memory: the batch must still be refused). */
static void
event_error(sy_errs *e, int *bad, int i, const char *what, const char *msg)
{
    char f[48];
    snprintf(f, sizeof(f), "events[%d]%s", i, what);
    (*bad)++;
    sy_errs_field(e, f, msg);
}

static void
read_type(sy_errs *e, int *bad, json_object *el, int i, sy_event_new *ev)
{
    json_object *v;
    if (json_object_object_get_ex(el, "type", &v) &&
        json_object_is_type(v, json_type_string)) {
        ev->type = (sy_str){json_object_get_string(v),
                            (size_t)json_object_get_string_len(v)};
        if (sy_events_type_ok(ev->type))
            return;
    }
    event_error(e, bad, i, ".type",
                "must be 1 to 64 of a-z, 0-9, '_' and '.' (page_view)");
}

/* ts: absent or null is now; else RFC 3339 within the accepted window. */
static void
read_ts(sy_errs *e, int *bad, json_object *el, int i, int64_t now,
        sy_event_new *ev)
{
    json_object *v;
    ev->occurred_ms = now;
    if (!json_object_object_get_ex(el, "ts", &v) || !v)
        return;
    int64_t ms;
    if (!json_object_is_type(v, json_type_string) ||
        sy_rfc3339_parse(json_object_get_string(v),
                         (size_t)json_object_get_string_len(v), &ms) < 0) {
        event_error(e, bad, i, ".ts",
                    "must be an RFC 3339 time (2026-12-03T10:00:00Z)");
        return;
    }
    if (ms < now - SY_EVENTS_PAST_MS || ms > now + SY_EVENTS_FUTURE_MS) {
        event_error(e, bad, i, ".ts",
                    "must lie within the last 7 days (and at most 5 "
                    "minutes ahead of the server's clock)");
        return;
    }
    ev->occurred_ms = ms;
}

/* data: absent or null is none; else an object of bounded size. */
static void
read_data(sy_arena *a, sy_errs *e, int *bad, json_object *el, int i,
          sy_event_new *ev)
{
    json_object *v;
    ev->data = (sy_str){NULL, 0};
    if (!json_object_object_get_ex(el, "data", &v) || !v)
        return;
    if (!json_object_is_type(v, json_type_object)) {
        event_error(e, bad, i, ".data", "must be an object");
        return;
    }
    if (json_object_object_length(v) > SY_EVENTS_DATA_KEYS) {
        event_error(e, bad, i, ".data", "must have at most 64 keys");
        return;
    }
    size_t n = 0;
    const char *s = json_object_to_json_string_length(
        v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (!s) {
        (*bad)++; /* out of memory: refused, and said so below */
        return;
    }
    if (n > SY_EVENTS_DATA_MAX) {
        event_error(e, bad, i, ".data",
                    "must be at most 4096 bytes as compact JSON");
        return;
    }
    ev->data = (sy_str){sy_arena_strndup(a, s, n), n};
}

int
sy_events_read(sy_arena *a, json_object *body, int64_t now, sy_errs *e,
               sy_event_new **ev, int *n)
{
    json_object *list;
    if (!json_object_object_get_ex(body, "events", &list) ||
        !json_object_is_type(list, json_type_array))
        return sy_errs_field(e, "events", "must be an array of events");
    size_t len = json_object_array_length(list);
    if (len < 1 || len > SY_EVENTS_MAX_BATCH)
        return sy_errs_field(e, "events", "must have 1 to 100 events");
    sy_event_new *v = sy_arena_alloc(a, len * sizeof(*v));
    int nbad = 0, *bad = &nbad;
    if (!v)
        return SY_ENOMEM;
    for (int i = 0; i < (int)len; i++) {
        json_object *el = json_object_array_get_idx(list, (size_t)i);
        if (!json_object_is_type(el, json_type_object)) {
            event_error(e, bad, i, "", "must be an object");
            continue;
        }
        read_type(e, bad, el, i, &v[i]);
        read_ts(e, bad, el, i, now, &v[i]);
        read_data(a, e, bad, el, i, &v[i]);
        if (v[i].data.len && !v[i].data.p)
            return SY_ENOMEM;
    }
    if (nbad) /* an error that could not be recorded: out of memory */
        return sy_errs_any(e) ? SY_EVALIDATION : SY_ENOMEM;
    *ev = v;
    *n = (int)len;
    return 0;
}

int
sy_events_ingest(sy_arena *a, const char *tenant, const char *key_id,
                 json_object *body, sy_errs *e, int64_t *accepted)
{
    sy_event_new *ev = NULL;
    int n = 0;
    int rc = sy_events_read(a, body, sy_wall_ms(), e, &ev, &n);
    if (rc == SY_EVALIDATION)
        sy_counter_inc(&m_refused);
    if (rc == 0)
        rc = sy_events_db_insert(a, tenant, key_id, ev, n, accepted);
    if (rc == 0)
        sy_counter_add(&m_accepted, 0, (uint64_t)*accepted);
    return rc;
}

/* ?period=: hours, or 0 (field error recorded). */
static int
period_hours(sy_errs *e, const char *period, const char *dflt)
{
    const char *p = period ? period : dflt;
    if (!strcmp(p, "24h"))
        return 24;
    if (!strcmp(p, "7d"))
        return 7 * 24;
    if (!strcmp(p, "30d"))
        return 30 * 24;
    sy_errs_field(e, "period", "must be 24h, 7d or 30d");
    return 0;
}

int
sy_events_timeseries(sy_arena *a, const char *tenant, const char *period,
                     const char *bucket, const char *type, sy_errs *e,
                     sy_str *out)
{
    int hours = period_hours(e, period, "24h");
    if (!bucket)
        bucket = hours == 24 ? "hour" : "day";
    int per = !strcmp(bucket, "hour") ? 1 : !strcmp(bucket, "day") ? 24 : 0;
    if (!per)
        sy_errs_field(e, "bucket", "must be hour or day");
    if (type && !sy_events_type_ok(sy_str_c(type)))
        sy_errs_field(e, "type",
                      "must be an event type (1 to 64 of a-z, 0-9, '_', '.')");
    if (sy_errs_any(e))
        return SY_EVALIDATION;
    return sy_events_db_timeseries(a, tenant, bucket, hours / per, type, out);
}

/* hits of the AI result types (analysis, tryon): provider calls the
 * cache answered instead. */
static int64_t
ai_hits(json_object *stats)
{
    static const char *const ai_types[] = {"analysis", "tryon"};
    json_object *by, *t, *h;
    int64_t n = 0;
    if (!json_object_object_get_ex(stats, "by_type", &by))
        return 0;
    for (size_t i = 0; i < sizeof(ai_types) / sizeof(ai_types[0]); i++)
        if (json_object_object_get_ex(by, ai_types[i], &t) &&
            json_object_object_get_ex(t, "hits", &h))
            n += json_object_get_int64(h);
    return n;
}

/* {hits, misses, hit_ratio, ai_calls_saved} of the result cache, or
 * null when its stats cannot be read (Redis down). */
static json_object *
cache_figures(sy_arena *a, const char *tenant)
{
    json_object *stats, *v;
    if (sy_cache_stats(a, tenant, &stats) < 0)
        return NULL;
    json_object *o = json_object_new_object();
    static const char *const keep[] = {"hits", "misses", "hit_ratio"};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        if (json_object_object_get_ex(stats, keep[i], &v))
            json_object_object_add(o, keep[i], json_object_get(v));
    json_object_object_add(o, "ai_calls_saved",
                           json_object_new_int64(ai_hits(stats)));
    json_object_put(stats);
    return o;
}

/* Try-on generations (jobs created in the period) by status, and the
 * p50 and p95 of the done ones' generation time (the successful
 * attempt's duration_ms; null when none is done). */
static int
add_generations(sy_arena *a, json_object *o, const char *tenant, int hours)
{
    sy_jobq_generations g;
    int rc = sy_jobq_generations_get(a, tenant, hours, &g);
    if (rc < 0)
        return rc;
    const struct {
        const char *name;
        int64_t n;
    } st[] = {{"queued", g.queued}, {"running", g.running}, {"done", g.done},
              {"error", g.error}, {"canceled", g.canceled}};
    json_object *j = json_object_new_object();
    for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++)
        json_object_object_add(j, st[i].name, json_object_new_int64(st[i].n));
    json_object_object_add(o, "generations", j);
    json_object *t = json_object_new_object();
    json_object_object_add(t, "p50", g.p50_ms < 0
                                         ? NULL
                                         : json_object_new_int64(g.p50_ms));
    json_object_object_add(t, "p95", g.p95_ms < 0
                                         ? NULL
                                         : json_object_new_int64(g.p95_ms));
    json_object_object_add(o, "generation_time_ms", t);
    return 0;
}

int
sy_events_summary(sy_arena *a, const char *tenant, const char *period,
                  sy_errs *e, json_object **out)
{
    int hours = period_hours(e, period, "30d");
    if (!hours)
        return SY_EVALIDATION;
    sy_str totals;
    int rc = sy_events_db_totals(a, tenant, hours, &totals);
    if (rc < 0)
        return rc;
    json_object *ev = json_tokener_parse(totals.p);
    if (!ev)
        return SY_EINTERNAL;
    json_object *o = json_object_new_object();
    if (!o) {
        json_object_put(ev);
        return SY_ENOMEM;
    }
    json_object_object_add(o, "period",
                           json_object_new_string(period ? period : "30d"));
    json_object_object_add(o, "tenant_id",
                           tenant ? json_object_new_string(tenant) : NULL);
    json_object_object_add(o, "events", ev);
    if ((rc = add_generations(a, o, tenant, hours)) < 0) {
        json_object_put(o);
        return rc;
    }
    json_object_object_add(o, "cache", cache_figures(a, tenant));
    *out = o;
    return 0;
}

int
sy_events_prune(sy_arena *a, int64_t retention_ms, sy_str *out)
{
    return sy_events_db_maintain(a, retention_ms / 1000, 2, out);
}
