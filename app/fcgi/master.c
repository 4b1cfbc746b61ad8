/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * master.c - the prefork master of `synthia serve`.
 *
 * Signals are blocked and taken synchronously with sigtimedwait(), so the
 * master is a plain loop with no handler races: every 100 ms it reaps
 * children, respawns missing responders (with back-off), enforces request
 * timeouts, and moves draining responders along.  A responder that
 * reaches server.max_requests announces it (move_retiring) and is stopped
 * only once its successor is ready.
 *
 * A responder that dies is told apart by how (classify): a crash (a
 * crash signal or a failing exit) means the code or its environment is
 * broken, and repeated crashes back off and trip the crash-loop guard; a
 * kill (SIGKILL from the OOM killer or an operator) says nothing about
 * the next responder, so it is replaced at once and never counted, as
 * php-fpm's emergency restart counts only SIGSEGV and SIGBUS.  Whatever
 * the guard does, server.min_responders stay running: a pool that stops
 * respawning serves nobody, and requests would only queue.
 *
 * SIGHUP: re-read the config; if it is valid, start a new generation of
 * responders and ask the old ones to finish their request and exit.  The
 * listening socket stays open in the master throughout, so connections
 * that arrive meanwhile wait in the kernel backlog: no request is refused.
 * SIGTERM/SIGINT/SIGQUIT: stop accepting, let requests finish (up to
 * server.drain_timeout), exit.
 */
#include "synthia/master.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "synthia/cli.h"
#include "synthia/clock.h"
#include "synthia/config.h"
#include "synthia/error.h"
#include "synthia/jwt.h"
#include "synthia/listen.h"
#include "synthia/log.h"
#include "synthia/pool.h"
#include "synthia/responder.h"

#define TICK_MS 100
#define RETIRE_TICK_MS 5
#define RESEND_STOP_US 200000     /* repeat SIGTERM to beat accept() races */
#define KILL_GRACE_US 5000000     /* after SIGALRM, SIGKILL if still alive */
#define BACKOFF_MAX_US 5000000
#define CRASH_LOOP_DELAY_US 10000000
#define YOUNG_US 1000000          /* a crash this soon after start ... */
#define FLOOR_DELAY_US 1000000    /* ... delays the floor's respawns */
#define MAX_DEATHS 1024

char **sy_saved_argv;

typedef struct child {
    pid_t pid;
    unsigned generation;
    bool stopping;
    bool retiring; /* at max_requests: stopped once its successor is up */
    int64_t stop_sent_us;
    int64_t stop_deadline_us;
    int64_t alarm_sent_us;
} child;

typedef struct master {
    int fd;
    const char *config_path;
    const char *listen_override;
    long workers_override;
    sy_config cfg[2]; /* current and previous, swapped on reload */
    int cur;
    child kids[SY_POOL_MAX_SLOTS];
    int64_t deaths[MAX_DEATHS]; /* times of recent crashes */
    int ndeaths;
    int64_t next_spawn_us;       /* no respawn above the floor before */
    int64_t next_floor_spawn_us; /* no respawn up to the floor before */
    bool draining;
    int64_t drain_deadline_us;
} master;

static int
target_workers(const master *m)
{
    if (m->workers_override >= 0)
        return (int)m->workers_override;
    return (int)sy_conf->workers;
}

/* server.min_responders, or half the pool rounded up; 1..target. */
static int
min_responders(const master *m)
{
    int target = target_workers(m);
    int min = sy_conf->min_responders > 0 ? (int)sy_conf->min_responders
                                          : (target + 1) / 2;
    if (min > target)
        min = target;
    return min < 1 ? 1 : min;
}

/* ---------------------------------------------------------- spawning */

static void
child_main(master *m, int slot)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    sy_self_slot = &sy_pool->slots[slot];
    sy_self_slot->pid = getpid();
    sy_pool_attach_metrics(sy_self_slot);
    _exit(sy_responder_run(m->fd, true));
}

