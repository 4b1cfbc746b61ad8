/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * events.c (store) - analytics events (events_db.h): the one statement
 * that stores a batch and counts it, the reads of the counts for the
 * timeseries and the summary, and the partition maintenance.
 *
 * A batch travels as one jsonb parameter (an array of {type, ts, data})
 * rather than as parallel text[] parameters: the data objects would
 * need array-literal quoting on our side and parsing twice on the
 * server's.  The statement is durable: 202 promises the events are kept.
 */
#include "synthia/events_db.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "synthia/clock.h"
#include "synthia/db.h"
#include "synthia/error.h"

#define EV_TS(col) SY_DB_RFC3339(col)

/* $1 tenant, $2 key or NULL, $3 [{type, ts, data}]: one statement for
 * both tables; the counts are written in key order so that concurrent
 * batches of a tenant lock their rows in the same order (no deadlock). */
static sy_db_stmt sql_insert = SY_DB_STMT_DURABLE(
    "events_insert",
    "WITH src AS MATERIALIZED (SELECT e.type, e.ts, e.data "
    "FROM jsonb_to_recordset($3::jsonb) AS e (type text, ts timestamptz, "
    "data jsonb)), "
    "ins AS (INSERT INTO events (tenant_id, key_id, type, occurred_at, "
    "data) SELECT $1::uuid, $2::uuid, type, ts, data FROM src), "
    "cnt AS (INSERT INTO event_counts (tenant_id, hour, type, n) "
    "SELECT $1::uuid, date_trunc('hour', ts, 'UTC'), type, count(*) "
    "FROM src GROUP BY 2, 3 ORDER BY 2, 3 "
    "ON CONFLICT (tenant_id, hour, type) "
    "DO UPDATE SET n = event_counts.n + excluded.n) "
    "SELECT count(*) FROM src",
    3);
static sy_db_stmt sql_ensure = SY_DB_STMT(
    "events_partitions_ensure",
    "SELECT coalesce(json_agg(p), '[]')::text "
    "FROM events_partitions_ensure(now(), $1::integer) AS p",
    1);
static sy_db_stmt sql_drop = SY_DB_STMT(
    "events_partitions_drop",
    "SELECT coalesce(json_agg(p), '[]')::text FROM "
    "events_partitions_drop_before(now() - make_interval(secs => "
    "$1::bigint)) AS p",
    1);
static sy_db_stmt sql_counts_prune = SY_DB_STMT(
    "event_counts_prune",
    "DELETE FROM event_counts WHERE hour < date_trunc('hour', now() - "
    "make_interval(secs => $1::bigint), 'UTC')",
    1);

/* $1 tenant or NULL, $2 'hour' | 'day', $3 buckets, $4 type or NULL.
 * The counts of the range are summed per (bucket, type) once; the zero
 * cells (every bucket x every listed type) are added to them and summed
 * again, by hashing rather than by a join (a join of the two CTEs was
 * planned as a nested loop: 0.4 s for 720 hours x 10 types), then
 * grouped per bucket: a 720-hour series costs one pass over the
 * tenant's rows of those 30 days. */
#define RANGE_FROM                                                        \
    "date_trunc($2::text, now(), 'UTC') - ($3::integer - 1) * "          \
    "('1 ' || $2::text)::interval"
