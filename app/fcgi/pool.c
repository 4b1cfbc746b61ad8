/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pool.c - the shared segment of the master and its responders.  Each
 * slot holds its responder's metric cells, and the master has an area of
 * its own: the segment is a source of the metrics registry (every slot,
 * free ones included, so counters never go backwards), and the pool's
 * gauges are one of its collectors.
 */
#include "synthia/pool.h"

#include <signal.h>
#include <stdio.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>

#include "synthia/clock.h"
#include "synthia/error.h"

#define POOL_MAGIC 0x53594e50u /* "SYNP" */

sy_pool_shm *sy_pool;
sy_slot *sy_self_slot;

int
sy_pool_map(bool shared)
{
    int flags = (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS;
    void *p = mmap(NULL, sizeof(sy_pool_shm), PROT_READ | PROT_WRITE, flags,
                   -1, 0);
    if (p == MAP_FAILED)
        return SY_EIO;
    sy_pool = p;
    sy_pool->magic = POOL_MAGIC;
    sy_pool->started_wall_ms = sy_wall_ms();
    return 0;
}

void
sy_pool_attach_metrics(sy_slot *slot)
{
    if (sy_pool)
        sy_metrics_attach(slot ? slot->cells : sy_pool->master_cells);
}

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

void
sy_pool_stats_get(sy_pool_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (!sy_pool)
        return;
    for (int i = 0; i < SY_POOL_MAX_SLOTS; i++) {
        sy_slot *s = &sy_pool->slots[i];
        int state = LOAD(s->state);
        st->served += LOAD(s->total_served);
        if (state == SY_SLOT_FREE)
            continue;
        st->responders++;
        if (state == SY_SLOT_BUSY)
            st->busy++;
        else if (state == SY_SLOT_IDLE)
            st->idle++;
    }
    st->target = LOAD(sy_pool->target);
    st->all_busy = LOAD(sy_pool->all_busy);
    st->deaths = LOAD(sy_pool->deaths);
    st->recycled = LOAD(sy_pool->recycled);
    st->timeouts = LOAD(sy_pool->timeouts);
    st->reloads = LOAD(sy_pool->reloads);
    st->crash_loop = LOAD(sy_pool->crash_loop) != 0;
    st->uptime_s = (sy_wall_ms() - sy_pool->started_wall_ms) / 1000;
}

/* ------------------------------------------------------------ metrics */

static void
add_cells(uint64_t *out)
{
    size_t n = sy_metrics_ncells();
    if (!sy_pool)
        return;
    for (size_t i = 0; i < n; i++)
        out[i] += LOAD(sy_pool->master_cells[i]);
    for (int k = 0; k < SY_POOL_MAX_SLOTS; k++)
        for (size_t i = 0; i < n; i++)
            out[i] += LOAD(sy_pool->slots[k].cells[i]);
}

static void
pool_gauges(sy_buf *b)
{
    sy_pool_stats st;
    if (!sy_pool)
        return;
    sy_pool_stats_get(&st);
    sy_metrics_header(b, "synthia_responders", "gauge",
                      "Responder processes by state.");
    sy_buf_printf(b, "synthia_responders{state=\"busy\"} %d\n", st.busy);
    sy_buf_printf(b, "synthia_responders{state=\"idle\"} %d\n", st.idle);
    sy_metrics_sample(b, "synthia_responders_target", "gauge",
                      "Responders the master keeps running.",
                      (uint64_t)st.target);
    sy_metrics_sample(b, "synthia_requests_served_total", "counter",
                      "Requests served by all responders.", st.served);
    sy_metrics_sample(b, "synthia_pool_all_busy_total", "counter",
                      "Times a request found every responder busy.",
                      st.all_busy);
    sy_metrics_sample(b, "synthia_responder_deaths_total", "counter",
                      "Abnormal responder deaths (crashes and kills).",
                      st.deaths);
    sy_metrics_sample(b, "synthia_responder_recycled_total", "counter",
                      "Responders retired after server.max_requests.",
                      st.recycled);
    sy_metrics_sample(b, "synthia_request_timeouts_total", "counter",
                      "Requests ended by server.request_timeout.",
                      st.timeouts);
    sy_metrics_sample(b, "synthia_reloads_total", "counter",
                      "Configuration reloads (SIGHUP).", st.reloads);
    sy_metrics_sample(b, "synthia_crash_loop", "gauge",
                      "1 while the crash-loop guard holds back respawns.",
                      st.crash_loop ? 1 : 0);
}

/* ------------------------------------------------ deaths by cause */

void
sy_pool_deaths_get(sy_pool_deaths *out)
{
    memset(out, 0, sizeof(*out));
    if (!sy_pool)
        return;
    const sy_pool_deaths_shm *d = &sy_pool->deaths_by_cause;
    out->min_responders = LOAD(d->min_responders);
    out->crashes = LOAD(d->crashes);
    out->kills = LOAD(d->kills);
    out->last_cause = LOAD(d->last_cause);
    out->last_signal = LOAD(d->last_signal);
    out->last_exit_status = LOAD(d->last_exit_status);
    out->last_wall_ms = LOAD(d->last_wall_ms);
}

const char *
sy_pool_death_cause_name(int cause)
{
    switch (cause) {
    case SY_DEATH_CRASH:
        return "crash";
    case SY_DEATH_KILL:
        return "kill";
    case SY_DEATH_TIMEOUT:
        return "timeout";
    default:
        return "none";
    }
}

const char *
sy_pool_signal_name(int sig, char *buf, size_t len)
{
    static const struct {
        int sig;
        const char *name;
    } names[] = {
        {SIGSEGV, "SIGSEGV"}, {SIGBUS, "SIGBUS"},   {SIGABRT, "SIGABRT"},
        {SIGILL, "SIGILL"},   {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"},
        {SIGTERM, "SIGTERM"}, {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"},
        {SIGHUP, "SIGHUP"},   {SIGALRM, "SIGALRM"}, {SIGPIPE, "SIGPIPE"},
        {SIGUSR1, "SIGUSR1"}, {SIGUSR2, "SIGUSR2"}, {SIGSYS, "SIGSYS"},
        {SIGTRAP, "SIGTRAP"}, {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].sig == sig)
            return names[i].name;
    snprintf(buf, len, "SIG%d", sig);
    return buf;
}

/* Responder deaths by cause and the guard's floor (master.c). */
static void
deaths_by_cause(sy_buf *b)
{
    static const char name[] = "synthia_responder_deaths_by_cause_total";
    sy_pool_deaths d;
    if (!sy_pool)
        return;
    sy_pool_deaths_get(&d);
    sy_metrics_header(b, name, "counter",
                      "Responder deaths by cause: crash (crash signal or "
                      "failing exit; counts toward the crash-loop guard) or "
                      "kill (SIGKILL, SIGTERM or another signal; does "
                      "not).");
    sy_buf_printf(b, "%s{cause=\"crash\"} %" PRIu64 "\n", name, d.crashes);
    sy_buf_printf(b, "%s{cause=\"kill\"} %" PRIu64 "\n", name, d.kills);
    sy_metrics_sample(b, "synthia_responders_min", "gauge",
                      "Responders kept running even while the crash-loop "
                      "guard holds.",
                      (uint64_t)d.min_responders);
}

__attribute__((constructor)) static void
pool_metrics(void)
{
    sy_metrics_source(add_cells);
    sy_metrics_collector(pool_gauges);
    sy_metrics_collector(deaths_by_cause);
}
