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
sy_jobq_channel(const char *id, char out[SY_PUBSUB_CHANNEL_MAX])
{
    snprintf(out, SY_PUBSUB_CHANNEL_MAX, "sy:job:%s", id);
}

void
sy_jobq_publish(sy_arena *a, const char *id, const char *status)
{
    char ch[SY_PUBSUB_CHANNEL_MAX];
    sy_jobq_channel(id, ch);
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

/* ------------------------------------------------------------ worker */

/* $1 job: the lock of its tenant's running count, held until the claim
 * that follows it in the same batch commits.  Without it two workers
 * claiming the tenant's jobs at the same moment would each count the
 * running ones before the other's claim commits, and both pass the cap;
 * with it the second waits, and its claim (a statement of its own, so a
 * new snapshot under READ COMMITTED) counts the first one's. */
static sy_db_stmt sql_claim_lock =
    SY_DB_STMT("jobq_claim_lock",
     "SELECT pg_advisory_xact_lock(hashtextextended('synthia.jobq.cap:' "
     "|| tenant_id::text, 0)) FROM jobs WHERE id = $1::uuid",
     1);
/* $1 job, $2 owner, $3 lease ms, $4 the tenant's cap of running jobs */
static sy_db_stmt sql_claim =
    SY_DB_STMT("jobq_claim",
     "UPDATE jobs SET status = 'running', attempts = attempts + 1, "
     "version = version + 1, lease_owner = $2, lease_until = "
     "clock_timestamp() + $3::bigint * interval '1 millisecond', "
     "started_at = coalesce(started_at, clock_timestamp()) "
     "WHERE id = $1::uuid AND status = 'queued' AND next_attempt_at IS NULL "
     "AND (SELECT count(*) FROM jobs r WHERE r.tenant_id = jobs.tenant_id "
     "AND r.status = 'running') < $4::integer "
     "RETURNING tenant_id, attempts, max_attempts, provider, model, "
     "provider_job_id, "
     "floor(extract(epoch FROM created_at) * 1000)::bigint",
     4);
static sy_db_stmt sql_claimable =
    SY_DB_STMT("jobq_claimable",
     "SELECT 1 FROM jobs WHERE id = $1::uuid AND status = 'queued' "
     "AND next_attempt_at IS NULL",
     1);
/* $1 owner, $2 uuid[], $3 lease ms */
static sy_db_stmt sql_heartbeat =
    SY_DB_STMT("jobq_heartbeat",
     "UPDATE jobs SET lease_until = clock_timestamp() + $3::bigint * "
     "interval '1 millisecond' WHERE id = ANY ($2::uuid[]) "
     "AND status = 'running' AND lease_owner = $1",
     3);
static sy_db_stmt sql_set_provider =
    SY_DB_STMT("jobq_set_provider",
     "UPDATE jobs SET provider = $3, model = $4, provider_job_id = $5, "
     "version = version + 1 "
     "WHERE id = $1::uuid AND status = 'running' AND lease_owner = $2 "
     "RETURNING 1",
     5);
/* $1 job, $2 owner, $3 result (binary), $4 type, $5 retention ms,
 * $6 duration ms, $7 provider ms, $8 cold start, $9 provider, $10 model */
static sy_db_stmt sql_complete =
    SY_DB_STMT_DURABLE("jobq_complete",
     "UPDATE jobs SET status = 'done', version = version + 1, "
     "result = $3::bytea, result_type = $4, result_expires_at = "
     "clock_timestamp() + $5::bigint * interval '1 millisecond', "
     "completed_at = clock_timestamp(), duration_ms = $6::bigint, "
     "provider_duration_ms = $7::bigint, cold_start = $8::boolean, "
     "provider = $9, model = $10, error = NULL, lease_owner = NULL, "
     "lease_until = NULL WHERE id = $1::uuid AND status = 'running' "
     "AND lease_owner = $2 RETURNING tenant_id",
     10);
/* $1 job, $2 owner (NULL: a stalled job, whatever its owner), $3 error,
 * $4 delay ms, $5 permanent, $6 forget the provider's job */
#define JOBQ_FAIL_SET                                                     \
    "UPDATE jobs SET status = CASE WHEN $5::boolean OR attempts >= "      \
    "max_attempts THEN 'error' ELSE 'queued' END, version = version + 1, " \
    "error = $3, next_attempt_at = CASE WHEN $5::boolean OR attempts >= " \
    "max_attempts THEN NULL ELSE clock_timestamp() + $4::bigint * "       \
    "interval '1 millisecond' END, completed_at = CASE WHEN $5::boolean " \
    "OR attempts >= max_attempts THEN clock_timestamp() END, "            \
    "provider_job_id = CASE WHEN $6::boolean THEN NULL ELSE "             \
    "provider_job_id END, lease_owner = NULL, lease_until = NULL "
static sy_db_stmt sql_fail =
    SY_DB_STMT_DURABLE("jobq_fail",
     JOBQ_FAIL_SET "WHERE id = $1::uuid AND status = 'running' "
     "AND lease_owner = $2 RETURNING status",
     6);
static sy_db_stmt sql_fail_stalled =
    SY_DB_STMT_DURABLE("jobq_fail_stalled",
     JOBQ_FAIL_SET "WHERE id = $1::uuid AND status = 'running' "
     "AND lease_until < clock_timestamp() AND $2::text IS NULL "
     "RETURNING status",
     6);
static sy_db_stmt sql_release =
    SY_DB_STMT_DURABLE("jobq_release",
     "UPDATE jobs SET status = 'queued', version = version + 1, "
     "attempts = greatest(attempts - 1, 0), next_attempt_at = NULL, "
     "lease_owner = NULL, lease_until = NULL WHERE id = $1::uuid "
     "AND status = 'running' AND lease_owner = $2 RETURNING tenant_id",
     2);
static sy_db_stmt sql_inputs =
    SY_DB_STMT("jobq_inputs",
     "SELECT role, content_type, sha256, encode(data, 'hex') "
     "FROM job_inputs WHERE job_id = $1::uuid ORDER BY ord",
     1);
static sy_db_stmt sql_stalled =
    SY_DB_STMT("jobq_stalled",
     "SELECT id, tenant_id, attempts FROM jobs WHERE status = 'running' "
     "AND lease_until < clock_timestamp() ORDER BY lease_until "
     "LIMIT $1::integer",
     1);
static sy_db_stmt sql_due =
    SY_DB_STMT("jobq_due",
     "UPDATE jobs SET next_attempt_at = NULL WHERE id IN (SELECT id FROM "
     "jobs WHERE status = 'queued' AND next_attempt_at <= "
     "clock_timestamp() ORDER BY next_attempt_at LIMIT $1::integer "
     "FOR UPDATE SKIP LOCKED) RETURNING tenant_id, id",
     1);
/* tenant, queued due, running, queued waiting for their back-off */
static sy_db_stmt sql_depths =
    SY_DB_STMT("jobq_depths",
     "SELECT tenant_id, count(*) FILTER (WHERE status = 'queued' AND "
     "next_attempt_at IS NULL), count(*) FILTER (WHERE status = "
     "'running'), count(*) FILTER (WHERE status = 'queued' AND "
     "next_attempt_at IS NOT NULL) FROM jobs WHERE status IN "
     "('queued', 'running') GROUP BY tenant_id ORDER BY tenant_id",
     0);
static sy_db_stmt sql_queued_of =
    SY_DB_STMT("jobq_queued_of",
     "SELECT id FROM jobs WHERE tenant_id = $1::uuid AND status = "
     "'queued' AND next_attempt_at IS NULL ORDER BY created_at",
     1);
static sy_db_stmt sql_dead =
    SY_DB_STMT("jobq_dead",
     "SELECT json_build_object('id', id, 'tenant_id', tenant_id, "
     "'attempts', attempts, 'max_attempts', max_attempts, 'error', error, "
     "'provider', provider, 'completed_at', " SY_DB_RFC3339("completed_at")
     ")::text FROM jobs WHERE status = 'error' "
     "ORDER BY completed_at DESC, id LIMIT $1::integer",
     1);
static sy_db_stmt sql_requeue =
    SY_DB_STMT_DURABLE("jobq_requeue",
     "UPDATE jobs SET status = 'queued', version = version + 1, "
     "attempts = 0, error = NULL, completed_at = NULL, "
     "next_attempt_at = NULL, provider_job_id = NULL "
     "WHERE id = $1::uuid AND status = 'error' RETURNING tenant_id",
     1);

static void
ms_text(char *out, size_t n, int64_t ms)
{
    snprintf(out, n, "%lld", (long long)ms);
}

int
sy_jobq_claim(sy_arena *a, const char *id, const char *owner,
              int64_t lease_ms, int cap, sy_jobq_claimed *out, bool *busy)
{
    char lease[24], c[16];
    ms_text(lease, sizeof(lease), lease_ms);
    snprintf(c, sizeof(c), "%d", cap);
    const char *p[] = {id, owner, lease, c};
    struct pg_result *r;
    *busy = false;
    sy_db_call calls[2] = {{&sql_claim_lock, p, 1, NULL},
                           {&sql_claim, p, 4, NULL}};
    int rc = sy_db_exec_batch(a, calls, 2);
    if (rc < 0)
        return rc;
    r = calls[1].result;
    if (sy_db_rows(r) != 1) {
        const char *one;
        rc = sy_db_one_text(a, &sql_claimable, p, 1, &one);
        if (rc == 0)
            *busy = true;
        return rc == 0 || rc == SY_ENOTFOUND ? SY_ENOTFOUND : rc;
    }
    snprintf(out->tenant, sizeof(out->tenant), "%s", sy_db_cstr(r, 0, 0));
    out->attempts = (int)sy_db_i64(r, 0, 1);
    out->max_attempts = (int)sy_db_i64(r, 0, 2);
    out->provider = sy_db_cstr(r, 0, 3);
    out->model = sy_db_cstr(r, 0, 4);
    out->provider_job_id = sy_db_cstr(r, 0, 5);
    out->created_ms = sy_db_i64(r, 0, 6);
    return 0;
}

/* "{a,b,...}" of n ids (arena), or NULL. */
static const char *
uuid_array(sy_arena *a, const char *const *ids, int n)
{
    sy_buf b;
    sy_buf_init(&b, a, (size_t)n * 40 + 8);
    sy_buf_puts(&b, "{");
    for (int i = 0; i < n; i++)
        sy_buf_printf(&b, "%s%s", i ? "," : "", ids[i]);
    sy_buf_puts(&b, "}");
    return sy_buf_cstr(&b);
}

int
sy_jobq_heartbeat(sy_arena *a, const char *owner, const char *const *ids,
                  int n, int64_t lease_ms, int *kept)
{
    char lease[24];
    ms_text(lease, sizeof(lease), lease_ms);
    const char *arr = uuid_array(a, ids, n);
    if (!arr)
        return SY_ENOMEM;
    const char *p[] = {owner, arr, lease};
    struct pg_result *r;
    int rc = sy_db_exec(a, &sql_heartbeat, p, 3, &r);
    if (rc == 0)
        *kept = (int)sy_db_changed(r);
    return rc;
}

int
sy_jobq_set_provider(sy_arena *a, const char *id, const char *owner,
                     const char *provider, const char *model,
                     const char *provider_job_id)
{
    const char *p[] = {id, owner, provider, model, provider_job_id};
    struct pg_result *r;
    int rc = sy_db_exec(a, &sql_set_provider, p, 5, &r);
    /* GET /jobs/{id} shows the provider: a new version, and its
     * waiters told (the status is unchanged) */
    if (rc == 0 && sy_db_rows(r) > 0)
        sy_jobq_publish(a, id, "running");
    return rc;
}

int
sy_jobq_complete(sy_arena *a, const char *id, const char *owner,
                 const sy_jobq_done *d)
{
    char ret[24], dur[24], pdur[24];
    ms_text(ret, sizeof(ret), d->retention_ms);
    ms_text(dur, sizeof(dur), d->duration_ms);
    ms_text(pdur, sizeof(pdur), d->provider_duration_ms);
    const char *p[] = {id, owner, d->data.p, d->content_type, ret, dur,
                       pdur, d->cold_start ? "true" : "false", d->provider,
                       d->model};
    const int len[] = {-1, -1, (int)d->data.len, -1, -1, -1, -1, -1, -1, -1};
    struct pg_result *r;
    if (d->data.len > (size_t)1 << 30)
        return SY_EINVAL;
    int rc = sy_db_begin_durable();
    if (rc < 0)
        return rc;
    if ((rc = sy_db_send(&sql_complete, p, len, 10)) == 0)
        rc = sy_db_wait(a, &r);
    if (rc < 0) {
        sy_db_rollback();
        return rc;
    }
    bool held = sy_db_rows(r) == 1;
    if ((rc = sy_db_commit()) < 0)
        return rc;
    if (!held)
        return SY_ENOTFOUND;
    sy_jobq_publish(a, id, "done");
    return 0;
}

static const char *
fail_row(sy_arena *a, sy_db_stmt *stmt, const char *id, const char *owner,
         const char *error, int64_t delay_ms, bool permanent, bool forget,
         int *rc)
{
    char delay[24];
    ms_text(delay, sizeof(delay), delay_ms);
    const char *p[] = {id, owner, error, delay, permanent ? "true" : "false",
                       forget ? "true" : "false"};
    struct pg_result *r;
    if ((*rc = sy_db_exec_row(a, stmt, p, 6, &r)) < 0)
        return NULL;
    const char *s = static_status(sy_db_cstr(r, 0, 0));
    sy_jobq_publish(a, id, s);
    return s;
}

int
sy_jobq_fail(sy_arena *a, const char *id, const char *owner,
             const char *error, int64_t delay_ms, bool permanent,
             bool forget_provider, const char **status)
{
    int rc;
    *status = fail_row(a, &sql_fail, id, owner, error, delay_ms, permanent,
                       forget_provider, &rc);
    return rc;
}

int
sy_jobq_fail_stalled(sy_arena *a, const char *id, const char *error,
                     int64_t delay_ms, const char **status)
{
    int rc;
    *status = fail_row(a, &sql_fail_stalled, id, NULL, error, delay_ms,
                       false, false, &rc);
    return rc;
}

int
sy_jobq_release(sy_arena *a, const char *id, const char *owner)
{
    const char *p[] = {id, owner};
    struct pg_result *r;
    int rc = sy_db_exec_row(a, &sql_release, p, 2, &r);
    if (rc < 0)
        return rc;
    sy_jobq_publish(a, id, "queued");
    return sy_jobq_enqueue(a, sy_db_cstr(r, 0, 0), id);
}

static void
read_input(const struct pg_result *r, int row, void *elem)
{
    sy_jobq_input *in = elem;
    in->role = sy_db_cstr(r, row, 0);
    in->content_type = sy_db_cstr(r, row, 1);
    snprintf(in->sha256, sizeof(in->sha256), "%s", sy_db_cstr(r, row, 2));
    in->data = sy_db_str(r, row, 3); /* hex until decoded */
}

int
sy_jobq_inputs(sy_arena *a, const char *id, sy_jobq_input **out, int *n)
{
    const char *p[] = {id};
    int rc = sy_db_fetch_all(a, &sql_inputs, p, 1, sizeof(sy_jobq_input),
                             read_input, (void **)out, n);
    for (int i = 0; rc == 0 && i < *n; i++) {
        sy_jobq_input *in = &(*out)[i];
        size_t len = 0, cap = in->data.len / 2 + 1;
        unsigned char *b = sy_arena_alloc(a, cap);
        if (!b)
            return SY_ENOMEM;
        if (sy_unhex(b, cap, in->data.p, &len) < 0)
            return SY_EINTERNAL;
        in->data = (sy_str){(const char *)b, len};
    }
    return rc;
}

static void
read_stalled(const struct pg_result *r, int row, void *elem)
{
    sy_jobq_stalled *s = elem;
    snprintf(s->id, sizeof(s->id), "%s", sy_db_cstr(r, row, 0));
    snprintf(s->tenant, sizeof(s->tenant), "%s", sy_db_cstr(r, row, 1));
    s->attempts = (int)sy_db_i64(r, row, 2);
}

int
sy_jobq_stalled_list(sy_arena *a, int max, sy_jobq_stalled **out, int *n)
{
    char m[16];
    snprintf(m, sizeof(m), "%d", max);
    const char *p[] = {m};
    return sy_db_fetch_all(a, &sql_stalled, p, 1, sizeof(sy_jobq_stalled),
                           read_stalled, (void **)out, n);
}

int
sy_jobq_enqueue_due(sy_arena *a, int max, int *n)
{
    char m[16];
    snprintf(m, sizeof(m), "%d", max);
    const char *p[] = {m};
    struct pg_result *r;
    int rc = sy_db_exec(a, &sql_due, p, 1, &r);
    *n = 0;
    if (rc < 0)
        return rc;
    for (int i = 0; i < sy_db_rows(r); i++) {
        /* a lost XADD is found by sy_jobq_repair_streams */
        if (sy_jobq_enqueue(a, sy_db_cstr(r, i, 0), sy_db_cstr(r, i, 1)) ==
            0)
            (*n)++;
    }
    return 0;
}

static void
read_depth(const struct pg_result *r, int row, void *elem)
{
    sy_jobq_depth *d = elem;
    d->tenant = sy_db_cstr(r, row, 0);
    d->queued = sy_db_i64(r, row, 1);
    d->running = sy_db_i64(r, row, 2);
    d->delayed = sy_db_i64(r, row, 3);
}

int
sy_jobq_depths(sy_arena *a, sy_jobq_depth **out, int *n)
{
    return sy_db_fetch_all(a, &sql_depths, NULL, 0, sizeof(sy_jobq_depth),
                           read_depth, (void **)out, n);
}

int
sy_jobq_repair_streams(sy_arena *a, int *n)
{
    sy_jobq_depth *d;
    int nd;
    *n = 0;
    int rc = sy_jobq_depths(a, &d, &nd);
    for (int i = 0; rc == 0 && i < nd; i++) {
        char key[64];
        struct redisReply *r;
        if (d[i].queued == 0)
            continue;
        stream_key(key, sizeof(key), d[i].tenant);
        const char *argv[] = {"XLEN", key};
        if ((rc = sy_redis_argv(a, 2, argv, NULL, &r)) < 0)
            return rc;
        if (r->type == REDIS_REPLY_INTEGER &&
            r->integer >= d[i].queued + d[i].running)
            continue;
        const char *p[] = {d[i].tenant};
        sy_db_list ids;
        struct pg_result *q;
        if ((rc = sy_db_exec(a, &sql_queued_of, p, 1, &q)) < 0 ||
            (rc = sy_db_column(a, q, 0, &ids)) < 0)
            return rc;
        for (int k = 0; k < ids.n && rc == 0; k++)
            if ((rc = sy_jobq_enqueue(a, d[i].tenant, ids.v[k])) == 0)
                (*n)++;
    }
    return rc;
}

/* ----- Redis: streams and the group */

static int
make_group(sy_arena *a, const char *key)
{
    const char *argv[] = {"XGROUP", "CREATE", key, SY_JOBQ_GROUP, "0",
                          "MKSTREAM"};
    struct redisReply *r;
    int rc = sy_redis_argv(a, 6, argv, NULL, &r);
    if (rc < 0)
        return rc;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0)
        return SY_EREDIS;
    return 0;
}

