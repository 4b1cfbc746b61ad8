/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * provider.c - the router of the AI capabilities (provider.h): the
 * configured chain in order, circuit breakers (breaker.h), retries that
 * honour Retry-After, fallback by error class, metrics, and the state
 * that GET /providers shows.
 *
 * One provider (a link of a chain) is tried like this: ask its breaker;
 * refused -> next provider.  Call it; a success is recorded and
 * returned.  A client error (4xx but 408 and 429) ends the whole call:
 * the request is wrong and another provider would refuse it too.  A
 * timeout or a malformed answer moves on to the next provider at once.
 * A connection error, 429 or 5xx is retried on the same provider up to
 * ai.retries times, after its Retry-After (or 200 ms, doubling) unless
 * that is longer than ai.retry_max_wait or past the deadline, in which
 * case the next provider is asked.  A half-open probe is never retried.
 */
#include "synthia/provider.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "synthia/ai_curl.h"
#include "synthia/ai_driver.h"
#include "synthia/breaker.h"
#include "synthia/clock.h"
#include "synthia/compositor.h"
#include "synthia/embed.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/jsonschema.h"
#include "synthia/log.h"
#include "synthia/metrics.h"

#define NKINDS_REMOTE 4 /* openai, gemini, fal, replicate */
#define BACKOFF_MS 200

static const char *const err_names[SY_AI_NERRS] = {
    "ok",           "timeout",      "connection", "rate_limited",
    "server_error", "client_error", "malformed",  "circuit_open",
    "no_provider"};

const char *
sy_ai_err_name(int err)
{
    return err >= 0 && err < SY_AI_NERRS ? err_names[err] : "error";
}

const char *
sy_ai_job_status_name(int status)
{
    static const char *const names[] = {"queued", "running", "done",
                                        "error", "canceled"};
    return status >= 0 && status <= SY_AI_JOB_CANCELED ? names[status]
                                                       : "error";
}

/* ------------------------------------------------------------ metrics */

/* series = ((kind - 1) * NCAPS + cap) * NERRS + err */
static void
calls_labels(sy_buf *b, int series)
{
    int err = series % SY_AI_NERRS, rest = series / SY_AI_NERRS;
    sy_buf_printf(b, "provider=\"%s\",capability=\"%s\",result=\"%s\"",
                  sy_ai_kind_name(rest / SY_AI_NCAPS + 1),
                  sy_ai_cap_name(rest % SY_AI_NCAPS), err_names[err]);
}

static void
kind_cap_labels(sy_buf *b, int series)
{
    sy_buf_printf(b, "provider=\"%s\",capability=\"%s\"",
                  sy_ai_kind_name(series / SY_AI_NCAPS + 1),
                  sy_ai_cap_name(series % SY_AI_NCAPS));
}

static void
cap_labels(sy_buf *b, int series)
{
    sy_buf_printf(b, "capability=\"%s\"", sy_ai_cap_name(series));
}

static sy_metric m_calls = {
    .name = "synthia_ai_provider_calls_total",
    .help = "Provider calls (retries included) by provider, capability "
            "and result (ok or the error class)",
    .type = SY_METRIC_COUNTER,
    .nseries = NKINDS_REMOTE * SY_AI_NCAPS * SY_AI_NERRS,
    .labeller = calls_labels,
    .sparse = true,
};
static const double call_buckets[] = {0.05, 0.1, 0.25, 0.5, 1,
                                      2.5,  5,   10,   30};
static sy_metric m_duration = {
    .name = "synthia_ai_provider_call_seconds",
    .help = "Duration of successful provider calls",
    .type = SY_METRIC_HISTOGRAM,
    .nseries = NKINDS_REMOTE * SY_AI_NCAPS,
    .labeller = kind_cap_labels,
    .buckets = call_buckets,
    .nbuckets = sizeof(call_buckets) / sizeof(call_buckets[0]),
    .sparse = true,
};
static sy_metric m_skips = {
    .name = "synthia_ai_circuit_skips_total",
    .help = "Providers skipped because their circuit was open (or a "
            "Retry-After held them off)",
    .type = SY_METRIC_COUNTER,
    .nseries = NKINDS_REMOTE * SY_AI_NCAPS,
    .labeller = kind_cap_labels,
    .sparse = true,
};
static sy_metric m_fallbacks = {
    .name = "synthia_ai_fallbacks_total",
    .help = "Calls answered by another provider than the first of the "
            "chain",
    .type = SY_METRIC_COUNTER,
    .nseries = SY_AI_NCAPS,
    .labeller = cap_labels,
    .sparse = true,
};
static sy_metric m_failures = {
    .name = "synthia_ai_failures_total",
    .help = "Capability calls that no provider answered",
    .type = SY_METRIC_COUNTER,
    .nseries = SY_AI_NCAPS,
    .labeller = cap_labels,
    .sparse = true,
};
SY_METRICS_REGISTER(&m_calls, &m_duration, &m_skips, &m_fallbacks,
                    &m_failures);

static void render_circuits(sy_buf *b);

__attribute__((constructor)) static void
register_collector(void)
{
    sy_metrics_collector(render_circuits);
}

/* -------------------------------------------------------------- chain */

typedef struct op op;

/* One capability call: how to build a request for a target, and how to
 * read its answer (0, SY_EPROVIDER with why, SY_ENOMEM). */