static int
free_slot(const master *m)
{
    for (int i = 0; i < SY_POOL_MAX_SLOTS; i++)
        if (m->kids[i].pid == 0)
            return i;
    return -1;
}

static void
spawn(master *m)
{
    int i = free_slot(m);
    if (i < 0)
        return; /* every slot busy with draining responders: next tick */
    sy_slot *s = &sy_pool->slots[i];
    s->state = SY_SLOT_STARTING;
    s->generation = sy_pool->generation;
    s->started_us = sy_mono_us();
    s->busy_since_us = 0;
    s->kill_seq = 0;
    s->retiring = 0;
    pid_t pid = fork();
    if (pid < 0) {
        s->state = SY_SLOT_FREE;
        sy_log(SY_LOG_ERROR, "fork_failed", "fork: %s", strerror(errno));
        m->next_spawn_us = sy_mono_us() + 1000000;
        return;
    }
    if (pid == 0)
        child_main(m, i);
    s->pid = pid;
    m->kids[i] = (child){.pid = pid, .generation = sy_pool->generation};
    __atomic_add_fetch(&sy_pool->live, 1, __ATOMIC_RELAXED);
}

static int
count_current(const master *m)
{
    int n = 0;
    for (int i = 0; i < SY_POOL_MAX_SLOTS; i++)
        if (m->kids[i].pid && !m->kids[i].stopping &&
            !m->kids[i].retiring &&
            m->kids[i].generation == sy_pool->generation)
            n++;
    return n;
}

/* Respawn missing responders: all of them once the crash back-off has
 * passed, and up to the floor (min_responders) even while it holds. */
static void
top_up(master *m)
{
    if (m->draining)
        return;
    int64_t now = sy_mono_us();
    int want = 0;
    if (now >= m->next_spawn_us)
        want = target_workers(m);
    else if (now >= m->next_floor_spawn_us)
        want = min_responders(m);
    int missing = want - count_current(m);
    for (int i = 0; i < missing; i++)
        spawn(m);
}

/* ------------------------------------------------ deaths and back-off */

static bool
crash_signal(int sig)
{
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT ||
           sig == SIGILL || sig == SIGFPE;
}

/* How a responder the master did not ask to stop ended: SY_DEATH_NONE
 * for a clean exit (recycled after max_requests). */
static int
classify(const child *k, int status)
{
    if (WIFEXITED(status)) {
        if (WEXITSTATUS(status) == 0)
            return SY_DEATH_NONE;
        if (WEXITSTATUS(status) == SY_EXIT_TIMEOUT)
            return SY_DEATH_TIMEOUT;
        return SY_DEATH_CRASH;
    }
    int sig = WTERMSIG(status);
    if (sig == SIGKILL && k->alarm_sent_us)
        return SY_DEATH_TIMEOUT; /* our own watchdog's SIGKILL */
    return crash_signal(sig) ? SY_DEATH_CRASH : SY_DEATH_KILL;
}

static int
recent_deaths(master *m, int64_t now)
{
    int64_t window = sy_conf->crash_loop_window_ms * 1000;
    int keep = 0;
    for (int i = 0; i < m->ndeaths; i++)
        if (now - m->deaths[i] <= window)
            m->deaths[keep++] = m->deaths[i];
    m->ndeaths = keep;
    return keep;
}

/* A crash: back off (100 ms doubling to 5 s) and, after
 * crash_loop_deaths crashes within crash_loop_window, hold back every
 * respawn above the floor to one every 10 s.  A responder that crashed
 * within a second of starting is likely to do it again: the floor is
 * then respawned at most once a second, not in a tight loop. */
