/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * migrate.c - `synthia migrate [status]` (migrate.h).
 *
 * Applies the migrations compiled into the binary (migrations.c, made by
 * build-aux/embed-sql.sh from sql/NNN_name.sql) over a connection of its
 * own, never the responders' one.  Under a session advisory lock, so two
 * hosts deploying at once apply each file exactly once, it creates
 * schema_migrations if missing, then runs each pending file in its own
 * transaction together with its schema_migrations row, stopping at the
 * first failure.  A database that has a version this binary does not know
 * is refused.  Applied files whose checksum (SHA-256 of the content) or
 * name changed are reported as "mismatched" but do not block: migrations
 * are forward-only, so the fix is a new file, never a re-run.
 *
 * Output is one JSON line on stdout; errors go to stderr.  Exit status:
 * 0 done / up to date, 1 migrations pending (status), 2 error.  A file may
 * hold several statements but no BEGIN/COMMIT of its own and nothing that
 * cannot run in a transaction (CREATE INDEX CONCURRENTLY).
 */
#include "synthia/migrate.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/log.h"
#include "synthia/str.h"

#define EXIT_DONE 0
#define EXIT_PENDING 1
#define EXIT_ERROR 2

/* pg_advisory_lock key shared by every migrator: "synthia" in ASCII. */
#define LOCK_KEY "32503137628088673"

static const char create_table_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

int
sy_migrate_latest(void)
{
    int latest = 0;
    for (size_t i = 0; i < sy_nmigrations; i++)
        if (sy_migrations[i].version > latest)
            latest = sy_migrations[i].version;
    return latest;
}

/* SHA-256 of the file's content, without a leading licence line: the
 * SPDX lines added to the first migrations after they shipped must not
 * make every database that applied them report a mismatch. */
static void
checksum_of(const sy_migration *m, char out[2 * SY_SHA256_LEN + 1])
{
    static const char spdx[] = "-- SPDX-License-Identifier:";
    unsigned char d[SY_SHA256_LEN];
    const char *p = m->sql;
    if (strncmp(p, spdx, sizeof(spdx) - 1) == 0) {
        const char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : p + strlen(p);
    }
    sy_sha256(p, strlen(p), d);
    sy_hex(out, d, sizeof(d));
}

static void
on_notice(void *arg, const char *message)
{
    (void)arg;
    sy_str s = sy_str_c(message);
    while (s.len > 0 && s.p[s.len - 1] == '\n')
        s.len--;
    sy_logline *l = sy_log_begin(SY_LOG_DEBUG, "db_notice");
    sy_log_str(l, "msg", s);
    sy_log_end(l);
}

static PGconn *
open_db(void)
{
    char timeout[24];
    snprintf(timeout, sizeof(timeout), "%lld",
             (long long)(sy_conf->db_connect_timeout_ms + 999) / 1000);
    const char *keys[] = {"application_name", "dbname", "connect_timeout",
                          "password", NULL};
    const char *vals[] = {"synthia-migrate", sy_conf->db_url, timeout,
                          sy_conf->db_password, NULL};
    if (!sy_conf->db_password)
        keys[3] = NULL;
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "migrate: cannot connect to the database: %s",
                c ? PQerrorMessage(c) : "out of memory\n");
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, on_notice, NULL);
    return c;
}

static bool
result_ok(const PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ||
           st == PGRES_EMPTY_QUERY;
}

/* Run sql; on failure print "migrate: <what>: <server's error>". */
static int
run(PGconn *c, const char *sql, int nparams, const char *const *params,
    const char *what, PGresult **out)
{
    PGresult *r =
        nparams ? PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0)
                : PQexec(c, sql);
    if (!result_ok(r)) {
        fprintf(stderr, "migrate: %s: %s", what,
                r ? PQresultErrorMessage(r) : PQerrorMessage(c));
        PQclear(r);
        return -1;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return 0;
}

