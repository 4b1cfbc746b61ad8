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

    /* --- identity routes (auth.c, users.c).  Every statement that
     * returns users yields the SY_USER_COL_* columns of users.h first. */
    SY_SQL_USER_INSERT,
    SY_SQL_LOGIN_TENANT_SLUG,
    SY_SQL_USER_LOGIN_TENANT,
    SY_SQL_USER_LOGIN_SYSADMIN,
    SY_SQL_USER_LOGGED_IN,
    SY_SQL_USER_GET,
    SY_SQL_USER_GET_LIVE,
    SY_SQL_USER_SECRET,
    SY_SQL_USER_UPDATE_SELF,
    SY_SQL_USER_OTHER_SESSIONS,
    SY_SQL_USERS_LIST,
    SY_SQL_USER_PATCH,
    SY_SQL_USER_LAST_KEEPER,
    SY_SQL_USER_ERASE,
    /* --- end of identity routes */

    /* --- API keys and CORS (apikey.c, cors.c) */
    SY_SQL_APIKEY_LOOKUP,
    SY_SQL_APIKEY_TOUCH,
    SY_SQL_CORS_TENANT_ORIGIN,
    /* --- end of API keys and CORS */

    /* --- tenants, plans, keys (tenants.c, keys.c, admin.c) */
    SY_SQL_PLANS_LIST,
    SY_SQL_PLAN_EXISTS,
    SY_SQL_TENANT_INSERT,
    SY_SQL_TENANT_GET,
    SY_SQL_TENANT_BY_SLUG,
    SY_SQL_TENANTS_LIST,
    SY_SQL_TENANT_UPDATE,
    SY_SQL_TENANT_LIVE_SESSIONS,
    SY_SQL_KEYS_LIST,
    SY_SQL_KEY_INSERT,
    SY_SQL_KEY_GET,
    SY_SQL_KEY_ROTATE,
    SY_SQL_KEY_REVOKE,
    SY_SQL_ADMIN_USER_INSERT,
    /* --- end of tenants, plans, keys */

    /* --- sessions and refresh tokens (session.c) */
    SY_SQL_SESSION_START,
    SY_SQL_REFRESH_LOOKUP,
    SY_SQL_REFRESH_SUCCESSOR,
    SY_SQL_REFRESH_ROTATE,
    SY_SQL_SESSION_REVOKE_REUSE,
    SY_SQL_SESSION_REVOKE,
    SY_SQL_SESSION_REVOKE_USER,
    SY_SQL_SESSION_REVOKED,
    SY_SQL_SESSIONS_RECENTLY_REVOKED,
    SY_SQL_REFRESH_HOUSEKEEPING,
    /* --- end of sessions and refresh tokens */

    /* --- catalog: products, categories, search, seed-demo (products.c,
     * search.c, seed.c) */
    SY_SQL_PRODUCT_INSERT,
    SY_SQL_PRODUCT_GET,
    SY_SQL_PRODUCT_UPDATE,
    SY_SQL_PRODUCT_DEACTIVATE,
    SY_SQL_PRODUCT_EMBEDDING_DELETE,
    SY_SQL_PRODUCTS_LIST,
    SY_SQL_CATEGORIES_LIST,
    SY_SQL_PRODUCTS_SEARCH_TEXT,
    SY_SQL_PRODUCTS_SEARCH_TYPO,
    SY_SQL_PRODUCTS_BY_IDS,
    SY_SQL_SEARCH_TYPO_THRESHOLD,
    SY_SQL_SEED_TENANT_CONFIG,
    SY_SQL_SEED_TENANT_SUMMARY,
    /* --- end of catalog */

    /* --- orders and Idempotency-Key (orders.c, idempotency.c) */
    SY_SQL_IDEM_INSERT,
    SY_SQL_IDEM_LOCK,
    SY_SQL_IDEM_RENEW,
    SY_SQL_IDEM_FINISH,
    SY_SQL_IDEM_HOUSEKEEPING,
    SY_SQL_ORDER_LOCK_PRODUCTS,
    SY_SQL_ORDER_RESERVE,
    SY_SQL_ORDER_INSERT,
    SY_SQL_ORDER_GET,
    SY_SQL_ORDERS_LIST,
    SY_SQL_ORDER_LOCK,
    SY_SQL_ORDER_SET_STATUS,
    SY_SQL_ORDER_LOCK_LINE_PRODUCTS,
    SY_SQL_ORDER_RESTOCK,
    /* --- end of orders and Idempotency-Key */

    /* --- product vectors (vectors.c) */
    SY_SQL_VECTORS_UPSERT,
    SY_SQL_VECTORS_FINGERPRINT,
    SY_SQL_VECTORS_LOAD,
    /* --- end of product vectors */

    SY_SQL__COUNT
};
extern const sy_db_stmt sy_db_statements[SY_SQL__COUNT];

/* Run a named statement with nparams text parameters (NULL = SQL NULL).
 * The result (tuples or command ok) is registered for PQclear in a.
 * Returns 0, SY_EDB when the server is unreachable or the statement
 * failed (logged with the SQLSTATE; never returned to clients), or
 * SY_ECONFLICT for a unique violation (23505), SY_ENOTFOUND for a
 * foreign-key violation (23503: the referenced row does not exist). */
int sy_db_exec(sy_arena *a, int stmt, const char *const *params, int nparams,
               struct pg_result **out);

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
 * also needs the server's fsync on).  Use them for every write whose
 * success a response promises; bookkeeping (last_used_at, housekeeping)
 * may use the plain calls. */

/* sy_db_begin for a transaction whose COMMIT returns only once the
 * commit is flushed to the server's WAL (synchronous_commit raised from
 * off to on for this transaction only; no extra round trip). */
int sy_db_begin_durable(void);

/* sy_db_exec of one statement in a durable transaction of its own
 * (begin, statement, commit: SY_EDB when the commit fails).  Inside an
 * open transaction, raises that transaction instead (its commit is the
 * caller's). */
int sy_db_exec_durable(sy_arena *a, int stmt, const char *const *params,
                       int nparams, struct pg_result **out);

/* The server's fsync and synchronous_commit as this connection sees
 * them ("on", "off", "local", ...).  0 or SY_EDB. */
typedef struct sy_db_durability {
    char fsync[8];
    char synchronous_commit[16];
} sy_db_durability;
int sy_db_durability_settings(sy_db_durability *out);

#endif
