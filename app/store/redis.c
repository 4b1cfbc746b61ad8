/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * redis.c - this process's Redis connection (redis.h).
 *
 * One blocking hiredis context per process, opened on first use from
 * redis.url: AUTH when a password is configured, SELECT when the database
 * is not 0, then SCRIPT LOAD of every registered script.  Any transport
 * error (no reply, timeout) frees the context and refuses new attempts
 * for redis.retry, so a dead Redis costs a request a clock read; callers
 * ask sy_redis_down() to degrade without even that.  Error replies from
 * Redis (WRONGTYPE, NOSCRIPT, ...) are replies, not outages.
 *
 * Commands whose reply nobody needs (counters, a lease given back, a
 * cache store: sy_redis_send, sy_redis_eval_send) are written at once and
 * their replies are never waited for on their own: Redis answers in
 * order, so they arrive before the reply of the next command, and
 * read_reply drops them then, after that command has been written (one
 * wait for both, not one each); ensure_ctx drops those that have already
 * arrived without waiting.  CLIENT REPLY OFF would spare the replies
 * altogether, but it cannot be mixed with the pipelines that read
 * replies on this same connection, and a dropped reply still tells us
 * of an error: it is logged, and a NOSCRIPT makes every script load
 * again on its next use.
 */
#include "synthia/redis.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "synthia/clock.h"
#include "synthia/config.h"
#include "synthia/error.h"
#include "synthia/log.h"
#include "synthia/metrics.h"
#include "synthia/str.h"

#define MAX_SCRIPTS 32

static redisContext *ctx;
/* Replies owed to sy_redis_send() and sy_redis_eval_send(): read and
 * dropped before the reply of anything sent after them. */
static int owed;
/* Something was written since the last wait for a reply (a round trip
 * to count when the next reply is not in hand). */
static bool unanswered;
static int64_t retry_at_us; /* no connect attempt before this */
static int64_t wait_us;     /* time in hiredis since the last take */
static const char *last_reason = "not connected";
static uint64_t generation; /* successful connects */
static sy_redis_script *scripts[MAX_SCRIPTS];
static int nscripts;

/* ---------------------------------------------------------- URL parsing */

/* Percent-decode s into dst (NUL-terminated); SY_EINVAL on a bad escape,
 * a decoded NUL, or when it does not fit. */
static int
decode_into(char *dst, size_t cap, sy_str s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) {
        int c = (unsigned char)s.p[i];
        if (c == '%') {
            int hi = i + 2 < s.len ? sy_hex_digit(s.p[i + 1]) : -1;
            int lo = i + 2 < s.len ? sy_hex_digit(s.p[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi | lo) == 0)
                return SY_EINVAL;
            c = hi * 16 + lo;
            i += 2;
        }
        if (n + 1 >= cap)
            return SY_EINVAL;
        dst[n++] = (char)c;
    }
    dst[n] = '\0';
    return 0;
}

static int
copy_into(char *dst, size_t cap, sy_str s)
{
    if (s.len == 0 || s.len >= cap || memchr(s.p, '\0', s.len))
        return SY_EINVAL;
    memcpy(dst, s.p, s.len);
    dst[s.len] = '\0';
    return 0;
}

static int
parse_int(sy_str s, int64_t max, int *out)
{
    int64_t v;
    if (sy_parse_i64(s, 0, max, &v) < 0)
        return SY_EINVAL;
    *out = (int)v;
    return 0;
}

static const char *
find_last(sy_str s, char c)
{
    for (size_t i = s.len; i > 0; i--)
        if (s.p[i - 1] == c)
            return s.p + i - 1;
    return NULL;
}

/* "[user]:password" or "user" before the '@'. */
static int
parse_userinfo(sy_str ui, sy_redis_target *t)
{
    const char *colon = memchr(ui.p, ':', ui.len);
    sy_str user = {ui.p, colon ? (size_t)(colon - ui.p) : ui.len};
    if (decode_into(t->user, sizeof(t->user), user) < 0)
        return SY_EINVAL;
    if (!colon)
        return 0;
    sy_str pw = {colon + 1, ui.len - user.len - 1};
    return decode_into(t->password, sizeof(t->password), pw);
}

