/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * admission.c - authentication, authorisation and the one Redis
 * pipeline of a keyed request (admission.h).
 *
 * A key served from the responder's memory is confirmed against Redis on
 * the way (in the pipeline, or alone when the route has no limit, or
 * before refusing it); if its record changed, the request is admitted
 * once more, from the shared cache or PostgreSQL.  The rate-limit
 * headers are the draft-03 trio plus the draft-08+ RateLimit-Policy and
 * RateLimit fields; a limiter deciding without Redis sets
 * RateLimit-Degraded: 1.
 */
#include "synthia/admission.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "synthia/apikey.h"
#include "synthia/authn.h"
#include "synthia/cache.h"
#include "synthia/config.h"
#include "synthia/error.h"
#include "synthia/problem.h"
#include "synthia/ratelimit.h"
#include "synthia/redis.h"
#include "synthia/router.h"

#define WINDOW_S 60
#define PIECES 3

/* ------------------------------------------------------------- headers */

static void
header_i64(sy_res *res, const char *name, int64_t v)
{
    char s[24];
    int n = snprintf(s, sizeof(s), "%lld", (long long)v);
    sy_res_header(res, name, (sy_str){s, (size_t)n});
}

static void
header_buf(sy_res *res, const char *name, const char *s, int n, size_t cap)
{
    if (n > 0 && (size_t)n < cap)
        sy_res_header(res, name, (sy_str){s, (size_t)n});
}

static void
set_headers(sy_res *res, int cls, const sy_rl_decision *d)
{
    const char *name = sy_ratelimit_class_name(cls);
    header_i64(res, "RateLimit-Limit", d->limit);
    header_i64(res, "RateLimit-Remaining", d->remaining);
    header_i64(res, "RateLimit-Reset", d->reset_s);
    char s[96];
    int n = snprintf(s, sizeof(s), "\"%s\";q=%lld;w=%d", name,
                     (long long)d->limit, WINDOW_S);
    header_buf(res, "RateLimit-Policy", s, n, sizeof(s));
    n = snprintf(s, sizeof(s), "\"%s\";r=%lld;t=%lld", name,
                 (long long)d->remaining, (long long)d->reset_s);
    header_buf(res, "RateLimit", s, n, sizeof(s));
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
    set_headers(res, cls, d);
    return d->allowed ? 0 : refuse(res, d);
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
    sy_ratelimit_local(req->who.key_id, cls, limit, &d);
    return decided(res, cls, &d);
}

/* ------------------------------------------------------------ pipeline */

/* Where each piece sits in the pipeline (-1: not in it). */
typedef struct pipeline {
    sy_redis_cmdv cmds[PIECES];
    redisReply *rep[PIECES];
    int n, confirm, window, catver;
} pipeline;

static int
rate_class(const sy_req *req)
{
    int cls = req->route->rate;
    return cls > SY_RATE_NONE && cls <= SY_RATE_AI ? cls : SY_RATE_NONE;
}

static void
build(sy_req *req, pipeline *p)
{
    const sy_principal *w = &req->who;
    int cls = rate_class(req);
    p->n = 0;
    p->confirm = p->window = p->catver = -1;
    if (w->key_record)
        sy_apikey_confirm_cmd(w, &p->cmds[p->confirm = p->n++]);
    if (cls != SY_RATE_NONE &&
        sy_ratelimit_window_cmd(req->arena, w->key_id, cls, w->limits[cls],
                                &p->cmds[p->n]) == 0)
        p->window = p->n++;
    if ((req->route->flags & SY_ROUTE_CATVER) &&
        sy_cache_version_cmd(req->arena, w->tenant_id, &p->cmds[p->n]) == 0)
        p->catver = p->n++;
}

/* The window's answer, reloading the script once if Redis lost it. */
static int
window_result(sy_req *req, const pipeline *p, int cls, sy_rl_decision *d)
{
    const sy_principal *w = &req->who;
    int rc = sy_ratelimit_window_reply(p->rep[p->window], w->limits[cls], d);
    if (rc == SY_ENOTFOUND)
        rc = sy_ratelimit_window(req->arena, w->key_id, cls, w->limits[cls],
                                 d);
    return rc;
}

int
sy_admission_pipeline(sy_req *req, sy_res *res)
{
    pipeline p;
    sy_rl_decision d;
    int cls = rate_class(req);
    if (req->who.kind != SY_WHO_KEY)
        return 0;
    build(req, &p);
    int rc = 0;
    if (sy_redis_down() || (cls != SY_RATE_NONE && p.window < 0))
        rc = SY_EREDIS;
    else if (p.n > 0)
        rc = sy_redis_pipeline(req->arena, p.n, p.cmds, p.rep);
    if (rc == 0 && p.confirm >= 0)
        rc = sy_apikey_confirm_reply(&req->who, p.rep[p.confirm]);
    if (rc == SY_ESTALE)
        return rc;
    if (rc == 0 && p.catver >= 0)
        sy_cache_version_reply(&req->catver, req->who.tenant_id,
                               p.rep[p.catver]);
    if (cls == SY_RATE_NONE)
        return rc < 0 && p.confirm >= 0 ? rc : 0;
    if (rc == 0)
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
    bool memory_key = req->who.kind == SY_WHO_KEY && req->who.key_record;
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
    int rc = admit_once(req, res);
    if (rc != SY_ESTALE)
        return rc;
    memset(&req->who, 0, sizeof(req->who));
    memset(&req->catver, 0, sizeof(req->catver));
    sy_res_init(res, res->arena, req, res->body.max);
    return admit_once(req, res); /* the memory entry is gone now */
}
