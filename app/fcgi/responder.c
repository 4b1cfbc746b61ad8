/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * responder.c - one FastCGI responder process.
 *
 * accept -> parse params -> dispatch -> serialise -> finish -> log and
 * count -> reset the arena, until told to stop or recycled.  Handlers
 * never touch the FastCGI stream, so until the response is serialised
 * nothing has been written to the connection.  That is what lets the
 * request-timeout path (a signal handler) answer with its own 503 records
 * written straight to the socket and end the process.
 */
#include "synthia/responder.h"

#include <errno.h>
#include <fcgiapp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "synthia/apikey.h"
#include "synthia/clock.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/dispatch.h"
#include "synthia/error.h"
#include "synthia/log.h"
#include "synthia/pool.h"
#include "synthia/problem.h"
#include "synthia/redis.h"
#include "synthia/request.h"
#include "synthia/response.h"
#include "synthia/router.h"

#define ARENA_CHUNK (16 * 1024)
#define RESPONSE_MAX (64 * 1024 * 1024)

enum phase { PHASE_IDLE = 0, PHASE_HANDLER, PHASE_WRITING };

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;
static volatile sig_atomic_t phase;
static int timeout_fd = -1;       /* connection of the current request */
static int timeout_reqid;         /* its FastCGI request id */
static bool self_timer;           /* no master: we arm our own timer */

void
sy_responder_stop(void)
{
    stop_requested = 1;
    FCGX_ShutdownPending();
}

static int listen_fd_in_use = -1;   /* the socket accept() waits on */
static bool listen_unix;            /* it is an AF_UNIX socket */
static int listen_fd_saved = -1;    /* no master + SIGHUP: kept to re-exec */

int
sy_responder_saved_listen_fd(void)
{
    return listen_fd_saved;
}

/* SIGTERM/SIGINT/SIGQUIT/SIGHUP, installed with SA_RESTART so that the
 * reads and writes of a request in hand are restarted, never failed with
 * EINTR (libfcgi drops a request whose read fails).  To get out of a
 * blocked accept() anyway, the handler swaps the listening socket for an
 * unbound one (php-fpm's trick): the restarted accept() fails at once.
 * The master keeps the real socket open, so nothing is refused.  Without
 * a master, SIGHUP means: finish, then re-execute on the same socket, so
 * a copy of it is kept first.  Async-signal-safe calls only. */
static void
on_stop(int sig)
{
    int saved_errno = errno;
    if (sig == SIGHUP && self_timer && listen_fd_saved < 0) {
        reload_requested = 1;
        listen_fd_saved = dup(listen_fd_in_use);
    }
    stop_requested = 1;
    FCGX_ShutdownPending();
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s >= 0 && listen_fd_in_use >= 0) {
        dup2(s, listen_fd_in_use);
        close(s);
    }
    errno = saved_errno;
}

/* ---------------------------------------------- request timeout (signal) */

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void
sput(sbuf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap)
        n = b->cap - b->len;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void
sputs(sbuf *b, const char *s)
{
    sput(b, s, strlen(s));
}

static void
sputu(sbuf *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sput(b, tmp + i, sizeof(tmp) - i);
}

static void
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void
fcgi_header(sbuf *b, int type, int len)
{
    char h[8] = {1, (char)type, (char)(timeout_reqid >> 8),
                 (char)(timeout_reqid & 0xff), (char)(len >> 8),
                 (char)(len & 0xff), 0, 0};
    sput(b, h, 8);
}

/* The 503 problem as FastCGI STDOUT + END_REQUEST records. */
static void
timeout_response(sbuf *rec, const char *rid)
{
    char body_mem[512], head_mem[512];
    sbuf body = {body_mem, 0, sizeof(body_mem)};
    sbuf head = {head_mem, 0, sizeof(head_mem)};
    sputs(&body, "{\"type\":\"urn:synthia:problem:timeout\",\"title\":"
                 "\"Request timed out\",\"status\":503,\"detail\":\"The "
                 "request took longer than the server allows and was "
                 "stopped.\",\"code\":\"timeout\",\"request_id\":\"");
    sputs(&body, rid);
    sputs(&body, "\"}");
    sputs(&head, "Status: 503 Service Unavailable\r\nContent-Type: "
                 "application/problem+json\r\nRetry-After: 1\r\n"
                 "Cache-Control: no-store\r\nX-Request-Id: ");
    sputs(&head, rid);
    sputs(&head, "\r\nContent-Length: ");
    sputu(&head, body.len);
    sputs(&head, "\r\n\r\n");
    fcgi_header(rec, 6 /* FCGI_STDOUT */, (int)(head.len + body.len));
    sput(rec, head.p, head.len);
    sput(rec, body.p, body.len);
    fcgi_header(rec, 6, 0);
    fcgi_header(rec, 3 /* FCGI_END_REQUEST */, 8);
    sput(rec, "\0\0\0\0\0\0\0\0", 8);
}

