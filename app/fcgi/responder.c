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
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "synthia/apikey.h"
#include "synthia/cache.h"
#include "synthia/clock.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/dispatch.h"
#include "synthia/error.h"
#include "synthia/fcgirec.h"
#include "synthia/inval.h"
#include "synthia/log.h"
#include "synthia/metrics.h"
#include "synthia/park.h"
#include "synthia/pool.h"
#include "synthia/problem.h"
#include "synthia/pubsub.h"
#include "synthia/ratelimit.h"
#include "synthia/redis.h"
#include "synthia/request.h"
#include "synthia/response.h"
#include "synthia/router.h"
#include "synthia/textidx.h"
#include "synthia/vectors.h"

#define ARENA_CHUNK (16 * 1024)
#define RESPONSE_MAX (64 * 1024 * 1024)

enum phase { PHASE_IDLE = 0, PHASE_HANDLER, PHASE_WRITING };

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;
static volatile sig_atomic_t phase;
static int timeout_fd = -1;       /* connection of the current request */
static int timeout_reqid;         /* its FastCGI request id */
static bool self_timer;           /* no master: we arm our own timer */

/* A parked request (park.h): its connection stays open without its
 * arena; what it needs later is copied here.  `pre` is its answer as of
 * park time, as whole FastCGI records: the request-timeout path (a
 * signal handler) writes it to every armed entry before the process
 * ends, so a timeout of one request never loses the parked ones. */
struct conn;
typedef struct parked {
    struct conn *c;              /* NULL: free */
    volatile sig_atomic_t armed; /* fd and pre may be written (signal) */
    int fd;
    unsigned char *pre;
    size_t pre_len;
    int sub;                     /* pubsub handle */
    int due;                     /* SY_WAKE_EVENT or _READY pending, 0 */
    int64_t start_us, deadline_us;
    sy_park p;
    sy_principal who;            /* origins: own copy; no key record */
    char *origins;
    char request_id[SY_REQUEST_ID_MAX + 1];
    const sy_route *route;
    int route_index;
} parked;

static parked *parks;
static int park_cap, nparked;

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

static int wake_fd = -1; /* an eventfd in the responder's epoll set */