static void
record_crash(master *m, const sy_slot *s)
{
    int64_t now = sy_mono_us();
    int n = recent_deaths(m, now);
    if (n < MAX_DEATHS)
        m->deaths[m->ndeaths++] = now;
    n++;
    bool loop = n >= sy_conf->crash_loop_deaths;
    if (loop && !sy_pool->crash_loop)
        sy_log(SY_LOG_ERROR, "crash_loop",
               "%d responders crashed within %lld ms: keeping %d of %d "
               "responders running, respawning the others every %d s until "
               "they stop crashing", n,
               (long long)sy_conf->crash_loop_window_ms, min_responders(m),
               target_workers(m), CRASH_LOOP_DELAY_US / 1000000);
    sy_pool->crash_loop = loop;
    int64_t delay = 0;
    if (loop)
        delay = CRASH_LOOP_DELAY_US;
    else if (n > 1)
        delay = 100000LL << (n - 2 > 6 ? 6 : n - 2);
    if (delay > BACKOFF_MAX_US && !loop)
        delay = BACKOFF_MAX_US;
    if (now + delay > m->next_spawn_us)
        m->next_spawn_us = now + delay;
    if (now - s->started_us < YOUNG_US)
        m->next_floor_spawn_us = now + FLOOR_DELAY_US;
}

/* Count a death by its cause; only crashes feed the guard. */
static void
record_death(master *m, const sy_slot *s, int cause, int status)
{
    sy_pool_deaths_shm *d = &sy_pool->deaths_by_cause;
    d->last_cause = cause;
    d->last_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    d->last_exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    d->last_wall_ms = sy_wall_ms();
    if (cause == SY_DEATH_TIMEOUT) {
        sy_pool->timeouts++;
        return;
    }
    sy_pool->deaths++;
    if (cause == SY_DEATH_KILL) {
        d->kills++;
        return;
    }
    d->crashes++;
    record_crash(m, s);
}

static void
clear_crash_loop(master *m)
{
    if (sy_pool->crash_loop && recent_deaths(m, sy_mono_us()) == 0) {
        sy_pool->crash_loop = 0;
        sy_log(SY_LOG_INFO, "crash_loop_over", "responders are stable again");
    }
}

static void
log_exit(const child *k, const sy_slot *s, int cause, int status)
{
    sy_logline *l;
    char buf[16];
    if (cause == SY_DEATH_TIMEOUT && WIFEXITED(status)) {
        l = sy_log_begin(SY_LOG_ERROR, "responder_timeout");
        sy_log_cstr(l, "request_id", s->request_id);
        sy_log_cstr(l, "method", s->method);
        sy_log_cstr(l, "path", s->path);
    } else if (cause == SY_DEATH_NONE) {
        l = sy_log_begin(SY_LOG_DEBUG, "responder_exit");
    } else {
        l = sy_log_begin(cause == SY_DEATH_KILL ? SY_LOG_WARN : SY_LOG_ERROR,
                         cause == SY_DEATH_CRASH ? "responder_crashed"
                         : cause == SY_DEATH_KILL ? "responder_killed"
                                                  : "responder_timeout");
        sy_log_cstr(l, "cause", sy_pool_death_cause_name(cause));
        if (WIFSIGNALED(status)) {
            sy_log_int(l, "signal", WTERMSIG(status));
            sy_log_cstr(l, "signal_name",
                        sy_pool_signal_name(WTERMSIG(status), buf,
                                            sizeof(buf)));
        } else {
            sy_log_int(l, "exit_status", WEXITSTATUS(status));
        }
    }
    sy_log_int(l, "responder_pid", k->pid);
    sy_log_int(l, "served", (int64_t)s->served);
    sy_log_end(l);
}

static void
reap(master *m)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        int i;
        for (i = 0; i < SY_POOL_MAX_SLOTS && m->kids[i].pid != pid; i++)
            ;
        if (i == SY_POOL_MAX_SLOTS)
            continue;
        child *k = &m->kids[i];
        sy_slot *s = &sy_pool->slots[i];
        int cause = classify(k, status);
        /* the access lines a killed responder had not written yet */
        sy_log_write_batch(&s->access_log);
        log_exit(k, s, k->stopping && cause == SY_DEATH_KILL
                           ? SY_DEATH_NONE : cause, status);
        if (s->state == SY_SLOT_BUSY)
            __atomic_sub_fetch(&sy_pool->busy, 1, __ATOMIC_RELAXED);
        if (cause == SY_DEATH_TIMEOUT)
            record_death(m, s, cause, status);
        else if (cause == SY_DEATH_NONE && !k->stopping)
            sy_pool->recycled++;
        else if (cause != SY_DEATH_NONE && !k->stopping)
            record_death(m, s, cause, status);
        s->state = SY_SLOT_FREE;
        s->pid = 0;
        s->busy_since_us = 0;
        __atomic_sub_fetch(&sy_pool->live, 1, __ATOMIC_RELAXED);
        *k = (child){0};
    }
}

