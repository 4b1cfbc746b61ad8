/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pool.h - state shared by the master and its responders.
 *
 * One anonymous MAP_SHARED segment, mapped by the master before it forks:
 * a header with pool-wide figures and one slot per responder.  Each slot is
 * written only by the responder that owns it (and by the master when it
 * reaps or times out that responder), so counters need no locks; readers
 * may see a value one request old.  Slots outlive their responders: a
 * replacement continues the counters, so Prometheus counters never go
 * backwards.  With --workers 0 the segment is private to the process.
 */
#ifndef SYNTHIA_POOL_H
#define SYNTHIA_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "synthia/metrics.h"
#include "synthia/log.h"

#define SY_POOL_MAX_SLOTS 128

enum sy_slot_state {
    SY_SLOT_FREE = 0,
    SY_SLOT_STARTING,
    SY_SLOT_IDLE,
    SY_SLOT_BUSY,
    SY_SLOT_STOPPING,
};

typedef struct sy_slot {
    pid_t pid;
    int state;              /* enum sy_slot_state */
    int retiring;           /* set by the responder at max_requests: the
                             * master forks its successor, then stops it
                             * once the successor is ready (atomic) */
    unsigned generation;    /* config generation it was started with */
    int64_t started_us;     /* monotonic */
    int64_t busy_since_us;  /* monotonic, 0 when idle */
    uint64_t served;        /* requests served by the current process */
    uint64_t total_served;  /* requests served by every process of the slot */
    uint64_t seq;           /* sequence number of the current request */
    uint64_t kill_seq;      /* set by the master: end this request */
    int conns;              /* FastCGI connections it holds open */
    int active;             /* ... of which carried a request lately */
    char method[8];         /* current request, for the timeout log */
    char path[120];
    char request_id[68];
    sy_log_batch access_log; /* unwritten access lines (log.h) */
    uint64_t cells[SY_METRICS_CELLS]; /* this slot's metrics (metrics.h) */
} sy_slot;

/* --- responder deaths by cause (master.c).  A crash (SIGSEGV, SIGBUS,
 * SIGABRT, SIGILL, SIGFPE, a failing exit) says the responder is broken
 * and counts toward the crash-loop guard; a kill (SIGKILL from the OOM
 * killer or an operator, SIGTERM, any other signal) does not. */
enum sy_death_cause {
    SY_DEATH_NONE = 0,
    SY_DEATH_CRASH,
    SY_DEATH_KILL,
    SY_DEATH_TIMEOUT, /* ended by the master for server.request_timeout */
};

typedef struct sy_pool_deaths_shm {
    int min_responders;     /* the guard never goes below this */
    uint64_t crashes;
    uint64_t kills;
    int last_cause;         /* enum sy_death_cause of the latest death */
    int last_signal;        /* its signal, 0 for an exit */
    int last_exit_status;   /* its exit status, 0 for a signal */
    int64_t last_wall_ms;   /* when (0: none yet) */
} sy_pool_deaths_shm;

typedef struct sy_pool_shm {
    uint32_t magic;
    int target;             /* responders the master keeps running */
    int busy;               /* responders inside a request (atomic) */
    int live;               /* responders alive */
    unsigned generation;    /* bumped on every reload */
    int crash_loop;         /* 1 while the crash-loop guard holds back */
    int64_t started_wall_ms;
    uint64_t all_busy;      /* times a request found every responder busy */
    uint64_t deaths;        /* abnormal responder deaths */
    uint64_t recycled;      /* responders retired after max_requests */
    uint64_t timeouts;      /* requests ended by request_timeout */
    uint64_t reloads;
    uint64_t master_cells[SY_METRICS_CELLS]; /* the master's metrics */
    sy_pool_deaths_shm deaths_by_cause; /* written by the master only */
    int db_settings_checked; /* the first responder to reach PostgreSQL
                              * looks at fsync and synchronous_commit */
    sy_slot slots[SY_POOL_MAX_SLOTS];
} sy_pool_shm;

extern sy_pool_shm *sy_pool;   /* NULL until sy_pool_map() */
extern sy_slot *sy_self_slot;  /* this responder's slot (NULL in master) */

/* Map the segment (shared when `shared`, else private).  0 or SY_EIO. */
int sy_pool_map(bool shared);

/* Pool-wide figures summed over slots. */
typedef struct sy_pool_stats {
    int responders, busy, idle, target;
    uint64_t served, all_busy, deaths, recycled, timeouts, reloads;
    bool crash_loop;
    int64_t uptime_s;
} sy_pool_stats;
void sy_pool_stats_get(sy_pool_stats *st);

/* This process counts its metrics into slot (a responder), or into the
 * master's area when slot is NULL. */
void sy_pool_attach_metrics(sy_slot *slot);

/* The death figures (a snapshot; zeros before sy_pool_map). */
typedef sy_pool_deaths_shm sy_pool_deaths;
void sy_pool_deaths_get(sy_pool_deaths *out);
/* "crash", "kill", "timeout" or "none". */
const char *sy_pool_death_cause_name(int cause);
/* "SIGSEGV" and the like, "SIG<n>" for others (buf: 12 bytes). */
const char *sy_pool_signal_name(int sig, char *buf, size_t len);

#endif
