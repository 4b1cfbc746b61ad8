/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * admission.c - authentication, authorisation and the one Redis
 * pipeline of a keyed request (admission.h).
 *
 * A key served from the responder's memory is confirmed against Redis on
 * the way (in the pipeline, or alone when the route has no limit, or
 * before refusing it); if its record changed, the request is admitted
 * once more, from the shared cache or PostgreSQL.  The rate limit is
 * spent from the responder's lease of tokens (ratelimit.h) when it has
 * one, with no Redis command; a new lease joins the pipeline.  The rate-limit
 * headers are the draft-03 trio plus the draft-08+ RateLimit-Policy and
 * RateLimit fields; a limiter deciding without Redis sets
 * RateLimit-Degraded: 1.
 */
#include "synthia/admission.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "synthia/apikey.h"
#include "synthia/authn.h"
#include "synthia/cache.h"
#include "synthia/config.h"
#include "synthia/error.h"
#include "synthia/inval.h"
#include "synthia/problem.h"
#include "synthia/ratelimit.h"
#include "synthia/redis.h"
#include "synthia/router.h"

#define WINDOW_S 60
#define PIECES 3

/* The key id of an API key's requests, NULL for a user's. */
static const char *
principal_key(const sy_principal *w)
{
    return w->kind == SY_WHO_KEY ? w->key_id : NULL;
}

/* ------------------------------------------------------------- headers */

static void
header_i64(sy_res *res, const char *name, int64_t v)
{
    char s[24];
    int n = snprintf(s, sizeof(s), "%lld", (long long)v);
    sy_res_header(res, name, (sy_str){s, (size_t)n});
}

/* Add item to the list field name (one field line, items joined by
 * ", " as a structured-field List). */
static void
add_item(sy_res *res, const char *name, const char *item, int n, size_t cap)
{
    if (n <= 0 || (size_t)n >= cap)
        return;
    sy_str old = sy_res_get_header(res, name);
    if (!old.p) {
        sy_res_header(res, name, (sy_str){item, (size_t)n});
        return;
    }
    char *v = sy_arena_alloc(res->arena, old.len + 2 + (size_t)n);
    if (!v)
        return;
    memcpy(v, old.p, old.len);
    memcpy(v + old.len, ", ", 2);
    memcpy(v + old.len + 2, item, (size_t)n);
    sy_res_header_set(res, name, (sy_str){v, old.len + 2 + (size_t)n});
}

/* The draft-08+ RateLimit-Policy and RateLimit items of one window. */
static void
add_items(sy_res *res, const char *name, const sy_rl_decision *d)
{
    char s[96];
    int n = snprintf(s, sizeof(s), "\"%s\";q=%lld;w=%d", name,
                     (long long)d->limit, WINDOW_S);
    add_item(res, "RateLimit-Policy", s, n, sizeof(s));
    n = snprintf(s, sizeof(s), "\"%s\";r=%lld;t=%lld", name,
                 (long long)d->remaining, (long long)d->reset_s);
    add_item(res, "RateLimit", s, n, sizeof(s));
}

/* The draft-03 trio: the window closest to refusing. */
static void
set_trio(sy_res *res, const sy_rl_decision *d)
{
    char s[24];
    snprintf(s, sizeof(s), "%lld", (long long)d->limit);
    sy_res_header_set(res, "RateLimit-Limit", sy_str_c(s));
    snprintf(s, sizeof(s), "%lld", (long long)d->remaining);
    sy_res_header_set(res, "RateLimit-Remaining", sy_str_c(s));
    snprintf(s, sizeof(s), "%lld", (long long)d->reset_s);
    sy_res_header_set(res, "RateLimit-Reset", sy_str_c(s));
}

static void
set_headers(sy_res *res, int cls, const sy_rl_decision *d)
{
    set_trio(res, d);
    add_items(res, sy_ratelimit_class_name(cls), d);
}

static int
refuse(sy_res *res, const sy_rl_decision *d)
{
    char detail[128];
    header_i64(res, "Retry-After", d->reset_s);
    if (d->limit == 0)
        snprintf(detail, sizeof(detail),
                 "Your plan allows no requests of this kind.");
    else
        snprintf(detail, sizeof(detail),
                 "Rate limit of %lld requests per minute reached; retry in "
                 "%lld s.",
                 (long long)d->limit, (long long)d->reset_s);
    return sy_problem(res, 429, "rate_limited", detail);
}

static int
decided(sy_res *res, int cls, const sy_rl_decision *d)
{
    sy_ratelimit_count(cls, d->allowed);
    set_headers(res, cls, d);
    return d->allowed ? 0 : refuse(res, d);
}

/* The window that refused, else the one with the least room left (an
 * open policy's unknown remaining is -1). */
static const sy_rl_decision *
ai_binding(const sy_rl_ai *d)
{
    if (!d->per_caller || !d->caller.allowed)
        return d->caller.allowed ? &d->tenant : &d->caller;
    if (!d->tenant.allowed)
        return &d->tenant;
    return d->tenant.remaining < d->caller.remaining ? &d->tenant
                                                     : &d->caller;
}