/* SIGTERM/SIGINT/SIGQUIT/SIGHUP, installed with SA_RESTART so that the
 * reads and writes of a request in hand are restarted, never failed with
 * EINTR (libfcgi drops a request whose read fails).  The loop waits in
 * epoll_wait(), which a signal interrupts, and the eventfd wakes it even
 * when the signal lands just before the wait.  Without a master, SIGHUP
 * means: finish, then re-execute on the same socket, so a copy of it is
 * kept first.  Async-signal-safe calls only. */
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
    if (wake_fd >= 0) {
        uint64_t one = 1;
        ssize_t w = write(wake_fd, &one, sizeof(one));
        (void)w;
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

static bool
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
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
    /* parked requests get their answer as of park time; the kept
     * connections close with the process, each between two requests */
    for (int i = 0; i < park_cap; i++)
        if (parks[i].armed && parks[i].fd != timeout_fd)
            write_all(parks[i].fd, (const char *)parks[i].pre,
                      parks[i].pre_len);
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

/* served: the request was answered (a request parked, or woken and
 * parked again, is not yet) */
static void
mark_idle_as(bool served)
{
    sy_slot *s = sy_self_slot;
    s->busy_since_us = 0;
    s->served += served;
    s->total_served += served;
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
#define KEEP_DRAIN_MAX (64u << 20) /* web servers cap bodies lower */

/* A response up to this size goes to the web server in one write():
 * STDOUT records, the end of STDOUT and END_REQUEST together.  Written
 * through libfcgi's stream it took one write per 8 KiB and another for
 * END_REQUEST, and a responder killed between two of them left the web
 * server with a response begun and no end: nginx has then sent the
 * headers on and can only drop its client's connection (CI: wrk's
 * "read" error in test_faults_load).  Killed before the write, the web
 * server has nothing and answers its own 502/503 problem; after it, the
 * whole response.  Larger responses (images) stream as before; a unix
 * socket's send buffer (~208 KiB) would split them anyway. */
#define ONE_WRITE_MAX (192u << 10)
static unsigned char *frame_mem;

/* Write the whole response with one write() and tell libfcgi its
 * output is over (FCGX_FClose of a closed stream writes nothing).
 * false: too large, use the stream. */
static bool
send_whole(FCGX_Request *r, const sy_buf *resp)
{
    if (resp->len > ONE_WRITE_MAX || r->ipcFd < 0 || !r->out)
        return false;
    if (!frame_mem &&
        !(frame_mem = malloc(sy_fcgi_response_size(ONE_WRITE_MAX))))
        return false;
    size_t n = sy_fcgi_response_records(r->requestId, resp->p, resp->len,
                                        frame_mem);
    if (!write_all(r->ipcFd, (const char *)frame_mem, n))
        r->keepConnection = 0; /* the web server has gone: close */
    r->out->wasFCloseCalled = 1;
    r->out->isClosed = 1;
    return true;
}

static void
finish(FCGX_Request *r, bool no_body, const sy_buf *resp)
{
    bool sent = false;
    /* A kept connection carries the next request after this one's
     * STDIN: read what the handler left of it (a body refused before it
     * was read: 403, 413), after sending the answer so far when a body
     * is still to come.  Closing the connection instead would race with
     * the web server, which may send its next request on it at once, and
     * a web server does not send a POST or PATCH again.  Without a body,
     * all that is left is the empty STDIN record the web server sent
     * with the params: read first, then answer in one write.  Past
     * KEEP_DRAIN_MAX bytes the connection is closed. */
    if (r->keepConnection && r->in && !FCGX_HasSeenEOF(r->in)) {
        char chunk[16384];
        size_t left = KEEP_DRAIN_MAX;
        int n;
        if (!no_body) {
            FCGX_PutStr(resp->p, (int)resp->len, r->out);
            FCGX_FFlush(r->out);
            sent = true;
        }
        while (left > 0 &&
               (n = FCGX_GetStr(chunk, sizeof(chunk), r->in)) > 0)
            left -= (size_t)n < left ? (size_t)n : left;
        if (!FCGX_HasSeenEOF(r->in))
            r->keepConnection = 0;
    }
    if (!sent && !send_whole(r, resp))
        FCGX_PutStr(resp->p, (int)resp->len, r->out);
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

/* Write res, end the request, log and count it, reset the arena. */
static void
respond(FCGX_Request *r, sy_req *req, sy_res *res, sy_arena *a, sy_buf *out)
{
    int64_t t0 = req->start_us;
    sy_buf_reset(out);
    if (sy_res_serialize(res, out) < 0) {
        sy_log(SY_LOG_ERROR, "response_too_large", "response dropped");
        sy_buf_reset(out);
        sy_buf_puts(out, "Status: 500 Internal Server Error\r\n\r\n");
    }

    /* the params die with FCGX_Finish_r: keep what the log needs */
    done_info d = {
        .status = res->status,
        .bytes = res->body.len,
        .route_index = req->route_index,
        .route = sy_dispatch_route_name(req),
        .method = {sy_str_dup(a, req->method), req->method.len},
        .path = {sy_str_dup(a, req->path), req->path.len},
        .client = {sy_str_dup(a, req->client_addr), req->client_addr.len},
    };
    finish(r, req->content_length <= 0, out);
    phase = PHASE_IDLE;
    timeout_fd = -1;
    d.dur_us = sy_mono_us() - t0;
    d.db_us = sy_db_take_time();
    d.redis_us = sy_redis_take_time();
    mark_idle_as(true);
    sy_dispatch_count(d.route_index, d.status, d.dur_us);
    log_request(req, &d);
    sy_log_set_request_id(NULL);
    sy_arena_reset(a);
}

static bool park_request(struct conn *c, FCGX_Request *r, const sy_req *req,
                         sy_res *res, const sy_park *pp, sy_buf *out);

/* Parse and dispatch one accepted request, write its response (or park
 * it). */
static void
serve_one(struct conn *c, FCGX_Request *r, sy_arena *a, sy_buf *out)
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

    const sy_park *pp = rc < 0 ? NULL : sy_res_parked(&res);
    if (pp && park_request(c, r, &req, &res, pp, out)) {
        /* parked time is nobody's handler time: the slot is idle */
        phase = PHASE_IDLE;
        timeout_fd = -1;
        sy_db_take_time();
        sy_redis_take_time();
        mark_idle_as(false);
        sy_log_set_request_id(NULL);
        sy_arena_reset(a);
        return;
    }
    respond(r, &req, &res, a, out);
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

/* ------------------------------------------------ kept connections */

/* A responder keeps up to server.responder_connections FastCGI
 * connections open (the web server's kept ones: fastcgi_keep_conn) and
 * serves whichever holds a whole request, one at a time.  One epoll set
 * watches the listening socket (every idle responder wakes for a new
 * connection; one holding more active connections leaves it to a
 * lighter one: see defer_to_lighter), the connections (edge-triggered: a connection
 * whose request is still arriving wakes us again only when more comes)
 * and an eventfd the stop signals write to.  Before libfcgi reads a
 * connection, its waiting bytes are peeked and scanned (fcgirec.h): so
 * a connection never blocks the responder while others are ready, and
 * management records and aborted requests are answered here. */

#define EV_LISTEN 0u
#define EV_WAKE UINT32_MAX
#define DRAIN_US 1000000 /* a stopping responder waits this long for the
                            rest of a request that is arriving */

typedef struct conn {
    FCGX_Request req;
    int fd;          /* -1: free */
    int64_t used_us; /* accepted, or last request answered */
    uint64_t served; /* requests answered on it */
    bool check;      /* something happened: scan it */
    bool hup;        /* the peer closed (EPOLLRDHUP): a parked request's
                        client is gone */
    parked *pk;      /* its request is parked */
} conn;

static conn *conns;
static int conn_cap, conn_open;
static int epfd = -1, listen_fd_ep = -1;
static bool listening, draining;
static bool retiring; /* recycled with parked requests: serve on, park
                         no new request, go when the last parked one
                         has its answer (at most its wait) */
static unsigned char *peek_buf;
static sy_fcgi_limits fcgi_limits;

static sy_metric m_conns = {
    .name = "synthia_fcgi_connections_total",
    .help = "FastCGI connections accepted by responders",
    .type = SY_METRIC_COUNTER};
static sy_metric m_evicted = {
    .name = "synthia_fcgi_idle_closed_total",
    .help = "Idle kept FastCGI connections closed to make room for a new "
            "one (server.responder_connections reached)",
    .type = SY_METRIC_COUNTER};
static sy_metric m_aborted = {
    .name = "synthia_fcgi_aborted_total",
    .help = "Requests the web server aborted (FCGI_ABORT_REQUEST) before "
            "they were served",
    .type = SY_METRIC_COUNTER};
static sy_metric m_mgmt = {
    .name = "synthia_fcgi_management_records_total",
    .help = "FastCGI management records answered (FCGI_GET_VALUES)",
    .type = SY_METRIC_COUNTER};
SY_METRICS_REGISTER(&m_conns, &m_evicted, &m_aborted, &m_mgmt)
static sy_metric m_parked = {
    .name = "synthia_parked_requests",
    .help = "Requests parked now (waiting for an event, no responder held)",
    .type = SY_METRIC_GAUGE};
static sy_metric m_parked_total = {
    .name = "synthia_parked_requests_total",
    .help = "Requests parked (GET /jobs/{id}?wait=)",
    .type = SY_METRIC_COUNTER};
static sy_metric m_park_refused = {
    .name = "synthia_park_refused_total",
    .help = "Requests answered at once because server.parked_requests "
            "was reached",
    .type = SY_METRIC_COUNTER};
static sy_metric m_park_gone = {
    .name = "synthia_parked_gone_total",
    .help = "Parked requests whose client went away (abort or close)",
    .type = SY_METRIC_COUNTER};
SY_METRICS_REGISTER(&m_parked, &m_parked_total, &m_park_refused,
                    &m_park_gone)

static void
set_listening(bool on)
{
    if (on == listening || listen_fd_ep < 0 || (on && draining))
        return;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = EV_LISTEN};
    if (on)
        epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd_ep, &ev);
    else
        epoll_ctl(epfd, EPOLL_CTL_DEL, listen_fd_ep, NULL);
    listening = on;
}

/* The connection went away (closed by libfcgi, or lingering): forget
 * it; close it too unless `gone`. */
static void
conn_forget(conn *c, bool gone)
{
    /* closing takes it out of the epoll set; one that libfcgi closed
     * (`gone`) is not deleted by number, which something opened since
     * may already hold */
    if (!gone)
        close(c->fd);
    c->fd = -1;
    c->req.ipcFd = -1;
    c->check = false;
    conn_open--;
    __atomic_store_n(&sy_self_slot->conns, conn_open, __ATOMIC_RELAXED);
    if (!draining)
        set_listening(true); /* room again */
}

static void
conn_add(int fd)
{
    conn *c = NULL;
    for (int i = 0; i < conn_cap && !c; i++)
        if (conns[i].fd < 0)
            c = &conns[i];
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET,
                             .data.u32 = (uint32_t)(c - conns) + 1};
    if (!c || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        close(fd);
        return;
    }
    c->fd = fd;
    c->req.ipcFd = -1;
    c->used_us = sy_mono_us();
    c->served = 0;
    c->check = true; /* the request may already be there */
    c->hup = false;
    c->pk = NULL;
    conn_open++;
    __atomic_store_n(&sy_self_slot->conns, conn_open, __ATOMIC_RELAXED);
    sy_counter_inc(&m_conns);
}

