/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ai_curl.h - the HTTP client of the AI providers (app/ai/curl.c).
 *
 * One libcurl easy handle per process, created on first use and reused
 * for every call, so connections (and TLS sessions) to a provider are
 * kept alive between requests.  http and https only, no redirects, TLS
 * verification on, User-Agent "synthia/<version>", connect and total
 * timeouts per call, the answer read into the arena up to a maximum.
 * The API key travels in one header line that nothing logs.
 */
#ifndef SYNTHIA_AI_CURL_H
#define SYNTHIA_AI_CURL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/str.h"

typedef struct sy_ai_http_req {
    const char *method;       /* "GET" or "POST" */
    const char *url;
    const char *auth_header;  /* e.g. "Authorization: Bearer KEY", or NULL */
    const char *content_type; /* of body; NULL: application/json */
    sy_str body;              /* POST */
    int64_t timeout_ms;       /* whole call */
    int64_t connect_timeout_ms;
    size_t max_response;      /* bytes of the answer body */
} sy_ai_http_req;

typedef struct sy_ai_http_res {
    int err;              /* SY_AI_OK, or ETIMEOUT, ECONNECT, EMALFORMED
                             (too big) when no whole answer came */
    long status;          /* HTTP status; 0 without an answer */
    sy_str body;          /* arena memory, NUL-terminated */
    sy_str content_type;  /* arena memory, "" when none */
    int64_t retry_after_ms; /* from Retry-After; -1 when absent or bad */
    int64_t duration_us;
    char detail[128];     /* why, for logs (never a key or a body) */
} sy_ai_http_res;

/* Make the call.  0 (res says what came back, an HTTP error status
 * included), or SY_ENOMEM.  A transport failure is res->err, not a
 * return code. */
int sy_ai_http(sy_arena *a, const sy_ai_http_req *req, sy_ai_http_res *res);

/* The error class of an answer (enum sy_ai_err): SY_AI_OK for 2xx,
 * ETIMEOUT (408), ERATE (429), ECLIENT (other 4xx), ESERVER (the rest),
 * or res->err when there was no answer. */
int sy_ai_http_class(const sy_ai_http_res *res);

/* Milliseconds a Retry-After value asks to wait: delta-seconds, or an
 * HTTP date (IMF-fixdate, RFC 850 or asctime) compared with now_s (Unix
 * seconds); a date in the past is 0.  -1 when it is neither.  At most a
 * day. */
int64_t sy_ai_retry_after_ms(sy_str value, int64_t now_s);

/* Standard base64 (RFC 4648 section 4, padded) of n bytes into the
 * arena, after prefix (e.g. "data:image/png;base64,"); NULL on ENOMEM. */
char *sy_ai_base64(sy_arena *a, const char *prefix, const void *p, size_t n);

/* Decode standard base64 (whitespace not allowed) into the arena.
 * 0, SY_EINVAL (not base64), SY_ENOMEM. */
int sy_ai_unbase64(sy_arena *a, sy_str in, sy_str *out);

/* Many calls at once (the worker's provider calls): one libcurl multi
 * handle and up to max transfers in flight, each on its own easy handle
 * (kept for the next transfer; connections are shared through the
 * multi's cache).  A transfer is the same call as sy_ai_http's (the same
 * options, limits and res), only not waited for. */
typedef struct sy_ai_multi sy_ai_multi;

/* NULL when libcurl cannot start or memory ran out. */
sy_ai_multi *sy_ai_multi_new(int max);
void sy_ai_multi_free(sy_ai_multi *m);

/* Start req; res (and the answer, in a) is filled when
 * sy_ai_multi_wait hands back tag.  req's memory and a must live until
 * then.  0, SY_ENOMEM, or SY_EINVAL (max transfers in flight, or
 * libcurl refused an option). */
int sy_ai_multi_add(sy_ai_multi *m, sy_arena *a, const sy_ai_http_req *req,
                    sy_ai_http_res *res, void *tag);

/* Stop tag's transfer (its res is left unfinished); false when it has
 * none in flight. */
bool sy_ai_multi_cancel(sy_ai_multi *m, void *tag);

/* Transfers in flight. */
int sy_ai_multi_running(const sy_ai_multi *m);

/* Wait up to timeout_ms (0: not at all) for activity on the transfers
 * (curl_multi_poll; a plain sleep when none is in flight), move them
 * on, and hand back in done[] (up to max) the tags of the transfers
 * that ended: their res is filled.  0 or SY_EINTERNAL. */
int sy_ai_multi_wait(sy_ai_multi *m, int timeout_ms, void **done, int max,
                     int *ndone);

/* Free this process's handle (its connections close). */
void sy_ai_http_close(void);

#endif
