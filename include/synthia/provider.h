/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * provider.h - the AI capabilities as the rest of Synthia calls them
 * (app/ai/provider.c): vision analysis, chat, embeddings and try-on, each
 * answered by the first provider of its configured chain that can
 * ([ai] vision, chat, embeddings, tryon; synthia.conf(5)).
 *
 * Every call goes through the router (app/ai/provider.c): providers in
 * order, skipping those whose circuit is open (breaker.h, shared by every
 * responder through Redis); a connection error, 429 or 5xx is retried on
 * the same provider up to ai.retries times after its Retry-After (or a
 * short backoff) unless that is longer than ai.retry_max_wait; a timeout
 * or a malformed answer moves on to the next provider at once; any other
 * 4xx comes back at once (the request is wrong, not the provider).  Calls
 * block the calling process for at most the caller's deadline
 * (opts->deadline_us) or the providers' timeouts and waits; the try-on
 * calls also come as state machines that never block (sy_ai_call,
 * below), driven by the worker on a curl multi.
 *
 * Results live in the caller's arena.  Errors: 0; SY_EPROVIDER with
 * what happened in the outcome (err: the class of the last failure,
 * provider and model that gave it; SY_AI_ECIRCUIT when every provider's
 * circuit was open; SY_AI_ENOPROVIDER when the chain is empty);
 * SY_ENOMEM; SY_EINVAL for arguments out of range.  Nothing secret (keys,
 * images, prompts) appears in the outcome or in logs.
 */
#ifndef SYNTHIA_PROVIDER_H
#define SYNTHIA_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/config.h"
#include "synthia/str.h"

struct json_object;

/* Why a provider call failed (the error classes). */
enum sy_ai_err {
    SY_AI_OK = 0,
    SY_AI_ETIMEOUT,    /* no answer in time (curl timeout, 408) */
    SY_AI_ECONNECT,    /* cannot connect, TLS failure, connection lost */
    SY_AI_ERATE,       /* 429 */
    SY_AI_ESERVER,     /* 5xx (and any status that is not 2xx or 4xx) */
    SY_AI_ECLIENT,     /* 4xx other than 408 and 429: no fallback */
    SY_AI_EMALFORMED,  /* not the API's shape, not the schema, too big */
    SY_AI_ECIRCUIT,    /* skipped: the circuit is open */
    SY_AI_ENOPROVIDER, /* the capability has no provider configured */
    SY_AI_NERRS
};

/* "ok", "timeout", "connection", "rate_limited", "server_error",
 * "client_error", "malformed", "circuit_open", "no_provider". */
const char *sy_ai_err_name(int err);

/* Options of one call. */
typedef struct sy_ai_opts {
    int64_t deadline_us; /* sy_mono_us() time to give up by; 0: none (the
                            providers' own timeouts) */
    int max_tokens;      /* chat and vision answers; 0: 1024 */
} sy_ai_opts;

/* What a call did, for logs, metrics, caches and responses. */
typedef struct sy_ai_outcome {
    int err;               /* enum sy_ai_err: SY_AI_OK on success */
    int http_status;       /* of the last provider answer, 0: none */
    const char *provider;  /* "openai", ..., "local": who answered, or
                              the last one tried; "" when none */
    const char *model;     /* its model ("" when none) */
    int calls;             /* provider calls made, retries included */
    int skipped;           /* providers skipped for an open circuit */
    bool fallback;         /* answered by another than the first */
    int64_t duration_us;   /* the whole call */
    int64_t provider_us;   /* the answering provider call */
} sy_ai_outcome;

/* An image: bytes and their content type (image/jpeg, image/png,
 * image/webp); sent to providers as base64 (a data URL or inline_data). */
typedef struct sy_ai_image {
    const void *data;
    size_t len;
    const char *content_type;
} sy_ai_image;

/* A JSON Schema (the subset of jsonschema.h) that a vision answer must
 * satisfy.  Declare one per use, static, with SY_AI_SCHEMA: it is parsed
 * once per process, sent to the provider (OpenAI
 * response_format.json_schema, Gemini responseSchema) and checked on
 * the answer.  Objects should list every property in "required" and
 * set "additionalProperties": false (OpenAI's strict mode needs both). */
typedef struct sy_ai_schema {
    const char *name; /* [A-Za-z0-9_-]{1,64}, OpenAI's json_schema.name */
    const char *json;
    /* filled on first use */
    struct json_object *parsed;
    struct json_object *wire_openai;
    struct json_object *wire_gemini;
    bool bad; /* the JSON or the schema is invalid: every call fails */
} sy_ai_schema;
#define SY_AI_SCHEMA(name_, json_)                                          \
    {.name = (name_), .json = (json_), .parsed = NULL, .wire_openai = NULL, \
     .wire_gemini = NULL, .bad = false}