/* Peek at what waits in c and scan it.  A connection the web server
 * closed (or that failed) reads as SY_FCGI_BAD. */
static void
conn_scan(conn *c, sy_fcgi_scan *sc)
{
    ssize_t n = recv(c->fd, peek_buf, SY_FCGI_PEEK_MAX,
                     MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        memset(sc, 0, sizeof(*sc));
        sc->state = SY_FCGI_EMPTY;
        return;
    }
    if (n <= 0) {
        memset(sc, 0, sizeof(*sc));
        sc->state = SY_FCGI_BAD;
        return;
    }
    sy_fcgi_scan_records(peek_buf, (size_t)n, n == SY_FCGI_PEEK_MAX, sc);
}

/* Take len bytes (all of them have arrived) off the connection. */
static bool
conn_consume(conn *c, size_t len)
{
    return recv(c->fd, peek_buf, len, MSG_WAITALL) == (ssize_t)len;
}

/* A management record or an aborted request: answered here.  false:
 * the connection is to be closed. */
static bool
conn_answer(conn *c, const sy_fcgi_scan *sc)
{
    unsigned char out[512];
    if (!conn_consume(c, sc->len))
        return false;
    if (sc->state == SY_FCGI_MGMT) {
        size_t n = sy_fcgi_mgmt_answer(peek_buf, sc->len, &fcgi_limits, out,
                                       sizeof(out));
        if (!n)
            return false;
        sy_counter_inc(&m_mgmt);
        write_all(c->fd, (const char *)out, n);
        return true;
    }
    /* FCGI_ABORT_REQUEST before we began: the request ends unanswered */
    sy_counter_inc(&m_aborted);
    sy_fcgi_end_request(sc->request_id, 0, out);
    write_all(c->fd, (const char *)out, 16);
    c->used_us = sy_mono_us();
    return sc->keep_conn;
}

/* Serve the request waiting whole in c.  `closing`: close the
 * connection right after the answer (a stopping responder: the web
 * server sees the end of the connection with the end of the response,
 * before it could send another request on it). */