struct op {
    int cap;
    int (*build)(sy_arena *a, const sy_ai_driver *d, const sy_ai_target *t,
                 const op *o, sy_ai_http_req *req);
    int (*parse)(sy_arena *a, const sy_ai_driver *d, const op *o,
                 const sy_ai_http_res *res, char *why, size_t whylen);
    /* the arguments and results of the capability */
    const sy_ai_image *img;
    const char *prompt;
    sy_ai_schema *schema;
    const sy_ai_msg *msgs;
    int n;
    int max_tokens;
    const sy_str *texts;
    int dims;
    const sy_ai_image *garments;
    const char *job_id;
    const sy_ai_endpoint_conf *ep; /* try-on result: the job's endpoint */
    json_object **json_out;
    sy_str *text_out;
    float *vec_out;
    char *id_out;
    size_t id_outlen;
    int *status_out;
    sy_str *url_out;
    /* try-on lookup: the page, the oldest time, the next page */
    const char *cursor;
    const char *since;
    const char **next_out;
    const sy_ai_target *target; /* the lookup's own target */
};

static void
breaker_conf(const sy_ai_endpoint_conf *ep, sy_breaker_conf *c)
{
    c->window_ms = sy_conf->ai_breaker_window_ms;
    c->min_requests = sy_conf->ai_breaker_min_requests;
    c->failure_pct = sy_conf->ai_breaker_failure_rate;
    c->cooldown_ms = sy_conf->ai_breaker_cooldown_ms;
    c->probe_ttl_ms = ep->timeout_ms + 1000;
}

static void
target_of(const sy_ai_link *l, sy_ai_target *t)
{
    t->kind = l->kind;
    t->name = sy_ai_kind_name(l->kind);
    t->model = l->model;
    t->ep = &sy_conf->ai_ep[l->kind];
}

static void
link_name(const sy_ai_target *t, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s:%s", t->name, t->model);
}

static void
count_call(const sy_ai_target *t, int cap, int err)
{
    if (t->kind >= SY_AI_OPENAI && t->kind <= SY_AI_REPLICATE)
        sy_counter_add(&m_calls,
                       ((t->kind - 1) * SY_AI_NCAPS + cap) * SY_AI_NERRS +
                           err,
                       1);
}

static void
sleep_ms(int64_t ms)
{
    while (ms > 0) {
        int64_t k = ms > 500 ? 500 : ms;
        usleep((useconds_t)(k * 1000));
        ms -= k;
    }
}

/* A call through a chain as a state machine (provider.h, sy_ai_call):
 * the router's rules once, driven either by sy_ai_http in this process
 * (drive: the blocking callers) or by a curl multi (the worker). */
enum {
    PH_LINK = 0, /* (re)try link i: ask its breaker, build the request */
    PH_HTTP,     /* the request is out: waiting for its answer */
    PH_WAIT,     /* a retry's back-off: until wake_us */
    PH_FETCH,    /* try-on result: fetch the image from its URL */
    PH_FETCH_HTTP,
    PH_DONE,
};

struct sy_ai_call {
    sy_arena *a;
    op o;
    sy_ai_target t[SY_AI_CHAIN_MAX];
    int n, i, attempt;
    sy_ai_opts opts;
    bool has_opts;
    sy_ai_outcome *oc;
    int phase;
    int rc;
    int64_t t0, wake_us;
    char name[SY_BREAKER_NAME_MAX];
    sy_breaker_conf bc;
    sy_breaker_ticket tk;
    bool ticket; /* tk acquired and not yet recorded */
    sy_ai_http_req req;
    /* try-on result: the image's URL, and where the image goes */
    sy_str url;
    sy_ai_image *img_out;
};

static void
call_init(sy_ai_call *c, sy_arena *a, const sy_ai_target *targets, int n,
          const op *o, const sy_ai_opts *opts, sy_ai_outcome *oc)
{
    memset(c, 0, sizeof(*c));
    c->a = a;
    c->o = *o;
    c->n = n;
    for (int i = 0; i < n; i++)
        c->t[i] = targets[i];
    if (opts) {
        c->opts = *opts;
        c->has_opts = true;
    }
    c->oc = oc;
    c->t0 = sy_mono_us();
    c->phase = PH_LINK;
}

static void
call_neutral(sy_ai_call *c)
{
    if (c->ticket)
        sy_breaker_record(c->a, c->name, &c->bc, &c->tk, SY_BREAKER_NEUTRAL,
                          0, NULL, 0, -1);
    c->ticket = false;
}

/* The chain gave up (rc < 0: an error of ours, else the providers'). */
static void
call_stop(sy_ai_call *c, int rc)
{
    sy_ai_outcome *oc = c->oc;
    call_neutral(c);
    c->phase = PH_DONE;
    oc->duration_us = sy_mono_us() - c->t0;
    if (rc < 0) {
        c->rc = rc;
        return;
    }
    if (oc->err == SY_AI_OK)
        oc->err = c->n ? SY_AI_ECIRCUIT : SY_AI_ENOPROVIDER;
    /* every provider was skipped: say so, whatever the last one did */
    if (c->n > 0 && oc->skipped == c->n)
        oc->err = SY_AI_ECIRCUIT;
    sy_counter_add(&m_failures, c->o.cap, 1);
    c->rc = SY_EPROVIDER;
}

static void
call_next_link(sy_ai_call *c)
{
    c->i++;
    c->attempt = 0;
    c->phase = PH_LINK;
}

static void
call_ok(sy_ai_call *c)
{
    sy_ai_outcome *oc = c->oc;
    oc->err = SY_AI_OK;
    oc->fallback = c->i > 0;
    if (c->i > 0)
        sy_counter_add(&m_fallbacks, c->o.cap, 1);
    oc->duration_us = sy_mono_us() - c->t0;
    if (c->img_out) {
        c->phase = PH_FETCH;
        return;
    }
    c->phase = PH_DONE;
    c->rc = 0;
}

/* Link i's next attempt: its breaker's ticket and the request; false
 * when the state moved on without a request. */