/* Vision analysis: the image and a prompt to the vision chain; the
 * answer must be strict JSON (one value, nothing around it) that
 * satisfies schema, or it counts as a provider failure (malformed) and
 * the next provider is asked.  *out: the parsed answer (owned by the
 * arena). */
int sy_ai_vision(sy_arena *a, const sy_ai_image *img, const char *prompt,
                 sy_ai_schema *schema, const sy_ai_opts *o,
                 struct json_object **out, sy_ai_outcome *oc);

enum sy_ai_role { SY_AI_SYSTEM = 0, SY_AI_USER, SY_AI_ASSISTANT };

typedef struct sy_ai_msg {
    int role; /* enum sy_ai_role */
    sy_str text;
} sy_ai_msg;

/* Chat: messages (1 to 64; the first may be the system message) to the
 * chat chain; *out the assistant's text (non-empty, arena memory). */
int sy_ai_chat(sy_arena *a, const sy_ai_msg *msgs, int n,
               const sy_ai_opts *o, sy_str *out, sy_ai_outcome *oc);

/* Vectors from one embedder: n vectors of dims floats, row-major,
 * L2-normalised, with the embedder (provider name) and model that made
 * them: vectors of another embedder or model are not comparable. */
typedef struct sy_ai_vectors {
    int n;
    int dims;
    float *v; /* n * dims, arena memory */
    const char *embedder; /* "openai", "gemini", "local" */
    const char *model;
} sy_ai_vectors;

#define SY_AI_EMBED_MAX_TEXTS 128

/* Embeddings of n texts (1 to SY_AI_EMBED_MAX_TEXTS) with dims
 * dimensions each (asked of the provider: OpenAI `dimensions`, Gemini
 * `outputDimensionality`; an answer of another length is malformed)
 * through the embeddings chain, which ends with the local embedder
 * (dims SY_EMBED_DIMS only; with other dims it is skipped). */
int sy_ai_embed(sy_arena *a, const sy_str *texts, int n, int dims,
                const sy_ai_opts *o, sy_ai_vectors *out, sy_ai_outcome *oc);

/* The same with link i of the embeddings chain only (no fallback):
 * re-embedding a catalog for each embedder that search may use.  i is
 * out of range: SY_EINVAL. */
int sy_ai_embed_link(sy_arena *a, int i, const sy_str *texts, int n,
                     int dims, const sy_ai_opts *o, sy_ai_vectors *out,
                     sy_ai_outcome *oc);

/* A try-on job at a provider: enough to poll it from any process later
 * (the jobs work stores these three strings). */
typedef struct sy_ai_job {
    char provider[16]; /* "fal" or "replicate" */
    char model[SY_AI_MODEL_MAX];
    char id[128];      /* the provider's request or prediction id */
} sy_ai_job;

enum sy_ai_job_status {
    SY_AI_JOB_QUEUED = 0,
    SY_AI_JOB_RUNNING,
    SY_AI_JOB_DONE,
    SY_AI_JOB_ERROR,
    SY_AI_JOB_CANCELED,
};

/* "queued", "running", "done", "error", "canceled". */
const char *sy_ai_job_status_name(int status);

#define SY_AI_TRYON_MAX_GARMENTS 4

/* Try-on: submit a person image and 1 to SY_AI_TRYON_MAX_GARMENTS
 * garment images to the try-on chain (fallback as above); *job names
 * the accepted job.  Remote providers only: the chain's "local" link
 * (last when listed) is the compositor of compositor.h, which the
 * worker calls itself (sy_tryon_composite) when the remote ones fail or
 * when it is the only one; without a remote link this answers
 * SY_EPROVIDER with SY_AI_ENOPROVIDER. */
int sy_ai_tryon_submit(sy_arena *a, const sy_ai_image *person,
                       const sy_ai_image *garments, int ngarments,
                       const sy_ai_opts *o, sy_ai_job *job,
                       sy_ai_outcome *oc);

/* The job's status at its provider (no fallback: the job lives there);
 * *error: the provider's reason when it failed (arena, may be empty). */
int sy_ai_tryon_status(sy_arena *a, const sy_ai_job *job,
                       const sy_ai_opts *o, int *status, sy_str *error,
                       sy_ai_outcome *oc);

/* The finished job's image: its bytes and content type (arena), fetched
 * from where the provider put it (without the API key: that host is
 * not the provider's API; over https whenever the provider's base_url
 * is https, no redirects, at most ai.max_response bytes, and only an
 * image/ content type is accepted). */
