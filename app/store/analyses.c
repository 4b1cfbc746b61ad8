/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * analyses.c (store) - analyses and feedback (analyses_db.h): inserts
 * that return the API's JSON, reads by id and by page, and the feedback
 * summary per target type.
 */
#include "synthia/analyses_db.h"

#include <libpq-fe.h>
#include <stdio.h>

#include "synthia/error.h"

#define AN_TS(col) SY_DB_RFC3339(col)
#define AN_JSON                                                           \
    "(x.result || jsonb_build_object('id', x.id, 'type', x.type, "        \
    "'provider', x.provider, 'model', x.model, 'cached', x.cached, "      \
    "'duration_ms', x.duration_ms, 'upload_sha256', x.upload_sha256, "    \
    "'user_id', x.user_id, 'created_at', " AN_TS("x.created_at") "))::text"
#define FB_JSON                                                           \
    "json_build_object('id', x.id, 'target_type', x.target_type, "        \
    "'target_id', x.target_id, 'rating', x.rating, 'comment', x.comment, " \
    "'user_id', x.user_id, 'key_id', x.key_id, "                          \
    "'created_at', " AN_TS("x.created_at") ")::text"

/* $2 user, $3 key, $4 type, $5 sha256, $6 provider, $7 model, $8 result
 * (a JSON object), $9 duration, $10 cached. */
static sy_db_stmt sql_insert = SY_DB_STMT(
    "analysis_insert",
    "WITH x AS (INSERT INTO analyses (tenant_id, user_id, key_id, type, "
    "upload_sha256, provider, model, result, duration_ms, cached) "
    "VALUES ($1::uuid, $2::uuid, $3::uuid, $4, $5, $6, $7, $8::jsonb, "
    "$9::integer, $10::boolean) RETURNING *) SELECT " AN_JSON " FROM x",
    10);
/* $2 id, $3 owner or NULL. */
static sy_db_stmt sql_get = SY_DB_STMT(
    "analysis_get",
    "SELECT " AN_JSON " FROM analyses x WHERE x.tenant_id = $1::uuid "
    "AND x.id = $2::uuid AND ($3::uuid IS NULL OR x.user_id = $3::uuid)",
    3);
/* $2 owner or NULL, $3/$4 after (created_at, id), $5 limit + 1. */
static sy_db_stmt sql_list = SY_DB_STMT(
    "analyses_list",
    "SELECT " AN_JSON ", " AN_TS("x.created_at") ", x.id "
    "FROM analyses x WHERE x.tenant_id = $1::uuid "
    "AND ($2::uuid IS NULL OR x.user_id = $2::uuid) "
    "AND (x.created_at, x.id) > ($3::timestamptz, $4::uuid) "
    "ORDER BY x.created_at, x.id LIMIT $5::integer",
    5);
/* $2 user, $3 key, $4 target type, $5 target id, $6 rating, $7 comment,
 * $8 owner of the target analysis or NULL.  No row when the target is
 * not an analysis of the tenant (of the owner) or the type has no
 * target table yet. */
static sy_db_stmt sql_fb_insert = SY_DB_STMT(
    "feedback_insert",
    "WITH x AS (INSERT INTO feedback (tenant_id, user_id, key_id, "
    "target_type, target_id, rating, comment) "
    "SELECT $1::uuid, $2::uuid, $3::uuid, $4, $5::uuid, $6::smallint, $7 "
    "WHERE $4 IN ('analysis', 'recommendation') AND EXISTS (SELECT 1 FROM "
    "analyses an WHERE an.tenant_id = $1::uuid AND an.id = $5::uuid "
    "AND ($8::uuid IS NULL OR an.user_id = $8::uuid)) RETURNING *) "
    "SELECT " FB_JSON " FROM x",
    8);
/* $2 target type or NULL, $3/$4 after, $5 limit + 1. */
static sy_db_stmt sql_fb_list = SY_DB_STMT(
    "feedback_list",
    "SELECT " FB_JSON ", " AN_TS("x.created_at") ", x.id "
    "FROM feedback x WHERE x.tenant_id = $1::uuid "
    "AND ($2::text IS NULL OR x.target_type = $2) "
    "AND (x.created_at, x.id) > ($3::timestamptz, $4::uuid) "
    "ORDER BY x.created_at, x.id LIMIT $5::integer",
    5);