static void
timeout_log(const char *rid)
{
    sy_log_flush(); /* batched access lines of earlier requests */
    char mem[512], ts[32];
    sbuf l = {mem, 0, sizeof(mem)};
    sy_rfc3339_ms(ts, sizeof(ts), sy_wall_ms());
    sputs(&l, "{\"time\":\"");
    sputs(&l, ts);
    sputs(&l, "\",\"level\":\"error\",\"proc\":\"responder\",\"pid\":");
    sputu(&l, (uint64_t)getpid());
    sputs(&l, ",\"event\":\"request_timeout\",\"request_id\":\"");
    sputs(&l, rid);
    sputs(&l, "\",\"method\":\"");
    sputs(&l, sy_self_slot->method);
    sputs(&l, "\",\"path\":\"");
    sputs(&l, sy_self_slot->path);
    sputs(&l, "\",\"msg\":\"request ran past server.request_timeout; "
              "answered 503 and exiting\"}\n");
    write_all(STDERR_FILENO, l.p, l.len);
}

/* SIGALRM: from our own timer, or from the master's watchdog.  Only
 * async-signal-safe calls from here on. */
static void
on_timeout(int sig)
{
    (void)sig;
    if (!sy_self_slot)
        _exit(SY_EXIT_TIMEOUT);
    if (!self_timer && sy_self_slot->kill_seq != sy_self_slot->seq)
        return; /* the request it meant has already finished */
    if (phase == PHASE_IDLE)
        return;
    const char *rid = sy_self_slot->request_id;
    timeout_log(rid);
    if (phase == PHASE_HANDLER && timeout_fd >= 0) {
        char mem[1200];
        sbuf rec = {mem, 0, sizeof(mem)};
        timeout_response(&rec, rid);
        write_all(timeout_fd, rec.p, rec.len);
    }
    _exit(SY_EXIT_TIMEOUT);
}

static void
arm_timer(int64_t ms)
{
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void
install_signals(void)
{
    struct sigaction sa = {0};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    sa.sa_flags = SA_RESTART; /* see on_stop */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_timeout;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
}

/* ------------------------------------------------------------ requests */

/* Body reader over the FastCGI stdin stream. */
static int
fcgi_read_body(void *ctx, sy_arena *a, size_t max, sy_str *out)
{
    FCGX_Request *r = ctx;
    sy_buf b;
    char chunk[16384];
    sy_buf_init(&b, a, max);
    for (;;) {
        int n = FCGX_GetStr(chunk, sizeof(chunk), r->in);
        if (n < 0)
            return SY_EIO;
        if (n == 0)
            break;
        if (sy_buf_append(&b, chunk, (size_t)n) < 0)
            return b.len + (size_t)n > max ? SY_ETOOBIG : SY_ENOMEM;
    }
    if (FCGX_GetError(r->in))
        return SY_EIO;
    *out = (sy_str){b.p ? b.p : "", b.len};
    return 0;
}

/* Copy a view into a fixed slot field, keeping it safe to print in a
 * JSON string from a signal handler. */
static void
slot_copy(char *dst, size_t cap, sy_str s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        char c = s.p[i];
        dst[i] = (c < 0x20 || c == '"' || c == '\\' || (c & 0x80)) ? '?' : c;
    }
    dst[n] = 0;
}