static bool
call_link(sy_ai_call *c)
{
    sy_ai_outcome *oc = c->oc;
    if (c->i >= c->n) {
        call_stop(c, 0);
        return false;
    }
    const sy_ai_target *t = &c->t[c->i];
    const sy_ai_driver *d = sy_ai_driver_of(t->kind);
    if (c->attempt == 0) {
        link_name(t, c->name, sizeof(c->name));
        breaker_conf(t->ep, &c->bc);
        oc->provider = t->name;
        oc->model = t->model;
    }
    int rc = sy_breaker_acquire(c->a, c->name, &c->bc, &c->tk);
    if (rc < 0) {
        call_stop(c, rc);
        return false;
    }
    if (c->tk.verdict == SY_BREAKER_REJECT) {
        if (c->attempt == 0) {
            oc->skipped++;
            oc->err = SY_AI_ECIRCUIT;
            oc->http_status = 0;
            if (t->kind <= SY_AI_REPLICATE)
                sy_counter_add(&m_skips,
                               (t->kind - 1) * SY_AI_NCAPS + c->o.cap, 1);
        }
        call_next_link(c);
        return false;
    }
    c->ticket = true;
    int64_t timeout = t->ep->timeout_ms;
    if (c->has_opts && c->opts.deadline_us) {
        int64_t left = (c->opts.deadline_us - sy_mono_us()) / 1000;
        if (left < 1) {
            /* the probe is not used: let another caller have it */
            oc->err = SY_AI_ETIMEOUT;
            call_stop(c, 0);
            return false;
        }
        if (left < timeout)
            timeout = left;
    }
    if ((rc = c->o.build(c->a, d, t, &c->o, &c->req)) < 0) {
        call_stop(c, rc);
        return false;
    }
    c->req.timeout_ms = timeout;
    c->req.connect_timeout_ms = t->ep->connect_timeout_ms < timeout
                                    ? t->ep->connect_timeout_ms
                                    : timeout;
    c->req.max_response = (size_t)sy_conf->ai_max_response;
    c->phase = PH_HTTP;
    return true;
}

/* The answer of link i's request (try_link's rules). */
static void
call_answer_link(sy_ai_call *c, const sy_ai_http_res *res)
{
    sy_ai_outcome *oc = c->oc;
    const sy_ai_target *t = &c->t[c->i];
    const sy_ai_driver *d = sy_ai_driver_of(t->kind);
    char why[160];
    oc->calls++;
    int cls = sy_ai_http_class(res);
    why[0] = '\0';
    if (cls == SY_AI_OK) {
        int prc = c->o.parse(c->a, d, &c->o, res, why, sizeof(why));
        if (prc == SY_ENOMEM) {
            call_stop(c, prc);
            return;
        }
        if (prc < 0)
            cls = SY_AI_EMALFORMED;
    }
    count_call(t, c->o.cap, cls);
    oc->http_status = (int)res->status;
    oc->err = cls;
    /* a Retry-After holds everyone off this provider, at most for a
     * cooldown */
    int64_t hold = (cls == SY_AI_ERATE || cls == SY_AI_ESERVER)
                       ? res->retry_after_ms
                       : -1;
    if (hold > c->bc.cooldown_ms)
        hold = c->bc.cooldown_ms;
    sy_breaker_record(c->a, c->name, &c->bc, &c->tk,
                      cls == SY_AI_OK       ? SY_BREAKER_SUCCESS
                      : cls == SY_AI_ECLIENT ? SY_BREAKER_NEUTRAL
                                             : SY_BREAKER_FAILURE,
                      res->duration_us, cls ? err_names[cls] : NULL,
                      (int)res->status, hold);
    c->ticket = false;
    if (cls == SY_AI_OK) {
        oc->provider_us = res->duration_us;
        if (t->kind <= SY_AI_REPLICATE)
            sy_histogram_observe(&m_duration,
                                 (t->kind - 1) * SY_AI_NCAPS + c->o.cap,
                                 res->duration_us);
        call_ok(c);
        return;
    }
    sy_logline *ll = sy_log_begin(SY_LOG_WARN, "ai_provider_failed");
    sy_log_cstr(ll, "provider", t->name);
    sy_log_cstr(ll, "model", t->model);
    sy_log_cstr(ll, "capability", sy_ai_cap_name(c->o.cap));
    sy_log_cstr(ll, "class", err_names[cls]);
    sy_log_int(ll, "status", res->status);
    sy_log_int(ll, "attempt", c->attempt + 1);
    sy_log_cstr(ll, "detail", why[0] ? why : res->detail);
    sy_log_end(ll);
    if (cls == SY_AI_ECLIENT) {
        call_stop(c, 0);
        return;
    }
    if (cls == SY_AI_ETIMEOUT || cls == SY_AI_EMALFORMED ||
        c->tk.verdict == SY_BREAKER_PROBE ||
        c->attempt >= sy_conf->ai_retries) {
        call_next_link(c);
        return;
    }
    int64_t wait = res->retry_after_ms >= 0
                       ? res->retry_after_ms
                       : (int64_t)BACKOFF_MS << c->attempt;
    if (wait > sy_conf->ai_retry_max_wait_ms ||
        (c->has_opts && c->opts.deadline_us &&
         sy_mono_us() + wait * 1000 >= c->opts.deadline_us)) {
        call_next_link(c);
        return;
    }
    /* past the hold in Redis's clock too */
    c->wake_us = sy_mono_us() +
                 (wait + (res->retry_after_ms >= 0 ? 5 : 0)) * 1000;
    c->attempt++;
    c->phase = PH_WAIT;
}

/* The try-on result's image, from wherever the provider put it: no key
 * sent. */
static bool
call_fetch(sy_ai_call *c)
{
    const sy_ai_target *t = &c->t[c->i];
    c->req = (sy_ai_http_req){
        .method = "GET",
        .url = sy_arena_strndup(c->a, c->url.p, c->url.len),
        .timeout_ms = t->ep->timeout_ms,
        .connect_timeout_ms = t->ep->connect_timeout_ms,
        .max_response = (size_t)sy_conf->ai_max_response,
    };
    if (!c->req.url) {
        c->phase = PH_DONE;
        c->rc = SY_ENOMEM;
        return false;
    }
    c->phase = PH_FETCH_HTTP;
    return true;
}