int
sy_jobq_tenants(sy_arena *a, const char ***out, int *n)
{
    const char *argv[] = {"SMEMBERS", SY_JOBQ_TENANTS_KEY};
    struct redisReply *r;
    int rc = sy_redis_argv(a, 2, argv, NULL, &r);
    if (rc < 0)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY)
        return SY_EREDIS;
    const char **v = sy_arena_alloc(a, sizeof(char *) * (r->elements + 1));
    if (!v)
        return SY_ENOMEM;
    *n = 0;
    for (size_t i = 0; i < r->elements; i++) {
        char key[64];
        const char *t = r->element[i]->str;
        if (r->element[i]->type != REDIS_REPLY_STRING ||
            !sy_uuid_valid(t, strlen(t)))
            continue;
        stream_key(key, sizeof(key), t);
        if ((rc = make_group(a, key)) < 0)
            return rc;
        v[(*n)++] = t;
    }
    *out = v;
    return 0;
}

/* The first entry of an XREADGROUP / XAUTOCLAIM entry array. */
static int
first_entry(sy_arena *a, struct redisReply *arr, const char **entry,
            const char **job)
{
    if (!arr || arr->type != REDIS_REPLY_ARRAY || arr->elements == 0)
        return SY_ENOTFOUND;
    struct redisReply *e = arr->element[0];
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING)
        return SY_ENOTFOUND;
    struct redisReply *f = e->element[1];
    *entry = sy_arena_strndup(a, e->element[0]->str, e->element[0]->len);
    *job = "";
    if (f->type == REDIS_REPLY_ARRAY && f->elements == 2 &&
        f->element[1]->type == REDIS_REPLY_STRING)
        *job = sy_arena_strndup(a, f->element[1]->str, f->element[1]->len);
    return *entry && *job ? 0 : SY_ENOMEM;
}

