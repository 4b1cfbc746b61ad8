/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * db.c - this process's PostgreSQL connection (db.h).
 *
 * One PGconn per process, opened on first use.  Statements are sy_db_stmt
 * objects of the store modules; with database.prepared on, each is prepared on
 * this connection the first time it runs, so a statement on a table that a
 * later migration creates cannot stop the connection from opening.  A
 * failed connect, or a statement that leaves the connection broken, drops
 * it and refuses new attempts for a back-off (250 ms doubling to 2 s,
 * reset by a successful connect): a dead server costs a request a clock
 * read, not a connect timeout.  Before each statement a zero-timeout poll
 * notices a connection the server closed while we were idle (restart,
 * idle kill) and reconnects instead of failing the request.
 */
#include "synthia/db.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "synthia/clock.h"
#include "synthia/config.h"
#include "synthia/error.h"
#include "synthia/log.h"
#include "synthia/metrics.h"

static sy_db_stmt ping_stmt = SY_DB_STMT("ping", "SELECT 1", 0);

#define BACKOFF_MIN_US 250000
#define BACKOFF_MAX_US 2000000

static PGconn *conn;
static pid_t conn_pid; /* process that opened conn */
static uint64_t conn_serial; /* connections opened by this process */
static int64_t retry_at_us; /* no connect attempt before this */
static int64_t backoff_us;  /* last back-off; 0 after a success */
static int64_t wait_us;     /* time in libpq since the last take */
static char last_sqlstate[6];
static bool in_tx; /* between sy_db_begin and sy_db_commit/rollback */
static sy_db_stmt *pending; /* sent by sy_db_send, result not yet taken */
static const char *last_reason = "not connected";

static sy_metric errors_metric = {
    .name = "synthia_store_errors_total",
    .help = "Failed connects and statements per store.",
    .labels = "store=\"postgresql\"",
};
static sy_metric connects_metric = {
    .name = "synthia_store_connects_total",
    .help = "Connections opened per store.",
    .labels = "store=\"postgresql\"",
};
SY_METRICS_REGISTER(&errors_metric, &connects_metric)

static void
count_error(void)
{
    sy_counter_inc(&errors_metric);
}

static void
count_connect(void)
{
    sy_counter_inc(&connects_metric);
}

/* libpq messages end with a newline; the log line should not. */
static sy_str
trimmed(const char *msg)
{
    sy_str s = sy_str_c(msg);
    while (s.len > 0 && (s.p[s.len - 1] == '\n' || s.p[s.len - 1] == ' '))
        s.len--;
    return s;
}

static void
on_notice(void *arg, const char *message)
{
    (void)arg;
    sy_logline *l = sy_log_begin(SY_LOG_DEBUG, "db_notice");
    sy_log_str(l, "msg", trimmed(message));
    sy_log_end(l);
}

static void
log_conn_failure(const char *what)
{
    sy_logline *l = sy_log_begin(SY_LOG_ERROR, "db_error");
    sy_log_cstr(l, "op", what);
    sy_log_str(l, "msg", trimmed(conn ? PQerrorMessage(conn) : "no memory"));
    sy_log_int(l, "retry_ms", backoff_us / 1000);
    sy_log_end(l);
}

/* Drop the connection after a failure and start (or double) the
 * back-off. */
static void
drop_failed(const char *what, const char *reason)
{
    backoff_us = backoff_us ? backoff_us * 2 : BACKOFF_MIN_US;
    if (backoff_us > BACKOFF_MAX_US)
        backoff_us = BACKOFF_MAX_US;
    retry_at_us = sy_mono_us() + backoff_us;
    log_conn_failure(what);
    count_error();
    PQfinish(conn);
    conn = NULL;
    last_reason = reason;
}

typedef struct conn_params {
    const char *keys[8];
    const char *vals[8];
    int n;
} conn_params;

static void
param(conn_params *p, const char *key, const char *val)
{
    p->keys[p->n] = key;
    p->vals[p->n] = val;
    p->n++;
    p->keys[p->n] = NULL;
    p->vals[p->n] = NULL;
}