static void
call_answer_fetch(sy_ai_call *c, const sy_ai_http_res *res)
{
    sy_ai_outcome *oc = c->oc;
    c->phase = PH_DONE;
    oc->calls++;
    int cls = sy_ai_http_class(res);
    if (cls == SY_AI_OK && (!sy_str_starts(res->content_type, "image/") ||
                            res->body.len == 0))
        cls = SY_AI_EMALFORMED;
    if (cls != SY_AI_OK) {
        oc->err = cls;
        oc->http_status = (int)res->status;
        c->rc = SY_EPROVIDER;
        return;
    }
    size_t semi = strcspn(res->content_type.p, ";");
    c->img_out->data = res->body.p;
    c->img_out->len = res->body.len;
    c->img_out->content_type = sy_arena_strndup(c->a, res->content_type.p,
                                                semi);
    c->rc = c->img_out->content_type ? 0 : SY_ENOMEM;
}

int
sy_ai_call_next(sy_ai_call *c, const sy_ai_http_req **req, int64_t *wake_us)
{
    for (;;) {
        switch (c->phase) {
        case PH_LINK:
            if (call_link(c)) {
                *req = &c->req;
                return SY_AI_STEP_HTTP;
            }
            break;
        case PH_HTTP:
        case PH_FETCH_HTTP:
            *req = &c->req;
            return SY_AI_STEP_HTTP;
        case PH_WAIT:
            if (sy_mono_us() < c->wake_us) {
                *wake_us = c->wake_us;
                return SY_AI_STEP_WAIT;
            }
            c->phase = PH_LINK;
            break;
        case PH_FETCH:
            if (call_fetch(c)) {
                *req = &c->req;
                return SY_AI_STEP_HTTP;
            }
            break;
        default:
            return SY_AI_STEP_DONE;
        }
    }
}

void
sy_ai_call_answer(sy_ai_call *c, const sy_ai_http_res *res)
{
    if (c->phase == PH_HTTP)
        call_answer_link(c, res);
    else if (c->phase == PH_FETCH_HTTP)
        call_answer_fetch(c, res);
}

int
sy_ai_call_rc(const sy_ai_call *c)
{
    return c->phase == PH_DONE ? c->rc : SY_EINVAL;
}

void
sy_ai_call_abandon(sy_ai_call *c)
{
    if (c->phase == PH_DONE)
        return;
    if (c->oc->err == SY_AI_OK)
        c->oc->err = SY_AI_ETIMEOUT;
    call_neutral(c);
    c->oc->duration_us = sy_mono_us() - c->t0;
    c->phase = PH_DONE;
    c->rc = SY_EPROVIDER;
}

/* Drive a call to its end in this process (blocking). */
static int
drive(sy_ai_call *c)
{
    for (;;) {
        const sy_ai_http_req *req = NULL;
        int64_t wake = 0;
        int st = sy_ai_call_next(c, &req, &wake);
        if (st == SY_AI_STEP_DONE)
            return c->rc;
        if (st == SY_AI_STEP_WAIT) {
            sleep_ms((wake - sy_mono_us() + 999) / 1000);
            continue;
        }
        sy_ai_http_res res;
        if (sy_ai_http(c->a, req, &res) < 0) {
            call_stop(c, SY_ENOMEM);
            return c->rc;
        }
        sy_ai_call_answer(c, &res);
    }
}

/* Run op through targets[0..n) in order. */
static int
run(sy_arena *a, const sy_ai_target *targets, int n, const op *o,
    const sy_ai_opts *opts, sy_ai_outcome *oc)
{
    sy_ai_call c;
    call_init(&c, a, targets, n, o, opts, oc);
    return drive(&c);
}

static void
outcome_init(sy_ai_outcome *oc)
{
    memset(oc, 0, sizeof(*oc));
    oc->provider = "";
    oc->model = "";
}

/* The remote links of a capability's chain as targets. */
static int
chain_targets(int cap, sy_ai_target *out)
{
    int n = 0;
    for (int i = 0; i < sy_conf->ai_nchain[cap]; i++) {
        const sy_ai_link *l = &sy_conf->ai_chain[cap][i];
        if (l->kind != SY_AI_LOCAL)
            target_of(l, &out[n++]);
    }
    return n;
}

/* ------------------------------------------------------------- vision */

static int
schema_prepare(sy_ai_schema *s)
{
    char why[160];
    if (s->parsed || s->bad)
        return s->bad ? SY_EINVAL : 0;
    json_object *p = json_tokener_parse(s->json);
    if (!p || !sy_jsonschema_valid(p, why, sizeof(why))) {
        sy_logline *ll = sy_log_begin(SY_LOG_ERROR, "ai_schema_invalid");
        sy_log_cstr(ll, "schema", s->name);
        sy_log_cstr(ll, "why", p ? why : "not JSON");
        sy_log_end(ll);
        json_object_put(p);
        s->bad = true;
        return SY_EINVAL;
    }
    s->wire_openai = sy_jsonschema_for_openai(p);
    s->wire_gemini = sy_jsonschema_for_gemini(p);
    if (!s->wire_openai || !s->wire_gemini) {
        json_object_put(s->wire_openai);
        json_object_put(s->wire_gemini);
        json_object_put(p);
        s->wire_openai = s->wire_gemini = NULL;
        return SY_ENOMEM;
    }
    s->parsed = p; /* kept for the life of the process */
    return 0;
}

