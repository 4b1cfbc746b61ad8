/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jobq.c (store) - try-on job rows and their Redis queue (jobq.h).
 *
 * Input images travel as binary parameters (sy_db_send), so a 10 MB
 * photo is not doubled into hex on the way in; the result comes back as
 * hex (encode) and is decoded here, which keeps every other statement
 * on the text protocol that sy_db_exec speaks.
 */
#include "synthia/jobq.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/redis.h"

/* The visibility of a job to an owner: $3 user (NULL: any), $4 'k' for
 * keys only. */
#define JOBQ_OWNER                                                        \
    "AND ($3::uuid IS NULL OR j.user_id = $3::uuid) "                     \
    "AND ($4::text IS NULL OR j.user_id IS NULL) "

/* $2 input_hash, $3 max age in ms. */
static sy_db_stmt sql_find_done =
    SY_DB_STMT("jobq_find_done",
     "SELECT id FROM jobs WHERE tenant_id = $1::uuid AND input_hash = $2 "
     "AND status = 'done' AND completed_at > clock_timestamp() - "
     "$3::bigint * interval '1 millisecond' AND result IS NOT NULL "
     "AND result_expires_at > clock_timestamp() "
     "ORDER BY completed_at DESC LIMIT 1",
     3);
/* $2 user, $3 key, $4 max_attempts, $5 input_hash, $6 uuid[] */
static sy_db_stmt sql_insert =
    SY_DB_STMT("jobq_insert",
     "INSERT INTO jobs (tenant_id, user_id, key_id, max_attempts, "
     "input_hash, garment_product_ids) VALUES ($1::uuid, $2::uuid, "
     "$3::uuid, $4::integer, $5, $6::uuid[]) RETURNING id",
     6);
/* $1 job, $2 ord, $3 role, $4 type, $5 sha256, $6 bytes (binary) */
static sy_db_stmt sql_input =
    SY_DB_STMT("jobq_input",
     "INSERT INTO job_inputs (job_id, ord, role, content_type, sha256, "
     "data) VALUES ($1::uuid, $2::smallint, $3, $4, $5, $6::bytea)",
     6);
/* $2 job, $3/$4 owner */
static sy_db_stmt sql_cancel =
    SY_DB_STMT_DURABLE("jobq_cancel",
     "WITH j AS (SELECT j.id, j.status FROM jobs j WHERE j.tenant_id = "
     "$1::uuid AND j.id = $2::uuid " JOBQ_OWNER "FOR UPDATE), "
     "u AS (UPDATE jobs SET status = 'canceled', version = version + 1, "
     "completed_at = clock_timestamp(), next_attempt_at = NULL "
     "FROM j WHERE jobs.id = j.id AND j.status = 'queued' "
     "RETURNING jobs.id) "
     "SELECT j.status, (SELECT count(*) FROM u) FROM j",
     4);
static sy_db_stmt sql_result =
    SY_DB_STMT("jobq_result",
     "SELECT j.result_type, encode(j.result, 'hex'), "
     "encode(sha256(j.result), 'hex') FROM jobs j "
     "WHERE j.tenant_id = $1::uuid AND j.id = $2::uuid " JOBQ_OWNER
     "AND j.status = 'done' AND j.result IS NOT NULL "
     "AND j.result_expires_at > clock_timestamp()",
     4);

int
sy_jobq_find_done(sy_arena *a, const char *tenant, const char *hash,
                  int64_t max_age_ms, const char **id)
{
    char age[24];
    snprintf(age, sizeof(age), "%lld", (long long)max_age_ms);
    const char *p[] = {tenant, hash, age};
    return sy_db_one_text(a, &sql_find_done, p, 3, id);
}

static int
insert_input(const char *job, int ord, const sy_jobq_input *in)
{
    char o[16];
    snprintf(o, sizeof(o), "%d", ord);
    const char *p[] = {job, o, in->role, in->content_type, in->sha256,
                       in->data.p};
    const int len[] = {-1, -1, -1, -1, -1, (int)in->data.len};
    if (in->data.len > (size_t)1 << 30)
        return SY_EINVAL;
    return sy_db_send(&sql_input, p, len, 6);
}

