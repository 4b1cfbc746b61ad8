/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics.h - the metrics registry (app/core/metrics.c).
 *
 * A subsystem declares its counters and histograms as static sy_metric
 * objects beside the code that counts, and registers them once with
 * SY_METRICS_REGISTER(...) (a constructor: registration happens when the
 * program starts, in the same order in every process of one binary, and
 * before the pool forks).  GET /metrics renders whatever is registered,
 * in the Prometheus text format, summed over every source of values:
 *
 * - this process's cells (sy_metrics_attach decides where they are: a
 *   responder's slot of the pool segment, the master's own area, or,
 *   before either, a private array);
 * - sources other layers add (the pool adds every slot: sy_metrics_source);
 * - the segments under server.metrics_dir of processes outside the pool
 *   (the worker, the CLI: sy_metrics_use_file), so their counts show on
 *   the /metrics of the responders of the same host.
 *
 * Values are 64-bit cells updated with relaxed atomic adds, so several
 * processes may share one segment (every CLI run adds into cli.seg).
 * Collectors add text computed at scrape time (pool gauges).
 */
#ifndef SYNTHIA_METRICS_H
#define SYNTHIA_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synthia/str.h"

#define SY_METRICS_CELLS 8192 /* cells a segment holds */

enum sy_metric_type {
    SY_METRIC_COUNTER = 0,
    SY_METRIC_GAUGE,
    SY_METRIC_HISTOGRAM,
};

typedef struct sy_metric {
    const char *name;   /* "synthia_store_errors_total" */
    const char *help;
    int type;           /* enum sy_metric_type */
    const char *labels; /* fixed labels without braces ("store=\"redis\""),
                           or NULL */
    /* A family: nseries series whose labels labeller writes (without
     * braces); 0 means one series. */
    int nseries;
    void (*labeller)(sy_buf *b, int series);
    /* Histograms: upper bounds in seconds (ascending; +Inf is added). */
    const double *buckets;
    int nbuckets;
    bool sparse; /* leave out series that are all zero */
    /* set by the registry */
    uint32_t cell; /* first cell */
    struct sy_metric *next;
} sy_metric;

/* Register metrics (in order).  Past the capacity, a metric is left
 * unregistered and counts nowhere (logged when rendered). */
void sy_metrics_register(sy_metric *m);
#define SY_METRICS_CAT_(a, b) a##b
#define SY_METRICS_NAME_(line) SY_METRICS_CAT_(sy_metrics_ctor_, line)
#define SY_METRICS_REGISTER(...)                                            \
    __attribute__((constructor)) static void SY_METRICS_NAME_(__LINE__)(    \
        void)                                                               \
    {                                                                       \
        sy_metric *list_[] = {__VA_ARGS__};                                 \
        for (size_t i_ = 0; i_ < sizeof(list_) / sizeof(list_[0]); i_++)    \
            sy_metrics_register(list_[i_]);                                 \
    }

/* Count: add n to series `series` (0 for a single series). */
void sy_counter_add(sy_metric *m, int series, uint64_t n);
static inline void
sy_counter_inc(sy_metric *m)
{
    sy_counter_add(m, 0, 1);
}
/* A histogram observation of us microseconds into series `series`. */
void sy_histogram_observe(sy_metric *m, int series, int64_t us);
/* A gauge's value in this process (summed over processes when
 * rendered). */
void sy_gauge_set(sy_metric *m, int series, int64_t v);

/* Cells in use by the registered metrics (a source need only hold
 * these). */
size_t sy_metrics_ncells(void);

/* Where this process counts from now on: `cells` (SY_METRICS_CELLS of
 * them, e.g. a slot of the pool segment), or NULL for the private array. */
void sy_metrics_attach(uint64_t *cells);

/* A source of values outside this process: add(out) adds its cells into
 * out (sy_metrics_ncells() of them). */
void sy_metrics_source(void (*add)(uint64_t *out));

/* Count into the shared segment `<dir>/<kind>.seg` (created when
 * missing; replaced when it has another layout), so that /metrics of the
 * responders on this host shows it.  0, or SY_EIO (then this process
 * counts in private memory). */
int sy_metrics_use_file(const char *dir, const char *kind);

/* Text computed at scrape time, appended after the registered metrics. */
void sy_metrics_collector(void (*render)(sy_buf *b));

/* The Prometheus text exposition (format 0.0.4) of everything: the
 * registered metrics summed over this process, the sources, and the
 * segments under dir (NULL: none), then the collectors.  0 or SY_ENOMEM
 * (the buffer's maximum was reached). */
int sy_metrics_render(sy_buf *b, const char *dir);

/* Helpers for collectors: "# HELP/# TYPE" lines, an escaped label
 * value, a sample. */
void sy_metrics_header(sy_buf *b, const char *name, const char *type,
                       const char *help);
void sy_metrics_label(sy_buf *b, const char *v);
void sy_metrics_sample(sy_buf *b, const char *name, const char *type,
                       const char *help, uint64_t v);

#endif