static void
conn_serve(conn *c, sy_arena *a, sy_buf *out, bool closing)
{
    FCGX_Request *r = &c->req;
    r->ipcFd = c->fd;
    r->keepConnection = 1; /* so that FCGX_Accept_r's Finish keeps it */
    int rc = FCGX_Accept_r(r);
    if (rc < 0) {
        if (!stop_requested)
            sy_log(SY_LOG_WARN, "fcgi_read_failed",
                   "FCGX_Accept_r: %d (connection dropped)", rc);
        conn_forget(c, r->ipcFd < 0);
        return;
    }
    serve_one(c, r, a, out);
    if (c->pk)
        return; /* parked: the connection waits with its request */
    c->used_us = sy_mono_us();
    c->served++;
    if (r->ipcFd != c->fd)
        conn_forget(c, true); /* libfcgi closed it, or it lingers */
    else if (closing)
        conn_forget(c, false);
}

/* Room for one more connection: the least recently used idle one is
 * closed (an idle kept connection must never keep a new one waiting; the
 * web server opens another when it needs one).  A web server retries a
 * request that fails on a connection it had kept, but not one on a
 * connection it has just opened: so a connection that has not carried a
 * request yet is closed only after FRESH_US.  false: none may go. */
#define FRESH_US 1000000

static bool
make_room(void)
{
    conn *victim = NULL;
    int64_t now = sy_mono_us();
    for (int i = 0; i < conn_cap; i++) {
        conn *c = &conns[i];
        int pending = 0;
        if (c->fd < 0 || c->check || c->pk ||
            (!c->served && now - c->used_us < FRESH_US) ||
            ioctl(c->fd, FIONREAD, &pending) < 0 || pending > 0)
            continue;
        if (!victim || c->used_us < victim->used_us)
            victim = c;
    }
    if (!victim)
        return false;
    sy_counter_inc(&m_evicted);
    conn_forget(victim, false);
    return true;
}

/* Connections that carried a request in the last ACTIVE_US (or hold
 * one now): the ones the web server is using, whose requests queue
 * here.  Idle kept ones (a web server reuses its most recently freed
 * connection first) do not count. */
#define ACTIVE_US 100000
static int active_now; /* last count, also in our slot */

static int
count_active(void)
{
    int64_t since = sy_mono_us() - ACTIVE_US;
    int n = 0;
    for (int i = 0; i < conn_cap; i++)
        if (conns[i].fd >= 0 && !conns[i].pk &&
            (conns[i].check || conns[i].used_us >= since))
            n++;
    active_now = n;
    __atomic_store_n(&sy_self_slot->active, n, __ATOMIC_RELAXED);
    return n;
}

/* The fewest active connections another live responder holds (INT_MAX:
 * none).  A kept connection stays with the responder that accepted it:
 * connections spread unevenly queue requests at one responder while
 * another has few (seen: 15 against 5 under wrk -c32 when only an idle
 * responder was deferred to; by active counts, 8/8/8/8). */
static int
lightest_peer(void)
{
    int min = INT_MAX;
    if (!sy_pool)
        return min;
    for (int i = 0; i < SY_POOL_MAX_SLOTS; i++) {
        sy_slot *s = &sy_pool->slots[i];
        int st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
        if (s == sy_self_slot || (st != SY_SLOT_IDLE && st != SY_SLOT_BUSY) ||
            __atomic_load_n(&s->retiring, __ATOMIC_RELAXED))
            continue;
        int a = __atomic_load_n(&s->active, __ATOMIC_RELAXED);
        if (a < min)
            min = a;
    }
    return min;
}

/* Leave a new connection to a lighter responder (fewer active
 * connections by two or more; it accepts when it next looks, at most a
 * request later)?  Deferring stops after DEFER_US for the connections
 * waiting now, so a lighter responder that does not take them (stopping,
 * stuck) never keeps them waiting longer. */
#define DEFER_US 5000
static int64_t defer_since_us;

static bool
defer_to_lighter(void)
{
    if (!sy_pool || count_active() < 2 ||
        lightest_peer() > active_now - 2) {
        defer_since_us = 0;
        return false;
    }
    int64_t now = sy_mono_us();
    if (!defer_since_us || now - defer_since_us > 4 * DEFER_US)
        defer_since_us = now; /* (a window long past: those were taken) */
    if (now - defer_since_us < DEFER_US)
        return true;
    defer_since_us = 0;
    return false;
}

static int
accept_one(int listen_fd)
{
    if (defer_to_lighter()) {
        set_listening(false); /* it was woken too; look again shortly */
        return 0;
    }
    if ((conn_open >= conn_cap ||
         conn_open - nparked >= (int)sy_conf->responder_connections) &&
        !make_room()) {
        set_listening(false); /* back once a request has been served */
        return 0;
    }
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0) {
        conn_add(fd);
        return 0;
    }
    if (stop_requested || errno == EINTR || errno == ECONNABORTED ||
        errno == EAGAIN)
        return 0;
    sy_log(SY_LOG_ERROR, "accept_failed", "accept: %s", strerror(errno));
    if (errno == EBADF || errno == ENOTSOCK || errno == EINVAL)
        return SY_EIO;
    usleep(100000); /* EMFILE and friends: back off, retry */
    return 0;
}

/* ------------------------------------------------ parked requests */

#define EV_PUBSUB (UINT32_MAX - 1)

static int pubsub_fd_ep = -1;      /* the subscriber descriptor watched */
static uint64_t pubsub_gen_ep;     /* ... of this connection */
static bool pubsub_readable;       /* epoll said so */
static int pubsub_ms = -1;         /* pubsub wants a call within this */