int
sy_jobq_next(sy_arena *a, const char *tenant, const char *consumer,
             int64_t reclaim_ms, const char **entry, const char **job)
{
    char key[64];
    struct redisReply *r;
    stream_key(key, sizeof(key), tenant);
    const char *rd[] = {"XREADGROUP", "GROUP", SY_JOBQ_GROUP, consumer,
                        "COUNT", "1", "STREAMS", key, ">"};
    int rc = sy_redis_argv(a, 9, rd, NULL, &r);
    if (rc < 0)
        return rc;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOGROUP", 7) == 0) {
        /* Redis lost the stream (restarted empty): make it again */
        if ((rc = make_group(a, key)) < 0)
            return rc;
        return SY_ENOTFOUND;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY &&
        r->element[0]->elements == 2)
        if (first_entry(a, r->element[0]->element[1], entry, job) == 0)
            return 0;
    if (reclaim_ms <= 0)
        return SY_ENOTFOUND;
    char idle[24];
    ms_text(idle, sizeof(idle), reclaim_ms);
    const char *ac[] = {"XAUTOCLAIM", key, SY_JOBQ_GROUP, consumer, idle,
                        "0-0", "COUNT", "1"};
    if ((rc = sy_redis_argv(a, 8, ac, NULL, &r)) < 0)
        return rc;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2)
        return first_entry(a, r->element[1], entry, job);
    return SY_ENOTFOUND;
}