/* -------------------------------------------- stopping and watchdogs */

static void
ask_stop(child *k, int64_t deadline)
{
    k->stopping = true;
    k->stop_deadline_us = deadline;
    k->stop_sent_us = sy_mono_us();
    kill(k->pid, SIGTERM);
}

static void
move_stopping(master *m, int64_t now)
{
    for (int i = 0; i < SY_POOL_MAX_SLOTS; i++) {
        child *k = &m->kids[i];
        if (!k->pid || !k->stopping)
            continue;
        if (now >= k->stop_deadline_us) {
            sy_log(SY_LOG_WARN, "drain_timeout",
                   "responder %d did not finish in time; killing it",
                   (int)k->pid);
            kill(k->pid, SIGKILL);
            k->stop_deadline_us = now + 1000000;
        } else if (now - k->stop_sent_us >= RESEND_STOP_US) {
            /* a responder that was between its stop check and accept()
             * when the first signal came needs another one */
            kill(k->pid, SIGTERM);
            k->stop_sent_us = now;
        }
    }
}

static void
watch_timeouts(master *m, int64_t now)
{
    int64_t limit = sy_conf->request_timeout_ms * 1000;
    for (int i = 0; i < SY_POOL_MAX_SLOTS; i++) {
        child *k = &m->kids[i];
        sy_slot *s = &sy_pool->slots[i];
        if (!k->pid)
            continue;
        int64_t since = __atomic_load_n(&s->busy_since_us, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != SY_SLOT_BUSY ||
            since == 0 || now - since < limit) {
            k->alarm_sent_us = 0;
            continue;
        }
        if (!k->alarm_sent_us) {
            s->kill_seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
            kill(k->pid, SIGALRM);
            k->alarm_sent_us = now;
        } else if (now - k->alarm_sent_us > KILL_GRACE_US) {
            kill(k->pid, SIGKILL);
        }
    }
}

/* ---------------------------------------------------------- recycling */

/* Responders of the current generation that serve (idle or busy) and
 * are not on their way out. */
static int
count_ready(const master *m)
{
    int n = 0;
    for (int i = 0; i < SY_POOL_MAX_SLOTS; i++) {
        const child *k = &m->kids[i];
        int st = __atomic_load_n(&sy_pool->slots[i].state, __ATOMIC_ACQUIRE);
        if (k->pid && !k->stopping && !k->retiring &&
            k->generation == sy_pool->generation &&
            (st == SY_SLOT_IDLE || st == SY_SLOT_BUSY))
            n++;
    }
    return n;
}

/* A responder that reached server.max_requests says so (its slot's
 * retiring flag, and SIGUSR1 to wake us) and keeps serving: it no
 * longer counts toward the pool, so top_up forks its successor now, and
 * once the pool is whole and ready again it is asked to stop (SIGTERM:
 * it finishes what it holds).  So recycling never leaves the pool a
 * responder short, and no request waits for a fork.  True while one
 * still waits for its successor. */