static void
on_park_event(void *arg, int kind, const char *channel, sy_str msg)
{
    parked *pk = arg;
    (void)channel;
    (void)msg;
    if (kind == SY_PUBSUB_MESSAGE || !pk->due)
        pk->due = kind == SY_PUBSUB_MESSAGE ? SY_WAKE_EVENT : SY_WAKE_READY;
}

static void
unpark(parked *pk)
{
    pk->armed = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* before pre is freed */
    sy_pubsub_unsubscribe(pk->sub);
    free(pk->pre);
    free(pk->origins);
    pk->pre = NULL;
    pk->origins = NULL;
    pk->c->pk = NULL;
    pk->c = NULL;
    nparked--;
    sy_gauge_set(&m_parked, 0, nparked);
}

/* Park r (the handler asked: pp), keeping res as its answer of now.
 * false: not parked, answer now (the bound is reached: res gets
 * Retry-After; or no memory, or a stopping responder). */
static bool
park_request(conn *c, FCGX_Request *r, const sy_req *req, sy_res *res,
             const sy_park *pp, sy_buf *out)
{
    parked *pk = NULL;
    for (int i = 0; i < park_cap && !pk && !stop_requested && !retiring;
         i++)
        if (!parks[i].c)
            pk = &parks[i];
    if (!pk) {
        sy_counter_inc(&m_park_refused);
        sy_res_header_set(res, "Retry-After", SY_STR("1"));
        return false;
    }
    sy_buf_reset(out);
    if (sy_res_serialize(res, out) < 0)
        return false;
    unsigned char *pre = malloc(sy_fcgi_response_size(out->len));
    char *origins = req->who.origins ? strdup(req->who.origins) : NULL;
    int sub = -1;
    if (!pre || (req->who.origins && !origins) ||
        (sub = sy_pubsub_subscribe(pp->channel, on_park_event, pk)) < 0) {
        free(pre);
        free(origins);
        return false;
    }
    pk->pre_len = sy_fcgi_response_records(r->requestId, out->p, out->len,
                                           pre);
    pk->pre = pre;
    pk->origins = origins;
    pk->sub = sub;
    pk->due = 0;
    pk->start_us = req->start_us;
    pk->deadline_us = sy_mono_us() + pp->timeout_ms * 1000;
    pk->p = *pp;
    pk->who = req->who;
    pk->who.origins = origins;
    pk->who.key_record = NULL;
    pk->who.key_record_len = 0;
    memcpy(pk->request_id, req->request_id, sizeof(pk->request_id));
    pk->route = req->route;
    pk->route_index = req->route_index;
    pk->fd = c->fd;
    pk->c = c;
    c->pk = pk;
    nparked++;
    sy_gauge_set(&m_parked, 0, nparked);
    sy_counter_inc(&m_parked_total);
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* all set before armed */
    pk->armed = 1;
    return true;
}

/* Run pk's wake function; answer (then the connection is free for the
 * next request, or closed when stopping) unless it waits on. */
static void
wake_one(parked *pk, int why, sy_arena *a, sy_buf *out)
{
    conn *c = pk->c;
    FCGX_Request *r = &c->req;
    int64_t t0 = sy_mono_us();
    sy_req req;
    sy_res res;
    if (sy_req_parse_env(&req, a, r->envp) < 0)
        why = SY_WAKE_STOP; /* cannot happen: it parsed at park time */
    memcpy(req.request_id, pk->request_id, sizeof(req.request_id));
    req.who = pk->who;
    req.route = pk->route;
    req.route_index = pk->route_index;
    req.start_us = pk->start_us;
    req.read_body = fcgi_read_body;
    req.read_ctx = r;
    sy_log_set_request_id(req.request_id);
    mark_busy(&req, t0);
    timeout_fd = c->fd;
    timeout_reqid = r->requestId;
    sy_db_take_time();
    sy_redis_take_time();
    if (self_timer)
        arm_timer(sy_conf->request_timeout_ms);
    phase = PHASE_HANDLER;
    pk->due = 0;
    sy_res_init(&res, a, &req, RESPONSE_MAX);
    int w = sy_dispatch_wake(&req, &res, pk->p.wake, pk->p.state, why);
    phase = PHASE_WRITING;
    if (self_timer)
        arm_timer(0);
    if (w == SY_PARK_AGAIN) {
        phase = PHASE_IDLE;
        timeout_fd = -1;
        mark_idle_as(false);
        sy_log_set_request_id(NULL);
        sy_arena_reset(a);
        return;
    }
    unpark(pk);
    respond(r, &req, &res, a, out);
    c->used_us = sy_mono_us();
    c->served++;
    c->check = true; /* a kept connection: the next request may be there */
    if (r->ipcFd != c->fd)
        conn_forget(c, true);
    else if (stop_requested || draining)
        conn_forget(c, false);
}

/* Something happened on a parked request's connection: the web server
 * aborted the request (FCGI_ABORT_REQUEST: answered with END_REQUEST,
 * the connection kept if the web server keeps it) or closed the
 * connection.  Either way its slot is free. */