/* "host", "host:port", "[v6]" or "[v6]:port". */
static int
parse_hostport(sy_str hp, sy_redis_target *t)
{
    sy_str host = hp, port = SY_STR_NULL;
    if (hp.len > 0 && hp.p[0] == '[') {
        const char *end = memchr(hp.p, ']', hp.len);
        if (!end)
            return SY_EINVAL;
        host = (sy_str){hp.p + 1, (size_t)(end - hp.p - 1)};
        sy_str rest = {end + 1, hp.len - (size_t)(end + 1 - hp.p)};
        if (rest.len > 0 && rest.p[0] != ':')
            return SY_EINVAL;
        if (rest.len > 0)
            port = (sy_str){rest.p + 1, rest.len - 1};
    } else {
        const char *colon = memchr(hp.p, ':', hp.len);
        if (colon) {
            host.len = (size_t)(colon - hp.p);
            port = (sy_str){colon + 1, hp.len - host.len - 1};
        }
    }
    if (copy_into(t->host, sizeof(t->host), host) < 0)
        return SY_EINVAL;
    if (port.p && (parse_int(port, 65535, &t->port) < 0 || t->port == 0))
        return SY_EINVAL;
    return 0;
}

/* What follows "redis://". */
static int
parse_tcp(sy_str rest, sy_redis_target *t)
{
    const char *slash = memchr(rest.p, '/', rest.len);
    sy_str auth = {rest.p, slash ? (size_t)(slash - rest.p) : rest.len};
    const char *at = find_last(auth, '@');
    t->port = 6379;
    if (at) {
        if (parse_userinfo((sy_str){auth.p, (size_t)(at - auth.p)}, t) < 0)
            return SY_EINVAL;
        auth = (sy_str){at + 1, auth.len - (size_t)(at + 1 - auth.p)};
    }
    if (parse_hostport(auth, t) < 0)
        return SY_EINVAL;
    if (!slash)
        return 0;
    sy_str db = {slash + 1, rest.len - (size_t)(slash + 1 - rest.p)};
    return db.len == 0 ? 0 : parse_int(db, INT32_MAX, &t->db);
}

/* What follows "unix://": an absolute path, optionally "?db=N". */
static int
parse_unix(sy_str rest, sy_redis_target *t)
{
    const char *q = memchr(rest.p, '?', rest.len);
    sy_str path = {rest.p, q ? (size_t)(q - rest.p) : rest.len};
    if (path.len < 2 || path.p[0] != '/')
        return SY_EINVAL;
    /* sun_path holds 108 bytes with the NUL. */
    if (path.len > 107 || copy_into(t->host, sizeof(t->host), path) < 0)
        return SY_EINVAL;
    t->unix_socket = true;
    if (!q)
        return 0;
    sy_str query = {q + 1, rest.len - path.len - 1};
    if (!sy_str_starts(query, "db="))
        return SY_EINVAL;
    return parse_int((sy_str){query.p + 3, query.len - 3}, INT32_MAX, &t->db);
}

int
sy_redis_parse_url(const char *url, sy_redis_target *out)
{
    sy_redis_target t = {0};
    sy_str u = sy_str_c(url);
    int rc = SY_EINVAL;
    if (sy_str_starts(u, "redis://"))
        rc = parse_tcp((sy_str){u.p + 8, u.len - 8}, &t);
    else if (sy_str_starts(u, "unix://"))
        rc = parse_unix((sy_str){u.p + 7, u.len - 7}, &t);
    if (rc == 0)
        *out = t;
    explicit_bzero(&t, sizeof(t));
    return rc;
}

/* ------------------------------------------------------------ connection */

static sy_metric errors_metric = {
    .name = "synthia_store_errors_total",
    .help = "Failed connects and statements per store.",
    .labels = "store=\"redis\"",
};
static sy_metric connects_metric = {
    .name = "synthia_store_connects_total",
    .help = "Connections opened per store.",
    .labels = "store=\"redis\"",
};
/* A round trip: a wait for a reply after something was written since
 * the last wait.  The replies of a pipeline, and owed replies read with
 * the next command's, count once with it. */
static sy_metric round_trips_metric = {
    .name = "synthia_store_round_trips_total",
    .help = "Times a process waited on its store for replies to what it "
            "had sent (a pipeline counts once).",
    .labels = "store=\"redis\"",
};
SY_METRICS_REGISTER(&errors_metric, &connects_metric, &round_trips_metric)

/* Log, drop the context and start the retry interval.  Returns
 * SY_EREDIS so callers can `return mark_down(..)`. */
