/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ratelimit.h - per-key sliding-window rate limits and login throttling
 * (app/store/ratelimit.c).  Plain values in and out: the admission
 * pipeline (admission.h) puts the window call in its Redis round trip,
 * renders the RateLimit headers and the 429.
 *
 * API-key requests are limited per key, signed-in users of a tenant per
 * user, by cost class (read, write, ai) and the tenant's plan: a
 * sliding window over two fixed minutes in Redis, from which each
 * responder leases tokens in atomic Lua calls (exact under concurrency:
 * never more than the limit).  The ai class is charged when an analyser or provider
 * is about to run (sy_ratelimit_ai: the caller's window and the
 * tenant's ai budget together, counted in both or in neither).  When
 * Redis is unreachable, ratelimit.on_redis_down decides: local (each
 * responder enforces limit/workers in memory), open or closed.
 */
#ifndef SYNTHIA_RATELIMIT_H
#define SYNTHIA_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/principal.h"
#include "synthia/str.h"

struct redisReply;
struct sy_redis_cmdv;

/* What a limiter decided. */
typedef struct sy_rl_decision {
    bool allowed;
    int64_t limit;     /* what this decision enforced */
    int64_t remaining;
    int64_t reset_s;   /* allowed: window rolls; refused: retry after */
    int64_t held_ms;   /* refused: other responders may hold unspent
                        * leased tokens for this long (0: none) */
} sy_rl_decision;

/* "read", "write", "ai" of an enum sy_rate_class. */
const char *sy_ratelimit_class_name(int cls);

/* Whose windows a caller's requests count in: "k:<key id>" for an API
 * key (key_id neither NULL nor ""), else "u:<user id>" for a signed-in
 * user. */
#define SY_RL_SUBJECT_MAX (SY_UUID_LEN + 4)
void sy_ratelimit_subject(const char *key_id, const char *user_id,
                          char out[SY_RL_SUBJECT_MAX]);

/* Token leases.  A responder takes a batch of a subject's tokens of a
 * class from the window in Redis in one atomic call (counted there at
 * once, so all of them fit the window) and spends them from its memory
 * without a round trip for ratelimit.lease_ttl (never past the minute
 * they count in); it gives back what it did not spend when they lapse
 * (sy_ratelimit_leases_tick), when it leases again and when it exits
 * (sy_ratelimit_leases_return).  The batch doubles per lease from 1 up
 * to ratelimit.lease_max, and is never more than a (4 x
 * server.workers)th of what the window has left: 1 at a time near the
 * limit or on small limits.  So the limiter never admits more than the
 * limit.  A refusal says how long other responders may still hold
 * tokens (held_ms, at most lease_ttl): asked again after that, once
 * they have given back, it does not under-admit either.
 * RateLimit-Remaining lags by at most the tokens others hold. */

/* One token of subject's class from this responder's lease: true with
 * the decision in d, false when a lease is due (none, spent, lapsed or
 * taken under another limit). */
bool sy_ratelimit_spend(const char *subject, int cls, int64_t limit,
                        sy_rl_decision *d);

/* The lease call for a pipeline (stale tokens given back in it); its
 * reply into d with sy_ratelimit_lease_reply (the tokens beyond this
 * request's kept): 0, SY_ENOTFOUND when Redis had not loaded the script
 * (then call sy_ratelimit_lease), SY_EREDIS for anything else. */
int sy_ratelimit_lease_cmd(sy_arena *a, const char *subject, int cls,
                           int64_t limit, struct sy_redis_cmdv *out);
int sy_ratelimit_lease_reply(const struct redisReply *r, const char *subject,
                             int cls, int64_t limit, sy_rl_decision *d);

/* After SY_ENOTFOUND, the same call again on its own (loading the
 * script): 0 or SY_EREDIS. */
int sy_ratelimit_lease(sy_arena *a, const char *subject, int cls,
                       int64_t limit, sy_rl_decision *d);

/* For the responder's loop: milliseconds until leased tokens lapse (-1:
 * none on lease); give back the lapsed ones (true when it ran: reset
 * the arena); give back everything (on exit). */
int64_t sy_ratelimit_leases_due_ms(void);
bool sy_ratelimit_leases_tick(sy_arena *a);
void sy_ratelimit_leases_return(sy_arena *a);

/* Decide from this responder's memory (Redis down, policy local). */
void sy_ratelimit_local(const char *subject, int cls, int64_t limit,
                        sy_rl_decision *d);

/* A tenant's ai budget, as a class of its own in metrics and local
 * counts. */
#define SY_RL_TENANT_AI (SY_RATE_AI + 1)

/* Count a decision in synthia_ratelimit_decisions_total (cls: an enum
 * sy_rate_class or SY_RL_TENANT_AI). */
void sy_ratelimit_count(int cls, bool allowed);

/* A charge of the ai class: the caller's window and the tenant's
 * budget. */
typedef struct sy_rl_ai {
    bool allowed;       /* counted in both (or refused by either) */
    bool per_caller;    /* the caller has a window of its own */
    bool degraded;      /* decided without Redis (RateLimit-Degraded) */
    sy_rl_decision caller, tenant;
} sy_rl_ai;

/* Charge one ai request of subject (sy_ratelimit_subject) in tenant:
 * allowed only when both the caller's window (caller_limit per minute;
 * -1: the caller has none, as a sysadmin) and the tenant's budget
 * (tenant_limit per minute) have room, and then counted in both, in one
 * atomic Lua call (both counters share the tenant's hash tag).  0 with
 * the decision in d (degraded when Redis is away and on_redis_down is
 * local or open); SY_EREDIS when it is away and the policy is closed. */
int sy_ratelimit_ai(sy_arena *a, const char *tenant, const char *subject,
                    int64_t caller_limit, int64_t tenant_limit, sy_rl_ai *d);

/* A tenant's plan limits per minute: by enum sy_rate_class for each of
 * its users (API keys carry theirs in the key record), and the tenant's
 * ai budget over all its users and keys.  Kept in the responder's
 * memory for SY_RL_PLAN_TTL_MS ("tenant_plans").  0, SY_ENOTFOUND (no
 * such tenant) or SY_EDB. */
#define SY_RL_PLAN_TTL_MS 5000
typedef struct sy_rl_plan {
    int64_t limits[4];
    int64_t tenant_ai;
} sy_rl_plan;
int sy_ratelimit_plan(sy_arena *a, const char *tenant, sy_rl_plan *out);

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