static void
parked_check(conn *c)
{
    parked *pk = c->pk;
    FCGX_Request *r = &c->req;
    c->check = false;
    ssize_t n = recv(c->fd, peek_buf, SY_FCGI_PEEK_MAX,
                     MSG_PEEK | MSG_DONTWAIT);
    size_t end = n > 0 ? sy_fcgi_find_abort(peek_buf, (size_t)n,
                                            r->requestId)
                       : 0;
    if (end) {
        unsigned char rec[16];
        bool keep = r->keepConnection && conn_consume(c, end);
        unpark(pk);
        sy_counter_inc(&m_park_gone);
        sy_counter_inc(&m_aborted);
        sy_fcgi_end_request(r->requestId, 0, rec);
        write_all(c->fd, (const char *)rec, sizeof(rec));
        FCGX_Free(r, 0);
        if (keep && !c->hup) {
            c->used_us = sy_mono_us();
            c->check = true; /* more may follow */
        } else {
            conn_forget(c, false);
        }
        return;
    }
    if (n == 0 || c->hup ||
        (n < 0 && errno != EAGAIN && errno != EINTR)) {
        unpark(pk);
        sy_counter_inc(&m_park_gone);
        FCGX_Free(r, 0);
        conn_forget(c, false);
    }
}

/* Keep the subscriber connection's descriptor in the epoll set. */
static void
watch_pubsub(void)
{
    int fd = sy_pubsub_fd();
    uint64_t gen = sy_pubsub_generation();
    if (fd == pubsub_fd_ep && gen == pubsub_gen_ep)
        return;
    /* No EPOLL_CTL_DEL of the old descriptor: a new fd or generation
     * means pubsub.c closed the old connection, which took it out of the
     * set, and its number may already be a FastCGI connection accepted
     * since (deleting that one stranded its next request: CI). */
    pubsub_fd_ep = -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = EV_PUBSUB};
    if (fd >= 0 && epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
        pubsub_fd_ep = fd;
    pubsub_gen_ep = gen;
}

/* Read the subscriber connection, then wake every parked request that
 * had an event or whose time is up. */
static void
service_parked(sy_arena *a, sy_buf *out)
{
    if (nparked || pubsub_readable || pubsub_fd_ep >= 0 ||
        sy_pubsub_listeners()) {
        pubsub_ms = sy_pubsub_service(pubsub_readable);
        pubsub_readable = false;
        watch_pubsub();
    }
    if (!park_cap || !nparked)
        return;
    int64_t now = sy_mono_us();
    for (int i = 0; i < park_cap; i++) {
        parked *pk = &parks[i];
        if (!pk->c)
            continue;
        if (pk->due)
            wake_one(pk, pk->due, a, out);
        else if (now >= pk->deadline_us)
            wake_one(pk, SY_WAKE_TIMEOUT, a, out);
    }
}

/* Stopping: every parked request is answered now, with its current
 * state. */
static void
answer_parked(sy_arena *a, sy_buf *out)
{
    for (int i = 0; i < park_cap && nparked; i++)
        if (parks[i].c)
            wake_one(&parks[i], SY_WAKE_STOP, a, out);
}

/* epoll_wait's timeout: base (ms, -1 forever) or sooner for the next
 * parked deadline or the subscriber connection. */
static int
loop_timeout(int base)
{
    int64_t t = base;
    if (pubsub_ms >= 0 && (t < 0 || pubsub_ms < t))
        t = pubsub_ms;
    if (sy_textidx_idle_due() || sy_vectors_idle_due())
        t = 0; /* work for a moment when nothing is waiting */
    int64_t counts = sy_cache_counts_due_ms(); /* the cache's hit counts */
    if (counts >= 0 && (t < 0 || counts < t))
        t = counts;
    if (nparked) {
        int64_t now = sy_mono_us();
        for (int i = 0; i < park_cap; i++) {
            if (!parks[i].c)
                continue;
            int64_t ms = (parks[i].deadline_us - now + 999) / 1000;
            if (ms < 0)
                ms = 0;
            if (t < 0 || ms < t)
                t = ms;
        }
    }
    return (int)t;
}

/* Mark what epoll_wait reported in evs[0..n): connections to scan (and
 * those whose peer hung up), the push channel readable.  Returns true
 * when the listening socket has a connection to accept. */
