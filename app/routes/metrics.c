/*
 * metrics.c - GET /metrics: the Prometheus text exposition (format
 * 0.0.4) of the counters every responder keeps in its slot of the shared
 * pool segment (pool.h).
 *
 * All slots are summed, free ones included: a slot keeps its counters
 * when its responder is replaced or retired, so counters never go
 * backwards.  Request series are written only when non-zero, and latency
 * histograms only for routes that have served something, which keeps a
 * scrape small as the route table grows.
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "synthia/error.h"
#include "synthia/pool.h"
#include "synthia/router.h"
#include "synthia/routes.h"
#include "synthia/str.h"

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Metrics rows in use: the routes, then the "unmatched" row. */
static int
route_rows(void)
{
    return sy_nroutes < SY_METRICS_MAX_ROUTES ? (int)sy_nroutes
                                              : SY_METRICS_MAX_ROUTES;
}

static void
sum_slots(sy_slot_metrics *t)
{
    int nrows = route_rows();
    for (int i = 0; sy_pool && i < SY_POOL_MAX_SLOTS; i++) {
        const sy_slot_metrics *m = &sy_pool->slots[i].m;
        for (int r = 0; r < SY_METRICS_ROWS; r++) {
            if (r >= nrows && r != SY_METRICS_MAX_ROUTES)
                continue;
            for (int s = 0; s < SY_METRICS_NSTATUS; s++)
                t->requests[r][s] += LOAD(m->requests[r][s]);
            for (int b = 0; b < SY_METRICS_NBUCKETS; b++)
                t->latency[r][b] += LOAD(m->latency[r][b]);
            t->latency_sum_us[r] += LOAD(m->latency_sum_us[r]);
        }
        t->db_errors += LOAD(m->db_errors);
        t->db_connects += LOAD(m->db_connects);
        t->redis_errors += LOAD(m->redis_errors);
        t->redis_connects += LOAD(m->redis_connects);
        t->ratelimit_degraded += LOAD(m->ratelimit_degraded);
    }
}

static void
header(sy_buf *b, const char *name, const char *type, const char *help)
{
    sy_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the exposition format requires. */
static void
label(sy_buf *b, const char *v)
{
    sy_buf_putc(b, '"');
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            sy_buf_putc(b, '\\');
        if (*v == '\n')
            sy_buf_puts(b, "\\n");
        else
            sy_buf_putc(b, *v);
    }
    sy_buf_putc(b, '"');
}

/* route="...",method="..." of a metrics row (no braces). */
static void
route_labels(sy_buf *b, int row)
{
    bool matched = row != SY_METRICS_MAX_ROUTES;
    sy_buf_puts(b, "route=");
    label(b, matched ? sy_routes[row].pattern : "unmatched");
    sy_buf_puts(b, ",method=");
    label(b, matched ? sy_routes[row].method : "");
}