#define RANGE_TO "date_trunc($2::text, now(), 'UTC')"
#define TIMESERIES_SQL(tenant_cond)                                       \
    "WITH b AS (SELECT generate_series(" RANGE_FROM ", " RANGE_TO ", " \
    "('1 ' || $2::text)::interval) AS t), " \
    "c AS (SELECT date_trunc($2::text, hour, 'UTC') AS t, type, " \
    "sum(n)::bigint AS n FROM event_counts " \
    "WHERE " tenant_cond " " \
    "AND hour >= " RANGE_FROM " " \
    "AND ($4::text IS NULL OR type = $4::text) GROUP BY 1, 2), " \
    "ty AS (SELECT type FROM (SELECT type, sum(n) AS total FROM c " \
    "GROUP BY type UNION ALL SELECT $4::text, 0 WHERE $4::text IS NOT NULL " \
    "AND NOT EXISTS (SELECT 1 FROM c)) s " \
    "ORDER BY total DESC, type LIMIT 100), " \
    "cell AS (SELECT t, type, sum(n)::bigint AS n FROM (SELECT b.t, " \
    "ty.type, 0::bigint AS n FROM b CROSS JOIN ty UNION ALL " \
    "SELECT c.t, c.type, c.n FROM c JOIN ty USING (type)) x " \
    "GROUP BY t, type), " \
    "g AS (SELECT t, json_object_agg(type, n ORDER BY type) AS counts " \
    "FROM cell GROUP BY t) " \
    "SELECT json_build_object('bucket', $2::text, " \
    "'from', (SELECT " EV_TS("min(t)") " FROM b), " \
    "'to', (SELECT " EV_TS("(max(t) + ('1 ' || $2::text)::interval)") \
    " FROM b), " \
    "'types', (SELECT coalesce(json_agg(type ORDER BY type), '[]') " \
    "FROM ty), " \
    "'buckets', (SELECT json_agg(json_build_object('t', " EV_TS("b.t") \
    ", 'counts', coalesce(g.counts, '{}')) ORDER BY b.t) " \
    "FROM b LEFT JOIN g ON g.t = b.t))::text"
/* Two statements rather than "$1 IS NULL OR tenant_id = $1": a generic
 * plan of that (PostgreSQL's choice after five runs of a prepared
 * statement) cannot use the primary key and reads every tenant's counts. */
static sy_db_stmt sql_timeseries = SY_DB_STMT(
    "events_timeseries", TIMESERIES_SQL("tenant_id = $1::uuid"), 4);
static sy_db_stmt sql_timeseries_all = SY_DB_STMT(
    "events_timeseries_all", TIMESERIES_SQL("$1::uuid IS NULL"), 4);
#undef TIMESERIES_SQL
#undef RANGE_FROM
#undef RANGE_TO
_Static_assert(SY_EVENTS_DB_MAX_TYPES == 100, "the LIMIT of the SQL above");

/* $1 tenant or NULL, $2 hours. */
#define TOTALS_SQL(tenant_cond)                                           \
    "WITH s AS (SELECT type, sum(n)::bigint AS n FROM event_counts "      \
    "WHERE " tenant_cond " "                                              \
    "AND hour >= date_trunc('hour', now(), 'UTC') - "                    \
    "($2::integer - 1) * interval '1 hour' GROUP BY type) "               \
    "SELECT json_build_object('total', (SELECT coalesce(sum(n), 0) FROM s), " \
    "'by_type', (SELECT coalesce(json_object_agg(type, n ORDER BY type), " \
    "'{}') FROM (SELECT type, n FROM s ORDER BY n DESC, type LIMIT 100) "  \
    "t))::text"
static sy_db_stmt sql_totals = SY_DB_STMT(
    "events_totals", TOTALS_SQL("tenant_id = $1::uuid"), 2);
static sy_db_stmt sql_totals_all = SY_DB_STMT(
    "events_totals_all", TOTALS_SQL("$1::uuid IS NULL"), 2);
#undef TOTALS_SQL
#undef EV_TS

/* The batch as the statement takes it: [{"type":..,"ts":..,"data":..}]. */
static int
batch_json(sy_arena *a, const sy_event_new *ev, int n, const char **out)
{
    size_t max = 64; /* type and ts are short; data bytes go in as is */
    for (int i = 0; i < n; i++)
        max += 160 + ev[i].data.len;
    sy_buf b;
    sy_buf_init(&b, a, max);
    sy_buf_putc(&b, '[');
    for (int i = 0; i < n; i++) {
        char ts[32];
        sy_rfc3339_ms(ts, sizeof(ts), ev[i].occurred_ms);
        sy_buf_puts(&b, i ? ",{\"type\":" : "{\"type\":");
        sy_buf_json_str(&b, ev[i].type.p, ev[i].type.len);
        sy_buf_printf(&b, ",\"ts\":\"%s\"", ts);
        if (ev[i].data.len) {
            sy_buf_puts(&b, ",\"data\":");
            sy_buf_add_str(&b, ev[i].data);
        }
        sy_buf_putc(&b, '}');
    }
    sy_buf_putc(&b, ']');
    *out = sy_buf_cstr(&b);
    return *out ? 0 : SY_ENOMEM;
}