static PGconn *
open_conn(void)
{
    char timeout[24], options[128];
    conn_params p = {.n = 0};

    /* Before dbname, so the URL may override them; after it, ours win. */
    param(&p, "application_name", "synthia");
    param(&p, "client_encoding", "UTF8");
    param(&p, "dbname", sy_conf->db_url);
    /* libpq counts whole seconds. */
    snprintf(timeout, sizeof(timeout), "%lld",
             (long long)(sy_conf->db_connect_timeout_ms + 999) / 1000);
    param(&p, "connect_timeout", timeout);
    /* Responders run short queries: a parallel plan's worker start-up
     * costs more than it saves (measured: ~8 ms on the typo search). */
    snprintf(options, sizeof(options),
             "-c max_parallel_workers_per_gather=0 -c statement_timeout=%lld",
             (long long)sy_conf->db_statement_timeout_ms);
    param(&p, "options", options);
    if (sy_conf->db_password)
        param(&p, "password", sy_conf->db_password);
    return PQconnectdbParams(p.keys, p.vals, 1);
}

static int
connect_db(void)
{
    int64_t t0 = sy_mono_us();
    if (t0 < retry_at_us) {
        last_reason = "cannot connect (retrying shortly)";
        return SY_EDB;
    }
    if (!sy_conf || !sy_conf->db_url) {
        last_reason = "not configured";
        return SY_EDB;
    }
    conn = open_conn();
    wait_us += sy_mono_us() - t0;
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        drop_failed("connect", "cannot connect");
        return SY_EDB;
    }
    PQsetNoticeProcessor(conn, on_notice, NULL);
    conn_serial++;
    conn_pid = getpid();
    backoff_us = 0;
    retry_at_us = 0;
    count_connect();
    return 0;
}

/* An idle connection has nothing to read.  If it has, the server is
 * usually closing it (a FATAL message, then EOF, which may take a second
 * read to see); a stray notice or notification is read and dropped. */
static bool
conn_usable(void)
{
    struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN};
    if (PQstatus(conn) != CONNECTION_OK || p.fd < 0)
        return false;
    for (int i = 0; i < 4 && poll(&p, 1, 0) > 0; i++) {
        if (!PQconsumeInput(conn))
            return false;
        PGnotify *note;
        while ((note = PQnotifies(conn)) != NULL)
            PQfreemem(note);
        if (PQstatus(conn) != CONNECTION_OK)
            return false;
    }
    return true;
}

static int
ensure_conn(void)
{
    if (conn && conn_usable())
        return 0;
    if (in_tx) {
        /* A new connection would run the rest outside the transaction. */
        last_reason = "connection lost in a transaction";
        return SY_EDB;
    }
    if (conn) {
        /* Lost while idle: not this request's failure, reconnect now. */
        sy_log(SY_LOG_INFO, "db_reconnect", "connection closed by server");
        PQfinish(conn);
        conn = NULL;
    }
    return connect_db();
}

/* Classify a result: 0 for success; otherwise log, and drop the
 * connection when the failure broke it. */
static int
result_rc(PGresult *r, const char *name)
{
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return 0;
    if (PQstatus(conn) != CONNECTION_OK) {
        drop_failed(name, "connection lost");
        return SY_EDB;
    }
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    snprintf(last_sqlstate, sizeof(last_sqlstate), "%s", state ? state : "");
    bool conflict = state && strcmp(state, "23505") == 0;
    /* 23503: a row names a parent that does not exist (e.g. a sysadmin's
     * ?tenant_id= of no tenant): the caller's mistake, not the store's */
    bool missing = state && strcmp(state, "23503") == 0;
    sy_logline *l = sy_log_begin(
        conflict || missing ? SY_LOG_DEBUG : SY_LOG_ERROR, "db_error");
    sy_log_cstr(l, "stmt", name);
    sy_log_cstr(l, "sqlstate", last_sqlstate);
    /* Class 22 (data exception) messages quote the offending input. */
    if (strncmp(last_sqlstate, "22", 2) != 0)
        sy_log_str(l, "msg",
                   trimmed(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)));
    sy_log_end(l);
    if (conflict)
        return SY_ECONFLICT;
    if (missing)
        return SY_ENOTFOUND;
    count_error();
    last_reason = "query failed";
    return SY_EDB;
}

static int
prepare(sy_db_stmt *s)
{
    PGresult *r = PQprepare(conn, s->name, s->sql, s->nparams, NULL);
    int rc = result_rc(r, s->name);
    PQclear(r);
    if (rc == 0)
        s->prepared_on = conn_serial;
    return rc;
}