static bool
mark_events(const struct epoll_event *evs, int n)
{
    bool acceptable = false;
    for (int i = 0; i < n; i++) {
        uint32_t k = evs[i].data.u32;
        if (k == EV_LISTEN)
            acceptable = true;
        else if (k == EV_PUBSUB)
            pubsub_readable = true;
        else if (k != EV_WAKE && k <= (uint32_t)conn_cap &&
                 conns[k - 1].fd >= 0) {
            conns[k - 1].check = true;
            if (evs[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                conns[k - 1].hup = true;
        }
    }
    return acceptable;
}

/* Scan the connections that had events, from a rotating start (so no
 * connection is always last); serve the first whole request found.
 * Returns true when one was served. */
static bool
serve_ready(sy_arena *a, sy_buf *out)
{
    static int start;
    for (int k = 0; k < conn_cap; k++) {
        conn *c = &conns[(start + k) % conn_cap];
        if (c->fd < 0 || !c->check)
            continue;
        if (c->pk) {
            parked_check(c);
            continue;
        }
        sy_fcgi_scan sc;
        conn_scan(c, &sc);
        switch (sc.state) {
        case SY_FCGI_READY:
            start = (int)(c - conns) + 1;
            /* it may hold more after this request: look again */
            conn_serve(c, a, out, false);
            return true;
        case SY_FCGI_MGMT:
        case SY_FCGI_ABORTED:
            if (!conn_answer(c, &sc))
                conn_forget(c, false);
            k--; /* the same connection again: more may follow */
            continue;
        case SY_FCGI_BAD:
            conn_forget(c, false);
            continue;
        case SY_FCGI_EMPTY:
        case SY_FCGI_PARTIAL:
            c->check = false; /* until more arrives (edge-triggered) */
            continue;
        }
    }
    return false;
}

/* Stopping or recycled: finish what the web server already sent, closing
 * each connection after its answer; close idle kept connections at once
 * (only ever between requests); wait up to DRAIN_US for requests still
 * arriving, and for the first request of a connection just accepted (the
 * web server retries a request that fails on a connection it kept, not
 * on a new one). */
static void
drain_connections(sy_arena *a, sy_buf *out)
{
    draining = true;
    set_listening(false);
    int64_t deadline = sy_mono_us() + DRAIN_US;
    for (;;) {
        bool arriving = false;
        for (int i = 0; i < conn_cap; i++) {
            conn *c = &conns[i];
            if (c->fd < 0)
                continue;
            sy_fcgi_scan sc;
            conn_scan(c, &sc);
            if (sc.state == SY_FCGI_READY)
                conn_serve(c, a, out, true);
            else if (sc.state == SY_FCGI_ABORTED ||
                     sc.state == SY_FCGI_MGMT)
                conn_answer(c, &sc) ? i-- : conn_forget(c, false);
            else if ((sc.state == SY_FCGI_PARTIAL ||
                      (sc.state == SY_FCGI_EMPTY && !c->served)) &&
                     sy_mono_us() < deadline)
                arriving = true; /* a new connection: its request comes */
            else
                conn_forget(c, false);
        }
        if (!arriving)
            break;
        struct epoll_event evs[16];
        epoll_wait(epfd, evs, 16, 20);
    }
}

/* Recycle after max_requests, with up to 10% jitter so that responders
 * started together do not all restart together. */
static uint64_t
recycle_after(void)
{
    uint64_t max = (uint64_t)sy_conf->max_requests;
    if (max == 0)
        return 0;
    return max + sy_random_below(max / 10 + 1);
}

/* max_requests reached under a master: say so and keep serving.  The
 * master forks the successor at once and asks this responder to stop
 * (SIGTERM, the ordinary drain) only when the successor is ready, so the
 * pool never runs one short and no request waits for a fresh process's
 * connections (the "recycling tax").  Without a master, or when ours is
 * gone (false), the caller just exits. */
static pid_t master_pid; /* our parent when we started (have_master) */

static bool
announce_retiring(uint64_t *limit)
{
    *limit = 0; /* once */
    if (getppid() != master_pid)
        return false; /* the master is gone: no SIGUSR1 for init */
    __atomic_store_n(&sy_self_slot->retiring, 1, __ATOMIC_RELEASE);
    kill(master_pid, SIGUSR1);
    return true;
}

static int
setup_connections(int listen_fd)
{
    park_cap = (int)sy_conf->parked_requests;
    /* a parked request holds its connection on top of the kept ones */
    conn_cap = (int)sy_conf->responder_connections + park_cap;
    parks = calloc((size_t)(park_cap ? park_cap : 1), sizeof(*parks));
    if (!parks)
        return SY_EIO;
    long procs = sy_conf->workers > 0 ? (long)sy_conf->workers : 1;
    fcgi_limits.max_conns = procs * conn_cap;
    fcgi_limits.max_reqs = procs * conn_cap;
    conns = calloc((size_t)conn_cap, sizeof(*conns));
    peek_buf = malloc(SY_FCGI_PEEK_MAX);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!conns || !peek_buf || epfd < 0 || wake_fd < 0)
        return SY_EIO;
    for (int i = 0; i < conn_cap; i++) {
        /* no listening socket: libfcgi never accepts by itself (after a
         * protocol error it would otherwise block in accept()) */
        if (FCGX_InitRequest(&conns[i].req, -1, FCGI_FAIL_ACCEPT_ON_INTR))
            return SY_EIO;
        conns[i].fd = -1;
    }
    /* accept() must not block: another responder may take the connection
     * this one was woken for */
    int fl = fcntl(listen_fd, F_GETFL);
    if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return SY_EIO;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = EV_WAKE};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, wake_fd, &ev) < 0)
        return SY_EIO;
    listen_fd_ep = listen_fd;
    set_listening(true);
    return listening ? 0 : SY_EIO;
}

static void
teardown_connections(void)
{
    for (int i = 0; i < conn_cap; i++)
        if (conns[i].fd >= 0)
            conn_forget(&conns[i], false);
    if (lingering_fd >= 0)
        close(lingering_fd);
    lingering_fd = -1;
    close(epfd);
    close(wake_fd);
    sy_inval_stop();
    sy_pubsub_close();
    free(conns);
    free(peek_buf);
    park_cap = 0;
    free(parks);
    parks = NULL;
}