static int
vision_build(sy_arena *a, const sy_ai_driver *d, const sy_ai_target *t,
             const op *o, sy_ai_http_req *req)
{
    return d->vision(a, t, o->img, o->prompt, o->schema, o->max_tokens, req);
}

static int
vision_parse(sy_arena *a, const sy_ai_driver *d, const op *o,
             const sy_ai_http_res *res, char *why, size_t whylen)
{
    sy_str text;
    json_object *v;
    int rc = d->text(a, res->body, &text, why, whylen);
    if (rc < 0)
        return rc;
    rc = sy_json_parse(a, text, NULL, &v);
    if (rc == SY_ENOMEM)
        return rc;
    if (rc < 0) {
        snprintf(why, whylen, "the model's answer is not a JSON object");
        return SY_EPROVIDER;
    }
    if (!sy_jsonschema_check(o->schema->parsed, v, why, whylen))
        return SY_EPROVIDER;
    *o->json_out = v;
    return 0;
}

int
sy_ai_vision(sy_arena *a, const sy_ai_image *img, const char *prompt,
             sy_ai_schema *schema, const sy_ai_opts *opts,
             json_object **out, sy_ai_outcome *oc)
{
    sy_ai_target t[SY_AI_CHAIN_MAX];
    outcome_init(oc);
    if (!img || !img->data || img->len == 0 || !prompt || !schema)
        return SY_EINVAL;
    int rc = schema_prepare(schema);
    if (rc < 0)
        return rc;
    op o = {.cap = SY_AI_VISION, .build = vision_build,
            .parse = vision_parse, .img = img, .prompt = prompt,
            .schema = schema, .max_tokens = opts ? opts->max_tokens : 0,
            .json_out = out};
    return run(a, t, chain_targets(SY_AI_VISION, t), &o, opts, oc);
}

/* --------------------------------------------------------------- chat */

static int
chat_build(sy_arena *a, const sy_ai_driver *d, const sy_ai_target *t,
           const op *o, sy_ai_http_req *req)
{
    return d->chat(a, t, o->msgs, o->n, o->max_tokens, req);
}

static int
chat_parse(sy_arena *a, const sy_ai_driver *d, const op *o,
           const sy_ai_http_res *res, char *why, size_t whylen)
{
    return d->text(a, res->body, o->text_out, why, whylen);
}

int
sy_ai_chat(sy_arena *a, const sy_ai_msg *msgs, int n,
           const sy_ai_opts *opts, sy_str *out, sy_ai_outcome *oc)
{
    sy_ai_target t[SY_AI_CHAIN_MAX];
    outcome_init(oc);
    if (!msgs || n < 1 || n > 64)
        return SY_EINVAL;
    for (int i = 0; i < n; i++)
        if (msgs[i].role < SY_AI_SYSTEM || msgs[i].role > SY_AI_ASSISTANT ||
            (msgs[i].role == SY_AI_SYSTEM && i > 0))
            return SY_EINVAL;
    op o = {.cap = SY_AI_CHAT, .build = chat_build, .parse = chat_parse,
            .msgs = msgs, .n = n, .max_tokens = opts ? opts->max_tokens : 0,
            .text_out = out};
    return run(a, t, chain_targets(SY_AI_CHAT, t), &o, opts, oc);
}

/* --------------------------------------------------------- embeddings */

static int
embed_build(sy_arena *a, const sy_ai_driver *d, const sy_ai_target *t,
            const op *o, sy_ai_http_req *req)
{
    return d->embed(a, t, o->texts, o->n, o->dims, req);
}

static int
embed_parse(sy_arena *a, const sy_ai_driver *d, const op *o,
            const sy_ai_http_res *res, char *why, size_t whylen)
{
    return d->vectors(a, res->body, o->n, o->dims, o->vec_out, why, whylen);
}

static void
embed_local(const sy_str *texts, int n, sy_ai_vectors *out)
{
    for (int i = 0; i < n; i++)
        sy_embed_local(texts[i], out->v + (size_t)i * SY_EMBED_DIMS);
    out->embedder = sy_ai_kind_name(SY_AI_LOCAL);
    out->model = SY_EMBED_LOCAL_MODEL;
}

/* Embeddings through links [from, to) of the chain. */
static int
embed_range(sy_arena *a, int from, int to, const sy_str *texts, int n,
            int dims, const sy_ai_opts *opts, sy_ai_vectors *out,
            sy_ai_outcome *oc)
{
    sy_ai_target t[SY_AI_CHAIN_MAX];
    int nt = 0;
    bool local = false;
    outcome_init(oc);
    if (!texts || n < 1 || n > SY_AI_EMBED_MAX_TEXTS || dims < 1 ||
        dims > 8192)
        return SY_EINVAL;
    for (int i = from; i < to; i++) {
        const sy_ai_link *l = &sy_conf->ai_chain[SY_AI_EMBEDDINGS][i];
        if (l->kind == SY_AI_LOCAL)
            local = dims == SY_EMBED_DIMS;
        else
            target_of(l, &t[nt++]);
    }
    memset(out, 0, sizeof(*out));
    out->n = n;
    out->dims = dims;
    out->v = sy_arena_alloc(a, sizeof(float) * (size_t)n * (size_t)dims);
    if (!out->v)
        return SY_ENOMEM;
    op o = {.cap = SY_AI_EMBEDDINGS, .build = embed_build,
            .parse = embed_parse, .texts = texts, .n = n, .dims = dims,
            .vec_out = out->v};
    int rc = nt ? run(a, t, nt, &o, opts, oc) : SY_EPROVIDER;
    if (rc == 0) {
        out->embedder = oc->provider;
        out->model = oc->model;
        return 0;
    }
    if (rc != SY_EPROVIDER || !local ||
        (oc->err == SY_AI_ECLIENT && nt > 0))
        return rc == SY_EPROVIDER && !nt && !local
                   ? (oc->err = SY_AI_ENOPROVIDER, rc)
                   : rc;
    /* the local embedder: no network, never fails */
    int64_t t0 = sy_mono_us();
    embed_local(texts, n, out);
    oc->provider_us = sy_mono_us() - t0;
    oc->duration_us += oc->provider_us;
    oc->fallback = nt > 0;
    oc->err = SY_AI_OK;
    oc->http_status = 0;
    oc->provider = out->embedder;
    oc->model = out->model;
    return 0;
}