int
sy_admission_ai_headers(sy_res *res, const sy_rl_ai *d)
{
    const sy_rl_decision *b = ai_binding(d);
    if (d->degraded)
        sy_res_header_set(res, "RateLimit-Degraded", sy_str_c("1"));
    if (d->degraded && b->remaining < 0)
        return 0; /* on_redis_down = open: nothing was counted */
    set_trio(res, b);
    if (d->per_caller)
        add_items(res, "ai", &d->caller);
    add_items(res, "ai_tenant", &d->tenant);
    return 0;
}

/* The ai class of a route declared so: the same charge as
 * sy_ai_charge's (the caller's window and the tenant's budget). */
static int
charge_ai(sy_req *req, sy_res *res)
{
    const sy_principal *w = &req->who;
    sy_rl_plan plan;
    sy_rl_ai d;
    char subject[SY_RL_SUBJECT_MAX];
    int rc = sy_ratelimit_plan(req->arena, w->tenant_id, &plan);
    if (rc < 0)
        return rc == SY_ENOTFOUND ? 0 : rc;
    sy_ratelimit_subject(principal_key(w), w->user_id, subject);
    rc = sy_ratelimit_ai(req->arena, w->tenant_id, subject,
                         w->limits[SY_RATE_AI], plan.tenant_ai, &d);
    if (rc == SY_EREDIS) {
        header_i64(res, "Retry-After", 1);
        return sy_problem(res, 503, "storage_unavailable",
                          "Rate limits cannot be checked right now; retry "
                          "shortly.");
    }
    sy_admission_ai_headers(res, &d);
    return d.allowed ? 0 : refuse(res, ai_binding(&d));
}

/* Redis is away: ratelimit.on_redis_down decides. */
static int
degraded(sy_req *req, sy_res *res, int cls, int64_t limit)
{
    int policy = sy_conf ? sy_conf->on_redis_down : SY_RL_DOWN_LOCAL;
    sy_ratelimit_note_degraded();
    if (policy == SY_RL_DOWN_CLOSED) {
        header_i64(res, "Retry-After", 1);
        return sy_problem(res, 503, "storage_unavailable",
                          "Rate limits cannot be checked right now; retry "
                          "shortly.");
    }
    sy_res_headerc(res, "RateLimit-Degraded", "1");
    if (policy == SY_RL_DOWN_OPEN)
        return 0;
    sy_rl_decision d;
    char subject[SY_RL_SUBJECT_MAX];
    sy_ratelimit_subject(principal_key(&req->who), req->who.user_id,
                         subject);
    sy_ratelimit_local(subject, cls, limit, &d);
    return decided(res, cls, &d);
}

/* ------------------------------------------------------------ pipeline */

/* Where each piece sits in the pipeline (-1: not in it); spent: the
 * rate limit was decided from the lease, into d. */
typedef struct pipeline {
    sy_redis_cmdv cmds[PIECES];
    redisReply *rep[PIECES];
    int n, confirm, window, catver;
    uint64_t epoch; /* inval.h, read before the pipeline */
    bool spent;
    sy_rl_decision d;
} pipeline;

/* The route's window class in the pipeline (the ai class is charged
 * apart, with the tenant's budget: charge_ai). */
static int
rate_class(const sy_req *req)
{
    int cls = req->route->rate;
    return cls > SY_RATE_NONE && cls < SY_RATE_AI ? cls : SY_RATE_NONE;
}

static void
build(sy_req *req, pipeline *p)
{
    const sy_principal *w = &req->who;
    int cls = rate_class(req);
    char *subject = sy_arena_alloc(req->arena, SY_RL_SUBJECT_MAX);
    p->n = 0;
    p->confirm = p->window = p->catver = -1;
    p->spent = false;
    p->epoch = sy_inval_epoch();
    if (w->key_record && !w->key_trusted)
        sy_apikey_confirm_cmd(w, &p->cmds[p->confirm = p->n++]);
    if (subject)
        sy_ratelimit_subject(principal_key(w), w->user_id, subject);
    /* Redis down: no lease, today's on_redis_down policy decides */
    if (cls != SY_RATE_NONE && subject && !sy_redis_down()) {
        if (sy_ratelimit_spend(subject, cls, w->limits[cls], &p->d))
            p->spent = true;
        else if (sy_ratelimit_lease_cmd(req->arena, subject, cls,
                                        w->limits[cls], &p->cmds[p->n]) == 0)
            p->window = p->n++;
    }
    /* API keys only: a user's cached reads read the version with the
     * entry (cache.h), as they did before users had a window here */
    if (w->kind == SY_WHO_KEY && (req->route->flags & SY_ROUTE_CATVER) &&
        !sy_cache_version_known(&req->catver, w->tenant_id) &&
        sy_cache_version_cmd(req->arena, w->tenant_id, &p->cmds[p->n]) == 0)
        p->catver = p->n++;
}

