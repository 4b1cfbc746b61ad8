/*
 * pool.c - the shared segment of the master and its responders, and the
 * per-request metrics that responders record into their own slot.
 */
#include "synthia/pool.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "synthia/clock.h"
#include "synthia/error.h"

#define POOL_MAGIC 0x53594e50u /* "SYNP" */

sy_pool_shm *sy_pool;
sy_slot *sy_self_slot;

const int sy_metrics_statuses[SY_METRICS_NSTATUS] = {
    200, 201, 202, 204, 301, 302, 304, 400, 401, 403,
    404, 405, 409, 413, 415, 422, 429, 500, 503, 0 /* other */
};

const double sy_metrics_buckets_s[SY_METRICS_NBUCKETS - 1] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,  0.5,    1.0,   2.5,  5.0};

static const int64_t buckets_us[SY_METRICS_NBUCKETS - 1] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000};

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

int
sy_metrics_status_index(int status)
{
    for (int i = 0; i < SY_METRICS_NSTATUS - 1; i++)
        if (sy_metrics_statuses[i] == status)
            return i;
    return SY_METRICS_NSTATUS - 1;
}

void
sy_pool_count_request(int route_index, int status, int64_t dur_us)
{
    if (!sy_self_slot)
        return;
    sy_slot_metrics *m = &sy_self_slot->m;
    int row = route_index < 0 || route_index >= SY_METRICS_MAX_ROUTES
                  ? SY_METRICS_MAX_ROUTES
                  : route_index;
    int b = 0;
    while (b < SY_METRICS_NBUCKETS - 1 && dur_us > buckets_us[b])
        b++;
    /* single writer per slot: plain increments, readers load relaxed */
    m->requests[row][sy_metrics_status_index(status)]++;
    m->latency[row][b]++;
    m->latency_sum_us[row] += (uint64_t)(dur_us > 0 ? dur_us : 0);
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