int
sy_ai_embed(sy_arena *a, const sy_str *texts, int n, int dims,
            const sy_ai_opts *opts, sy_ai_vectors *out, sy_ai_outcome *oc)
{
    return embed_range(a, 0, sy_conf->ai_nchain[SY_AI_EMBEDDINGS], texts, n,
                       dims, opts, out, oc);
}

int
sy_ai_embed_link(sy_arena *a, int i, const sy_str *texts, int n, int dims,
                 const sy_ai_opts *opts, sy_ai_vectors *out,
                 sy_ai_outcome *oc)
{
    if (i < 0 || i >= sy_conf->ai_nchain[SY_AI_EMBEDDINGS]) {
        outcome_init(oc);
        return SY_EINVAL;
    }
    return embed_range(a, i, i + 1, texts, n, dims, opts, out, oc);
}

/* ------------------------------------------------------------- try-on */

static int
submit_build(sy_arena *a, const sy_ai_driver *d, const sy_ai_target *t,
             const op *o, sy_ai_http_req *req)
{
    return d->submit(a, t, o->img, o->garments, o->n, req);
}

static int
submit_parse(sy_arena *a, const sy_ai_driver *d, const op *o,
             const sy_ai_http_res *res, char *why, size_t whylen)
{
    return d->submitted(a, res->body, o->id_out, o->id_outlen, why, whylen);
}

/* A new call in the arena for op through targets (the try-on starts). */
static int
call_new(sy_arena *a, const sy_ai_target *targets, int n, const op *o,
         const sy_ai_opts *opts, sy_ai_outcome *oc, sy_ai_call **out)
{
    sy_ai_call *c = sy_arena_alloc(a, sizeof(*c));
    if (!c)
        return SY_ENOMEM;
    call_init(c, a, targets, n, o, opts, oc);
    *out = c;
    return 0;
}

int
sy_ai_tryon_submit_start(sy_arena *a, const sy_ai_image *person,
                         const sy_ai_image *garments, int ngarments,
                         const sy_ai_opts *opts, sy_ai_job *job,
                         sy_ai_outcome *oc, sy_ai_call **call)
{
    sy_ai_target t[SY_AI_CHAIN_MAX];
    outcome_init(oc);
    if (!person || !garments || ngarments < 1 ||
        ngarments > SY_AI_TRYON_MAX_GARMENTS)
        return SY_EINVAL;
    memset(job, 0, sizeof(*job));
    op o = {.cap = SY_AI_TRYON, .build = submit_build,
            .parse = submit_parse, .img = person, .garments = garments,
            .n = ngarments, .id_out = job->id, .id_outlen = sizeof(job->id)};
    return call_new(a, t, chain_targets(SY_AI_TRYON, t), &o, opts, oc,
                    call);
}

void
sy_ai_tryon_submitted(const sy_ai_call *c, sy_ai_job *job)
{
    snprintf(job->provider, sizeof(job->provider), "%s", c->oc->provider);
    snprintf(job->model, sizeof(job->model), "%s", c->oc->model);
}

int
sy_ai_tryon_submit(sy_arena *a, const sy_ai_image *person,
                   const sy_ai_image *garments, int ngarments,
                   const sy_ai_opts *opts, sy_ai_job *job,
                   sy_ai_outcome *oc)
{
    sy_ai_call *c;
    int rc = sy_ai_tryon_submit_start(a, person, garments, ngarments, opts,
                                      job, oc, &c);
    if (rc == 0 && (rc = drive(c)) == 0)
        sy_ai_tryon_submitted(c, job);
    return rc;
}

/* The target of a job: its provider's endpoint (configured or not in a
 * chain now) and model. */
static int
job_target(const sy_ai_job *job, sy_ai_target *t)
{
    for (int k = SY_AI_FAL; k <= SY_AI_REPLICATE; k++) {
        if (strcmp(job->provider, sy_ai_kind_name(k)) == 0) {
            t->kind = k;
            t->name = sy_ai_kind_name(k);
            t->model = job->model;
            t->ep = &sy_conf->ai_ep[k];
            return sy_ai_id_ok(sy_str_c(job->id)) && job->model[0]
                       ? 0
                       : SY_EINVAL;
        }
    }
    return SY_EINVAL;
}

static int
status_build(sy_arena *a, const sy_ai_driver *d, const sy_ai_target *t,
             const op *o, sy_ai_http_req *req)
{
    return d->status(a, t, o->job_id, req);
}

static int
status_parse(sy_arena *a, const sy_ai_driver *d, const op *o,
             const sy_ai_http_res *res, char *why, size_t whylen)
{
    return d->status_of(a, res->body, o->status_out, o->url_out, why,
                        whylen);
}

int
sy_ai_tryon_status_start(sy_arena *a, const sy_ai_job *job,
                         const sy_ai_opts *opts, int *status, sy_str *error,
                         sy_ai_outcome *oc, sy_ai_call **call)
{
    sy_ai_target t;
    outcome_init(oc);
    if (job_target(job, &t) < 0)
        return SY_EINVAL;
    op o = {.cap = SY_AI_TRYON, .build = status_build,
            .parse = status_parse, .job_id = job->id, .status_out = status,
            .url_out = error};
    return call_new(a, &t, 1, &o, opts, oc, call);
}