int
sy_responder_run(int listen_fd, bool have_master)
{
    sy_arena arena;
    sy_buf out;
    int status = SY_EXIT_RECYCLE;

    self_timer = !have_master;
    listen_fd_in_use = listen_fd;
    /* glibc raises its mmap threshold to the size of each large block
     * freed (up to 32 MiB): after one login, argon2id's 19 MiB came from
     * the heap and stayed resident (a responder at 26 MiB PSS against
     * issue 13's 16).  Fixed thresholds: blocks of 1 MiB and more are
     * mapped and given back when freed; the heap keeps up to 4 MiB free
     * at its top, so per-request arenas do not move the break each time. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    mallopt(M_TRIM_THRESHOLD, 4 << 20);
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    listen_unix = getsockname(listen_fd, (struct sockaddr *)&ss, &sslen) == 0 &&
                  ss.ss_family == AF_UNIX;
    sy_log_set_proc("responder");
    if (have_master) {
        master_pid = getppid();
        prctl(PR_SET_PDEATHSIG, SIGTERM);
    }
    if (FCGX_Init() != 0 || setup_connections(listen_fd) < 0) {
        sy_log(SY_LOG_ERROR, "fcgi_init", "cannot initialise libfcgi: %s",
               strerror(errno));
        return SY_EXIT_FATAL;
    }
    install_signals();
    /* the push channel: memory entries (keys, sessions, plans, catalog
     * versions) are dropped on its messages (inval.h) */
    sy_cache_counts_batch(true);
    if (sy_inval_start() < 0)
        sy_log(SY_LOG_WARN, "inval_start",
               "no invalidation subscription: memory entries are confirmed "
               "against Redis on every request");
    sy_arena_init(&arena, ARENA_CHUNK, (size_t)sy_conf->request_memory);
    sy_log_set_access_batch(&sy_self_slot->access_log);
    sy_log_set_access_buffer((size_t)sy_conf->access_log_buffer);
    sy_buf_init(&out, NULL, RESPONSE_MAX);
    uint64_t limit = recycle_after();
    sy_self_slot->served = 0;
    __atomic_store_n(&sy_self_slot->state, SY_SLOT_IDLE, __ATOMIC_RELEASE);
    if (have_master && getppid() == 1)
        stop_requested = 1; /* master died before PDEATHSIG was set */

    struct epoll_event evs[64];
    while (!stop_requested) {
        service_parked(&arena, &out);
        if (stop_requested || (retiring && !nparked))
            break;
        if (serve_ready(&arena, &out)) {
            warn_db_settings_once();
            if (sy_log_pending_age_us() >= 100000)
                sy_log_flush();
            count_active(); /* for the others' defer_to_lighter */
            set_listening(true);
            if (limit && sy_self_slot->served >= limit && !retiring) {
                if (have_master && announce_retiring(&limit)) {
                    /* the master starts the successor, then drains this
                     * one (SIGTERM: parked requests get their current
                     * state, as on any drain) */
                } else if (!nparked) {
                    break;
                } else {
                    /* parked requests are in flight: they finish first
                     * (at most their wait), as requests in flight do. */
                    retiring = true;
                }
            }
            if (sy_ratelimit_leases_tick(&arena))
                sy_arena_reset(&arena);
            sy_cache_counts_tick();
            /* What arrived while it was served: without this look, a
             * responder whose kept connections always hold a request
             * serves only those already marked, and a connection marked
             * empty earlier (its next request came later), a new
             * connection and the push channel wait until the others run
             * dry: seconds under load, while the handlers take
             * milliseconds. */
            int m = epoll_wait(epfd, evs, 64, 0);
            if (m > 0 && mark_events(evs, m) && !stop_requested &&
                accept_one(listen_fd) < 0) {
                status = SY_EXIT_FATAL;
                break;
            }
            continue;
        }
        /* batched access lines go out when nothing else is waiting; a
         * responder that stopped listening (every connection busy or new,
         * or a lighter responder idle) looks again every 10 ms; one
         * holding rate-limit tokens wakes to give back the unused */
        int n = epoll_wait(epfd, evs, 64,
                           loop_timeout(sy_log_pending_age_us() >= 0 ? 0
                                        : listening
                                            ? (int)sy_ratelimit_leases_due_ms()
                                            : 10));
        if (n == 0) {
            count_active();
            /* catalog copies' loads and checks, kept off requests */
            if (sy_textidx_idle_due() || sy_vectors_idle_due()) {
                sy_textidx_idle(&arena);
                sy_arena_reset(&arena);
                sy_vectors_idle(&arena);
                sy_arena_reset(&arena);
            }
            sy_cache_counts_tick();
            if (sy_ratelimit_leases_tick(&arena))
                sy_arena_reset(&arena);
            sy_log_flush();
            set_listening(true);
            continue;
        }
        if (n < 0) {
            if (errno != EINTR) {
                sy_log(SY_LOG_ERROR, "epoll_failed", "epoll_wait: %s",
                       strerror(errno));
                status = SY_EXIT_FATAL;
                break;
            }
            continue;
        }
        if (mark_events(evs, n) && !stop_requested &&
            accept_one(listen_fd) < 0) {
            status = SY_EXIT_FATAL;
            break;
        }
    }
    answer_parked(&arena, &out);
    drain_connections(&arena, &out);
    sy_log_flush();
    __atomic_store_n(&sy_self_slot->state, SY_SLOT_STOPPING,
                     __ATOMIC_RELEASE);
    teardown_connections();
    sy_apikey_flush_used(&arena); /* last_used_at of keys served lately */
    sy_ratelimit_leases_return(&arena); /* unspent tokens, for the others */
    sy_cache_counts_flush();            /* hit counts not yet sent */
    sy_arena_reset(&arena);
    sy_db_close();
    sy_redis_close();
    sy_arena_cleanup(&arena);
    sy_buf_free(&out);
    if (reload_requested && status == SY_EXIT_RECYCLE)
        return SY_EXIT_RELOAD;
    return status;
}
