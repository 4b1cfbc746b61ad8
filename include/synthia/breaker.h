/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * breaker.h - circuit breakers of the AI providers, one per
 * provider+model, shared by every responder (and the CLI) through Redis
 * (app/store/breaker.c).
 *
 * closed: calls go through; each result is counted in a sliding window
 * (window / 10 wide buckets); once the window holds at least
 * min_requests calls and failures make failure_pct percent of them, the
 * circuit opens.  open: calls are refused for cooldown.  Then half-open:
 * exactly one caller on any responder gets the probe (SET NX PX in
 * Redis, freed after probe_ttl should the prober die); its success
 * closes the circuit (and clears the window), its failure opens it for
 * another cooldown; everyone else is refused meanwhile.  A provider's
 * Retry-After holds every caller off that provider until it passes.
 * Client errors (4xx but 408 and 429) are neutral: the provider works.
 *
 * The state lives in sy:{ai}:cb:<name> (a hash), sy:{ai}:cb:<name>:probe
 * and sy:{ai}:cb:<name>:lat (the last 100 latencies of successful calls,
 * of every responder), all under the one hash tag {ai} so each Lua call
 * touches one slot.  Time is Redis's (TIME), so hosts agree.  While
 * Redis is unreachable each process falls back to a breaker of its own
 * in memory with the same rules (shared = false): it opens only on what
 * that process saw, and its probe is that process's.
 */
#ifndef SYNTHIA_BREAKER_H
#define SYNTHIA_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"

#define SY_BREAKER_NAME_MAX 160 /* "openai:gpt-4o-mini", with the NUL */

typedef struct sy_breaker_conf {
    int64_t window_ms;
    int64_t min_requests;
    int64_t failure_pct; /* 1..100 */
    int64_t cooldown_ms;
    int64_t probe_ttl_ms; /* longest a probe may take */
} sy_breaker_conf;

enum sy_breaker_state {
    SY_BREAKER_CLOSED = 0,
    SY_BREAKER_OPEN,
    SY_BREAKER_HALF_OPEN
};

enum sy_breaker_verdict {
    SY_BREAKER_ALLOW = 0, /* closed: go */
    SY_BREAKER_PROBE,     /* half-open, and this caller is the probe */
    SY_BREAKER_REJECT     /* open, another's probe, or held off */
};

enum sy_breaker_result {
    SY_BREAKER_SUCCESS = 0,
    SY_BREAKER_FAILURE,
    SY_BREAKER_NEUTRAL
};

/* A caller's permission, kept until its result is recorded. */
typedef struct sy_breaker_ticket {
    int verdict;       /* enum sy_breaker_verdict */
    bool held;         /* REJECT because of a Retry-After hold */
    bool shared;       /* decided in Redis (false: this process) */
    int64_t wait_ms;   /* REJECT: until the cooldown or hold ends */
    char token[40];    /* PROBE: who holds the probe */
} sy_breaker_ticket;

/* May a call to name go ahead?  Always answers (in memory when Redis
 * is down).  0 or SY_ENOMEM. */
int sy_breaker_acquire(sy_arena *a, const char *name,
                       const sy_breaker_conf *c, sy_breaker_ticket *t);

/* What the call of ticket t came to (enum sy_breaker_result), its
 * latency (us; counted for successes), its error class name ("timeout",
 * ...; NULL for success) and HTTP status (0: none), and the provider's
 * Retry-After in ms (-1: none).  Where the ticket was decided (Redis, or
 * memory when it was, or when Redis is down now). */
void sy_breaker_record(sy_arena *a, const char *name,
                       const sy_breaker_conf *c, const sy_breaker_ticket *t,
                       int result, int64_t latency_us,
                       const char *error_class, int http_status,
                       int64_t retry_after_ms);

/* What GET /providers shows of one breaker. */
typedef struct sy_breaker_info {
    int state;             /* open past its cooldown shows as half-open */
    bool shared;           /* read from Redis (false: this process) */
    const char *last_error; /* class name, or NULL (arena memory) */
    int last_status;       /* its HTTP status, 0: none */
    int64_t last_error_ms; /* Unix ms */
    int64_t p50_us;        /* median of the recent latencies, -1: none */
    int samples;           /* how many latencies that is */
} sy_breaker_info;

/* Read n breakers (one Redis round trip; this process's memory when
 * Redis is down).  0 or SY_ENOMEM. */
int sy_breaker_info_many(sy_arena *a, const char *const *names, int n,
                         sy_breaker_info *out);

/* "closed", "open", "half_open". */
const char *sy_breaker_state_name(int state);

/* The in-memory breaker alone (what Redis-less processes use), for
 * tests of the arithmetic: the same rules with the time given in ms. */
int sy_breaker_mem_acquire(const char *name, const sy_breaker_conf *c,
                           int64_t now_ms, sy_breaker_ticket *t);
void sy_breaker_mem_record(const char *name, const sy_breaker_conf *c,
                           const sy_breaker_ticket *t, int result,
                           int64_t latency_us, const char *error_class,
                           int http_status, int64_t retry_after_ms,
                           int64_t now_ms);
void sy_breaker_mem_info(const char *name, int64_t now_ms,
                         sy_breaker_info *out);
/* Forget every in-memory breaker. */
void sy_breaker_mem_reset(void);

#endif