int
sy_ai_tryon_status(sy_arena *a, const sy_ai_job *job,
                   const sy_ai_opts *opts, int *status, sy_str *error,
                   sy_ai_outcome *oc)
{
    sy_ai_call *c;
    int rc = sy_ai_tryon_status_start(a, job, opts, status, error, oc, &c);
    return rc < 0 ? rc : drive(c);
}

static int
find_build(sy_arena *a, const sy_ai_driver *d, const sy_ai_target *t,
           const op *o, sy_ai_http_req *req)
{
    return d->find(a, t, o->cursor, req);
}

static int
find_parse(sy_arena *a, const sy_ai_driver *d, const op *o,
           const sy_ai_http_res *res, char *why, size_t whylen)
{
    const sy_ai_target *t = o->target;
    json_object *input = sy_ai_tryon_input(a, t, o->img, o->garments, o->n);
    if (!input)
        return SY_ENOMEM;
    int rc = d->found(a, res->body, t, input, o->since, o->id_out,
                      o->id_outlen, o->next_out, why, whylen);
    json_object_put(input);
    return rc;
}

bool
sy_ai_tryon_findable(const char *provider)
{
    for (int k = SY_AI_FAL; k <= SY_AI_REPLICATE; k++) {
        if (provider && strcmp(provider, sy_ai_kind_name(k)) == 0) {
            const sy_ai_driver *d = sy_ai_driver_of(k);
            return d && d->find && d->found;
        }
    }
    return false;
}

int
sy_ai_tryon_find_start(sy_arena *a, sy_ai_job *job,
                       const sy_ai_image *person,
                       const sy_ai_image *garments, int ngarments,
                       const char *since, const char *cursor,
                       const char **next, const sy_ai_opts *opts,
                       sy_ai_outcome *oc, sy_ai_call **call)
{
    sy_ai_target t;
    outcome_init(oc);
    if (!sy_ai_tryon_findable(job->provider) || !job->model[0] ||
        !person || !garments || ngarments < 1 ||
        ngarments > SY_AI_TRYON_MAX_GARMENTS || !since ||
        strlen(since) < 19)
        return SY_EINVAL;
    for (int k = SY_AI_FAL; k <= SY_AI_REPLICATE; k++) {
        if (strcmp(job->provider, sy_ai_kind_name(k)) == 0) {
            t.kind = k;
            t.name = sy_ai_kind_name(k);
            t.model = job->model;
            t.ep = &sy_conf->ai_ep[k];
        }
    }
    job->id[0] = '\0';
    *next = NULL;
    op o = {.cap = SY_AI_TRYON, .build = find_build, .parse = find_parse,
            .img = person, .garments = garments, .n = ngarments,
            .id_out = job->id, .id_outlen = sizeof(job->id),
            .cursor = cursor, .since = since, .next_out = next};
    int rc = call_new(a, &t, 1, &o, opts, oc, call);
    if (rc == 0)
        (*call)->o.target = &(*call)->t[0];
    return rc;
}

static int
result_build(sy_arena *a, const sy_ai_driver *d, const sy_ai_target *t,
             const op *o, sy_ai_http_req *req)
{
    return d->result(a, t, o->job_id, req);
}

static int
result_parse(sy_arena *a, const sy_ai_driver *d, const op *o,
             const sy_ai_http_res *res, char *why, size_t whylen)
{
    int rc = d->result_url(a, res->body, o->url_out, why, whylen);
    /* fetched without the key, from wherever the provider says: https
     * only when the provider itself is reached over https */
    bool tls = sy_str_starts(sy_str_c(o->ep->base_url), "https://");
    if (rc == 0 && !sy_str_starts(*o->url_out, "https://") &&
        (tls || !sy_str_starts(*o->url_out, "http://"))) {
        snprintf(why, whylen, "the result is not an %s URL",
                 tls ? "https" : "http(s)");
        return SY_EPROVIDER;
    }
    return rc;
}

int
sy_ai_tryon_result_start(sy_arena *a, const sy_ai_job *job,
                         const sy_ai_opts *opts, sy_ai_image *out,
                         sy_ai_outcome *oc, sy_ai_call **call)
{
    sy_ai_target t;
    outcome_init(oc);
    if (job_target(job, &t) < 0)
        return SY_EINVAL;
    op o = {.cap = SY_AI_TRYON, .build = result_build,
            .parse = result_parse, .job_id = job->id, .ep = t.ep};
    int rc = call_new(a, &t, 1, &o, opts, oc, call);
    if (rc < 0)
        return rc;
    (*call)->o.url_out = &(*call)->url;
    (*call)->img_out = out;
    return 0;
}

int
sy_ai_tryon_result(sy_arena *a, const sy_ai_job *job,
                   const sy_ai_opts *opts, sy_ai_image *out,
                   sy_ai_outcome *oc)
{
    sy_ai_call *c;
    int rc = sy_ai_tryon_result_start(a, job, opts, out, oc, &c);
    return rc < 0 ? rc : drive(c);
}

/* ------------------------------------------------------------- status */

/* The model name of a link: the local provider's is per capability. */
static const char *
link_model(int cap, const sy_ai_link *l)
{
    if (l->kind != SY_AI_LOCAL)
        return l->model;
    return cap == SY_AI_TRYON ? SY_COMPOSITOR_MODEL : SY_EMBED_LOCAL_MODEL;
}

bool
sy_ai_primary(int cap, const char **provider, const char **model)
{
    if (cap < 0 || cap >= SY_AI_NCAPS || sy_conf->ai_nchain[cap] == 0)
        return false;
    const sy_ai_link *l = &sy_conf->ai_chain[cap][0];
    *provider = sy_ai_kind_name(l->kind);
    *model = link_model(cap, l);
    return true;
}

bool
sy_ai_configured(int cap)
{
    return cap >= 0 && cap < SY_AI_NCAPS && sy_conf->ai_nchain[cap] > 0;
}