int sy_ai_tryon_result(sy_arena *a, const sy_ai_job *job,
                       const sy_ai_opts *o, sy_ai_image *out,
                       sy_ai_outcome *oc);

/* The same three calls without blocking (the worker: many at once on
 * one curl multi, ai_curl.h).  A *_start makes the call (in the arena,
 * which must live until it ends; so must job, status, error, out and
 * oc); then, until it is done:
 *   sy_ai_call_next: SY_AI_STEP_HTTP: make *req (sy_ai_http or
 *     sy_ai_multi_add) and give its answer to sy_ai_call_answer;
 *     SY_AI_STEP_WAIT: a retry's back-off, call again at *wake_us
 *     (sy_mono_us); SY_AI_STEP_DONE: sy_ai_call_rc is what the blocking
 *     call would have returned.
 * The router's rules (fallback, retries, breakers, metrics) are the
 * blocking calls' own: those drive the same state machine. */
typedef struct sy_ai_call sy_ai_call;

enum sy_ai_step { SY_AI_STEP_HTTP = 1, SY_AI_STEP_WAIT, SY_AI_STEP_DONE };

int sy_ai_tryon_submit_start(sy_arena *a, const sy_ai_image *person,
                             const sy_ai_image *garments, int ngarments,
                             const sy_ai_opts *o, sy_ai_job *job,
                             sy_ai_outcome *oc, sy_ai_call **call);
/* After a submit call succeeded: the provider and model into job (its
 * id is there already). */
void sy_ai_tryon_submitted(const sy_ai_call *c, sy_ai_job *job);
int sy_ai_tryon_status_start(sy_arena *a, const sy_ai_job *job,
                             const sy_ai_opts *o, int *status,
                             sy_str *error, sy_ai_outcome *oc,
                             sy_ai_call **call);
int sy_ai_tryon_result_start(sy_arena *a, const sy_ai_job *job,
                             const sy_ai_opts *o, sy_ai_image *out,
                             sy_ai_outcome *oc, sy_ai_call **call);

/* A submit whose answer was lost (the worker died between the provider's
 * answer and noting its id): can job->provider be asked for its jobs?
 * Replicate: yes (its predictions can be listed); FAL: no (its queue
 * has neither a listing nor an idempotency key). */
bool sy_ai_tryon_findable(const char *provider);

/* Look for that job at job->provider (job->model; no fallback, no
 * retries but the router's): one page (cursor NULL: the first) of the
 * provider's jobs created since `since` ("YYYY-MM-DDTHH:MM:SS", UTC),
 * matched on the model and the very input a submit of person and
 * garments sends, failed and canceled ones skipped.  When the call is
 * done with 0: job->id is the job found ("" when none on this page),
 * *next the cursor of the next page (NULL: no more).  SY_EINVAL when
 * the provider cannot be asked. */
int sy_ai_tryon_find_start(sy_arena *a, sy_ai_job *job,
                           const sy_ai_image *person,
                           const sy_ai_image *garments, int ngarments,
                           const char *since, const char *cursor,
                           const char **next, const sy_ai_opts *o,
                           sy_ai_outcome *oc, sy_ai_call **call);

struct sy_ai_http_req;
struct sy_ai_http_res;
int sy_ai_call_next(sy_ai_call *c, const struct sy_ai_http_req **req,
                    int64_t *wake_us);
void sy_ai_call_answer(sy_ai_call *c, const struct sy_ai_http_res *res);
/* The result of a call that is done; SY_EINVAL before. */
int sy_ai_call_rc(const sy_ai_call *c);
/* Give the call up (its request was never answered: the worker's
 * attempt timed out or it is stopping): its breaker ticket goes back
 * unused, and it is done with SY_EPROVIDER. */
void sy_ai_call_abandon(sy_ai_call *c);

/* The first link of a capability's chain (the provider asked first), for
 * cache keys: false when the chain is empty. */
bool sy_ai_primary(int cap, const char **provider, const char **model);

/* Does the capability have any provider (the local one included)? */
bool sy_ai_configured(int cap);

/* GET /providers: {capability: [{name, kind, model, healthy, circuit,
 * last_error, latency_p50_ms, shared}]} for every link of every chain
 * (embeddings' local embedder included: local:local-ngram-v1, and the
 * try-on chain's local compositor, local:local-compositor-v1; both always
 * closed).  circuit: closed | open | half_open; healthy: closed;
 * last_error: null or {class, status, at}; latency_p50_ms: of the last
 * 100 successful calls of every responder (Redis), or of this process's
 * own when Redis is down (shared false); null before any.  *out is a new
 * object the caller owns.  0 or SY_ENOMEM. */
int sy_ai_status_json(sy_arena *a, struct json_object **out);

#endif
