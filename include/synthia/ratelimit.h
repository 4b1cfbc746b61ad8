/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ratelimit.h - per-key sliding-window rate limits and login throttling
 * (app/store/ratelimit.c).  Plain values in and out: the admission
 * pipeline (admission.h) puts the window call in its Redis round trip,
 * renders the RateLimit headers and the 429.
 *
 * API-key requests are limited per key and cost class (read, write, ai)
 * by the tenant's plan: one atomic Lua call (a sliding window over two
 * fixed minutes, exact under concurrency).  When Redis is unreachable,
 * ratelimit.on_redis_down decides: local (each responder enforces
 * limit/workers in memory), open or closed.
 */
#ifndef SYNTHIA_RATELIMIT_H
#define SYNTHIA_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/str.h"

struct redisReply;
struct sy_redis_cmdv;

/* What a limiter decided. */
typedef struct sy_rl_decision {
    bool allowed;
    int64_t limit;     /* what this decision enforced */
    int64_t remaining;
    int64_t reset_s;   /* allowed: window rolls; refused: retry after */
} sy_rl_decision;

/* "read", "write", "ai" of an enum sy_rate_class. */
const char *sy_ratelimit_class_name(int cls);

/* The window script's call for key_id's class with this limit, for a
 * pipeline; its reply into d with sy_ratelimit_window_reply: 0,
 * SY_ENOTFOUND when Redis had not loaded the script (then call
 * sy_ratelimit_window), SY_EREDIS for anything else. */
int sy_ratelimit_window_cmd(sy_arena *a, const char *key_id, int cls,
                            int64_t limit, struct sy_redis_cmdv *out);
int sy_ratelimit_window_reply(const struct redisReply *r, int64_t limit,
                              sy_rl_decision *d);

/* The same as one call of its own (loading the script): 0 or
 * SY_EREDIS. */
int sy_ratelimit_window(sy_arena *a, const char *key_id, int cls,
                        int64_t limit, sy_rl_decision *d);

/* Decide from this responder's memory (Redis down, policy local). */
void sy_ratelimit_local(const char *key_id, int cls, int64_t limit,
                        sy_rl_decision *d);

/* A decision was made without Redis: counted, and health says degraded
 * for a minute. */
void sy_ratelimit_note_degraded(void);

/* Is the limiter running degraded right now (for /health)? */
bool sy_ratelimit_degraded(void);

/* Login throttling (API.md), keyed on the normalised email (the same
 * one the account lookup uses), the tenant and the client address:
 * before checking a password, 0 or SY_ERATE with the seconds to wait in
 * *retry_s; after, record the outcome.  Works without Redis (throttling
 * then off, logged), so login keeps working. */
int sy_login_guard_check(sy_arena *a, sy_str email, const char *tenant,
                         sy_str client, int64_t *retry_s);
void sy_login_guard_record(sy_arena *a, sy_str email, const char *tenant,
                           sy_str client, bool success);

#endif