static int
exec_stmt(sy_db_stmt *s, const char *const *params, int nparams,
          PGresult **out)
{
    PGresult *r;
    if (sy_conf->db_prepared) {
        int rc = s->prepared_on == conn_serial ? 0 : prepare(s);
        if (rc < 0)
            return rc;
        r = PQexecPrepared(conn, s->name, nparams, params, NULL, NULL,
                           s->binary);
    } else {
        r = PQexecParams(conn, s->sql, nparams, NULL, params, NULL, NULL,
                         s->binary);
    }
    int rc = result_rc(r, s->name);
    if (rc < 0) {
        PQclear(r);
        return rc;
    }
    *out = r;
    return 0;
}

static void discard_pending(void);

/* Run a statement; the caller owns the result. */
static int
run(sy_db_stmt *stmt, const char *const *params, int nparams, PGresult **out)
{
    last_sqlstate[0] = '\0';
    if (nparams != stmt->nparams) {
        sy_log(SY_LOG_ERROR, "db_error", "statement %s given %d parameters",
               stmt->name, nparams);
        return SY_EINVAL;
    }
    discard_pending();
    int rc = ensure_conn();
    if (rc < 0)
        return rc;
    int64_t t0 = sy_mono_us();
    rc = exec_stmt(stmt, params, nparams, out);
    wait_us += sy_mono_us() - t0;
    return rc;
}

static void
clear_result(void *r)
{
    PQclear(r);
}

static int exec_arena(sy_arena *a, sy_db_stmt *stmt,
                      const char *const *params, int nparams,
                      struct pg_result **out);

int
sy_db_exec(sy_arena *a, sy_db_stmt *stmt, const char *const *params,
           int nparams, struct pg_result **out)
{
    if (stmt->durable)
        return sy_db_exec_durable(a, stmt, params, nparams, out);
    return exec_arena(a, stmt, params, nparams, out);
}

static int
exec_arena(sy_arena *a, sy_db_stmt *stmt, const char *const *params,
           int nparams, struct pg_result **out)
{
    PGresult *r;
    int rc = run(stmt, params, nparams, &r);
    if (rc < 0)
        return rc;
    rc = sy_arena_defer(a, clear_result, r);
    if (rc < 0)
        return rc;
    *out = r;
    return 0;
}

int
sy_db_ping(int64_t *latency_us, char *err, size_t errlen)
{
    int64_t t0 = sy_mono_us();
    PGresult *r;
    int rc = run(&ping_stmt, NULL, 0, &r);
    if (rc < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s", last_reason);
        return SY_EDB;
    }
    PQclear(r);
    *latency_us = sy_mono_us() - t0;
    return 0;
}

int
sy_db_conn(struct pg_conn **out)
{
    int rc = ensure_conn();
    if (rc < 0)
        return rc;
    *out = conn;
    return 0;
}

/* BEGIN, COMMIT or ROLLBACK. */
static int
tx_command(const char *sql)
{
    discard_pending();
    int64_t t0 = sy_mono_us();
    PGresult *r = PQexec(conn, sql);
    wait_us += sy_mono_us() - t0;
    int rc = result_rc(r, sql);
    PQclear(r);
    return rc;
}

int
sy_db_begin(void)
{
    if (in_tx)
        return SY_EINVAL;
    int rc = ensure_conn();
    if (rc == 0)
        rc = tx_command("BEGIN");
    in_tx = rc == 0;
    return rc;
}

int
sy_db_commit(void)
{
    if (!in_tx)
        return SY_EINVAL;
    discard_pending(); /* a failed one leaves the transaction failed */
    /* COMMIT of a failed transaction "succeeds" as a ROLLBACK: ask. */
    if (!conn || PQtransactionStatus(conn) != PQTRANS_INTRANS) {
        sy_db_rollback();
        return SY_EDB;
    }
    in_tx = false;
    return tx_command("COMMIT");
}

void
sy_db_rollback(void)
{
    in_tx = false;
    if (conn && PQtransactionStatus(conn) != PQTRANS_IDLE)
        (void)tx_command("ROLLBACK");
}

int
sy_db_server_version(void)
{
    return conn ? PQserverVersion(conn) : 0;
}

const char *
sy_db_last_sqlstate(void)
{
    return last_sqlstate;
}

void
sy_db_close(void)
{
    in_tx = false;
    pending = NULL;
    if (!conn)
        return;
    /* Inherited across fork: close our copy of the socket first, so that
     * PQfinish cannot send Terminate on the parent's session. */
    if (conn_pid != getpid())
        close(PQsocket(conn));
    PQfinish(conn);
    conn = NULL;
}

int64_t
sy_db_take_time(void)
{
    int64_t t = wait_us;
    wait_us = 0;
    return t;
}