static void
mark_busy(const sy_req *req, int64_t t0)
{
    sy_slot *s = sy_self_slot;
    slot_copy(s->method, sizeof(s->method), req->method);
    slot_copy(s->path, sizeof(s->path), req->path);
    slot_copy(s->request_id, sizeof(s->request_id),
              sy_str_c(req->request_id));
    s->seq++;
    s->busy_since_us = t0;
    __atomic_store_n(&s->state, SY_SLOT_BUSY, __ATOMIC_RELEASE);
    int busy = __atomic_add_fetch(&sy_pool->busy, 1, __ATOMIC_RELAXED);
    if (busy >= __atomic_load_n(&sy_pool->live, __ATOMIC_RELAXED))
        __atomic_add_fetch(&sy_pool->all_busy, 1, __ATOMIC_RELAXED);
}

static void
mark_idle(void)
{
    sy_slot *s = sy_self_slot;
    s->busy_since_us = 0;
    s->served++;
    s->total_served++;
    __atomic_store_n(&s->state, SY_SLOT_IDLE, __ATOMIC_RELEASE);
    __atomic_sub_fetch(&sy_pool->busy, 1, __ATOMIC_RELAXED);
}

typedef struct done_info {
    int status;
    size_t bytes;
    int64_t dur_us, db_us, redis_us;
    int route_index;
    const char *route;
    sy_str method, path, client;
} done_info;

static void
log_request(const sy_req *req, const done_info *d)
{
    int64_t slow = sy_conf->slow_request_ms;
    bool is_slow = slow > 0 && d->dur_us >= slow * 1000;
    if (sy_conf->access_log &&
        !(req->route && req->route->flags & SY_ROUTE_NOLOG)) {
        sy_logline *l = sy_log_begin(SY_LOG_INFO, "access");
        sy_log_str(l, "method", d->method);
        sy_log_cstr(l, "route", d->route);
        sy_log_str(l, "path", d->path);
        sy_log_int(l, "status", d->status);
        sy_log_int(l, "duration_us", d->dur_us);
        sy_log_cstr(l, "tenant",
                    req->who.tenant_id[0] ? req->who.tenant_id : NULL);
        sy_log_int(l, "bytes", (int64_t)d->bytes);
        sy_log_str(l, "client", d->client);
        sy_log_end_access(l);
    }
    if (is_slow) {
        sy_logline *l = sy_log_begin(SY_LOG_WARN, "slow_request");
        sy_log_str(l, "method", d->method);
        sy_log_cstr(l, "route", d->route);
        sy_log_int(l, "status", d->status);
        sy_log_int(l, "duration_us", d->dur_us);
        sy_log_int(l, "db_us", d->db_us);
        sy_log_int(l, "redis_us", d->redis_us);
        sy_log_int(l, "handler_us", d->dur_us - d->db_us - d->redis_us);
        sy_log_end(l);
    }
}

/* End the request.  libfcgi closes a connection the web server does not
 * keep by shutdown(), then waiting up to 2 s for the server to close its
 * end: over TCP, closing with unread input would reset the connection and
 * could destroy the response in flight.  On a unix socket, when no request
 * body can still be arriving, we shutdown() our side (the server sees the
 * end of the response) and keep the descriptor until the next request has
 * been answered, then close it: the server has long closed its end, and a
 * late empty-stdin record from it (Apache sends one after the params) lands
 * in a socket that is still open instead of failing with EPIPE.  So the
 * responder goes back to accept() at once instead of waiting for the web
 * server to get round to closing. */
static int lingering_fd = -1;

static void
finish(FCGX_Request *r, bool no_body)
{
    bool fast = listen_unix && no_body && !r->keepConnection;
    if (fast)
        r->keepConnection = 1; /* so that FCGX_Finish_r leaves it open */
    FCGX_Finish_r(r);
    if (lingering_fd >= 0)
        close(lingering_fd);
    lingering_fd = -1;
    if (fast && r->ipcFd >= 0) {
        shutdown(r->ipcFd, SHUT_WR);
        lingering_fd = r->ipcFd;
        r->ipcFd = -1;
    }
}