static int
mark_down(const char *op, const char *why, const char *reason)
{
    sy_logline *l = sy_log_begin(SY_LOG_ERROR, "redis_error");
    sy_log_cstr(l, "op", op);
    sy_log_cstr(l, "msg", why ? why : "no memory");
    sy_log_int(l, "retry_ms", sy_conf ? sy_conf->redis_retry_ms : 0);
    sy_log_end(l);
    sy_counter_inc(&errors_metric);
    if (ctx)
        redisFree(ctx);
    ctx = NULL;
    owed = 0;
    retry_at_us = sy_mono_us() + (sy_conf ? sy_conf->redis_retry_ms : 0) * 1000;
    last_reason = reason;
    return SY_EREDIS;
}

/* A script's SHA is no longer known to Redis (SCRIPT FLUSH, a restart
 * behind a proxy): load each again on its next use. */
static void
forget_scripts(void)
{
    for (int i = 0; i < nscripts; i++)
        scripts[i]->sha[0] = '\0';
}

/* The reply of a command whose caller did not wait for it. */
static void
drop_owed(redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR) {
        sy_log(SY_LOG_WARN, "redis_unawaited",
               "a command sent without awaiting its reply failed: %s",
               r->str);
        if (strncmp(r->str, "NOSCRIPT", 8) == 0)
            forget_scripts();
    }
    freeReplyObject(r);
}

/* The reply to the first command appended and not yet answered, after
 * the owed replies, which come first and are dropped.  hiredis writes
 * everything appended before it waits, so the owed replies and this one
 * cost one wait together.  0 with *out (owned by the caller), or
 * SY_EREDIS with the connection dropped. */
static int
read_reply(const char *op, const char *reason, redisReply **out)
{
    int64_t t0 = sy_mono_us();
    for (;;) {
        void *r = NULL;
        if (redisGetReplyFromReader(ctx, &r) != REDIS_OK) {
            wait_us += sy_mono_us() - t0;
            return mark_down(op, ctx->errstr, reason);
        }
        if (!r && unanswered) {
            sy_counter_inc(&round_trips_metric);
            unanswered = false;
        }
        if (!r && (redisGetReply(ctx, &r) != REDIS_OK || !r)) {
            wait_us += sy_mono_us() - t0;
            return mark_down(op, ctx->errstr, reason);
        }
        if (owed == 0) {
            *out = r;
            break;
        }
        owed--;
        drop_owed(r);
    }
    wait_us += sy_mono_us() - t0;
    return 0;
}

/* Append argv and read its reply (read_reply). */
static int
round_trip(const char *op, const char *reason, int argc, const char **argv,
           const size_t *lens, redisReply **out)
{
    if (redisAppendCommandArgv(ctx, argc, argv, lens) != REDIS_OK)
        return mark_down(op, ctx->errstr, reason);
    unanswered = true;
    return read_reply(op, reason, out);
}

/* A setup command that must not fail (AUTH, SELECT). */
static int
setup_cmd(const char *op, int argc, const char **argv)
{
    redisReply *r;
    if (round_trip(op, "cannot connect", argc, argv, NULL, &r) < 0)
        return SY_EREDIS;
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR)
        rc = mark_down(op, r->str, "rejected by the server");
    freeReplyObject(r);
    return rc;
}

/* SCRIPT LOAD: 0 with s->sha set; 0 with *err_reply (owned by the caller)
 * when Redis rejects the script; SY_EREDIS when the connection fails. */