int
sy_events_db_insert(sy_arena *a, const char *tenant, const char *key_id,
                    const sy_event_new *ev, int n, int64_t *stored)
{
    const char *batch;
    int rc = batch_json(a, ev, n, &batch);
    if (rc < 0)
        return rc;
    const char *p[3] = {tenant, key_id, batch};
    PGresult *r;
    rc = sy_db_exec(a, &sql_insert, p, 3, &r);
    if (rc == SY_EDB && strcmp(sy_db_last_sqlstate(), "23514") == 0) {
        /* no partition for a row's month: make them, then once more */
        const char *ahead[1] = {"2"};
        const char *made;
        if (sy_db_one_text(a, &sql_ensure, ahead, 1, &made) == 0)
            rc = sy_db_exec(a, &sql_insert, p, 3, &r);
    }
    if (rc < 0)
        return rc;
    *stored = sy_db_i64(r, 0, 0);
    return 0;
}

int
sy_events_db_timeseries(sy_arena *a, const char *tenant, const char *bucket,
                        int nbuckets, const char *type, sy_str *json)
{
    char nb[16];
    snprintf(nb, sizeof(nb), "%d", nbuckets);
    const char *p[4] = {tenant, bucket, nb, type};
    PGresult *r;
    int rc = sy_db_exec_row(a, tenant ? &sql_timeseries : &sql_timeseries_all,
                            p, 4, &r);
    if (rc == 0)
        *json = sy_db_str(r, 0, 0);
    return rc == SY_ENOTFOUND ? SY_EINTERNAL : rc;
}

int
sy_events_db_totals(sy_arena *a, const char *tenant, int nhours,
                    sy_str *json)
{
    char nh[16];
    snprintf(nh, sizeof(nh), "%d", nhours);
    const char *p[2] = {tenant, nh};
    PGresult *r;
    int rc = sy_db_exec_row(a, tenant ? &sql_totals : &sql_totals_all, p, 2,
                            &r);
    if (rc == 0)
        *json = sy_db_str(r, 0, 0);
    return rc == SY_ENOTFOUND ? SY_EINTERNAL : rc;
}

int
sy_events_db_maintain(sy_arena *a, int64_t retention_s, int months_ahead,
                      sy_str *json)
{
    char ret[24], ahead[16];
    snprintf(ret, sizeof(ret), "%lld", (long long)retention_s);
    snprintf(ahead, sizeof(ahead), "%d", months_ahead);
    const char *pa[1] = {ahead}, *pr[1] = {ret};
    const char *created, *dropped;
    PGresult *r;
    int rc = sy_db_begin();
    if (rc == 0)
        rc = sy_db_one_text(a, &sql_ensure, pa, 1, &created);
    if (rc == 0)
        rc = sy_db_one_text(a, &sql_drop, pr, 1, &dropped);
    if (rc == 0)
        rc = sy_db_exec(a, &sql_counts_prune, pr, 1, &r);
    if (rc < 0) {
        sy_db_rollback();
        return rc;
    }
    if ((rc = sy_db_commit()) < 0)
        return rc;
    sy_buf b;
    sy_buf_init(&b, a, 65536);
    sy_buf_printf(&b, "{\"created\":%s,\"dropped\":%s,\"counts_deleted\":%lld}",
                  created, dropped, (long long)sy_db_changed(r));
    const char *s = sy_buf_cstr(&b);
    if (!s)
        return SY_ENOMEM;
    *json = sy_str_c(s);
    return 0;
}