/* Seconds from microseconds, exactly: 1234567 -> "1.234567". */
static void
seconds(sy_buf *b, uint64_t us)
{
    sy_buf_printf(b, "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
}

static int
row_of(int i, int nrows)
{
    return i < nrows ? i : SY_METRICS_MAX_ROUTES;
}

static void
requests(sy_buf *b, const sy_slot_metrics *t)
{
    int nrows = route_rows();
    header(b, "synthia_http_requests_total", "counter",
           "HTTP requests by route pattern, method and status.");
    for (int i = 0; i <= nrows; i++) {
        int r = row_of(i, nrows);
        for (int s = 0; s < SY_METRICS_NSTATUS; s++) {
            if (t->requests[r][s] == 0)
                continue;
            sy_buf_puts(b, "synthia_http_requests_total{");
            route_labels(b, r);
            if (sy_metrics_statuses[s] == 0)
                sy_buf_puts(b, ",status=\"other\"} ");
            else
                sy_buf_printf(b, ",status=\"%d\"} ", sy_metrics_statuses[s]);
            sy_buf_printf(b, "%" PRIu64 "\n", t->requests[r][s]);
        }
    }
}

static void
histogram_row(sy_buf *b, const sy_slot_metrics *t, int r)
{
    static const char name[] = "synthia_http_request_duration_seconds";
    uint64_t cum = 0;
    for (int k = 0; k < SY_METRICS_NBUCKETS; k++) {
        cum += t->latency[r][k];
        sy_buf_printf(b, "%s_bucket{", name);
        route_labels(b, r);
        if (k < SY_METRICS_NBUCKETS - 1)
            sy_buf_printf(b, ",le=\"%g\"} ", sy_metrics_buckets_s[k]);
        else
            sy_buf_puts(b, ",le=\"+Inf\"} ");
        sy_buf_printf(b, "%" PRIu64 "\n", cum);
    }
    sy_buf_printf(b, "%s_sum{", name);
    route_labels(b, r);
    sy_buf_puts(b, "} ");
    seconds(b, t->latency_sum_us[r]);
    sy_buf_printf(b, "\n%s_count{", name);
    route_labels(b, r);
    sy_buf_printf(b, "} %" PRIu64 "\n", cum);
}

static void
latency(sy_buf *b, const sy_slot_metrics *t)
{
    int nrows = route_rows();
    header(b, "synthia_http_request_duration_seconds", "histogram",
           "Time from request parsed to response written, by route.");
    for (int i = 0; i <= nrows; i++) {
        int r = row_of(i, nrows);
        uint64_t n = 0;
        for (int k = 0; k < SY_METRICS_NBUCKETS; k++)
            n += t->latency[r][k];
        if (n > 0)
            histogram_row(b, t, r);
    }
}

static void
one(sy_buf *b, const char *name, const char *type, const char *help, uint64_t v)
{
    header(b, name, type, help);
    sy_buf_printf(b, "%s %" PRIu64 "\n", name, v);
}

/* A metric with one "store" label for postgresql and redis. */
static void
per_store(sy_buf *b, const char *name, const char *help, uint64_t pg,
          uint64_t redis)
{
    header(b, name, "counter", help);
    sy_buf_printf(b, "%s{store=\"postgresql\"} %" PRIu64 "\n", name, pg);
    sy_buf_printf(b, "%s{store=\"redis\"} %" PRIu64 "\n", name, redis);
}

static void
pool(sy_buf *b)
{
    sy_pool_stats st;
    sy_pool_stats_get(&st);
    header(b, "synthia_responders", "gauge", "Responder processes by state.");
    sy_buf_printf(b, "synthia_responders{state=\"busy\"} %d\n", st.busy);
    sy_buf_printf(b, "synthia_responders{state=\"idle\"} %d\n", st.idle);
    one(b, "synthia_responders_target", "gauge",
        "Responders the master keeps running.", (uint64_t)st.target);
    one(b, "synthia_requests_served_total", "counter",
        "Requests served by all responders.", st.served);
    one(b, "synthia_pool_all_busy_total", "counter",
        "Times a request found every responder busy.", st.all_busy);
    one(b, "synthia_responder_deaths_total", "counter",
        "Abnormal responder deaths (crashes and kills).", st.deaths);
    one(b, "synthia_responder_recycled_total", "counter",
        "Responders retired after server.max_requests.", st.recycled);
    one(b, "synthia_request_timeouts_total", "counter",
        "Requests ended by server.request_timeout.", st.timeouts);
    one(b, "synthia_reloads_total", "counter",
        "Configuration reloads (SIGHUP).", st.reloads);
    one(b, "synthia_crash_loop", "gauge",
        "1 while the crash-loop guard holds back respawns.",
        st.crash_loop ? 1 : 0);
}

/* Responder deaths by cause and the guard's floor (master.c). */
static void
deaths_by_cause(sy_buf *b)
{
    static const char name[] = "synthia_responder_deaths_by_cause_total";
    sy_pool_deaths d;
    sy_pool_deaths_get(&d);
    header(b, name, "counter",
           "Responder deaths by cause: crash (crash signal or failing exit; "
           "counts toward the crash-loop guard) or kill (SIGKILL, SIGTERM "
           "or another signal; does not).");
    sy_buf_printf(b, "%s{cause=\"crash\"} %" PRIu64 "\n", name, d.crashes);
    sy_buf_printf(b, "%s{cause=\"kill\"} %" PRIu64 "\n", name, d.kills);
    one(b, "synthia_responders_min", "gauge",
        "Responders kept running even while the crash-loop guard holds.",
        (uint64_t)d.min_responders);
}

int
sy_route_metrics_get(sy_req *req, sy_res *res)
{
    sy_slot_metrics *t = sy_arena_calloc(req->arena, sizeof(*t));
    if (!t)
        return SY_ENOMEM;
    sum_slots(t);
    sy_buf *b = &res->body;
    sy_buf_reset(b);
    requests(b, t);
    latency(b, t);
    pool(b);
    deaths_by_cause(b);
    per_store(b, "synthia_store_errors_total",
              "Failed connects and statements per store.", t->db_errors,
              t->redis_errors);
    per_store(b, "synthia_store_connects_total",
              "Connections opened per store.", t->db_connects,
              t->redis_connects);
    one(b, "synthia_ratelimit_degraded_total", "counter",
        "Rate-limited requests decided without Redis.", t->ratelimit_degraded);
    header(b, "synthia_build_info", "gauge", "Build version; always 1.");
    sy_buf_puts(b, "synthia_build_info{version=");
    label(b, PACKAGE_VERSION);
    sy_buf_puts(b, "} 1\n");
    if (b->failed)
        return SY_ENOMEM;
    res->status = 200;
    res->content_type = SY_STR(CONTENT_TYPE);
    return 0;
}
