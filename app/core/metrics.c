/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics.c - the metrics registry and its renderer (metrics.h).
 *
 * Registration assigns each metric a run of cells: one per series for
 * counters and gauges, and for histograms one per bucket (+Inf last)
 * and one for the sum in microseconds.  The layout (names, types,
 * series, buckets) is hashed so that a segment written by another build
 * is never misread.
 */
#include "synthia/metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "synthia/error.h"

#define SEG_MAGIC 0x53594d31u /* "SYM1" */
#define MAX_SOURCES 4
#define MAX_COLLECTORS 8

typedef struct seg_header {
    uint32_t magic;
    uint32_t ncells;
    uint64_t layout;
} seg_header;

typedef struct seg {
    seg_header h;
    uint64_t cells[SY_METRICS_CELLS];
} seg;

static sy_metric *head, *tail;
static uint32_t next_cell = 1; /* cell 0: "not registered" */
static bool overflow;
static uint64_t private_cells[SY_METRICS_CELLS];
static uint64_t *cells = private_cells;
static void (*sources[MAX_SOURCES])(uint64_t *out);
static int nsources;
static void (*collectors[MAX_COLLECTORS])(sy_buf *b);
static int ncollectors;

static int
series_of(const sy_metric *m)
{
    return m->nseries > 0 ? m->nseries : 1;
}

static uint32_t
cells_per_series(const sy_metric *m)
{
    return m->type == SY_METRIC_HISTOGRAM ? (uint32_t)m->nbuckets + 2 : 1;
}

void
sy_metrics_register(sy_metric *m)
{
    uint32_t need = (uint32_t)series_of(m) * cells_per_series(m);
    if (m->cell || next_cell + need > SY_METRICS_CELLS) {
        overflow = overflow || !m->cell;
        return;
    }
    m->cell = next_cell;
    next_cell += need;
    m->next = NULL;
    if (tail)
        tail->next = m;
    else
        head = m;
    tail = m;
}

size_t
sy_metrics_ncells(void)
{
    return next_cell;
}

static uint64_t *
cell(const sy_metric *m, int series, uint32_t k)
{
    if (!m->cell || series < 0 || series >= series_of(m))
        return NULL;
    return &cells[m->cell + (uint32_t)series * cells_per_series(m) + k];
}

void
sy_counter_add(sy_metric *m, int series, uint64_t n)
{
    uint64_t *c = cell(m, series, 0);
    if (c)
        __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

void
sy_gauge_set(sy_metric *m, int series, int64_t v)
{
    uint64_t *c = cell(m, series, 0);
    if (c)
        __atomic_store_n(c, (uint64_t)v, __ATOMIC_RELAXED);
}

void
sy_histogram_observe(sy_metric *m, int series, int64_t us)
{
    int k = 0;
    while (k < m->nbuckets && (double)us > m->buckets[k] * 1e6)
        k++;
    uint64_t *b = cell(m, series, (uint32_t)k);
    uint64_t *sum = cell(m, series, (uint32_t)m->nbuckets + 1);
    if (!b || !sum)
        return;
    __atomic_fetch_add(b, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(sum, (uint64_t)(us > 0 ? us : 0), __ATOMIC_RELAXED);
}

void
sy_metrics_attach(uint64_t *c)
{
    cells = c ? c : private_cells;
}

void
sy_metrics_source(void (*add)(uint64_t *out))
{
    if (nsources < MAX_SOURCES)
        sources[nsources++] = add;
}

void
sy_metrics_collector(void (*render)(sy_buf *b))
{
    if (ncollectors < MAX_COLLECTORS)
        collectors[ncollectors++] = render;
}

/* ------------------------------------------------------------ segments */

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

static uint64_t
layout_hash(void)
{
    uint64_t h = 14695981039346656037ull;
    for (const sy_metric *m = head; m; m = m->next) {
        int v[4] = {m->type, series_of(m), m->nbuckets, (int)m->cell};
        h = fnv(h, m->name, strlen(m->name) + 1);
        h = fnv(h, m->labels ? m->labels : "", m->labels ? strlen(m->labels)
                                                         : 0);
        h = fnv(h, v, sizeof(v));
    }
    return h;
}

static bool
header_ok(const seg_header *h)
{
    return h->magic == SEG_MAGIC && h->ncells == next_cell &&
           h->layout == layout_hash();
}

int
sy_metrics_use_file(const char *dir, const char *kind)
{
    char path[4096];
    if (!dir || !*dir ||
        snprintf(path, sizeof(path), "%s/%s.seg", dir, kind) >=
            (int)sizeof(path))
        return SY_EIO;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0660);
    if (fd < 0)
        return SY_EIO;
    struct stat st;
    seg *s = MAP_FAILED;
    if (flock(fd, LOCK_EX) == 0 && fstat(fd, &st) == 0 &&
        (st.st_size == (off_t)sizeof(seg) ||
         ftruncate(fd, (off_t)sizeof(seg)) == 0))
        s = mmap(NULL, sizeof(seg), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                 0);
    if (s != MAP_FAILED && !header_ok(&s->h)) {
        memset(s, 0, sizeof(*s)); /* another build's layout: start over */
        s->h = (seg_header){SEG_MAGIC, next_cell, layout_hash()};
    }
    flock(fd, LOCK_UN);
    close(fd);
    if (s == MAP_FAILED)
        return SY_EIO;
    sy_metrics_attach(s->cells);
    return 0;
}

static bool
seg_name(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".seg") == 0;
}