static bool
move_retiring(master *m, int64_t now)
{
    bool waiting = false;
    for (int i = 0; i < SY_POOL_MAX_SLOTS; i++) {
        child *k = &m->kids[i];
        if (!k->pid || k->stopping || k->retiring ||
            !__atomic_load_n(&sy_pool->slots[i].retiring, __ATOMIC_ACQUIRE))
            continue;
        k->retiring = true;
        sy_pool->recycled++;
        sy_logline *l = sy_log_begin(SY_LOG_DEBUG, "responder_retiring");
        sy_log_int(l, "responder_pid", k->pid);
        sy_log_int(l, "served", (int64_t)sy_pool->slots[i].served);
        sy_log_end(l);
    }
    top_up(m);
    bool whole = count_ready(m) >= target_workers(m);
    for (int i = 0; i < SY_POOL_MAX_SLOTS; i++) {
        child *k = &m->kids[i];
        if (!k->pid || k->stopping || !k->retiring)
            continue;
        if (whole)
            ask_stop(k, now + sy_conf->drain_timeout_ms * 1000);
        else
            waiting = true;
    }
    return waiting;
}

/* ------------------------------------------------------ reload, drain */

static void
reload(master *m)
{
    char err[512];
    int next = 1 - m->cur;
    sy_notify("RELOADING=1");
    if (sy_config_load(&m->cfg[next], m->config_path, err, sizeof(err)) < 0) {
        sy_log(SY_LOG_ERROR, "reload_failed",
               "config not reloaded, keeping the running one: %s", err);
        sy_notify("READY=1\nSTATUS=reload failed; running the old config");
        return;
    }
    if (strcmp(m->cfg[next].listen ? m->cfg[next].listen : "",
               sy_conf->listen ? sy_conf->listen : "") != 0)
        sy_log(SY_LOG_WARN, "reload_listen",
               "server.listen changed; the socket changes only on restart");
    const sy_config *old = sy_conf;
    sy_conf = &m->cfg[next];
    sy_jwt_unload();
    if (sy_jwt_load() < 0) {
        sy_log(SY_LOG_ERROR, "reload_failed",
               "config not reloaded: the JWT keys do not load; keeping the "
               "running config");
        sy_conf = old;
        sy_jwt_unload();
        sy_jwt_load();
        sy_config_free(&m->cfg[next]);
        sy_notify("READY=1\nSTATUS=reload failed; running the old config");
        return;
    }
    sy_config_free(&m->cfg[m->cur]);
    m->cur = next;
    sy_log_set_level(sy_conf->log_level);
    sy_pool->generation++;
    sy_pool->reloads++;
    sy_pool->target = target_workers(m);
    sy_pool->deaths_by_cause.min_responders = min_responders(m);
    int64_t deadline = sy_mono_us() + sy_conf->drain_timeout_ms * 1000;
    for (int i = 0; i < SY_POOL_MAX_SLOTS; i++)
        if (m->kids[i].pid && !m->kids[i].stopping)
            ask_stop(&m->kids[i], deadline);
    m->next_spawn_us = 0;
    top_up(m);
    sy_log(SY_LOG_INFO, "reloaded", "configuration reloaded; responders "
           "rolled to generation %u", sy_pool->generation);
    sy_notify("READY=1\nSTATUS=reloaded");
}

static void
start_drain(master *m)
{
    if (m->draining)
        return;
    m->draining = true;
    m->drain_deadline_us = sy_mono_us() + sy_conf->drain_timeout_ms * 1000;
    sy_notify("STOPPING=1");
    sy_log(SY_LOG_INFO, "draining", "finishing requests in flight, then "
           "exiting");
    for (int i = 0; i < SY_POOL_MAX_SLOTS; i++)
        if (m->kids[i].pid && !m->kids[i].stopping)
            ask_stop(&m->kids[i], m->drain_deadline_us);
}

static int
live_children(const master *m)
{
    int n = 0;
    for (int i = 0; i < SY_POOL_MAX_SLOTS; i++)
        n += m->kids[i].pid != 0;
    return n;
}

/* ---------------------------------------------------------- the loop */

static void
handle_signal(master *m, int sig)
{
    switch (sig) {
    case SIGCHLD:
        reap(m);
        break;
    case SIGHUP:
        if (!m->draining)
            reload(m);
        break;
    case SIGTERM:
    case SIGINT:
    case SIGQUIT:
        start_drain(m);
        break;
    default:
        break;
    }
}

