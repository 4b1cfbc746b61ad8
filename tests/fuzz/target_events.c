/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target_events.c - analytics event batches (POST /api/v1/events): the
 * body through sy_json_parse and sy_events_read (events.h), and the
 * RFC 3339 parser behind each event's ts, sy_rfc3339_parse (clock.h).
 *
 * Input: "ts:" then a timestamp, or a JSON body.  An accepted timestamp
 * must print (sy_rfc3339_ms) as a timestamp that parses to the same
 * instant; an accepted batch must hold 1 to 100 events of valid types,
 * times inside the bounds, and data of at most SY_EVENTS_DATA_MAX bytes;
 * a refused one must say why, per field.  The clock is fixed, so a seed
 * replays the same way on any day.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "synthia/clock.h"
#include "synthia/errs.h"
#include "synthia/error.h"
#include "synthia/events.h"
#include "synthia/events_db.h"
#include "synthia/json.h"

const char fz_target_name[] = "events";

/* 2026-01-15T12:00:00Z: the fixed "now" of every run */
#define NOW_MS 1768478400000LL

int
fz_init(void)
{
    return 0;
}

static void
run_ts(sy_str s, sy_buf *t)
{
    int64_t ms = -1, again = -1;
    int rc = sy_rfc3339_parse(s.p, s.len, &ms);
    fz_puti(t, "ts", rc, rc == 0 ? ms : 0);
    if (rc != 0)
        return;
    char out[64];
    size_t n = sy_rfc3339_ms(out, sizeof(out), ms);
    if (n == 0 || n >= sizeof(out))
        fz_fail("an accepted time (%lld ms) does not print", (long long)ms);
    fz_put(t, "printed", 0, (sy_str){out, n});
    if (sy_rfc3339_parse(out, n, &again) != 0 || again != ms)
        fz_fail("\"%s\" does not parse back to %lld ms", out, (long long)ms);
}

static void
run_batch(sy_arena *a, sy_str body, sy_buf *t)
{
    sy_errs e;
    sy_errs_init(&e, a);
    json_object *o = NULL;
    int rc = sy_json_parse(a, body, &e, &o);
    fz_puti(t, "parse", rc, 0);
    if (rc < 0)
        return;
    sy_event_new *ev = NULL;
    int n = -1;
    sy_errs_init(&e, a);
    rc = sy_events_read(a, o, NOW_MS, &e, &ev, &n);
    fz_puti(t, "read", rc, rc == 0 ? n : 0);
    if (rc == SY_EVALIDATION) {
        if (!sy_errs_any(&e))
            fz_fail("a batch refused without a field error");
        if (ev || n != -1)
            fz_fail("a refused batch wrote its result");
    } else if (rc == 0) {
        if (n < 1 || n > SY_EVENTS_MAX_BATCH || !ev)
            fz_fail("%d events accepted", n);
        for (int i = 0; i < n; i++) {
            if (!sy_events_type_ok(ev[i].type))
                fz_fail("event %d: an invalid type accepted", i);
            if (ev[i].occurred_ms < NOW_MS - SY_EVENTS_PAST_MS ||
                ev[i].occurred_ms > NOW_MS + SY_EVENTS_FUTURE_MS)
                fz_fail("event %d: ts out of bounds accepted", i);
            if (ev[i].data.len > SY_EVENTS_DATA_MAX ||
                (ev[i].data.len && !ev[i].data.p))
                fz_fail("event %d: data of %zu bytes", i, ev[i].data.len);
            fz_put(t, "type", 0, ev[i].type);
            fz_puti(t, "at", 0, ev[i].occurred_ms);
            fz_put(t, "data", 0, ev[i].data);
        }
    } else if (rc != SY_ENOMEM) {
        fz_fail("sy_events_read returned %d", rc);
    }
}

void
fz_run(const uint8_t *data, size_t size, sy_buf *t)
{
    sy_str in = {(const char *)data, size};
    sy_arena a;
    sy_arena_init(&a, 4096, 1 << 20);
    if (size >= 3 && memcmp(data, "ts:", 3) == 0)
        run_ts((sy_str){in.p + 3, in.len - 3}, t);
    else
        run_batch(&a, in, t);
    sy_arena_cleanup(&a);
}