int
sy_jobq_ack(sy_arena *a, const char *tenant, const char *entry)
{
    char key[64];
    stream_key(key, sizeof(key), tenant);
    const char *ack[] = {"XACK", key, SY_JOBQ_GROUP, entry};
    const char *del[] = {"XDEL", key, entry};
    sy_redis_cmdv c[] = {{4, ack, NULL}, {3, del, NULL}};
    struct redisReply *r[2];
    return sy_redis_pipeline(a, 2, c, r);
}

int
sy_jobq_dead(sy_arena *a, int limit, const char ***json, int *n)
{
    char l[16];
    snprintf(l, sizeof(l), "%d", limit);
    const char *p[] = {l};
    struct pg_result *r;
    sy_db_list col;
    int rc = sy_db_exec(a, &sql_dead, p, 1, &r);
    if (rc == 0 && (rc = sy_db_column(a, r, 0, &col)) == 0) {
        *json = col.v;
        *n = col.n;
    }
    return rc;
}

int
sy_jobq_requeue(sy_arena *a, const char *id)
{
    const char *p[] = {id};
    struct pg_result *r;
    int rc = sy_db_exec_row(a, &sql_requeue, p, 1, &r);
    if (rc < 0)
        return rc;
    sy_jobq_publish(a, id, "queued");
    (void)sy_jobq_enqueue(a, sy_db_cstr(r, 0, 0), id);
    return 0;
}