static int
take_lock(PGconn *c)
{
    const char *key[1] = {LOCK_KEY};
    PGresult *r;
    if (run(c, "SELECT pg_try_advisory_lock($1::bigint)", 1, key,
            "cannot take the migration lock", &r) < 0)
        return -1;
    bool got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (got)
        return 0;
    fprintf(stderr, "migrate: waiting for another migration to finish\n");
    return run(c, "SELECT pg_advisory_lock($1::bigint)", 1, key,
               "cannot take the migration lock", NULL);
}

/* Rows (version, name, checksum) of schema_migrations by version; an
 * empty result when the table does not exist yet (status never creates
 * it). */
static int
load_applied(PGconn *c, PGresult **out)
{
    PGresult *r;
    if (run(c, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL,
            "cannot read schema_migrations", &r) < 0)
        return -1;
    bool exists = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    const char *sql =
        exists ? "SELECT version, name, checksum FROM schema_migrations "
                 "ORDER BY version"
               : "SELECT 1 AS version, '' AS name, '' AS checksum WHERE false";
    return run(c, sql, 0, NULL, "cannot read schema_migrations", out);
}

static int
row_version(const PGresult *r, int row)
{
    int64_t v = 0;
    sy_parse_i64(sy_str_c(PQgetvalue(r, row, 0)), 0, INT32_MAX, &v);
    return (int)v;
}

static int
applied_row(const PGresult *r, int version)
{
    for (int i = 0; i < PQntuples(r); i++)
        if (row_version(r, i) == version)
            return i;
    return -1;
}

static int
db_version(const PGresult *r)
{
    int n = PQntuples(r);
    return n ? row_version(r, n - 1) : 0;
}

static const sy_migration *
find_migration(int version)
{
    for (size_t i = 0; i < sy_nmigrations; i++)
        if (sy_migrations[i].version == version)
            return &sy_migrations[i];
    return NULL;
}

/* Applied rows whose file changed, was renamed, or is gone. */
static json_object *
mismatches(const PGresult *applied)
{
    json_object *list = json_object_new_array();
    for (int i = 0; i < PQntuples(applied); i++) {
        int v = row_version(applied, i);
        if (v > sy_migrate_latest())
            continue; /* reported as "database is newer" instead */
        const sy_migration *m = find_migration(v);
        char sum[2 * SY_SHA256_LEN + 1];
        if (m)
            checksum_of(m, sum);
        if (m && strcmp(PQgetvalue(applied, i, 1), m->name) == 0 &&
            strcmp(PQgetvalue(applied, i, 2), sum) == 0)
            continue;
        json_object_array_add(
            list, json_object_new_string(PQgetvalue(applied, i, 1)));
    }
    return list;
}

static json_object *
pending(const PGresult *applied)
{
    json_object *list = json_object_new_array();
    for (size_t i = 0; i < sy_nmigrations; i++)
        if (applied_row(applied, sy_migrations[i].version) < 0)
            json_object_array_add(
                list, json_object_new_string(sy_migrations[i].name));
    return list;
}

static void
print_json(json_object *o)
{
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                               JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(stdout);
}

static void
warn_mismatched(json_object *list)
{
    for (size_t i = 0; i < json_object_array_length(list); i++)
        fprintf(stderr,
                "migrate: warning: applied migration %s differs "
                "from the file in this binary (changed after it was "
                "applied?)\n",
                json_object_get_string(json_object_array_get_idx(list, i)));
}

static int
refuse_newer(const PGresult *applied)
{
    int current = db_version(applied), latest = sy_migrate_latest();
    if (current <= latest)
        return 0;
    fprintf(stderr,
            "migrate: database is newer than this binary (database "
            "at version %d, this binary knows up to %d); refusing to "
            "run\n",
            current, latest);
    return -1;
}

