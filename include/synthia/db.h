/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * db.h - this responder's PostgreSQL connection.
 *
 * Opened lazily on first use, with connect and statement timeouts; after a
 * failure it is dropped and re-opened on a later call (no restart needed).
 * Reconnects back off (250 ms doubling to 2 s) so a dead server does not
 * add a connect timeout to every request.  Named statements (sy_db_stmt)
 * are prepared on first use unless database.prepared is off (PgBouncer in
 * transaction mode).  Results are owned by the arena.
 */
#ifndef SYNTHIA_DB_H
#define SYNTHIA_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/str.h"

struct pg_result;
struct pg_conn;

/* A named SQL statement.  Each store module declares its statements as
 * static objects beside the struct their rows fill (redis.h's scripts
 * work the same way); the name must be unique in the process, and
 * nparams is checked on every call.  `prepared_on` is the connection
 * (db.c's serial) it was last prepared on: a new connection prepares it
 * again on first use. */
typedef struct sy_db_stmt {
    const char *name;
    const char *sql;
    int nparams;
    bool durable; /* its success is promised to a client: committed with
                     synchronous_commit on (see "durable commits") */
    bool binary;  /* results in binary format (see SY_DB_STMT_BINARY) */
    uint64_t prepared_on;
} sy_db_stmt;
#define SY_DB_STMT(name, sql, nparams)                                      \
    {(name), (sql), (nparams), false, false, 0}
/* A write whose success a response promises: sy_db_exec runs it as
 * sy_db_exec_durable does. */
#define SY_DB_STMT_DURABLE(name, sql, nparams)                              \
    {(name), (sql), (nparams), true, false, 0}
/* A read whose every column comes back in the type's binary form (a
 * bytea's raw bytes, a text's bytes; PQgetvalue still ends each value
 * with a NUL): for bulk reads of bytea, half the bytes of hex text and
 * no decoding.  The column readers below expect text: its store module
 * reads the values itself (PQgetvalue, PQgetlength). */
#define SY_DB_STMT_BINARY(name, sql, nparams)                               \
    {(name), (sql), (nparams), false, true, 0}

/* SQL fragments the store modules share: a timestamptz as RFC 3339 UTC
 * with microseconds (the API's times, and exact page cursors), and the
 * nil uuid that stands for the tenant-less namespace of sysadmins. */
#define SY_DB_RFC3339(col)                                                \
    "to_char(" col " AT TIME ZONE 'UTC', "                               \
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define SY_DB_ZERO_UUID "'00000000-0000-0000-0000-000000000000'::uuid"

/* Keyset pagination as list statements take it (page.h makes one from
 * ?cursor= and ?limit=): rows after (after_ts, after_id) in (created_at,
 * id) order, `fetch` of them (the page size plus one, as text). */
typedef struct sy_keyset {
    const char *after_ts;
    const char *after_id;
    const char *fetch;
} sy_keyset;

/* Run a named statement with nparams text parameters (NULL = SQL NULL).
 * The result (tuples or command ok) is registered for PQclear in a.
 * Returns 0, SY_EDB when the server is unreachable or the statement
 * failed (logged with the SQLSTATE; never returned to clients), or
 * SY_ECONFLICT for a unique violation (23505), SY_ENOTFOUND for a
 * foreign-key violation (23503: the referenced row does not exist). */
int sy_db_exec(sy_arena *a, sy_db_stmt *stmt, const char *const *params,
               int nparams, struct pg_result **out);

/* sy_db_exec in two halves, so the responder can work while the server
 * runs the statement: sy_db_send sends it (preparing it first if need
 * be; the parameters may be freed once it returns), sy_db_wait takes its
 * result, with sy_db_exec's error mapping.  lengths (NULL: all text, as
 * sy_db_exec's) marks binary parameters: lengths[i] >= 0 sends params[i]
 * as that many bytes of the type's binary form (a bytea's raw bytes),
 * -1 as text; at most SY_DB_SEND_MAX parameters then.  One statement pending at a
 * time; any other call on the connection first reads and drops a pending
 * result.  A durable statement is sent only inside a transaction (which
 * it raises, as sy_db_exec_durable does).  sy_db_send: 0, SY_EDB, or
 * SY_EINVAL (wrong parameter count, another pending, durable outside a
 * transaction); sy_db_wait as sy_db_exec, SY_EINVAL when none is
 * pending. */
#define SY_DB_SEND_MAX 16
int sy_db_send(sy_db_stmt *stmt, const char *const *params,
               const int *lengths, int nparams);
int sy_db_wait(sy_arena *a, struct pg_result **out);

/* Several statements in one round trip: libpq's pipeline mode, one Sync
 * after the last.  Outside a transaction they run in one implicit
 * transaction of their own (committed at the Sync when all succeed), so
 * a set_config(.., true) of the first holds for the others and ends
 * with them: SET LOCAL without BEGIN and COMMIT, safe behind PgBouncer in
 * transaction mode.  Inside sy_db_begin's transaction they join it.
 * Each statement's timeout starts at its own Execute.  Statements not yet
 * prepared on this connection are prepared first (once per connection).
 * calls[i].result gets each result (registered with a, as sy_db_exec's);
 * 0, or the first failure's code as sy_db_exec maps it (the later
 * statements then did not run; their results are NULL). */