/* $1 tenant or NULL, $2 hours */
static sy_db_stmt sql_generations =
    SY_DB_STMT("jobq_generations",
     "SELECT count(*) FILTER (WHERE status = 'queued'), "
     "count(*) FILTER (WHERE status = 'running'), "
     "count(*) FILTER (WHERE status = 'done'), "
     "count(*) FILTER (WHERE status = 'error'), "
     "count(*) FILTER (WHERE status = 'canceled'), "
     "coalesce(percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) "
     "FILTER (WHERE status = 'done'), -1), "
     "coalesce(percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) "
     "FILTER (WHERE status = 'done'), -1) FROM jobs "
     "WHERE ($1::uuid IS NULL OR tenant_id = $1::uuid) "
     "AND created_at >= clock_timestamp() - $2::integer * interval '1 hour'",
     2);

int
sy_jobq_generations_get(sy_arena *a, const char *tenant, int hours,
                        sy_jobq_generations *out)
{
    char h[16];
    snprintf(h, sizeof(h), "%d", hours);
    const char *p[] = {tenant, h};
    struct pg_result *r;
    int rc = sy_db_exec_row(a, &sql_generations, p, 2, &r);
    if (rc < 0)
        return rc;
    *out = (sy_jobq_generations){
        .queued = sy_db_i64(r, 0, 0), .running = sy_db_i64(r, 0, 1),
        .done = sy_db_i64(r, 0, 2), .error = sy_db_i64(r, 0, 3),
        .canceled = sy_db_i64(r, 0, 4), .p50_ms = sy_db_i64(r, 0, 5),
        .p95_ms = sy_db_i64(r, 0, 6)};
    return 0;
}