int
sy_db_rows(const struct pg_result *r)
{
    return r ? PQntuples(r) : 0;
}

sy_str
sy_db_str(const struct pg_result *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return (sy_str){"", 0};
    return (sy_str){PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col)};
}

const char *
sy_db_cstr(const struct pg_result *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

bool
sy_db_bool(const struct pg_result *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

int64_t
sy_db_i64(const struct pg_result *r, int row, int col)
{
    int64_t v = 0;
    if (!PQgetisnull(r, row, col))
        sy_parse_i64(sy_db_str(r, row, col), INT64_MIN, INT64_MAX, &v);
    return v;
}

int64_t
sy_db_changed(struct pg_result *r)
{
    int64_t v = 0;
    sy_parse_i64(sy_str_c(PQcmdTuples(r)), 0, INT64_MAX, &v);
    return v;
}

int
sy_db_column(sy_arena *a, const struct pg_result *r, int col,
             sy_db_list *out)
{
    int n = sy_db_rows(r);
    const char **v = sy_arena_calloc(a, (size_t)(n ? n : 1) * sizeof(*v));
    if (!v)
        return SY_ENOMEM;
    for (int i = 0; i < n; i++)
        v[i] = sy_db_cstr(r, i, col);
    out->n = n;
    out->v = v;
    return 0;
}

/* -------------------------------------------------- durable commits
 *
 * What Synthia acknowledges to a client must survive a crash of the
 * database server, whatever synchronous_commit the server, database or
 * role defaults to.  A durable transaction raises it for itself with
 * set_config(.., is_local => true), the function form of SET LOCAL: it
 * ends with the transaction, so it is safe behind PgBouncer in
 * transaction mode, and it is sent in the same simple-protocol message
 * as BEGIN (no extra round trip, no prepared statement).  Only "off"
 * is raised: every other value already waits for the local WAL flush,
 * and lowering remote_apply or remote_write to "on" would weaken what
 * the operator chose for replicas. */

#define RAISE_SYNC_COMMIT                                                     \
    "SELECT set_config('synchronous_commit', 'on', true) "                    \
    "WHERE current_setting('synchronous_commit') = 'off'"

/* A simple-protocol command that yields no rows the caller wants. */
static int
durable_command(const char *sql)
{
    int rc = tx_command(sql);
    if (rc < 0 && conn && PQtransactionStatus(conn) != PQTRANS_IDLE)
        (void)tx_command("ROLLBACK");
    return rc;
}

int
sy_db_begin_durable(void)
{
    if (in_tx)
        return SY_EINVAL;
    int rc = ensure_conn();
    if (rc == 0)
        rc = durable_command("BEGIN; " RAISE_SYNC_COMMIT);
    in_tx = rc == 0;
    return rc;
}

int
sy_db_exec_durable(sy_arena *a, sy_db_stmt *stmt, const char *const *params,
                   int nparams, struct pg_result **out)
{
    PGresult *r;
    int rc;
    if (in_tx) {
        /* the caller's transaction: raise it, the commit is theirs */
        rc = tx_command(RAISE_SYNC_COMMIT);
        return rc < 0 ? rc : exec_arena(a, stmt, params, nparams, out);
    }
    rc = sy_db_begin_durable();
    if (rc < 0)
        return rc;
    rc = exec_arena(a, stmt, params, nparams, &r);
    if (rc < 0) {
        sy_db_rollback();
        return rc;
    }
    rc = sy_db_commit();
    if (rc < 0)
        return rc;
    *out = r;
    return 0;
}

/* ------------------------------------------------ sent, then waited */

int
sy_db_send(sy_db_stmt *stmt, const char *const *params, const int *lengths,
           int nparams)
{
    int formats[SY_DB_SEND_MAX];
    last_sqlstate[0] = '\0';
    if (pending || nparams != stmt->nparams ||
        (lengths && nparams > SY_DB_SEND_MAX) ||
        (stmt->durable && !in_tx)) {
        sy_log(SY_LOG_ERROR, "db_error",
               "statement %s not sent (%d parameters; %s)", stmt->name,
               nparams,
               pending                      ? "another one is pending"
               : stmt->durable && !in_tx    ? "durable outside a transaction"
                                            : "wrong count or too many");
        return SY_EINVAL;
    }
    int rc = ensure_conn();
    if (rc == 0 && stmt->durable)
        rc = tx_command(RAISE_SYNC_COMMIT);
    if (rc == 0 && sy_conf->db_prepared && stmt->prepared_on != conn_serial)
        rc = prepare(stmt);
    if (rc < 0)
        return rc;
    /* libpq copies the parameters into its output buffer (and, the
     * connection being blocking, sends them) before this returns */
    for (int i = 0; lengths && i < nparams; i++)
        formats[i] = lengths[i] >= 0; /* 1: binary */
    const int *fmt = lengths ? formats : NULL;
    int64_t t0 = sy_mono_us();
    int ok = sy_conf->db_prepared
                 ? PQsendQueryPrepared(conn, stmt->name, nparams, params,
                                       lengths, fmt, stmt->binary)
                 : PQsendQueryParams(conn, stmt->sql, nparams, NULL, params,
                                     lengths, fmt, stmt->binary);
    wait_us += sy_mono_us() - t0;
    if (!ok)
        return result_rc(NULL, stmt->name);
    pending = stmt;
    return 0;
}

/* The pending statement's result, the caller's to clear: 0, result_rc's
 * error, or SY_EINVAL when none is pending. */
static int
take_pending(PGresult **out)
{
    sy_db_stmt *s = pending;
    pending = NULL;
    if (!s || !conn)
        return SY_EINVAL;
    int64_t t0 = sy_mono_us();
    PGresult *r = PQgetResult(conn), *more;
    /* one statement, one result; then NULL (or the error of a broken
     * connection, which result_rc sees through PQstatus) */
    while ((more = PQgetResult(conn)) != NULL)
        PQclear(more);
    wait_us += sy_mono_us() - t0;
    int rc = result_rc(r, s->name);
    if (rc < 0) {
        PQclear(r);
        return rc;
    }
    *out = r;
    return 0;
}

int
sy_db_wait(sy_arena *a, struct pg_result **out)
{
    PGresult *r;
    int rc = take_pending(&r);
    if (rc < 0)
        return rc;
    rc = sy_arena_defer(a, clear_result, r);
    if (rc < 0)
        return rc;
    *out = r;
    return 0;
}

/* A statement sent and never waited for: its result is read and dropped
 * before the connection is used again (its failure, if any, logged and
 * left to the transaction's commit to report). */
static void
discard_pending(void)
{
    PGresult *r;
    if (pending && take_pending(&r) == 0)
        PQclear(r);
}

/* ------------------------------------------------ batches (pipelined) */

/* After a pipeline's statements: read up to its Sync.  false when the
 * Sync never came (the connection broke). */
static bool
read_sync(void)
{
    for (int nulls = 0; nulls < 3;) {
        PGresult *r = PQgetResult(conn);
        if (!r) {
            nulls++;
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        PQclear(r);
        if (st == PGRES_PIPELINE_SYNC)
            return true;
    }
    return false;
}

/* Send the n calls and a Sync, read every result: res[i] (NULL when it
 * failed or did not run), the first failure's code. */
static int
run_pipeline(sy_db_call *calls, int n, PGresult **res)
{
    int rc = 0;
    if (!PQenterPipelineMode(conn))
        return result_rc(NULL, calls[0].stmt->name);
    for (int i = 0; i < n; i++) {
        sy_db_stmt *s = calls[i].stmt;
        int ok = sy_conf->db_prepared
                     ? PQsendQueryPrepared(conn, s->name, calls[i].nparams,
                                           calls[i].params, NULL, NULL, 0)
                     : PQsendQueryParams(conn, s->sql, calls[i].nparams,
                                         NULL, calls[i].params, NULL, NULL,
                                         0);
        if (!ok || (i == n - 1 && !PQpipelineSync(conn))) {
            drop_failed(s->name, "connection lost");
            return SY_EDB;
        }
    }
    for (int i = 0; i < n; i++) {
        PGresult *r = PQgetResult(conn), *more;
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        /* each statement's results end with a NULL */
        while (r && (more = PQgetResult(conn)) != NULL)
            PQclear(more);
        if (st == PGRES_PIPELINE_ABORTED) { /* after an earlier failure */
            PQclear(r);
            continue;
        }
        int src = result_rc(r, calls[i].stmt->name);
        if (src < 0) {
            PQclear(r);
            if (!conn)
                return src; /* dropped: nothing more to read */
            rc = rc ? rc : src;
            continue;
        }
        res[i] = r;
    }
    if (!read_sync() || !PQexitPipelineMode(conn)) {
        drop_failed(calls[0].stmt->name, "connection lost");
        return SY_EDB;
    }
    return rc;
}

int
sy_db_exec_batch(sy_arena *a, sy_db_call *calls, int n)
{
    PGresult *res[SY_DB_BATCH_MAX] = {0};
    last_sqlstate[0] = '\0';
    for (int i = 0; i < n && n <= SY_DB_BATCH_MAX; i++) {
        calls[i].result = NULL;
        if (calls[i].nparams != calls[i].stmt->nparams ||
            calls[i].stmt->durable) {
            sy_log(SY_LOG_ERROR, "db_error",
                   "statement %s not batched (%d parameters%s)",
                   calls[i].stmt->name, calls[i].nparams,
                   calls[i].stmt->durable ? "; durable" : "");
            return SY_EINVAL;
        }
    }
    if (n <= 0 || n > SY_DB_BATCH_MAX)
        return SY_EINVAL;
    discard_pending();
    int rc = ensure_conn();
    for (int i = 0; rc == 0 && sy_conf->db_prepared && i < n; i++)
        if (calls[i].stmt->prepared_on != conn_serial)
            rc = prepare(calls[i].stmt);
    if (rc < 0)
        return rc;
    int64_t t0 = sy_mono_us();
    rc = run_pipeline(calls, n, res);
    wait_us += sy_mono_us() - t0;
    for (int i = 0; i < n; i++) {
        if (!res[i])
            continue;
        if (rc == 0 && sy_arena_defer(a, clear_result, res[i]) == 0) {
            calls[i].result = res[i];
            continue;
        }
        PQclear(res[i]);
        rc = rc ? rc : SY_ENOMEM;
    }
    if (rc < 0)
        for (int i = 0; i < n; i++)
            calls[i].result = NULL; /* registered ones are the arena's */
    return rc;
}

int
sy_db_read_rows(sy_arena *a, const struct pg_result *r, size_t size,
                void (*read)(const struct pg_result *r, int row, void *elem),
                void **out, int *n)
{
    int rows = sy_db_rows(r);
    char *v = sy_arena_calloc(a, (size_t)(rows ? rows : 1) * size);
    if (!v)
        return SY_ENOMEM;
    for (int i = 0; i < rows; i++)
        read(r, i, v + (size_t)i * size);
    *out = v;
    *n = rows;
    return 0;
}

int
sy_db_fetch_all(sy_arena *a, sy_db_stmt *stmt, const char *const *params,
           int nparams, size_t size,
           void (*read)(const struct pg_result *r, int row, void *elem),
           void **out, int *n)
{
    struct pg_result *r;
    int rc = sy_db_exec(a, stmt, params, nparams, &r);
    return rc < 0 ? rc : sy_db_read_rows(a, r, size, read, out, n);
}

int
sy_db_one_text(sy_arena *a, sy_db_stmt *stmt, const char *const *params,
               int nparams, const char **out)
{
    struct pg_result *r;
    int rc = sy_db_exec_row(a, stmt, params, nparams, &r);
    if (rc == 0)
        *out = sy_db_cstr(r, 0, 0);
    return rc;
}

int
sy_db_exec_row(sy_arena *a, sy_db_stmt *stmt, const char *const *params,
               int nparams, struct pg_result **out)
{
    int rc = sy_db_exec(a, stmt, params, nparams, out);
    if (rc == 0 && PQntuples(*out) != 1)
        rc = SY_ENOTFOUND;
    return rc;
}

int64_t
sy_db_housekeep(sy_arena *a, sy_db_stmt *stmt, int64_t *next_us,
                int64_t every_us)
{
    int64_t now = sy_mono_us();
    PGresult *r;
    if (now < *next_us)
        return 0;
    *next_us = now + every_us;
    return sy_db_exec(a, stmt, NULL, 0, &r) == 0 ? sy_db_changed(r) : 0;
}

int
sy_db_durability_settings(sy_db_durability *out)
{
    int rc = ensure_conn();
    if (rc < 0)
        return rc;
    int64_t t0 = sy_mono_us();
    PGresult *r = PQexec(conn, "SELECT current_setting('fsync'), "
                               "current_setting('synchronous_commit')");
    wait_us += sy_mono_us() - t0;
    rc = result_rc(r, "durability_settings");
    if (rc == 0 && (PQntuples(r) != 1 || PQnfields(r) != 2))
        rc = SY_EDB;
    if (rc == 0) {
        snprintf(out->fsync, sizeof(out->fsync), "%s", PQgetvalue(r, 0, 0));
        snprintf(out->synchronous_commit, sizeof(out->synchronous_commit),
                 "%s", PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return rc;
}