int
sy_jobq_insert(sy_arena *a, const sy_jobq_new *j, const sy_jobq_input *in,
               int n, const char **id)
{
    char ma[16];
    snprintf(ma, sizeof(ma), "%d", j->max_attempts);
    const char *p[] = {j->tenant, j->user_id, j->key_id, ma, j->input_hash,
                       j->product_ids};
    int rc = sy_db_one_text(a, &sql_insert, p, 6, id);
    if (rc == SY_ENOTFOUND)
        return SY_EDB;
    for (int i = 0; rc == 0 && i < n; i++) {
        struct pg_result *r;
        if ((rc = insert_input(*id, i, &in[i])) == 0)
            rc = sy_db_wait(a, &r);
    }
    return rc;
}

/* The tenant's stream key. */
static void
stream_key(char *out, size_t n, const char *tenant)
{
    snprintf(out, n, "sy:{t:%s}:jobs", tenant);
}

int
sy_jobq_enqueue(sy_arena *a, const char *tenant, const char *id)
{
    char key[64];
    stream_key(key, sizeof(key), tenant);
    const char *xadd[] = {"XADD", key, "*", "job", id};
    const char *sadd[] = {"SADD", SY_JOBQ_TENANTS_KEY, tenant};
    sy_redis_cmdv c[] = {{5, xadd, NULL}, {3, sadd, NULL}};
    struct redisReply *r[2];
    int rc = sy_redis_pipeline(a, 2, c, r);
    if (rc < 0)
        return rc;
    return r[0]->type == REDIS_REPLY_ERROR || r[1]->type == REDIS_REPLY_ERROR
               ? SY_EREDIS
               : 0;
}

void
sy_jobq_publish(sy_arena *a, const char *id, const char *status)
{
    char ch[64];
    snprintf(ch, sizeof(ch), "sy:job:%s", id);
    const char *argv[] = {"PUBLISH", ch, status};
    struct redisReply *r;
    (void)sy_redis_argv(a, 3, argv, NULL, &r);
}

static const char *
static_status(const char *s)
{
    static const char *const names[] = {"queued", "running", "done",
                                        "error", "canceled"};
    for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i]) == 0)
            return names[i];
    return "unknown";
}

int
sy_jobq_cancel(sy_arena *a, const char *tenant, const char *id,
               const sy_jobq_owner *owner, const char **status)
{
    const char *p[] = {tenant, id, owner->user_id,
                       owner->keys_only ? "k" : NULL};
    struct pg_result *r;
    int rc = sy_db_exec_row(a, &sql_cancel, p, 4, &r);
    if (rc < 0)
        return rc;
    *status = static_status(sy_db_cstr(r, 0, 0));
    return sy_db_i64(r, 0, 1) == 1 ? 0 : SY_ECONFLICT;
}

int
sy_jobq_result_get(sy_arena *a, const char *tenant, const char *id,
                   const sy_jobq_owner *owner, sy_jobq_result *out)
{
    const char *p[] = {tenant, id, owner->user_id,
                       owner->keys_only ? "k" : NULL};
    struct pg_result *r;
    int rc = sy_db_exec_row(a, &sql_result, p, 4, &r);
    if (rc < 0)
        return rc;
    sy_str hex = sy_db_str(r, 0, 1), sum = sy_db_str(r, 0, 2);
    unsigned char *bytes = sy_arena_alloc(a, hex.len / 2 + 1);
    size_t n = 0;
    const char *ct = sy_db_cstr(r, 0, 0);
    if (!bytes || !ct || sum.len != 64)
        return bytes ? SY_EINTERNAL : SY_ENOMEM;
    if (sy_unhex(bytes, hex.len / 2 + 1, hex.p, &n) < 0)
        return SY_EINTERNAL;
    out->content_type = ct;
    out->data = (sy_str){(const char *)bytes, n};
    memcpy(out->sha256, sum.p, 64);
    out->sha256[64] = 0;
    return 0;
}
