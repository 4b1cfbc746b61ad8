/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tryon.c (domain) - accepting, canceling and reading try-on jobs
 * (tryon.h).
 *
 * Choices where API.md is silent:
 * - The input hash is SHA-256 over the person's and each garment's
 *   SHA-256 in request order (products first, then uploads) and the
 *   try-on chain as configured ([ai] tryon): a change of provider makes
 *   new jobs.  Only jobs whose result is still kept answer a repeat.
 * - The AI class is charged when a job is accepted, not when a repeat is
 *   answered from a finished job, nor on an Idempotency-Key replay.
 * - Only accepted jobs (202 and 200) are recorded for replays: a refused
 *   one may be retried with the same key.
 */
#include "synthia/tryon.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/aicharge.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/idemclaim.h"
#include "synthia/prodimages.h"
#include "synthia/uploads_db.h"

/* --------------------------------------------------------- reading */

/* A uuid string into out (lower-cased), or false. */
static bool
read_uuid(json_object *v, char out[SY_UUID_LEN + 1])
{
    if (!json_object_is_type(v, json_type_string))
        return false;
    const char *s = json_object_get_string(v);
    if (!sy_uuid_valid(s, (size_t)json_object_get_string_len(v)))
        return false;
    for (int k = 0; k <= SY_UUID_LEN; k++)
        out[k] = (char)(s[k] >= 'A' && s[k] <= 'F' ? s[k] - 'A' + 'a' : s[k]);
    return true;
}

/* An optional array of ids: the count in *n, or -1 (recorded). */
static void
read_ids(json_object *body, const char *field, sy_errs *e,
         char ids[][SY_UUID_LEN + 1], int *n)
{
    json_object *arr;
    *n = 0;
    if (!json_object_object_get_ex(body, field, &arr) || !arr)
        return;
    if (!json_object_is_type(arr, json_type_array) ||
        json_object_array_length(arr) > SY_AI_TRYON_MAX_GARMENTS) {
        sy_errs_field(e, field, "must be an array of at most 4 ids");
        *n = -1;
        return;
    }
    int len = (int)json_object_array_length(arr);
    for (int i = 0; i < len; i++) {
        if (!read_uuid(json_object_array_get_idx(arr, (size_t)i), ids[i])) {
            char f[64];
            snprintf(f, sizeof(f), "%s[%d]", field, i);
            sy_errs_field(e, f, "must be an id (a UUID)");
        }
    }
    *n = len;
}

int
sy_tryon_read(json_object *body, sy_errs *e, sy_tryon_in *out)
{
    json_object *v;
    memset(out, 0, sizeof(*out));
    if (!json_object_is_type(body, json_type_object))
        return sy_errs_field(e, "body", "must be a JSON object");
    if (!json_object_object_get_ex(body, "person_upload_id", &v) ||
        !read_uuid(v, out->person))
        sy_errs_field(e, "person_upload_id", "must be an upload id (a UUID)");
    read_ids(body, "garment_product_ids", e, out->products, &out->nproducts);
    read_ids(body, "garment_upload_ids", e, out->uploads, &out->nuploads);
    if (out->nproducts >= 0 && out->nuploads >= 0) {
        int n = out->nproducts + out->nuploads;
        if (n < 1 || n > SY_AI_TRYON_MAX_GARMENTS)
            sy_errs_field(e, "garment_product_ids",
                          "1 to 4 garments in all (garment_product_ids "
                          "and garment_upload_ids)");
    }
    return sy_errs_any(e) ? SY_EVALIDATION : 0;
}

sy_jobq_owner
sy_tryon_owner(const sy_principal *p)
{
    if (p->kind == SY_WHO_KEY)
        return (sy_jobq_owner){.user_id = NULL, .keys_only = true};
    if (p->role < SY_ROLE_STAFF)
        return (sy_jobq_owner){.user_id = p->user_id, .keys_only = false};
    return (sy_jobq_owner){.user_id = NULL, .keys_only = false};
}

/* ---------------------------------------------------------- inputs */

/* An upload of the tenant as a job input, or a field error. */
static int
upload_input(sy_arena *a, const char *tenant, const char *id,
             const char *role, const char *field, sy_errs *e,
             sy_jobq_input *out)
{
    sy_upload_row u;
    int rc = sy_uploads_db_get(a, tenant, id, &u);
    if (rc == SY_ENOTFOUND)
        return sy_errs_field(e, field, "no such upload (unknown or expired)");
    if (rc < 0)
        return rc;
    *out = (sy_jobq_input){.role = role, .content_type = u.content_type,
                           .data = u.data};
    memcpy(out->sha256, u.sha256, sizeof(out->sha256));
    return 0;
}

/* The stored image of a product garment (PUT /products/{id}/image, its
 * full size): an active product of the tenant without one, or an id
 * that is no such product, is refused with product_image_missing. */
