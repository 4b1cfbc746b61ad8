/*
 * db.h - this responder's PostgreSQL connection.
 *
 * Opened lazily on first use, with connect and statement timeouts; after a
 * failure it is dropped and re-opened on a later call (no restart needed).
 * Reconnects back off (250 ms doubling to 2 s) so a dead server does not
 * add a connect timeout to every request.  Named statements live in one table
 * (statements.c) and are prepared on first use unless database.prepared is
 * off (PgBouncer in transaction mode).  Results are owned by the arena.
 */
#ifndef SYNTHIA_DB_H
#define SYNTHIA_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"

struct pg_result;
struct pg_conn;

typedef struct sy_db_stmt {
    const char *name;
    const char *sql;
    int nparams;
} sy_db_stmt;

/* Statement ids: indexes into sy_db_statements (statements.c). */
enum sy_stmt {
    SY_SQL_PING = 0,
    SY_SQL_MIGRATION_VERSION,
    SY_SQL__COUNT
};
extern const sy_db_stmt sy_db_statements[SY_SQL__COUNT];

/* Run a named statement with nparams text parameters (NULL = SQL NULL).
 * The result (tuples or command ok) is registered for PQclear in a.
 * Returns 0, SY_EDB when the server is unreachable or the statement
 * failed (logged with the SQLSTATE; never returned to clients), or
 * SY_ECONFLICT for a unique violation (23505). */
int sy_db_exec(sy_arena *a, int stmt, const char *const *params, int nparams,
               struct pg_result **out);

/* Round trip with SELECT 1; latency in microseconds.  err gets a short
 * reason on failure (no secrets, no SQL). */
int sy_db_ping(int64_t *latency_us, char *err, size_t errlen);

/* The open connection, connecting if needed (NULL and SY_EDB on failure). */
int sy_db_conn(struct pg_conn **out);

/* Server version number (e.g. 150018) of the open connection, or 0. */
int sy_db_server_version(void);

/* SQLSTATE ("42P01") when the latest sy_db_exec/sy_db_ping call failed
 * on the server; "" when it succeeded or never reached the server. */
const char *sy_db_last_sqlstate(void);

/* Close the connection (before exit, or after fork in a child). */
void sy_db_close(void);

/* Microseconds spent waiting on PostgreSQL since the last take. */
int64_t sy_db_take_time(void);

#endif