/* Parse and dispatch one accepted request, write its response. */
static void
serve_one(FCGX_Request *r, sy_arena *a, sy_buf *out)
{
    int64_t t0 = sy_mono_us();
    sy_req req;
    sy_res res;
    int rc = sy_req_parse_env(&req, a, r->envp);
    req.start_us = t0;
    sy_req_assign_id(&req);
    sy_log_set_request_id(req.request_id);
    mark_busy(&req, t0);
    timeout_fd = r->ipcFd;
    timeout_reqid = r->requestId;
    sy_db_take_time();
    sy_redis_take_time();
    if (self_timer)
        arm_timer(sy_conf->request_timeout_ms);
    phase = PHASE_HANDLER;
    sy_res_init(&res, a, &req, RESPONSE_MAX);
    req.read_body = fcgi_read_body;
    req.read_ctx = r;
    if (rc < 0)
        sy_problem_from_rc(&res, SY_EBADREQ);
    else
        sy_dispatch(&req, &res);
    phase = PHASE_WRITING;
    if (self_timer)
        arm_timer(0);

    sy_buf_reset(out);
    if (sy_res_serialize(&res, out) < 0) {
        sy_log(SY_LOG_ERROR, "response_too_large", "response dropped");
        sy_buf_reset(out);
        sy_buf_puts(out, "Status: 500 Internal Server Error\r\n\r\n");
    }
    FCGX_PutStr(out->p, (int)out->len, r->out);

    /* the params die with FCGX_Finish_r: keep what the log needs */
    done_info d = {
        .status = res.status,
        .bytes = res.body.len,
        .route_index = req.route_index,
        .route = sy_dispatch_route_name(&req),
        .method = {sy_str_dup(a, req.method), req.method.len},
        .path = {sy_str_dup(a, req.path), req.path.len},
        .client = {sy_str_dup(a, req.client_addr), req.client_addr.len},
    };
    finish(r, req.content_length <= 0);
    phase = PHASE_IDLE;
    timeout_fd = -1;
    d.dur_us = sy_mono_us() - t0;
    d.db_us = sy_db_take_time();
    d.redis_us = sy_redis_take_time();
    mark_idle();
    sy_dispatch_count(d.route_index, d.status, d.dur_us);
    log_request(&req, &d);
    sy_log_set_request_id(NULL);
    sy_arena_reset(a);
}

/* Once per pool (per process without a master), after the first
 * request that reached PostgreSQL: say when the server's settings make
 * commits less durable than it looks.  Synthia does not depend on them
 * for what it acknowledges (db.h, durable commits), so this is a
 * warning, never a failure; /health/detailed shows them always. */
static void
warn_db_settings_once(void)
{
    static bool done;
    sy_db_durability d;
    if (done || sy_db_server_version() == 0)
        return;
    done = true;
    if (__atomic_exchange_n(&sy_pool->db_settings_checked, 1,
                            __ATOMIC_ACQ_REL))
        return;
    if (sy_db_durability_settings(&d) < 0) {
        done = false; /* connection lost meanwhile: another time */
        __atomic_store_n(&sy_pool->db_settings_checked, 0, __ATOMIC_RELEASE);
        return;
    }
    bool no_fsync = strcmp(d.fsync, "on") != 0;
    bool async = strcmp(d.synchronous_commit, "off") == 0;
    if (!no_fsync && !async)
        return;
    sy_logline *l = sy_log_begin(SY_LOG_WARN, "db_durability");
    sy_log_cstr(l, "fsync", d.fsync);
    sy_log_cstr(l, "synchronous_commit", d.synchronous_commit);
    sy_log_cstr(l, "msg", "PostgreSQL's settings weaken durability");
    if (no_fsync)
        sy_log_cstr(l, "fsync_off",
                    "an operating-system crash or power loss can lose or "
                    "corrupt committed data, acknowledged orders included");
    if (async)
        sy_log_cstr(l, "synchronous_commit_off",
                    "what Synthia acknowledges is committed synchronously "
                    "anyway; bookkeeping writes (last use of keys, "
                    "clean-ups) may be lost in a database crash");
    sy_log_end(l);
}

/* Batched access lines go out when nothing else is waiting (so an idle
 * responder never sits on them), or when the oldest is 100 ms old. */
static void
maybe_flush_log(int listen_fd)
{
    int64_t age = sy_log_pending_age_us();
    if (age < 0)
        return;
    struct pollfd p = {.fd = listen_fd, .events = POLLIN};
    if (age >= 100000 || poll(&p, 1, 0) <= 0)
        sy_log_flush();
}