static int
product_input(sy_arena *a, const char *tenant, const char *id, int i,
              sy_errs *e, sy_jobq_input *out)
{
    sy_prodimage img;
    int rc = sy_prodimages_get(a, tenant, id, SY_PRODIMAGES_FULL, false, e,
                               &img);
    if (rc == 0) {
        *out = (sy_jobq_input){.role = "garment",
                               .content_type = img.content_type,
                               .data = img.data};
        memcpy(out->sha256, img.sha256, sizeof(out->sha256));
        return 0;
    }
    if (rc != SY_ENOTFOUND)
        return rc;
    sy_buf d;
    sy_buf_init(&d, a, 128);
    sy_buf_printf(&d,
                  "garment_product_ids[%d] (%s) is not an active product "
                  "with a stored image (PUT /products/{id}/image).", i, id);
    const char *detail = sy_buf_cstr(&d);
    return sy_errs_fail(e, SY_EVALIDATION, "product_image_missing",
                        detail ? detail : "A product garment has no stored "
                                          "image to try on.");
}

/* Every input (person, product garments, upload garments) into in[]. */
static int
load_inputs(sy_arena *a, const char *tenant, const sy_tryon_in *q,
            sy_errs *e, sy_jobq_input *in, int *n)
{
    int rc = upload_input(a, tenant, q->person, "person",
                          "person_upload_id", e, &in[0]);
    *n = 1;
    for (int i = 0; rc == 0 && i < q->nproducts; i++)
        rc = product_input(a, tenant, q->products[i], i, e, &in[(*n)++]);
    for (int i = 0; rc == 0 && i < q->nuploads; i++) {
        char f[48];
        snprintf(f, sizeof(f), "garment_upload_ids[%d]", i);
        rc = upload_input(a, tenant, q->uploads[i], "garment", f, e,
                          &in[(*n)++]);
    }
    if (rc == 0 && sy_errs_any(e))
        return SY_EVALIDATION;
    return rc;
}

/* The input hash (see the top of the file). */
static void
input_hash(const sy_jobq_input *in, int n, char out[65])
{
    char buf[(SY_AI_TRYON_MAX_GARMENTS + 1) * 66 + 512];
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s:%s\n",
                                in[i].role, in[i].sha256);
    const char *chain =
        sy_conf && sy_conf->ai_lists[SY_AI_TRYON] ? sy_conf->ai_lists[SY_AI_TRYON]
                                                 : "";
    snprintf(buf + len, sizeof(buf) - len, "tryon=%.480s", chain);
    unsigned char h[SY_SHA256_LEN];
    sy_sha256(buf, strlen(buf), h);
    sy_hex(out, h, SY_SHA256_LEN);
}

/* The products as a uuid[] literal. */
static const char *
products_literal(sy_arena *a, const sy_tryon_in *q)
{
    sy_buf b;
    sy_buf_init(&b, a, 256);
    sy_buf_puts(&b, "{");
    for (int i = 0; i < q->nproducts; i++)
        sy_buf_printf(&b, "%s%s", i ? "," : "", q->products[i]);
    sy_buf_puts(&b, "}");
    return sy_buf_cstr(&b);
}

/* ---------------------------------------------------------- accepting */

/* 202 {job_id, status: queued} or 200 {job_id, status: done,
 * result_url} with the job's Location. */
static int
answer(sy_arena *a, const char *id, bool done, sy_idem_response *out)
{
    sy_buf body, loc;
    sy_buf_init(&body, a, 256);
    sy_buf_init(&loc, a, 64);
    if (done)
        sy_buf_printf(&body,
                      "{\"job_id\":\"%s\",\"status\":\"done\","
                      "\"result_url\":\"/api/v1/jobs/%s/result\"}",
                      id, id);
    else
        sy_buf_printf(&body, "{\"job_id\":\"%s\",\"status\":\"queued\"}",
                      id);
    sy_buf_printf(&loc, "/api/v1/jobs/%s", id);
    *out = (sy_idem_response){.status = done ? 200 : 202,
                              .content_type = SY_STR("application/json"),
                              .body = sy_buf_str(&body),
                              .nheaders = 1};
    out->headers[0] = (sy_idem_header){"Location", sy_buf_str(&loc)};
    return body.failed || loc.failed ? SY_ENOMEM : 0;
}

/* Inside the transaction: a finished twin, or charge and insert. */
static int
accept(sy_arena *a, const char *tenant, const sy_principal *p,
       const sy_ai_caller *who, const sy_tryon_in *q, sy_errs *e,
       sy_idem_response *out, const char **new_id)
{
    sy_jobq_input in[1 + SY_AI_TRYON_MAX_GARMENTS];
    sy_jobq_new j = {.tenant = tenant,
                     .user_id = p->user_id[0] ? p->user_id : NULL,
                     .key_id = p->key_id[0] ? p->key_id : NULL,
                     .max_attempts = sy_conf ? (int)sy_conf->jobs_max_attempts
                                             : 5};
    const char *twin;
    int n;
    int rc = load_inputs(a, tenant, q, e, in, &n);
    if (rc < 0)
        return rc;
    input_hash(in, n, j.input_hash);
    rc = sy_jobq_find_done(a, tenant, j.input_hash, SY_TRYON_DEDUPE_MS, &twin);
    if (rc == 0)
        return answer(a, twin, true, out);
    if (rc != SY_ENOTFOUND)
        return rc;
    if ((rc = sy_ai_charge(a, who, tenant, e)) < 0)
        return rc;
    if (!(j.product_ids = products_literal(a, q)))
        return SY_ENOMEM;
    if ((rc = sy_jobq_insert(a, &j, in, n, new_id)) < 0)
        return rc;
    return answer(a, *new_id, false, out);
}