/* Add the cells of one segment file (of this layout) into out. */
static void
add_file(int dirfd, const char *name, uint64_t *out)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    void *p = MAP_FAILED;
    if (fstat(fd, &st) == 0 && st.st_size == (off_t)sizeof(seg))
        p = mmap(NULL, sizeof(seg), PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return;
    const seg *s = p;
    if (header_ok(&s->h))
        for (uint32_t i = 0; i < next_cell; i++)
            out[i] += __atomic_load_n(&s->cells[i], __ATOMIC_RELAXED);
    munmap(p, sizeof(seg));
}

static void
add_files(const char *dir, uint64_t *out)
{
    DIR *d = dir && *dir ? opendir(dir) : NULL;
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (seg_name(e->d_name))
            add_file(dirfd(d), e->d_name, out);
    closedir(d);
}

/* ------------------------------------------------------------ rendering */

void
sy_metrics_header(sy_buf *b, const char *name, const char *type,
                  const char *help)
{
    sy_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
sy_metrics_label(sy_buf *b, const char *v)
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

void
sy_metrics_sample(sy_buf *b, const char *name, const char *type,
                  const char *help, uint64_t v)
{
    sy_metrics_header(b, name, type, help);
    sy_buf_printf(b, "%s %" PRIu64 "\n", name, v);
}

static const char *const type_names[] = {"counter", "gauge", "histogram"};

/* Was a metric of this name rendered before m (its HELP written)? */
static bool
seen_name(const sy_metric *m)
{
    for (const sy_metric *p = head; p && p != m; p = p->next)
        if (strcmp(p->name, m->name) == 0)
            return true;
    return false;
}

/* "{fixed,family,extra}" or nothing at all. */
static void
labels(sy_buf *b, const sy_metric *m, int series, const char *extra)
{
    size_t start = b->len;
    sy_buf_putc(b, '{');
    if (m->labels)
        sy_buf_puts(b, m->labels);
    if (m->labeller) {
        if (b->len > start + 1)
            sy_buf_putc(b, ',');
        m->labeller(b, series);
    }
    if (extra) {
        if (b->len > start + 1)
            sy_buf_putc(b, ',');
        sy_buf_puts(b, extra);
    }
    if (b->len == start + 1)
        b->len = start; /* no labels: no braces */
    else
        sy_buf_putc(b, '}');
}

/* Seconds from microseconds, exactly: 1234567 -> "1.234567". */
static void
seconds(sy_buf *b, uint64_t us)
{
    sy_buf_printf(b, "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
}

static void
histogram(sy_buf *b, const sy_metric *m, int s, const uint64_t *c)
{
    uint64_t cum = 0;
    char le[40];
    for (int k = 0; k <= m->nbuckets; k++) {
        cum += c[k];
        if (k < m->nbuckets)
            snprintf(le, sizeof(le), "le=\"%g\"", m->buckets[k]);
        else
            snprintf(le, sizeof(le), "le=\"+Inf\"");
        sy_buf_printf(b, "%s_bucket", m->name);
        labels(b, m, s, le);
        sy_buf_printf(b, " %" PRIu64 "\n", cum);
    }
    sy_buf_printf(b, "%s_sum", m->name);
    labels(b, m, s, NULL);
    sy_buf_putc(b, ' ');
    seconds(b, c[m->nbuckets + 1]);
    sy_buf_printf(b, "\n%s_count", m->name);
    labels(b, m, s, NULL);
    sy_buf_printf(b, " %" PRIu64 "\n", cum);
}

static void
render_series(sy_buf *b, const sy_metric *m, const uint64_t *sum)
{
    uint32_t per = cells_per_series(m);
    for (int s = 0; s < series_of(m); s++) {
        const uint64_t *c = sum + m->cell + (uint32_t)s * per;
        bool zero = true;
        for (uint32_t k = 0; k < per && zero; k++)
            zero = c[k] == 0;
        if (m->sparse && zero)
            continue;
        if (m->type == SY_METRIC_HISTOGRAM) {
            histogram(b, m, s, c);
            continue;
        }
        sy_buf_puts(b, m->name);
        labels(b, m, s, NULL);
        sy_buf_printf(b, " %" PRIu64 "\n", c[0]);
    }
}

int
sy_metrics_render(sy_buf *b, const char *dir)
{
    static uint64_t sum[SY_METRICS_CELLS];
    memset(sum, 0, sizeof(sum));
    if (cells == private_cells)
        for (uint32_t i = 0; i < next_cell; i++)
            sum[i] = __atomic_load_n(&cells[i], __ATOMIC_RELAXED);
    for (int i = 0; i < nsources; i++)
        sources[i](sum);
    add_files(dir, sum);
    /* a family's lines together, under one HELP and TYPE, even when its
     * series were registered by different modules */
    for (const sy_metric *m = head; m; m = m->next) {
        if (seen_name(m))
            continue;
        sy_metrics_header(b, m->name, type_names[m->type], m->help);
        for (const sy_metric *o = m; o; o = o->next)
            if (o == m || strcmp(o->name, m->name) == 0)
                render_series(b, o, sum);
    }
    for (int i = 0; i < ncollectors; i++)
        collectors[i](b);
    if (overflow)
        sy_buf_puts(b, "# some metrics were not registered: "
                       "SY_METRICS_CELLS is too small\n");
    return b->failed ? SY_ENOMEM : 0;
}