/* Accept the next connection ourselves and hand it to libfcgi through
 * the request's (public) ipcFd field, with keepConnection set so that
 * FCGX_Accept_r's opening FCGX_Finish_r keeps it.  libfcgi's own accept
 * path polls each new unix connection for its first bytes, and poll() is
 * never restarted after a signal: a stop signal landing there made it
 * close the connection unanswered.  Our accept() is restarted (SA_RESTART)
 * and fails at once after on_stop swapped the socket.  A connection the
 * web server asked to keep (FCGI_KEEP_CONN) is still open: no accept then.
 * 0, -1 to retry or stop, SY_EIO when the socket is unusable. */
static int
accept_connection(FCGX_Request *r, int listen_fd)
{
    if (r->ipcFd >= 0)
        return 0;
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0) {
        r->ipcFd = fd;
        r->keepConnection = 1;
        return 0;
    }
    if (stop_requested || errno == EINTR || errno == ECONNABORTED ||
        errno == EAGAIN)
        return -1;
    sy_log(SY_LOG_ERROR, "accept_failed", "accept: %s", strerror(errno));
    if (errno == EBADF || errno == ENOTSOCK || errno == EINVAL)
        return SY_EIO;
    usleep(100000); /* EMFILE and friends: back off, retry */
    return -1;
}

/* Recycle after max_requests, with up to 10% jitter so that responders
 * started together do not all restart together. */
static uint64_t
recycle_after(void)
{
    uint64_t max = (uint64_t)sy_conf->max_requests;
    uint32_t r;
    if (max == 0)
        return 0;
    sy_random_bytes(&r, sizeof(r));
    return max + (max / 10 ? r % (max / 10 + 1) : 0);
}

int
sy_responder_run(int listen_fd, bool have_master)
{
    FCGX_Request r;
    sy_arena arena;
    sy_buf out;
    int status = SY_EXIT_RECYCLE;

    self_timer = !have_master;
    listen_fd_in_use = listen_fd;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    listen_unix = getsockname(listen_fd, (struct sockaddr *)&ss, &sslen) == 0 &&
                  ss.ss_family == AF_UNIX;
    sy_log_set_proc("responder");
    if (have_master)
        prctl(PR_SET_PDEATHSIG, SIGTERM);
    install_signals();
    if (FCGX_Init() != 0 ||
        FCGX_InitRequest(&r, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
        sy_log(SY_LOG_ERROR, "fcgi_init", "cannot initialise libfcgi");
        return SY_EXIT_FATAL;
    }
    sy_arena_init(&arena, ARENA_CHUNK, (size_t)sy_conf->request_memory);
    sy_log_set_access_batch(&sy_self_slot->access_log);
    sy_log_set_access_buffer((size_t)sy_conf->access_log_buffer);
    sy_buf_init(&out, NULL, RESPONSE_MAX);
    uint64_t limit = recycle_after();
    sy_self_slot->served = 0;
    __atomic_store_n(&sy_self_slot->state, SY_SLOT_IDLE, __ATOMIC_RELEASE);
    if (have_master && getppid() == 1)
        return SY_EXIT_RECYCLE; /* master died before PDEATHSIG was set */

    while (!stop_requested) {
        int rc = accept_connection(&r, listen_fd);
        if (rc == SY_EIO) {
            status = SY_EXIT_FATAL;
            break;
        }
        if (rc < 0)
            continue;
        rc = FCGX_Accept_r(&r);
        if (rc < 0) {
            if (!stop_requested)
                sy_log(SY_LOG_WARN, "fcgi_read_failed",
                       "FCGX_Accept_r: %d (connection dropped)", rc);
            continue;
        }
        serve_one(&r, &arena, &out);
        warn_db_settings_once();
        maybe_flush_log(listen_fd);
        if (limit && sy_self_slot->served >= limit)
            break;
    }
    sy_log_flush();
    FCGX_Finish_r(&r);
    __atomic_store_n(&sy_self_slot->state, SY_SLOT_STOPPING,
                     __ATOMIC_RELEASE);
    sy_apikey_flush_used(&arena); /* last_used_at of keys served lately */
    sy_arena_reset(&arena);
    sy_db_close();
    sy_redis_close();
    sy_arena_cleanup(&arena);
    sy_buf_free(&out);
    if (reload_requested && status == SY_EXIT_RECYCLE)
        return SY_EXIT_RELOAD;
    return status;
}