int
sy_tryon_submit(sy_arena *a, const char *tenant, const sy_principal *p,
                const sy_ai_caller *who, const sy_tryon_in *q,
                const sy_idem_key *key, sy_errs *e, sy_idem_response *out,
                bool *replayed)
{
    const char *new_id = NULL;
    int state;
    if (p->kind == SY_WHO_USER && p->role == SY_ROLE_SYSADMIN)
        return sy_errs_fail(e, SY_EFORBIDDEN, "forbidden",
                            "Try-on jobs belong to a shop's users and "
                            "keys; sysadmins cannot submit them.");
    int rc = sy_db_begin_durable();
    if (rc < 0)
        return rc;
    rc = sy_idem_claim(a, key, e, &state, out);
    if (rc == 0 && state == SY_IDEM_NEW)
        rc = accept(a, tenant, p, who, q, e, out, &new_id);
    if (rc == 0 && state == SY_IDEM_NEW && key)
        rc = sy_idem_finish(a, key, out);
    if (rc < 0) {
        sy_db_rollback();
        return rc;
    }
    if ((rc = sy_db_commit()) < 0)
        return rc;
    *replayed = state == SY_IDEM_REPLAY;
    /* A lost XADD leaves the job queued in PostgreSQL: the worker's
     * sweep enqueues it. */
    if (new_id)
        (void)sy_jobq_enqueue(a, tenant, new_id);
    return 0;
}

/* ------------------------------------------------- cancel and result */

static int
no_such_job(sy_errs *e)
{
    return sy_errs_fail(e, SY_ENOTFOUND, "not_found", "No such job.");
}

int
sy_tryon_cancel(sy_arena *a, const char *tenant, const char *id,
                const sy_jobq_owner *owner, sy_errs *e)
{
    const char *status = NULL;
    if (!id || !sy_uuid_valid(id, strlen(id)))
        return no_such_job(e);
    int rc = sy_jobq_cancel(a, tenant, id, owner, &status);
    if (rc == SY_ENOTFOUND)
        return no_such_job(e);
    if (rc == SY_ECONFLICT) {
        sy_buf d;
        sy_buf_init(&d, a, 128);
        sy_buf_printf(&d, "The job is %s; only a queued job can be canceled.",
                      status);
        const char *detail = sy_buf_cstr(&d);
        return sy_errs_fail(e, SY_ECONFLICT, "conflict",
                            detail ? detail : "Only a queued job can be "
                                              "canceled.");
    }
    if (rc == 0)
        sy_jobq_publish(a, id, "canceled");
    return rc;
}

int
sy_tryon_result(sy_arena *a, const char *tenant, const char *id,
                const sy_jobq_owner *owner, sy_errs *e, sy_jobq_result *out)
{
    if (!id || !sy_uuid_valid(id, strlen(id)))
        return no_such_job(e);
    int rc = sy_jobq_result_get(a, tenant, id, owner, out);
    if (rc == SY_ENOTFOUND)
        return sy_errs_fail(e, SY_ENOTFOUND, "not_found",
                            "No result: no such job, not done yet, or "
                            "its result is past retention.");
    return rc;
}

/* --------------------------------------------------------- back-off */

int64_t
sy_tryon_backoff_ms(int attempts, int64_t base_ms, int64_t max_ms, double r)
{
    int64_t d = base_ms > 0 ? base_ms : 1;
    for (int i = 1; i < attempts && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    if (r < 0 || r >= 1)
        r = 0;
    return d / 2 + (int64_t)((double)(d - d / 2) * r);
}

int
sy_tryon_queue_get(sy_arena *a, sy_tryon_queue *out)
{
    memset(out, 0, sizeof(*out));
    int rc = sy_jobq_totals_get(a, &out->t);
    if (rc == 0)
        rc = sy_jobq_depths(a, &out->tenants, &out->ntenants);
    return rc;
}

int
sy_tryon_queue_json(sy_arena *a, struct json_object **out)
{
    sy_tryon_queue q;
    int rc = sy_tryon_queue_get(a, &q);
    if (rc < 0)
        return rc;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "depth", json_object_new_int64(q.t.queued));
    json_object_object_add(o, "backoff", json_object_new_int64(q.t.delayed));
    json_object_object_add(o, "in_flight",
                           json_object_new_int64(q.t.running));
    json_object_object_add(o, "retries", json_object_new_int64(q.t.retries));
    json_object_object_add(o, "dead", json_object_new_int64(q.t.dead));
    json_object_object_add(o, "tenants_waiting",
                           json_object_new_int64(q.ntenants));
    *out = o;
    return 0;
}