typedef struct sy_db_call {
    sy_db_stmt *stmt;
    const char *const *params;
    int nparams;
    struct pg_result *result;
} sy_db_call;
#define SY_DB_BATCH_MAX 8
int sy_db_exec_batch(sy_arena *a, sy_db_call *calls, int n);

/* Column readers for the store modules (the only code that reads rows):
 * row count, a value as a view (empty for NULL), as a C string (NULL for
 * NULL), as a boolean ('t'), as an integer (0 for NULL or garbage).
 * Pointers stay valid as long as the result, i.e. until the arena that
 * sy_db_exec registered it with is reset. */
int sy_db_rows(const struct pg_result *r);
sy_str sy_db_str(const struct pg_result *r, int row, int col);
const char *sy_db_cstr(const struct pg_result *r, int row, int col);
bool sy_db_bool(const struct pg_result *r, int row, int col);
int64_t sy_db_i64(const struct pg_result *r, int row, int col);
/* One text column of every row (ids, say), arena memory. */
typedef struct sy_db_list {
    int n;
    const char **v;
} sy_db_list;
int sy_db_column(sy_arena *a, const struct pg_result *r, int col,
                 sy_db_list *out);

/* Every row of r read into a new arena array of `size`-byte structs by
 * read(r, row, elem): *out and *n.  0 or SY_ENOMEM. */
int sy_db_read_rows(sy_arena *a, const struct pg_result *r, size_t size,
                    void (*read)(const struct pg_result *r, int row,
                                 void *elem),
                    void **out, int *n);

/* Run a list statement and read all its rows (sy_db_read_rows). */
int sy_db_fetch_all(sy_arena *a, sy_db_stmt *stmt, const char *const *params,
               int nparams, size_t size,
               void (*read)(const struct pg_result *r, int row, void *elem),
               void **out, int *n);

/* The first column of the one row a statement returns (arena-owned
 * text; NULL for SQL NULL): 0, SY_ENOTFOUND without exactly one row. */
int sy_db_one_text(sy_arena *a, sy_db_stmt *stmt, const char *const *params,
                   int nparams, const char **out);

/* Rows changed by an INSERT/UPDATE/DELETE. */
int64_t sy_db_changed(struct pg_result *r);

/* sy_db_exec of a statement that reads one row (by key): SY_ENOTFOUND
 * when it returned none (or more than one). */
int sy_db_exec_row(sy_arena *a, sy_db_stmt *stmt, const char *const *params,
                   int nparams, struct pg_result **out);

/* Run a clean-up statement (a bounded DELETE) at most once per every_us
 * in this process; *next_us (zero at first) holds when it is due next.
 * The rows it changed; 0 when it was not due or failed (clean-up is
 * best effort, and the next batch will come). */
int64_t sy_db_housekeep(sy_arena *a, sy_db_stmt *stmt, int64_t *next_us,
                        int64_t every_us);

/* Round trip with SELECT 1; latency in microseconds.  err gets a short
 * reason on failure (no secrets, no SQL). */
int sy_db_ping(int64_t *latency_us, char *err, size_t errlen);

/* The open connection, connecting if needed (NULL and SY_EDB on failure). */
int sy_db_conn(struct pg_conn **out);

/* A transaction on this connection: sy_db_begin, sy_db_exec calls, then
 * sy_db_commit or sy_db_rollback (always one of the two).  While it is
 * open a lost connection is not replaced behind the caller's back (the
 * rest would run outside the transaction): statements fail with SY_EDB.
 * sy_db_commit returns SY_EDB, having rolled back, when a statement of the
 * transaction failed or the connection was lost. */
int sy_db_begin(void);
int sy_db_commit(void);
void sy_db_rollback(void);

/* Server version number (e.g. 150018) of the open connection, or 0. */
int sy_db_server_version(void);

/* SQLSTATE ("42P01") when the latest sy_db_exec/sy_db_ping call failed
 * on the server; "" when it succeeded or never reached the server. */
const char *sy_db_last_sqlstate(void);

/* Close the connection (before exit, or after fork in a child). */
void sy_db_close(void);

/* Microseconds spent waiting on PostgreSQL since the last take. */
int64_t sy_db_take_time(void);

/* --- durable commits: what a client is told succeeded survives a crash
 * of the database server, whatever its synchronous_commit (an OS crash
 * also needs the server's fsync on).  Every write whose success a
 * response promises is durable: a transaction begun with
 * sy_db_begin_durable, or a statement declared SY_DB_STMT_DURABLE (which
 * sy_db_exec then runs as sy_db_exec_durable); bookkeeping (last_used_at,
 * housekeeping) is not. */

/* sy_db_begin for a transaction whose COMMIT returns only once the
 * commit is flushed to the server's WAL (synchronous_commit raised from
 * off to on for this transaction only; no extra round trip). */
int sy_db_begin_durable(void);

/* sy_db_exec of one statement in a durable transaction of its own
 * (begin, statement, commit: SY_EDB when the commit fails).  Inside an
 * open transaction, raises that transaction instead (its commit is the
 * caller's). */
int sy_db_exec_durable(sy_arena *a, sy_db_stmt *stmt,
                       const char *const *params,
                       int nparams, struct pg_result **out);

/* The server's fsync and synchronous_commit as this connection sees
 * them ("on", "off", "local", ...).  0 or SY_EDB. */
typedef struct sy_db_durability {
    char fsync[8];
    char synchronous_commit[16];
} sy_db_durability;
int sy_db_durability_settings(sy_db_durability *out);

#endif
