/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tryon.c - POST /tryon (accept a try-on job, with Idempotency-Key),
 * DELETE /jobs/{id} (cancel a queued one) and GET /jobs/{id}/result
 * (the finished image).  The rules are the domain's (tryon.h); GET
 * /jobs/{id} is jobs.c's.
 */
#include <stdio.h>

#include "synthia/admission.h"
#include "synthia/aicharge.h"
#include "synthia/authn.h"
#include "synthia/error.h"
#include "synthia/config.h"
#include "synthia/idemkey.h"
#include "synthia/metrics.h"
#include "synthia/routes.h"
#include "synthia/tryon.h"

static void render_queue(sy_buf *b);

__attribute__((constructor)) static void
register_collector(void)
{
    sy_metrics_collector(render_queue);
}

/* The queue's gauges at scrape time: two queries over the open and
 * dead-lettered jobs only (an index on status), whatever the number of
 * finished ones. */
static void
render_queue(sy_buf *b)
{
    sy_arena a;
    sy_tryon_queue q;
    if (!sy_conf)
        return;
    sy_arena_init(&a, 16384, 4 << 20);
    if (sy_tryon_queue_get(&a, &q) == 0) {
        sy_metrics_sample(b, "synthia_jobs_queue_depth", "gauge",
                          "Try-on jobs queued and due to run",
                          (uint64_t)q.t.queued);
        sy_metrics_sample(b, "synthia_jobs_backoff", "gauge",
                          "Try-on jobs queued, waiting for their back-off "
                          "after a failed attempt",
                          (uint64_t)q.t.delayed);
        sy_metrics_sample(b, "synthia_jobs_in_flight", "gauge",
                          "Try-on jobs running at a worker",
                          (uint64_t)q.t.running);
        sy_metrics_sample(b, "synthia_jobs_retries", "gauge",
                          "Attempts beyond the first of the try-on jobs "
                          "queued, running or dead-lettered (failed and "
                          "stalled attempts retried)",
                          (uint64_t)q.t.retries);
        sy_metrics_sample(b, "synthia_jobs_dead_lettered", "gauge",
                          "Try-on jobs whose every attempt failed (status "
                          "error; synthia jobs list-dead)",
                          (uint64_t)q.t.dead);
        sy_metrics_header(b, "synthia_jobs_waiting", "gauge",
                          "Try-on jobs queued (due or backing off) per "
                          "tenant with work");
        for (int i = 0; i < q.ntenants; i++) {
            sy_buf_puts(b, "synthia_jobs_waiting{tenant=");
            sy_metrics_label(b, q.tenants[i].tenant);
            sy_buf_printf(b, "} %lld\n",
                          (long long)(q.tenants[i].queued +
                                      q.tenants[i].delayed));
        }
    }
    sy_arena_cleanup(&a);
}

int
sy_route_tryon_create(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_tryon_in in;
    sy_idem_key key;
    const sy_idem_key *k = NULL;
    sy_idem_response out;
    sy_ai_charged charged = {0};
    sy_ai_caller who = sy_ai_caller_of(&req->who, &charged);
    bool replayed = false;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_tryon_read(req->json, &res->errs, &in);
    if (rc == 0 && (rc = sy_idem_key_from_req(req, res, &key)) == 0)
        k = &key;
    if (rc == SY_ENOTFOUND)
        rc = 0; /* no Idempotency-Key */
    if (rc == 0)
        rc = sy_tryon_submit(req->arena, tid, &req->who, &who, &in, k,
                             &res->errs, &out, &replayed);
    if (charged.done)
        sy_admission_ai_headers(res, &charged.d);
    return rc < 0 ? rc : sy_idem_respond(res, &out, replayed);
}

int
sy_route_jobs_cancel(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_jobq_owner owner = sy_tryon_owner(&req->who);
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_tryon_cancel(req->arena, tid, sy_req_path_id(req), &owner,
                             &res->errs);
    if (rc < 0)
        return rc;
    res->status = 204;
    return 0;
}

int
sy_route_jobs_result(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_jobq_owner owner = sy_tryon_owner(&req->who);
    sy_jobq_result r;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_tryon_result(req->arena, tid, sy_req_path_id(req), &owner,
                             &res->errs, &r);
    if (rc < 0 ||
        (rc = sy_res_bytes(res, 200, r.content_type, r.data.p, r.data.len)) <
            0 ||
        (rc = sy_res_headerc(res, "Cache-Control", "private, max-age=3600")) <
            0)
        return rc;
    char etag[68];
    snprintf(etag, sizeof(etag), "\"%s\"", r.sha256);
    return sy_res_etag(res, sy_str_c(etag));
}
