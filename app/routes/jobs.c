/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jobs.c (routes) - a try-on job's status: GET /jobs/{id}, with ETag and
 * If-None-Match, and ?wait=N, which parks the request (park.h) until the
 * job's version moves (a message on sy:job:<id>, published by whoever
 * changes the job after it commits) or N seconds pass.  The rules are
 * the domain's (jobs.h).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/authn.h"
#include "synthia/error.h"
#include "synthia/jobq.h"
#include "synthia/jobs.h"
#include "synthia/park.h"
#include "synthia/routes.h"
#include "synthia/tryon.h"

/* What a parked wait needs when it wakes (plain values: the request's
 * arena is gone by then). */
typedef struct job_wait {
    char tenant[SY_UUID_LEN + 1];
    char id[SY_UUID_LEN + 1];
    char owner[SY_UUID_LEN + 1]; /* "" : no user filter */
    bool keys_only;              /* made with API keys only */
    int64_t version;             /* as answered at park time */
} job_wait;

/* 200 with the job and its ETag, or 304 when If-None-Match names it. */
static int
render(sy_res *res, const sy_job *j)
{
    char etag[SY_JOBS_ETAG_MAX];
    sy_jobs_etag(j, etag);
    int rc = sy_res_etag(res, sy_str_c(etag));
    if (rc < 0)
        return rc; /* SY_ENOTMODIFIED: 304 is set */
    json_object *o = sy_jobs_view(j);
    return o ? sy_res_json(res, 200, o) : SY_ENOMEM;
}

/* The wake function: a message or a confirmed subscription that did not
 * move the version waits on; the timeout and a stopping responder
 * answer with the job as it is. */
static int
job_wake(sy_req *req, sy_res *res, void *state, int why)
{
    job_wait *w = state;
    sy_job j;
    sy_jobq_owner owner = {.user_id = w->owner[0] ? w->owner : NULL,
                           .keys_only = w->keys_only};
    int rc = sy_jobs_get(req->arena, w->tenant, w->id, &owner, &res->errs,
                         &j);
    bool may_wait = why == SY_WAKE_EVENT || why == SY_WAKE_READY;
    if (rc == SY_EDB && may_wait)
        return SY_PARK_AGAIN; /* the timeout answers, or a later event */
    if (rc < 0)
        return rc; /* erased meanwhile: 404 */
    if (may_wait && j.version == w->version && !sy_jobs_finished(&j))
        return SY_PARK_AGAIN;
    return render(res, &j);
}

int
sy_route_jobs_get(sy_req *req, sy_res *res)
{
    const char *tid;
    sy_str q;
    int wait = 0;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0)
        return rc;
    rc = sy_req_query(req, "wait", &q);
    if (rc == SY_EBADREQ ||
        (rc == 0 && sy_jobs_wait_parse(q, &res->errs, &wait) < 0)) {
        if (rc == SY_EBADREQ)
            sy_errs_field(&res->errs, "wait",
                          "must be an integer from 0 to 30 (seconds)");
        return SY_EVALIDATION;
    }
    sy_jobq_owner owner = sy_tryon_owner(&req->who);
    sy_job j;
    if ((rc = sy_jobs_get(req->arena, tid, req->params[0].p, &owner,
                          &res->errs, &j)) < 0)
        return rc;
    rc = render(res, &j);
    /* no wait for a final state, nor for a client that names a version
     * other than the current one (it has not seen this one yet) */
    if ((rc < 0 && rc != SY_ENOTMODIFIED) || wait == 0 ||
        sy_jobs_finished(&j) ||
        (sy_req_header(req, "If-None-Match").p && rc != SY_ENOTMODIFIED))
        return rc;
    /* the answer of now is rendered: park on the job's channel */
    char channel[SY_PUBSUB_CHANNEL_MAX];
    sy_jobq_channel(j.id, channel);
    job_wait *w = sy_res_park(res, channel, (int64_t)wait * 1000, job_wake,
                              sizeof(*w));
    if (w) {
        snprintf(w->tenant, sizeof(w->tenant), "%s", tid);
        snprintf(w->id, sizeof(w->id), "%s", j.id);
        snprintf(w->owner, sizeof(w->owner), "%s",
                 owner.user_id ? owner.user_id : "");
        w->keys_only = owner.keys_only;
        w->version = j.version;
    }
    return rc;
}