/* BEGIN; the file; its schema_migrations row; COMMIT. */
static int
apply_one(PGconn *c, const sy_migration *m)
{
    char what[160], version[16], sum[2 * SY_SHA256_LEN + 1];
    snprintf(what, sizeof(what), "%s.sql failed", m->name);
    snprintf(version, sizeof(version), "%d", m->version);
    checksum_of(m, sum);
    const char *params[3] = {version, m->name, sum};
    if (run(c, "BEGIN", 0, NULL, what, NULL) < 0)
        return -1;
    if (run(c, m->sql, 0, NULL, what, NULL) < 0 ||
        run(c,
            "INSERT INTO schema_migrations (version, name, checksum) "
            "VALUES ($1, $2, $3)",
            3, params, what, NULL) < 0 ||
        run(c, "COMMIT", 0, NULL, what, NULL) < 0) {
        PQclear(PQexec(c, "ROLLBACK"));
        return -1;
    }
    return 0;
}

static int
cmd_status(PGconn *c)
{
    PGresult *applied;
    if (load_applied(c, &applied) < 0)
        return EXIT_ERROR;
    json_object *o = json_object_new_object();
    json_object *todo = pending(applied);
    json_object *bad = mismatches(applied);
    bool up_to_date = json_object_array_length(todo) == 0;
    json_object_object_add(o, "current",
                           json_object_new_int(db_version(applied)));
    json_object_object_add(o, "latest",
                           json_object_new_int(sy_migrate_latest()));
    json_object_object_add(o, "pending", todo);
    json_object_object_add(o, "mismatched", bad);
    print_json(o);
    warn_mismatched(bad);
    int rc = refuse_newer(applied) < 0 ? EXIT_ERROR
             : up_to_date              ? EXIT_DONE
                                       : EXIT_PENDING;
    json_object_put(o);
    PQclear(applied);
    return rc;
}

static int
apply_pending(PGconn *c, const PGresult *applied, json_object *done)
{
    for (size_t i = 0; i < sy_nmigrations; i++) {
        const sy_migration *m = &sy_migrations[i];
        if (applied_row(applied, m->version) >= 0)
            continue;
        if (apply_one(c, m) < 0) {
            if (json_object_array_length(done) > 0)
                fprintf(stderr, "migrate: applied before the failure: %s\n",
                        json_object_to_json_string_ext(done,
                                                       JSON_C_TO_STRING_PLAIN));
            return -1;
        }
        json_object_array_add(done, json_object_new_string(m->name));
    }
    return 0;
}

static int
cmd_apply(PGconn *c)
{
    PGresult *applied;
    if (take_lock(c) < 0 ||
        run(c, create_table_sql, 0, NULL, "cannot create schema_migrations",
            NULL) < 0 ||
        load_applied(c, &applied) < 0)
        return EXIT_ERROR;
    int rc = EXIT_ERROR;
    json_object *done = json_object_new_array();
    json_object *bad = mismatches(applied);
    if (refuse_newer(applied) == 0 && apply_pending(c, applied, done) == 0) {
        /* Every file of the binary is applied now. */
        int current = db_version(applied) > sy_migrate_latest()
                          ? db_version(applied)
                          : sy_migrate_latest();
        json_object *o = json_object_new_object();
        json_object_object_add(o, "applied", json_object_get(done));
        json_object_object_add(o, "current", json_object_new_int(current));
        json_object_object_add(o, "latest",
                               json_object_new_int(sy_migrate_latest()));
        if (json_object_array_length(bad) > 0)
            json_object_object_add(o, "mismatched", json_object_get(bad));
        print_json(o);
        json_object_put(o);
        warn_mismatched(bad);
        rc = EXIT_DONE;
    }
    json_object_put(done);
    json_object_put(bad);
    PQclear(applied);
    return rc;
}

int
sy_cli_migrate(int argc, char **argv)
{
    bool status = argc >= 1 && strcmp(argv[0], "status") == 0;
    if (argc > 1 || (argc == 1 && !status)) {
        fprintf(stderr, "usage: synthia migrate [status]\n");
        return EXIT_ERROR;
    }
    if (!sy_conf || !sy_conf->db_url) {
        fprintf(stderr, "migrate: database.url is not set\n");
        return EXIT_ERROR;
    }
    PGconn *c = open_db();
    if (!c)
        return EXIT_ERROR;
    int rc = status ? cmd_status(c) : cmd_apply(c);
    /* Ending the session also releases the advisory lock. */
    PQfinish(c);
    return rc;
}
