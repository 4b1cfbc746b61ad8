/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * worker.c - the try-on job worker (worker.h).
 *
 * The loop, single-threaded: fill free slots, step the jobs that are
 * due, renew leases, sweep, then wait for the provider transfers (at
 * most until the next thing is due) and hand their answers on.  Every
 * provider request of every slot is a transfer of one curl multi
 * (ai_curl.h sy_ai_multi): a slot's job is a state machine (submit ->
 * poll every jobs.poll_interval -> fetch the image -> store), its
 * provider call a router call (provider.h sy_ai_call: fallback,
 * retries, breakers) that yields requests instead of making them, so a
 * slow provider holds its slot, never the loop.  The local compositor
 * runs in the loop (CPU) when a slot gets to it.
 *
 * Fairness.  Free slots are filled round robin over the tenants with a
 * stream (one entry per tenant per turn: XREADGROUP COUNT 1), and a
 * claim is refused while the tenant has jobs.tenant_concurrency jobs
 * running over all workers; so a tenant with 500 queued jobs takes at
 * most its cap, and another tenant's jobs start at the next free slot.
 *
 * A job's attempt.  Claim (queued and due -> running, attempts + 1, a
 * lease of jobs.lease), load its copied inputs, submit them to the
 * try-on chain (provider.h: fallback and circuit breaker; a chain that
 * ends with "local" falls back to the local compositor) and note the
 * provider's job id in the row, poll it every jobs.poll_interval, fetch
 * the image and complete: done only if this worker still holds the
 * lease (a job done is never done again).  A later attempt of a job
 * whose provider job is known polls that job instead of submitting
 * again, so a worker killed mid-job costs no second provider call.
 * Before each submit request the row notes where it goes (provider and
 * model, no id: the intent); a later attempt that finds an intent for
 * a provider that can be asked (Replicate) looks the job up there
 * first (find), a page at a time.  FAL cannot be asked: a kill between
 * its submit and the noting of the id leaves a job submitted twice.
 *
 * Failures.  A provider failure, an error at the provider or an
 * attempt past jobs.attempt_timeout is a failed attempt: queued again,
 * due after the back-off (sy_tryon_backoff_ms), or status error
 * (dead-lettered) after max_attempts; a provider's 4xx is permanent.
 * A stalled attempt (a lease that lapsed: its worker died or hung) is
 * failed the same way by whichever worker's sweep finds it first.
 *
 * The sweep (every jobs.sweep_interval): stalled jobs failed, jobs
 * whose back-off is over put on their streams, and a stream that holds
 * fewer entries than its tenant has jobs queued or running (Redis lost
 * it) refilled from the rows.  Entries of a dead worker are taken over
 * with XAUTOCLAIM after a lease's time.
 *
 * Stopping.  SIGTERM or SIGINT: no new job is taken; running ones may
 * finish for jobs.stop_grace, then the rest are released (queued again
 * at once, the attempt not counted, the provider's job kept to resume).
 */
#include "synthia/worker.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "synthia/ai_curl.h"
#include "synthia/arena.h"
#include "synthia/clock.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/compositor.h"
#include "synthia/error.h"
#include "synthia/jobq.h"
#include "synthia/log.h"
#include "synthia/provider.h"
#include "synthia/redis.h"
#include "synthia/tryon.h"


#define MAX_SLOTS 256
#define MAX_TENANTS 4096
#define POLL_FAILURES_MAX 5
#define JOB_ARENA_BUDGET ((size_t)256 << 20)

typedef struct slot {
    bool used;
    char id[SY_UUID_LEN + 1];
    char tenant[SY_UUID_LEN + 1];
    char entry[64];
    int attempts;
    sy_arena arena; /* the job's inputs and answers */
    sy_ai_image person;
    sy_ai_image garments[SY_AI_TRYON_MAX_GARMENTS];
    int ngarments;
    bool loaded;
    bool submitted;
    sy_ai_job pjob;
    int poll_failures;
    int64_t claimed_us, submitted_us, next_us;
    /* the provider call in progress (NULL: none) and its answers */
    sy_ai_call *call;
    int op;        /* OP_SUBMIT, OP_STATUS, OP_RESULT */
    bool inflight; /* its request is on the multi */
    sy_ai_http_res res;
    sy_ai_outcome oc;
    int pstatus;
    sy_str perr;
    sy_ai_image img;
    char intent[160]; /* provider:model of the submit intent noted */
    /* a lookup of an earlier attempt's lost submit (lookup true) */
    bool lookup;
    char since[32];
    const char *cursor, *next;
    int pages;
} slot;

enum { OP_SUBMIT = 1, OP_STATUS, OP_RESULT, OP_FIND };

#define FIND_PAGES_MAX 5

static volatile sig_atomic_t stop_requested;
static slot slots[MAX_SLOTS];
static char me[160];       /* this consumer: host:pid */
static int rr;             /* round-robin position over the tenants */
static char cold_seen[8][80]; /* providers this process has used */
static int ncold;
static sy_ai_multi *multi; /* every slot's provider transfers */

static void
on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static const sy_config *
conf(void)
{
    return sy_conf;
}

static int
nslots(void)
{
    int64_t n = conf()->jobs_concurrency;
    return n > MAX_SLOTS ? MAX_SLOTS : (int)n;
}

static int
used_slots(void)
{
    int n = 0;
    for (int i = 0; i < nslots(); i++)
        n += slots[i].used;
    return n;
}

static slot *
free_slot(void)
{
    for (int i = 0; i < nslots(); i++)
        if (!slots[i].used)
            return &slots[i];
    return NULL;
}

static int
running_of(const char *tenant)
{
    int n = 0;
    for (int i = 0; i < nslots(); i++)
        n += slots[i].used && strcmp(slots[i].tenant, tenant) == 0;
    return n;
}

static double
uniform(void)
{
    uint32_t r;
    sy_random_bytes(&r, sizeof(r));
    return (double)r / 4294967296.0;
}

/* First use of provider:model by this process (a cold start). */
static bool
cold(const char *provider, const char *model)
{
    char k[80];
    snprintf(k, sizeof(k), "%s:%s", provider, model);
    for (int i = 0; i < ncold; i++)
        if (strcmp(cold_seen[i], k) == 0)
            return false;
    if (ncold < 8)
        snprintf(cold_seen[ncold++], sizeof(cold_seen[0]), "%s", k);
    return true;
}

/* Stop the slot's provider call, if any (its request unanswered). */
static void
drop_call(slot *s)
{
    if (s->inflight)
        (void)sy_ai_multi_cancel(multi, s);
    s->inflight = false;
    if (s->call)
        sy_ai_call_abandon(s->call);
    s->call = NULL;
}

static void
release_slot(sy_arena *a, slot *s)
{
    drop_call(s);
    (void)sy_jobq_ack(a, s->tenant, s->entry);
    sy_arena_cleanup(&s->arena);
    memset(s, 0, sizeof(*s));
}

/* ---------------------------------------------------------- outcomes */

static void
fail_attempt(sy_arena *a, slot *s, const char *why, bool permanent,
             bool forget_provider)
{
    const char *status = "";
    int64_t delay = sy_tryon_backoff_ms(s->attempts,
                                        conf()->jobs_backoff_base_ms,
                                        conf()->jobs_backoff_max_ms,
                                        uniform());
    int rc = sy_jobq_fail(a, s->id, me, why, delay, permanent,
                          forget_provider, &status);
    sy_logline *l = sy_log_begin(SY_LOG_WARN, "job_failed");
    sy_log_cstr(l, "job", s->id);
    sy_log_cstr(l, "tenant", s->tenant);
    sy_log_int(l, "attempt", s->attempts);
    sy_log_cstr(l, "error", why);
    sy_log_cstr(l, "status", rc == 0 ? status : sy_strerror(rc));
    sy_log_int(l, "retry_in_ms", rc == 0 && strcmp(status, "queued") == 0
                                     ? delay
                                     : -1);
    sy_log_end(l);
    release_slot(a, s);
}

static void
complete(sy_arena *a, slot *s, const sy_ai_image *img, const char *provider,
         const char *model, int64_t provider_us)
{
    int64_t now = sy_mono_us();
    sy_jobq_done d = {
        .content_type = img->content_type,
        .data = {img->data, img->len},
        .retention_ms = conf()->jobs_result_retention_ms,
        .duration_ms = (now - s->claimed_us) / 1000,
        .provider_duration_ms = provider_us / 1000,
        .cold_start = cold(provider, model),
        .provider = provider,
        .model = model,
    };
    if (strcmp(img->content_type, "image/jpeg") != 0 &&
        strcmp(img->content_type, "image/png") != 0 &&
        strcmp(img->content_type, "image/webp") != 0) {
        fail_attempt(a, s, "the provider's result is not a JPEG, PNG or "
                           "WebP image", false, true);
        return;
    }
    int rc = sy_jobq_complete(a, s->id, me, &d);
    sy_logline *l = sy_log_begin(rc == 0 ? SY_LOG_INFO : SY_LOG_WARN,
                                 rc == 0 ? "job_done" : "job_lost");
    sy_log_cstr(l, "job", s->id);
    sy_log_cstr(l, "tenant", s->tenant);
    sy_log_cstr(l, "provider", provider);
    sy_log_int(l, "attempt", s->attempts);
    sy_log_int(l, "duration_ms", d.duration_ms);
    sy_log_int(l, "provider_duration_ms", d.provider_duration_ms);
    if (rc < 0)
        sy_log_cstr(l, "error", sy_strerror(rc));
    sy_log_end(l);
    if (rc == SY_EDB) {
        /* unknown whether it committed: keep the lease until it lapses;
         * a later attempt sees done, or runs again */
        s->next_us = sy_mono_us() + conf()->jobs_poll_interval_ms * 1000;
        return;
    }
    release_slot(a, s);
}

/* ------------------------------------------------------------ a job */

static bool
chain_ends_local(void)
{
    int n = conf()->ai_nchain[SY_AI_TRYON];
    return n > 0 && conf()->ai_chain[SY_AI_TRYON][n - 1].kind == SY_AI_LOCAL;
}

/* The local compositor (compositor.h).  A refusal of the inputs (not
 * images, over the limits, corrupt, a garment that is all background)
 * will not change on a retry: permanent; running out of memory or the
 * encoder failing may. */
static void
run_local(sy_arena *a, slot *s)
{
    sy_ai_image out;
    const char *why = NULL;
    int64_t t0 = sy_mono_us();
    int rc = sy_tryon_composite_why(&s->arena, &s->person, s->garments,
                                    s->ngarments, &out, &why);
    if (rc == 0) {
        complete(a, s, &out, "local", "compositor", sy_mono_us() - t0);
        return;
    }
    bool permanent = rc != SY_ENOMEM && rc != SY_EINTERNAL;
    fail_attempt(a, s, why ? why : "the local compositor failed", permanent,
                 true);
}

static int
load(slot *s)
{
    sy_jobq_input *in;
    int n;
    int rc = sy_jobq_inputs(&s->arena, s->id, &in, &n);
    if (rc < 0)
        return rc;
    if (n < 2 || n > 1 + SY_AI_TRYON_MAX_GARMENTS)
        return SY_EINVAL;
    s->person = (sy_ai_image){in[0].data.p, in[0].data.len,
                              in[0].content_type};
    s->ngarments = n - 1;
    for (int i = 1; i < n; i++)
        s->garments[i - 1] = (sy_ai_image){in[i].data.p, in[i].data.len,
                                           in[i].content_type};
    s->loaded = true;
    return 0;
}

static void advance(sy_arena *a, slot *s);

static void
submit(sy_arena *a, slot *s)
{
    sy_ai_opts o = {0};
    int rc = sy_ai_tryon_submit_start(&s->arena, &s->person, s->garments,
                                      s->ngarments, &o, &s->pjob, &s->oc,
                                      &s->call);
    if (rc < 0) {
        fail_attempt(a, s, "submit failed: out of memory", false, true);
        return;
    }
    s->op = OP_SUBMIT;
    advance(a, s);
}

static void
submit_done(sy_arena *a, slot *s, int rc)
{
    const sy_ai_outcome *oc = &s->oc;
    if (rc == SY_EPROVIDER && chain_ends_local() &&
        oc->err != SY_AI_ECLIENT) {
        run_local(a, s);
        return;
    }
    if (rc < 0) {
        char why[160];
        snprintf(why, sizeof(why), "submit failed: %s%s%s",
                 rc == SY_EPROVIDER ? sy_ai_err_name(oc->err)
                                    : sy_strerror(rc),
                 oc->provider && oc->provider[0] ? " at " : "",
                 oc->provider ? oc->provider : "");
        fail_attempt(a, s, why, rc == SY_EPROVIDER &&
                                    (oc->err == SY_AI_ECLIENT ||
                                     oc->err == SY_AI_ENOPROVIDER),
                     true);
        return;
    }
    s->submitted = true;
    s->submitted_us = sy_mono_us();
    s->next_us = s->submitted_us + conf()->jobs_poll_interval_ms * 1000;
    (void)sy_jobq_set_provider(a, s->id, me, s->pjob.provider,
                               s->pjob.model, s->pjob.id);
}

static void
poll_job(sy_arena *a, slot *s)
{
    sy_ai_opts o = {0};
    s->perr = SY_STR("");
    int rc = sy_ai_tryon_status_start(&s->arena, &s->pjob, &o, &s->pstatus,
                                      &s->perr, &s->oc, &s->call);
    if (rc < 0) {
        /* the stored provider job cannot be asked about */
        fail_attempt(a, s, "the provider does not know the job", false,
                     true);
        return;
    }
    s->op = OP_STATUS;
    advance(a, s);
}

static void
status_done(sy_arena *a, slot *s, int rc)
{
    const sy_ai_outcome *oc = &s->oc;
    if (rc < 0) {
        bool gone = rc == SY_EINVAL ||
                    (rc == SY_EPROVIDER && oc->err == SY_AI_ECLIENT);
        if (gone || ++s->poll_failures >= POLL_FAILURES_MAX) {
            fail_attempt(a, s, gone ? "the provider does not know the job"
                                    : "the provider's status failed",
                         false, gone);
            return;
        }
        s->next_us = sy_mono_us() + conf()->jobs_poll_interval_ms * 1000;
        return;
    }
    s->poll_failures = 0;
    int status = s->pstatus;
    if (status == SY_AI_JOB_QUEUED || status == SY_AI_JOB_RUNNING) {
        s->next_us = sy_mono_us() + conf()->jobs_poll_interval_ms * 1000;
        return;
    }
    if (status != SY_AI_JOB_DONE) {
        char why[200];
        sy_str err = s->perr;
        snprintf(why, sizeof(why), "the provider's job %s: %.*s",
                 sy_ai_job_status_name(status),
                 (int)(err.len > 120 ? 120 : err.len), err.p ? err.p : "");
        fail_attempt(a, s, why, false, true);
        return;
    }
    sy_ai_opts o = {0};
    rc = sy_ai_tryon_result_start(&s->arena, &s->pjob, &o, &s->img, &s->oc,
                                  &s->call);
    if (rc < 0) {
        fail_attempt(a, s, "fetching the result failed", false, false);
        return;
    }
    s->op = OP_RESULT;
    advance(a, s);
}

static void
result_done(sy_arena *a, slot *s, int rc)
{
    if (rc < 0) {
        fail_attempt(a, s, "fetching the result failed", false,
                     rc == SY_EPROVIDER && s->oc.err == SY_AI_ECLIENT);
        return;
    }
    complete(a, s, &s->img, s->pjob.provider, s->pjob.model,
             sy_mono_us() - s->submitted_us);
}

/* An earlier attempt noted a submit to a provider that can be asked
 * (sy_ai_tryon_findable) but no job id: it may have been accepted.
 * Look for it, a page at a time, before submitting again. */
static void
find(sy_arena *a, slot *s)
{
    sy_ai_opts o = {0};
    int rc = sy_ai_tryon_find_start(&s->arena, &s->pjob, &s->person,
                                    s->garments, s->ngarments, s->since,
                                    s->cursor, &s->next, &o, &s->oc,
                                    &s->call);
    if (rc < 0) {
        s->lookup = false;
        submit(a, s);
        return;
    }
    s->op = OP_FIND;
    advance(a, s);
}

static void
find_done(sy_arena *a, slot *s, int rc)
{
    if (rc < 0 && !(rc == SY_EPROVIDER && s->oc.err == SY_AI_ECLIENT)) {
        /* not known whether it has the job: ask again after a back-off
         * rather than risk a second submit */
        fail_attempt(a, s, "looking up the provider's job failed", false,
                     false);
        return;
    }
    if (rc == 0 && s->pjob.id[0]) {
        s->lookup = false;
        s->submitted = true;
        s->submitted_us = sy_mono_us();
        s->next_us = s->submitted_us;
        (void)sy_jobq_set_provider(a, s->id, me, s->pjob.provider,
                                   s->pjob.model, s->pjob.id);
        sy_logline *l = sy_log_begin(SY_LOG_INFO, "job_found");
        sy_log_cstr(l, "job", s->id);
        sy_log_cstr(l, "provider", s->pjob.provider);
        sy_log_int(l, "pages", s->pages + 1);
        sy_log_end(l);
        return;
    }
    if (rc == 0 && s->next && ++s->pages < FIND_PAGES_MAX) {
        s->cursor = s->next;
        s->next_us = sy_mono_us();
        return;
    }
    /* not there (or the provider refuses the listing): submit */
    s->lookup = false;
    submit(a, s);
}

/* Before a submit's request leaves: note where it goes, so that a
 * worker that dies before noting the job's id leaves a trace to look
 * the job up by (find). */
static void
note_intent(sy_arena *a, slot *s)
{
    char k[sizeof(s->intent)];
    snprintf(k, sizeof(k), "%s:%s", s->oc.provider, s->oc.model);
    if (strcmp(k, s->intent) == 0)
        return;
    if (sy_jobq_set_provider(a, s->id, me, s->oc.provider, s->oc.model,
                             NULL) == 0)
        snprintf(s->intent, sizeof(s->intent), "%s", k);
}

/* Move the slot's provider call on as far as it goes without waiting:
 * its next request onto the multi, a retry's back-off as the slot's
 * next time, or its end handed to the op's next step. */
static void
advance(sy_arena *a, slot *s)
{
    for (;;) {
        const sy_ai_http_req *req = NULL;
        int64_t wake = 0;
        int st = sy_ai_call_next(s->call, &req, &wake);
        if (st == SY_AI_STEP_HTTP) {
            if (s->op == OP_SUBMIT)
                note_intent(a, s);
            if (sy_ai_multi_add(multi, &s->arena, req, &s->res, s) == 0) {
                s->inflight = true;
                return;
            }
            /* not started (out of memory): a failed connection */
            memset(&s->res, 0, sizeof(s->res));
            s->res.err = SY_AI_ECONNECT;
            s->res.retry_after_ms = -1;
            s->res.body = SY_STR("");
            s->res.content_type = SY_STR("");
            snprintf(s->res.detail, sizeof(s->res.detail),
                     "the transfer could not start");
            sy_ai_call_answer(s->call, &s->res);
            continue;
        }
        if (st == SY_AI_STEP_WAIT) {
            s->next_us = wake;
            return;
        }
        int rc = sy_ai_call_rc(s->call);
        int op = s->op;
        if (op == OP_SUBMIT && rc == 0)
            sy_ai_tryon_submitted(s->call, &s->pjob);
        s->call = NULL;
        s->op = 0;
        if (op == OP_SUBMIT)
            submit_done(a, s, rc);
        else if (op == OP_FIND)
            find_done(a, s, rc);
        else if (op == OP_STATUS)
            status_done(a, s, rc);
        else
            result_done(a, s, rc);
        return;
    }
}

/* A transfer of the slot's call ended: its answer to the call. */
static void
answered(sy_arena *a, slot *s)
{
    if (!s->used || !s->inflight || !s->call)
        return;
    s->inflight = false;
    sy_ai_call_answer(s->call, &s->res);
    advance(a, s);
}

static void
nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool
timed_out(const slot *s)
{
    return sy_mono_us() - s->claimed_us >
           conf()->jobs_attempt_timeout_ms * 1000;
}

static void
step(sy_arena *a, slot *s)
{
    if (timed_out(s)) {
        fail_attempt(a, s, "the attempt timed out", false, true);
        return;
    }
    if (s->call) { /* a retry's back-off is over */
        advance(a, s);
        return;
    }
    if (!s->loaded) {
        int rc = load(s);
        if (rc < 0) {
            fail_attempt(a, s, "its inputs could not be read", rc != SY_EDB,
                         false);
            return;
        }
    }
    if (s->lookup)
        find(a, s);
    else if (s->submitted)
        poll_job(a, s);
    else if (conf()->ai_nchain[SY_AI_TRYON] == 1 && chain_ends_local())
        run_local(a, s);
    else
        submit(a, s);
}

/* ---------------------------------------------------------- claiming */

/* One entry of tenant t into a free slot.  1 claimed, 0 nothing (or
 * the tenant is busy), <0 error. */
static int
take(sy_arena *a, const char *t)
{
    const char *entry, *job;
    sy_jobq_claimed c;
    bool busy;
    int rc = sy_jobq_next(a, t, me, conf()->jobs_lease_ms, &entry, &job);
    if (rc == SY_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    if (!sy_uuid_valid(job, strlen(job))) {
        (void)sy_jobq_ack(a, t, entry);
        return 0;
    }
    rc = sy_jobq_claim(a, job, me, conf()->jobs_lease_ms,
                       (int)conf()->jobs_tenant_concurrency, &c, &busy);
    if (rc == SY_ENOTFOUND) {
        /* done, canceled, running elsewhere, backing off: the row says
         * what happens next; busy: at the tenant's cap, so to the back
         * of its stream */
        if (busy)
            (void)sy_jobq_enqueue(a, t, job);
        (void)sy_jobq_ack(a, t, entry);
        return busy ? -1000 : 0;
    }
    slot *s = free_slot();
    if (rc < 0 || !s) /* fill only takes with a free slot */
        return rc < 0 ? rc : SY_EINTERNAL;
    memset(s, 0, sizeof(*s));
    s->used = true;
    snprintf(s->id, sizeof(s->id), "%s", job);
    snprintf(s->tenant, sizeof(s->tenant), "%s", c.tenant);
    snprintf(s->entry, sizeof(s->entry), "%s", entry);
    s->attempts = c.attempts;
    s->claimed_us = sy_mono_us();
    sy_arena_init(&s->arena, 1 << 16, JOB_ARENA_BUDGET);
    if (c.provider_job_id && c.provider && c.model &&
        strlen(c.provider_job_id) < sizeof(s->pjob.id)) {
        /* an earlier attempt submitted it: resume */
        snprintf(s->pjob.provider, sizeof(s->pjob.provider), "%s",
                 c.provider);
        snprintf(s->pjob.model, sizeof(s->pjob.model), "%s", c.model);
        snprintf(s->pjob.id, sizeof(s->pjob.id), "%s", c.provider_job_id);
        s->submitted = true;
        s->submitted_us = s->claimed_us;
    } else if (c.provider && c.model && !c.provider_job_id &&
               sy_ai_tryon_findable(c.provider) &&
               strlen(c.model) < sizeof(s->pjob.model)) {
        /* an earlier attempt started a submit there: look first */
        snprintf(s->pjob.provider, sizeof(s->pjob.provider), "%s",
                 c.provider);
        snprintf(s->pjob.model, sizeof(s->pjob.model), "%s", c.model);
        time_t since = (time_t)(c.created_ms / 1000) - 60; /* clock skew */
        struct tm tm;
        gmtime_r(&since, &tm);
        strftime(s->since, sizeof(s->since), "%Y-%m-%dT%H:%M:%S", &tm);
        s->lookup = true;
    }
    sy_jobq_publish(a, job, "running");
    sy_logline *l = sy_log_begin(SY_LOG_INFO, "job_claimed");
    sy_log_cstr(l, "job", job);
    sy_log_cstr(l, "tenant", c.tenant);
    sy_log_int(l, "attempt", c.attempts);
    sy_log_int(l, "resumed", s->submitted);
    sy_log_int(l, "lookup", s->lookup);
    sy_log_end(l);
    return 1;
}

/* Fill free slots round robin over the tenants. */
static void
fill(sy_arena *a, const char **tenants, int nt)
{
    bool progress = true;
    while (progress && !stop_requested && free_slot() && nt > 0) {
        progress = false;
        for (int k = 0; k < nt && free_slot() && !stop_requested; k++) {
            const char *t = tenants[(rr + k) % nt];
            if (running_of(t) >= conf()->jobs_tenant_concurrency)
                continue;
            int rc = take(a, t);
            if (rc == 1)
                progress = true;
            else if (rc < 0 && rc != -1000)
                return; /* Redis or PostgreSQL away: try again later */
        }
        rr = (rr + 1) % nt;
    }
}

/* ------------------------------------------------------------- sweep */

static void
sweep(sy_arena *a)
{
    sy_jobq_stalled *st;
    int n = 0, due = 0, repaired = 0;
    if (sy_jobq_stalled_list(a, 100, &st, &n) == 0) {
        for (int i = 0; i < n; i++) {
            const char *status;
            int64_t delay = sy_tryon_backoff_ms(
                st[i].attempts, conf()->jobs_backoff_base_ms,
                conf()->jobs_backoff_max_ms, uniform());
            if (sy_jobq_fail_stalled(a, st[i].id, "stalled: the worker's "
                                     "lease lapsed", delay, &status) == 0)
                sy_log(SY_LOG_WARN, "job_stalled", "job %s attempt %d: %s",
                       st[i].id, st[i].attempts, status);
        }
    }
    (void)sy_jobq_enqueue_due(a, 500, &due);
    (void)sy_jobq_repair_streams(a, &repaired);
    if (repaired)
        sy_log(SY_LOG_WARN, "jobs_requeued",
               "%d queued jobs put back on streams that lost them",
               repaired);
}

static void
heartbeat(sy_arena *a)
{
    const char *ids[MAX_SLOTS];
    int n = 0, kept = 0;
    for (int i = 0; i < nslots(); i++)
        if (slots[i].used)
            ids[n++] = slots[i].id;
    if (n)
        (void)sy_jobq_heartbeat(a, me, ids, n, conf()->jobs_lease_ms, &kept);
}

/* Give every running job back (the stop grace is over). */
static void
release_all(sy_arena *a)
{
    for (int i = 0; i < nslots(); i++) {
        slot *s = &slots[i];
        if (!s->used)
            continue;
        int rc = sy_jobq_release(a, s->id, me);
        sy_log(SY_LOG_INFO, "job_released", "job %s back to the queue: %s",
               s->id, rc == 0 ? "ok" : sy_strerror(rc));
        release_slot(a, s);
    }
}

/* Milliseconds the loop may wait for transfers before it has
 * something else to do: a slot due, a heartbeat, a sweep; at most 20 ms
 * while a slot is free (new work is looked for that often), 100 ms
 * otherwise (a stop request is seen that soon). */
static int
wait_ms(int64_t until)
{
    int64_t cap = free_slot() ? 20000 : 100000;
    int64_t now = sy_mono_us();
    for (int i = 0; i < nslots(); i++)
        if (slots[i].used && !slots[i].inflight && slots[i].next_us < until)
            until = slots[i].next_us;
    int64_t us = until - now;
    if (us > cap)
        us = cap;
    return us <= 0 ? 0 : (int)((us + 999) / 1000);
}

/* Wait for the transfers (at most ms) and hand their answers to their
 * calls. */
static void
transfers(sy_arena *a, int ms)
{
    void *done[MAX_SLOTS];
    int n = 0;
    if (sy_ai_multi_wait(multi, ms, done, MAX_SLOTS, &n) < 0) {
        nap_ms(ms);
        return;
    }
    for (int i = 0; i < n; i++) {
        answered(a, done[i]);
        sy_arena_reset(a);
    }
}

/* Attempts past jobs.attempt_timeout, their transfers stopped. */
static void
expire(sy_arena *a)
{
    for (int i = 0; i < nslots(); i++) {
        if (slots[i].used && timed_out(&slots[i])) {
            fail_attempt(a, &slots[i], "the attempt timed out", false, true);
            sy_arena_reset(a);
        }
    }
}

int
sy_worker_run(void)
{
    char host[128];
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "host");
    host[sizeof(host) - 1] = 0;
    snprintf(me, sizeof(me), "%s:%ld", host, (long)getpid());
    sy_log_set_proc("worker");

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    multi = sy_ai_multi_new(nslots() > 0 ? nslots() : 1);
    if (!multi) {
        sy_log(SY_LOG_ERROR, "worker_start", "libcurl's multi interface "
               "could not start");
        return SY_EINTERNAL;
    }
    sy_arena a;
    sy_arena_init(&a, 1 << 16, 0);
    const char **tenants = NULL;
    int nt = 0;
    int64_t next_tenants = 0, next_sweep = 0, next_beat = 0, stop_by = 0;
    sy_log(SY_LOG_INFO, "worker_start", "consumer %s, %d slots", me,
           nslots());
    for (;;) {
        int64_t now = sy_mono_us();
        bool busy = false;
        sy_arena_reset(&a);
        if (stop_requested && !stop_by) {
            stop_by = now + conf()->jobs_stop_grace_ms * 1000;
            sy_log(SY_LOG_INFO, "worker_stopping",
                   "%d jobs in flight", used_slots());
        }
        if (stop_requested && (used_slots() == 0 || now >= stop_by)) {
            release_all(&a);
            break;
        }
        if (now >= next_tenants && !stop_requested) {
            const char **t;
            int n;
            static sy_arena tarena;
            static bool tinit;
            if (!tinit) {
                sy_arena_init(&tarena, 1 << 16, 0);
                tinit = true;
            }
            sy_arena_reset(&tarena);
            if (sy_jobq_tenants(&tarena, &t, &n) == 0) {
                tenants = t;
                nt = n > MAX_TENANTS ? MAX_TENANTS : n;
            } else {
                tenants = NULL;
                nt = 0;
            }
            next_tenants = now + 1000000;
        }
        if (now >= next_sweep && !stop_requested) {
            sweep(&a);
            next_sweep = now + conf()->jobs_sweep_interval_ms * 1000;
        }
        if (now >= next_beat) {
            heartbeat(&a);
            next_beat = now + conf()->jobs_lease_ms * 1000 / 3;
        }
        expire(&a);
        int before = used_slots();
        fill(&a, tenants, nt);
        busy = used_slots() != before;
        for (int i = 0; i < nslots(); i++) {
            if (slots[i].used && !slots[i].inflight &&
                slots[i].next_us <= sy_mono_us()) {
                step(&a, &slots[i]);
                busy = true;
                sy_arena_reset(&a);
            }
        }
        int64_t until = next_beat < next_sweep ? next_beat : next_sweep;
        transfers(&a, busy ? 0 : wait_ms(until));
    }
    sy_arena_cleanup(&a);
    sy_ai_multi_free(multi);
    multi = NULL;
    sy_log(SY_LOG_INFO, "worker_stop", "consumer %s stopped", me);
    return 0;
}