/* Every remote link of every chain, with its breaker's state. */
typedef struct links {
    int n;
    int cap[SY_AI_NCAPS * SY_AI_CHAIN_MAX];
    int idx[SY_AI_NCAPS * SY_AI_CHAIN_MAX];
    const char *names[SY_AI_NCAPS * SY_AI_CHAIN_MAX];
    sy_breaker_info info[SY_AI_NCAPS * SY_AI_CHAIN_MAX];
} links;

static int
read_links(sy_arena *a, links *ls)
{
    ls->n = 0;
    for (int cap = 0; cap < SY_AI_NCAPS; cap++) {
        for (int i = 0; i < sy_conf->ai_nchain[cap]; i++) {
            const sy_ai_link *l = &sy_conf->ai_chain[cap][i];
            char *name;
            if (l->kind == SY_AI_LOCAL)
                continue;
            if (!(name = sy_arena_alloc(a, SY_BREAKER_NAME_MAX)))
                return SY_ENOMEM;
            snprintf(name, SY_BREAKER_NAME_MAX, "%s:%s",
                     sy_ai_kind_name(l->kind), l->model);
            ls->cap[ls->n] = cap;
            ls->idx[ls->n] = i;
            ls->names[ls->n++] = name;
        }
    }
    return ls->n ? sy_breaker_info_many(a, ls->names, ls->n, ls->info) : 0;
}

static json_object *
link_json(const char *kind, const char *model, const sy_breaker_info *bi)
{
    json_object *o = json_object_new_object();
    char name[SY_BREAKER_NAME_MAX];
    if (!o)
        return NULL;
    snprintf(name, sizeof(name), "%s:%s", kind, model);
    json_object_object_add(o, "name", json_object_new_string(name));
    json_object_object_add(o, "kind", json_object_new_string(kind));
    json_object_object_add(o, "model", json_object_new_string(model));
    json_object_object_add(o, "healthy", json_object_new_boolean(
                                             bi->state == SY_BREAKER_CLOSED));
    json_object_object_add(o, "circuit", json_object_new_string(
                                             sy_breaker_state_name(bi->state)));
    json_object *le = NULL;
    if (bi->last_error) {
        char at[40];
        le = json_object_new_object();
        json_object_object_add(le, "class",
                               json_object_new_string(bi->last_error));
        json_object_object_add(le, "status",
                               bi->last_status
                                   ? json_object_new_int(bi->last_status)
                                   : NULL);
        sy_rfc3339_ms(at, sizeof(at), bi->last_error_ms);
        json_object_object_add(le, "at", json_object_new_string(at));
    }
    json_object_object_add(o, "last_error", le);
    json_object_object_add(o, "latency_p50_ms",
                           bi->p50_us >= 0
                               ? json_object_new_double(
                                     (double)(bi->p50_us / 10) / 100.0)
                               : NULL);
    json_object_object_add(o, "shared", json_object_new_boolean(bi->shared));
    return o;
}

int
sy_ai_status_json(sy_arena *a, json_object **out)
{
    links ls;
    int rc = read_links(a, &ls);
    if (rc < 0)
        return rc;
    json_object *root = json_object_new_object();
    if (!root)
        return SY_ENOMEM;
    for (int cap = 0; cap < SY_AI_NCAPS; cap++) {
        json_object *arr = json_object_new_array();
        if (!arr)
            goto nomem;
        json_object_object_add(root, sy_ai_cap_name(cap), arr);
        for (int i = 0; i < sy_conf->ai_nchain[cap]; i++) {
            const sy_ai_link *l = &sy_conf->ai_chain[cap][i];
            sy_breaker_info local = {.state = SY_BREAKER_CLOSED,
                                     .p50_us = -1};
            const sy_breaker_info *bi = &local;
            for (int j = 0; j < ls.n; j++)
                if (ls.cap[j] == cap && ls.idx[j] == i)
                    bi = &ls.info[j];
            json_object *o = link_json(
                sy_ai_kind_name(l->kind),
                link_model(cap, l),
                bi);
            if (!o)
                goto nomem;
            json_object_array_add(arr, o);
        }
    }
    *out = root;
    return 0;
nomem:
    json_object_put(root);
    return SY_ENOMEM;
}

/* /metrics: the state of each configured provider's circuit (read from
 * Redis at scrape time, like GET /providers). */
static void
render_circuits(sy_buf *b)
{
    sy_arena a;
    links ls;
    if (!sy_conf)
        return;
    sy_arena_init(&a, 16384, 1 << 20);
    if (read_links(&a, &ls) == 0 && ls.n > 0) {
        sy_metrics_header(b, "synthia_ai_circuit_state", "gauge",
                          "Circuit of each configured provider: 0 closed, "
                          "1 open, 2 half-open");
        for (int i = 0; i < ls.n; i++) {
            sy_buf_printf(b, "synthia_ai_circuit_state{capability=\"%s\","
                          "provider=",
                          sy_ai_cap_name(ls.cap[i]));
            sy_metrics_label(b, ls.names[i]);
            sy_buf_printf(b, "} %d\n", ls.info[i].state);
        }
        sy_metrics_header(b, "synthia_ai_latency_p50_seconds", "gauge",
                          "Median latency of each provider's recent "
                          "successful calls");
        for (int i = 0; i < ls.n; i++) {
            if (ls.info[i].p50_us < 0)
                continue;
            sy_buf_printf(b, "synthia_ai_latency_p50_seconds{capability="
                          "\"%s\",provider=",
                          sy_ai_cap_name(ls.cap[i]));
            sy_metrics_label(b, ls.names[i]);
            sy_buf_printf(b, "} %.6f\n", (double)ls.info[i].p50_us / 1e6);
        }
    }
    sy_arena_cleanup(&a);
}