static int
load_script(sy_redis_script *s, redisReply **err_reply)
{
    const char *argv[3] = {"SCRIPT", "LOAD", s->lua};
    redisReply *r;
    if (round_trip("script_load", "connection lost", 3, argv, NULL, &r) < 0)
        return SY_EREDIS;
    if (r->type == REDIS_REPLY_STRING && r->len == 40) {
        memcpy(s->sha, r->str, 40);
        s->sha[40] = '\0';
        freeReplyObject(r);
        return 0;
    }
    /* A broken script is a bug, not an outage: keep the connection. */
    sy_log(SY_LOG_ERROR, "redis_script", "script %s rejected: %s", s->name,
           r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    if (err_reply)
        *err_reply = r;
    else
        freeReplyObject(r);
    return 0;
}

static int
setup(const sy_redis_target *t)
{
    const char *pw =
        sy_conf->redis_password ? sy_conf->redis_password : t->password;
    int rc = 0;
    if (pw[0] && t->user[0])
        rc = setup_cmd("auth", 3, (const char *[]){"AUTH", t->user, pw});
    else if (pw[0])
        rc = setup_cmd("auth", 2, (const char *[]){"AUTH", pw});
    if (rc == 0 && t->db != 0) {
        char db[16];
        snprintf(db, sizeof(db), "%d", t->db);
        rc = setup_cmd("select", 2, (const char *[]){"SELECT", db});
    }
    for (int i = 0; rc == 0 && i < nscripts; i++)
        rc = load_script(scripts[i], NULL);
    return rc;
}

static struct timeval
timeout_tv(void)
{
    int64_t ms = sy_conf->redis_timeout_ms;
    return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

static int
connect_redis(void)
{
    int64_t t0 = sy_mono_us();
    if (t0 < retry_at_us) {
        last_reason = "cannot connect (retrying shortly)";
        return SY_EREDIS;
    }
    sy_redis_target t;
    if (!sy_conf || sy_redis_parse_url(sy_conf->redis_url, &t) < 0)
        return mark_down("connect", "invalid redis.url", "not configured");
    struct timeval tv = timeout_tv();
    int64_t waited = wait_us; /* setup's read_reply counts too */
    ctx = t.unix_socket ? redisConnectUnixWithTimeout(t.host, tv)
                        : redisConnectWithTimeout(t.host, t.port, tv);
    int rc;
    if (!ctx || ctx->err)
        rc = mark_down("connect", ctx ? ctx->errstr : NULL, "cannot connect");
    else if (redisSetTimeout(ctx, tv) != REDIS_OK)
        rc = mark_down("connect", ctx->errstr, "cannot connect");
    else
        rc = setup(&t);
    explicit_bzero(&t, sizeof(t));
    wait_us = waited + (sy_mono_us() - t0);
    if (rc < 0)
        return rc;
    /* Unix sockets have no keepalive (and hiredis flags the attempt as a
     * context error). */
    if (ctx->connection_type == REDIS_CONN_TCP)
        redisEnableKeepAlive(ctx);
    generation++;
    sy_counter_inc(&connects_metric);
    return 0;
}

/* Drop the owed replies that have arrived, without waiting for the
 * others.  false when the connection is broken or the server closed it. */
static bool
drain_arrived(void)
{
    struct pollfd p = {.fd = ctx->fd, .events = POLLIN};
    while (owed > 0) {
        void *r = NULL;
        if (redisGetReplyFromReader(ctx, &r) != REDIS_OK)
            return false;
        if (r) {
            owed--;
            drop_owed(r);
            continue;
        }
        if (poll(&p, 1, 0) != 1)
            return true; /* the rest has not arrived yet */
        if (redisBufferRead(ctx) != REDIS_OK)
            return false; /* end of file: closed */
    }
    return true;
}

/* Redis sends nothing unasked (no pub/sub here), so an idle socket that
 * is readable was closed by the server: reconnect before using it.  While
 * replies are still owed the socket is not idle: those replies tell. */
static bool
ctx_usable(void)
{
    struct pollfd p = {.fd = ctx->fd, .events = POLLIN};
    if (ctx->err || (owed > 0 && !drain_arrived()))
        return false;
    return owed > 0 || poll(&p, 1, 0) == 0;
}

static int
ensure_ctx(void)
{
    if (ctx && ctx_usable())
        return 0;
    if (ctx) {
        sy_log(SY_LOG_INFO, "redis_reconnect", "connection closed by server");
        redisFree(ctx);
        ctx = NULL;
        owed = 0;
    }
    return connect_redis();
}

/* Run argv; the caller owns the reply. */
static int
command(int argc, const char **argv, const size_t *lens, redisReply **out)
{
    int rc = ensure_ctx();
    if (rc < 0)
        return rc;
    return round_trip(argv[0], "connection lost", argc, argv, lens, out);
}

static int
defer_reply(sy_arena *a, redisReply *r, redisReply **out)
{
    int rc = sy_arena_defer(a, freeReplyObject, r);
    if (rc < 0)
        return rc;
    *out = r;
    return 0;
}

/* ------------------------------------------------------------- commands */

int
sy_redis_argv(sy_arena *a, int argc, const char **argv, const size_t *lens,
              struct redisReply **out)
{
    redisReply *r;
    if (argc < 1)
        return SY_EINVAL;
    int rc = command(argc, argv, lens, &r);
    return rc < 0 ? rc : defer_reply(a, r, out);
}

/* Append the n commands, write them in one go and owe their replies.
 * The connection must be open. */
static int
send_cmds(int n, const sy_redis_cmdv *cmds)
{
    int done = 0;
    for (int i = 0; i < n; i++)
        if (redisAppendCommandArgv(ctx, cmds[i].argc, cmds[i].argv,
                                   cmds[i].lens) != REDIS_OK)
            return mark_down(cmds[i].argv[0], ctx->errstr,
                             "connection lost");
    int64_t t0 = sy_mono_us();
    while (!done)
        if (redisBufferWrite(ctx, &done) != REDIS_OK)
            return mark_down("send", ctx->errstr, "connection lost");
    wait_us += sy_mono_us() - t0;
    owed += n;
    unanswered = true;
    return 0;
}

int
sy_redis_send(int argc, const char **argv, const size_t *lens)
{
    sy_redis_cmdv cmd = {argc, argv, lens};
    int rc = argc < 1 ? SY_EINVAL : ensure_ctx();
    return rc < 0 ? rc : send_cmds(1, &cmd);
}

int
sy_redis_send_many(int n, const sy_redis_cmdv *cmds)
{
    int rc = ensure_ctx();
    return rc < 0 ? rc : send_cmds(n, cmds);
}

int
sy_redis_cmd(sy_arena *a, struct redisReply **out, const char *fmt, ...)
{
    int rc = ensure_ctx();
    if (rc < 0)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    rc = redisvAppendCommand(ctx, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK)
        return mark_down("command", ctx->errstr, "connection lost");
    unanswered = true;
    redisReply *r;
    if (read_reply("command", "connection lost", &r) < 0)
        return SY_EREDIS;
    return defer_reply(a, r, out);
}

/* EVALSHA with v[1] left for the SHA; loads the script first when this
 * process has not loaded it yet.  A rejected script's error reply is
 * returned as the reply. */
static int
evalsha(sy_redis_script *s, int argc, const char **v, const size_t *l,
        redisReply **out)
{
    redisReply *err = NULL;
    int rc = ensure_ctx();
    if (rc == 0 && !s->sha[0])
        rc = load_script(s, &err);
    if (rc < 0 || err) {
        *out = err;
        return rc;
    }
    v[1] = s->sha;
    return command(argc, v, l, out);
}

static bool
is_noscript(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* "EVALSHA <sha slot> nkeys keys... args..." with v[1] left empty. */
static int
eval_argv(sy_arena *a, int nkeys, int nargs, const char **argv,
          const size_t *lens, const char ***vout, size_t **lout, size_t *nout)
{
    if (nkeys < 0 || nargs < 0)
        return SY_EINVAL;
    size_t n = (size_t)nkeys + (size_t)nargs + 3;
    const char **v = sy_arena_alloc(a, n * sizeof(*v));
    size_t *l = sy_arena_alloc(a, n * sizeof(*l));
    char *nk = sy_arena_alloc(a, 16);
    if (!v || !l || !nk)
        return SY_ENOMEM;
    snprintf(nk, 16, "%d", nkeys);
    v[0] = "EVALSHA";
    l[0] = 7;
    v[1] = "";
    l[1] = 40;
    v[2] = nk;
    l[2] = strlen(nk);
    for (size_t i = 3; i < n; i++) {
        v[i] = argv[i - 3];
        l[i] = lens ? lens[i - 3] : strlen(argv[i - 3]);
    }
    *vout = v;
    *lout = l;
    *nout = n;
    return 0;
}

int
sy_redis_evalsha_cmd(sy_arena *a, sy_redis_script *s, int nkeys, int nargs,
                     const char **argv, const size_t *lens,
                     sy_redis_cmdv *out)
{
    const char **v;
    size_t *l, n;
    redisReply *err = NULL;
    int rc = eval_argv(a, nkeys, nargs, argv, lens, &v, &l, &n);
    if (rc == 0)
        rc = ensure_ctx();
    if (rc == 0 && !s->sha[0])
        rc = load_script(s, &err);
    if (err) {
        freeReplyObject(err);
        return SY_EREDIS;
    }
    if (rc < 0)
        return rc;
    v[1] = s->sha;
    *out = (sy_redis_cmdv){(int)n, v, l};
    return 0;
}

int
sy_redis_pipeline(sy_arena *a, int n, const sy_redis_cmdv *cmds,
                  struct redisReply **out)
{
    int rc = ensure_ctx();
    if (rc < 0)
        return rc;
    for (int i = 0; i < n; i++)
        if (redisAppendCommandArgv(ctx, cmds[i].argc, cmds[i].argv,
                                   cmds[i].lens) != REDIS_OK)
            return mark_down("pipeline", ctx->errstr, "connection lost");
    unanswered = true;
    for (int i = 0; i < n; i++) {
        redisReply *r;
        if (read_reply("pipeline", "connection lost", &r) < 0)
            return SY_EREDIS;
        if (sy_arena_defer(a, freeReplyObject, r) < 0) {
            /* replies still queued would answer the next command */
            mark_down("pipeline", "request memory exhausted", "reset");
            return SY_ENOMEM;
        }
        out[i] = r;
    }
    return 0;
}

int
sy_redis_eval(sy_arena *a, sy_redis_script *s, int nkeys, int nargs,
              const char **argv, const size_t *lens, struct redisReply **out)
{
    const char **v;
    size_t *l, n;
    int rc = eval_argv(a, nkeys, nargs, argv, lens, &v, &l, &n);
    if (rc < 0)
        return rc;
    redisReply *r;
    rc = evalsha(s, (int)n, v, l, &r);
    if (rc == 0 && is_noscript(r)) {
        /* Redis restarted or SCRIPT FLUSH: load it again, retry once. */
        freeReplyObject(r);
        s->sha[0] = '\0';
        rc = evalsha(s, (int)n, v, l, &r);
    }
    return rc < 0 ? rc : defer_reply(a, r, out);
}

int
sy_redis_eval_send(sy_arena *a, sy_redis_script *s, int nkeys, int nargs,
                   const char **argv, const size_t *lens)
{
    sy_redis_cmdv cmd;
    int rc = sy_redis_evalsha_cmd(a, s, nkeys, nargs, argv, lens, &cmd);
    return rc < 0 ? rc : send_cmds(1, &cmd);
}

uint64_t
sy_redis_generation(void)
{
    return generation;
}

void
sy_redis_register(sy_redis_script *s)
{
    for (int i = 0; i < nscripts; i++)
        if (scripts[i] == s)
            return;
    if (nscripts == MAX_SCRIPTS) {
        /* Still usable: evalsha loads it on first use. */
        sy_log(SY_LOG_WARN, "redis_script", "%s: loaded on first use", s->name);
        return;
    }
    scripts[nscripts++] = s;
}

int
sy_redis_ping(int64_t *latency_us, char *err, size_t errlen)
{
    int64_t t0 = sy_mono_us();
    const char *argv[1] = {"PING"};
    redisReply *r;
    const char *why = NULL;
    if (command(1, argv, NULL, &r) < 0) {
        why = last_reason;
    } else {
        if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "PONG") != 0)
            why = "unexpected reply to PING";
        freeReplyObject(r);
    }
    if (why) {
        if (err && errlen)
            snprintf(err, errlen, "%s", why);
        return SY_EREDIS;
    }
    *latency_us = sy_mono_us() - t0;
    return 0;
}

bool
sy_redis_down(void)
{
    return !ctx && sy_mono_us() < retry_at_us;
}

void
sy_redis_close(void)
{
    /* redisFree only closes the socket (no QUIT), so it is also safe in a
     * child that inherited the context. */
    if (ctx)
        redisFree(ctx);
    ctx = NULL;
    owed = 0;
}

int64_t
sy_redis_take_time(void)
{
    int64_t t = wait_us;
    wait_us = 0;
    return t;
}

/* ------------------------------------------------------------ probes */

int
sy_redis_info(sy_arena *a, int64_t *latency_us, sy_str *info, char *err,
              size_t errlen)
{
    redisReply *r;
    int rc = sy_redis_ping(latency_us, err, errlen);
    if (rc == 0)
        rc = sy_redis_cmd(a, &r, "INFO");
    if (rc == 0 && r->type != REDIS_REPLY_STRING) {
        snprintf(err, errlen, "unexpected reply to INFO");
        rc = SY_EREDIS;
    }
    if (rc == 0)
        *info = (sy_str){r->str, r->len};
    return rc;
}

/* KEYS[1] a sorted set scored by expiry (epoch ms), ARGV[1] now. */
static sy_redis_script count_live_script = {
    .name = "zset_count_live",
    .lua = "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])\n"
           "return redis.call('ZCARD', KEYS[1])\n",
    .sha = "",
};

int
sy_redis_count_live(sy_arena *a, const char *key, int64_t now_ms,
                    int64_t *out)
{
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    const char *argv[2] = {key, now};
    redisReply *r;
    sy_redis_register(&count_live_script);
    int rc = sy_redis_eval(a, &count_live_script, 1, 1, argv, NULL, &r);
    if (rc < 0)
        return rc;
    if (r->type != REDIS_REPLY_INTEGER)
        return SY_EREDIS;
    *out = r->integer;
    return 0;
}