static int
run_master(master *m)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGUSR1); /* a responder is retiring: move_retiring */
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    sy_pool->target = target_workers(m);
    sy_pool->deaths_by_cause.min_responders = min_responders(m);
    top_up(m);
    char status[128];
    snprintf(status, sizeof(status), "READY=1\nMAINPID=%d\nSTATUS=%d "
             "responders", (int)getpid(), sy_pool->target);
    sy_notify(status);
    sy_log(SY_LOG_INFO, "started", "master ready with %d responders",
           sy_pool->target);

    struct timespec tick = {0, TICK_MS * 1000000L};
    /* while a retiring responder waits for its successor to be ready */
    struct timespec short_tick = {0, RETIRE_TICK_MS * 1000000L};
    bool retiring = false;
    while (!m->draining || live_children(m) > 0) {
        int sig = sigtimedwait(&set, NULL, retiring ? &short_tick : &tick);
        if (sig > 0)
            handle_signal(m, sig);
        reap(m);
        int64_t now = sy_mono_us();
        move_stopping(m, now);
        watch_timeouts(m, now);
        clear_crash_loop(m);
        top_up(m);
        retiring = !m->draining && move_retiring(m, now);
    }
    sy_log(SY_LOG_INFO, "stopped", "all responders finished");
    return 0;
}

/* Without a master (spawn-fcgi -F N): serve, and on SIGHUP re-execute
 * ourselves on the same socket so the configuration is re-read. */
static int
run_single(int fd)
{
    if (sy_pool_map(false) < 0)
        return 1;
    sy_self_slot = &sy_pool->slots[0];
    sy_self_slot->pid = getpid();
    sy_pool_attach_metrics(sy_self_slot);
    sy_pool->target = sy_pool->live = 1;
    sy_notify("READY=1");
    int status = sy_responder_run(fd, false);
    if (status != SY_EXIT_RELOAD)
        return status;
    if (sy_responder_saved_listen_fd() >= 0)
        fd = sy_responder_saved_listen_fd();
    if (fd != 3) {
        dup2(fd, 3);
        fd = 3;
    }
    if (fd == 3) {
        char pid[16];
        fcntl(3, F_SETFD, 0); /* systemd's socket was marked close-on-exec */
        snprintf(pid, sizeof(pid), "%d", (int)getpid());
        setenv("LISTEN_FDS", "1", 1);
        setenv("LISTEN_PID", pid, 1);
    }
    sy_log(SY_LOG_INFO, "reexec", "SIGHUP: re-executing to reload");
    execv("/proc/self/exe", sy_saved_argv);
    sy_log(SY_LOG_ERROR, "reexec_failed", "execv: %s", strerror(errno));
    return 1;
}

int
sy_serve(const sy_serve_opts *o)
{
    static master m;
    m.config_path = o->config_path;
    m.listen_override = o->listen;
    m.workers_override = o->workers;
    sy_log_set_proc("master");
    /* keys are loaded once here and inherited by every responder, so a
     * bad key file stops start-up instead of failing the first login */
    if (sy_jwt_load() < 0)
        return 1;
    const char *spec = o->listen ? o->listen : sy_conf->listen;
    m.fd = sy_listen_socket(spec, (int)sy_conf->listen_mode,
                            (int)sy_conf->backlog);
    if (m.fd < 0)
        return 1;
    if (target_workers(&m) == 0)
        return run_single(m.fd);
    if (sy_config_load(&m.cfg[0], o->config_path, (char[256]){0}, 256) < 0)
        return 1;
    m.cur = 0;
    sy_conf = &m.cfg[0];
    sy_jwt_unload(); /* reload against the master's own copy */
    if (sy_jwt_load() < 0)
        return 1;
    if (sy_pool_map(true) < 0) {
        sy_log(SY_LOG_ERROR, "pool_map", "cannot map shared memory");
        return 1;
    }
    sy_pool_attach_metrics(NULL);
    return run_master(&m);
}