/* The lease's answer, reloading the script once if Redis lost it.  A
 * refusal while other responders may hold unspent tokens waits until
 * they have lapsed and been given back (at most ratelimit.lease_ttl,
 * and only near the limit: batches are leased only while a window has
 * room for many), then asks once more, so that tokens on lease
 * elsewhere do not turn a request away. */
static int
window_result(sy_req *req, const pipeline *p, int cls, sy_rl_decision *d)
{
    const sy_principal *w = &req->who;
    char subject[SY_RL_SUBJECT_MAX];
    sy_ratelimit_subject(principal_key(w), w->user_id, subject);
    int rc = sy_ratelimit_lease_reply(p->rep[p->window], subject, cls,
                                      w->limits[cls], d);
    if (rc == SY_ENOTFOUND)
        rc = sy_ratelimit_lease(req->arena, subject, cls, w->limits[cls], d);
    if (rc == 0 && !d->allowed && d->held_ms > 0 &&
        d->held_ms <= (sy_conf ? sy_conf->lease_ttl_ms : 0)) {
        /* their lapse, their responders' next look, a margin */
        int64_t us = (d->held_ms + 20) * 1000;
        struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        rc = sy_ratelimit_lease(req->arena, subject, cls, w->limits[cls], d);
    }
    return rc;
}

/* A signed-in user of a tenant is limited per user by the tenant's
 * plan (read from its memory copy, "tenant_plans"); sysadmins and
 * anonymous callers are not limited.  Without PostgreSQL the plan is
 * unknown: the request goes on unlimited, marked degraded, as reads
 * that need no database (cached ones) still can. */
static bool
limited_user(sy_req *req, sy_res *res)
{
    sy_principal *w = &req->who;
    sy_rl_plan plan;
    if (w->kind != SY_WHO_USER || !w->tenant_id[0] ||
        req->route->rate == SY_RATE_NONE)
        return false;
    int r = sy_ratelimit_plan(req->arena, w->tenant_id, &plan);
    if (r == SY_ENOTFOUND)
        return false; /* the tenant is gone: the handler will say so */
    if (r < 0) {
        sy_ratelimit_note_degraded();
        sy_res_headerc(res, "RateLimit-Degraded", "1");
        return false;
    }
    memcpy(w->limits, plan.limits, sizeof(w->limits));
    return true;
}

int
sy_admission_pipeline(sy_req *req, sy_res *res)
{
    pipeline p;
    sy_rl_decision d;
    int cls = rate_class(req);
    if (req->who.kind != SY_WHO_KEY && !limited_user(req, res))
        return 0;
    build(req, &p);
    int rc = 0;
    if (sy_redis_down() || (cls != SY_RATE_NONE && !p.spent && p.window < 0))
        rc = SY_EREDIS;
    else if (p.n > 0)
        rc = sy_redis_pipeline(req->arena, p.n, p.cmds, p.rep);
    if (rc == 0 && p.confirm >= 0)
        rc = sy_apikey_confirm_reply(&req->who, p.rep[p.confirm]);
    if (rc == SY_ESTALE)
        return rc;
    if (rc == 0 && p.catver >= 0)
        sy_cache_version_reply(&req->catver, req->who.tenant_id,
                               p.rep[p.catver], p.epoch);
    if (cls == SY_RATE_NONE && rc < 0 && p.confirm >= 0)
        return rc;
    if (cls == SY_RATE_NONE)
        return req->route->rate == SY_RATE_AI ? charge_ai(req, res) : 0;
    if (rc == 0 && p.spent)
        d = p.d;
    else if (rc == 0)
        rc = window_result(req, &p, cls, &d);
    if (rc == SY_EREDIS)
        return degraded(req, res, cls, req->who.limits[cls]);
    return rc < 0 ? rc : decided(res, cls, &d);
}

/* Authentication, authorisation, then a key's pipeline. */
static int
admit_once(sy_req *req, sy_res *res)
{
    int rc = sy_authn_authenticate(req, res);
    if (rc == 0)
        rc = sy_authn_authorize(req, res);
    bool memory_key = req->who.kind == SY_WHO_KEY && req->who.key_record &&
                      !req->who.key_trusted;
    if (rc < 0 && memory_key &&
        sy_apikey_confirm(req->arena, &req->who) == SY_ESTALE)
        return SY_ESTALE;
    if (rc < 0)
        return rc;
    return sy_admission_pipeline(req, res);
}

int
sy_admission_admit(sy_req *req, sy_res *res)
{
    sy_inval_sync(); /* invalidations that came before this request */
    int rc = admit_once(req, res);
    if (rc != SY_ESTALE)
        return rc;
    memset(&req->who, 0, sizeof(req->who));
    memset(&req->catver, 0, sizeof(req->catver));
    sy_res_init(res, res->arena, req, res->body.max);
    return admit_once(req, res); /* the memory entry is gone now */
}