static sy_db_stmt sql_fb_summary = SY_DB_STMT(
    "feedback_summary",
    "SELECT json_object_agg(t.type, json_build_object('count', "
    "coalesce(s.n, 0), 'average_rating', s.avg))::text "
    "FROM unnest(ARRAY['analysis', 'generation', 'recommendation']) "
    "AS t (type) LEFT JOIN (SELECT target_type, count(*) AS n, "
    "round(avg(rating), 2)::float8 AS avg FROM feedback "
    "WHERE tenant_id = $1::uuid GROUP BY target_type) s "
    "ON s.target_type = t.type",
    1);
#undef FB_JSON
#undef AN_JSON
#undef AN_TS

int
sy_analyses_db_insert(sy_arena *a, const char *tenant,
                      const sy_analysis_new *n, sy_str *json)
{
    char dur[24];
    snprintf(dur, sizeof(dur), "%lld", (long long)n->duration_ms);
    const char *result = sy_str_dup(a, n->result);
    if (!result)
        return SY_ENOMEM;
    const char *p[10] = {tenant,      n->user_id, n->key_id,
                         n->type,     n->upload_sha256,
                         n->provider, n->model ? n->model : "",
                         result,      dur,        n->cached ? "t" : "f"};
    PGresult *r;
    int rc = sy_db_exec_row(a, &sql_insert, p, 10, &r);
    if (rc < 0)
        return rc == SY_ENOTFOUND ? SY_EINTERNAL : rc;
    *json = sy_db_str(r, 0, 0);
    return 0;
}

int
sy_analyses_db_get(sy_arena *a, const char *tenant, const char *id,
                   const char *owner, sy_str *json)
{
    const char *p[3] = {tenant, id, owner};
    PGresult *r;
    int rc = sy_db_exec_row(a, &sql_get, p, 3, &r);
    if (rc == 0)
        *json = sy_db_str(r, 0, 0);
    return rc;
}

static void
read_row(const PGresult *r, int row, void *elem)
{
    *(sy_analysis_row *)elem = (sy_analysis_row){
        sy_db_str(r, row, 0), sy_db_cstr(r, row, 1), sy_db_cstr(r, row, 2)};
}

int
sy_analyses_db_list(sy_arena *a, const char *tenant, const char *owner,
                    const sy_keyset *k, sy_analysis_row **rows, int *n)
{
    const char *p[5] = {tenant, owner, k->after_ts, k->after_id, k->fetch};
    return sy_db_fetch_all(a, &sql_list, p, 5, sizeof(**rows), read_row,
                           (void **)rows, n);
}

int
sy_feedback_db_insert(sy_arena *a, const char *tenant,
                      const sy_feedback_new *f, const char *owner,
                      sy_str *json)
{
    char rating[24];
    snprintf(rating, sizeof(rating), "%lld", (long long)f->rating);
    const char *p[8] = {tenant,        f->user_id, f->key_id,
                        f->target_type, f->target_id, rating,
                        f->comment,    owner};
    PGresult *r;
    int rc = sy_db_exec_row(a, &sql_fb_insert, p, 8, &r);
    if (rc == 0)
        *json = sy_db_str(r, 0, 0);
    return rc;
}

int
sy_feedback_db_list(sy_arena *a, const char *tenant, const char *target_type,
                    const sy_keyset *k, sy_analysis_row **rows, int *n)
{
    const char *p[5] = {tenant, target_type, k->after_ts, k->after_id,
                        k->fetch};
    return sy_db_fetch_all(a, &sql_fb_list, p, 5, sizeof(**rows), read_row,
                           (void **)rows, n);
}

int
sy_feedback_db_summary(sy_arena *a, const char *tenant, sy_str *json)
{
    const char *p[1] = {tenant};
    PGresult *r;
    int rc = sy_db_exec_row(a, &sql_fb_summary, p, 1, &r);
    if (rc == 0)
        *json = sy_db_str(r, 0, 0);
    return rc;
}