/* Every /metrics scrape runs this: only the open and dead-lettered
 * rows, through jobs_open_idx (status, created_at), never the done and
 * canceled ones that make up nearly the whole table. */
static sy_db_stmt sql_totals =
    SY_DB_STMT("jobq_totals",
     "SELECT count(*) FILTER (WHERE status = 'queued' AND next_attempt_at "
     "IS NULL), count(*) FILTER (WHERE status = 'queued' AND "
     "next_attempt_at IS NOT NULL), count(*) FILTER (WHERE status = "
     "'running'), count(*) FILTER (WHERE status = 'error'), "
     "coalesce(sum(greatest(attempts - 1, 0)), 0) FROM jobs "
     "WHERE status IN ('queued', 'running', 'error')",
     0);

int
sy_jobq_totals_get(sy_arena *a, sy_jobq_totals *out)
{
    struct pg_result *r;
    int rc = sy_db_exec_row(a, &sql_totals, NULL, 0, &r);
    if (rc < 0)
        return rc;
    *out = (sy_jobq_totals){
        .queued = sy_db_i64(r, 0, 0), .delayed = sy_db_i64(r, 0, 1),
        .running = sy_db_i64(r, 0, 2), .dead = sy_db_i64(r, 0, 3),
        .retries = sy_db_i64(r, 0, 4)};
    return 0;
}
