/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * aicharge.h - the ai cost class, charged when AI work actually runs
 * (app/domain/aicharge.c).
 *
 * Routes that may call an analyser or provider are admitted as `read`;
 * the rule that is about to run one calls sy_ai_charge first, so a
 * refused or invalid request, an answer from a cache and an analyser
 * that never runs cost no `ai`.  A charge counts in the caller's window
 * (per API key, or per signed-in user, by the plan's ai_per_min) and in
 * the tenant's budget (the plan's ai_tenant_per_min over all its users
 * and keys), in both or in neither (ratelimit.h sy_ratelimit_ai).
 */
#ifndef SYNTHIA_AICHARGE_H
#define SYNTHIA_AICHARGE_H

#include <stdbool.h>

#include "synthia/analysis.h"
#include "synthia/arena.h"
#include "synthia/errs.h"
#include "synthia/principal.h"
#include "synthia/ratelimit.h"

/* What a charge decided, for the RateLimit headers (admission.h
 * sy_admission_ai_headers): the caller gives one in sy_ai_caller.charge. */
typedef struct sy_ai_charged {
    bool done; /* sy_ai_charge ran and decided */
    sy_rl_ai d;
} sy_ai_charged;

/* Charge one unit of the ai class to who in tenant, right before the
 * analyser or provider runs.  0 when it may run; SY_ERATE (429
 * rate_limited, with Retry-After in e) when the caller's window or the
 * tenant's budget is used up; SY_EREDIS when Redis is away and
 * ratelimit.on_redis_down = closed; SY_EDB.  The decision goes to
 * who->charge when not NULL. */
int sy_ai_charge(sy_arena *a, const sy_ai_caller *who, const char *tenant,
                 sy_errs *e);

/* The AI caller of a request's principal: its user or key, whether it
 * sees only its own (a user below staff), its ai limit (none for a
 * sysadmin); a charge reports to charge (NULL: nowhere). */
sy_ai_caller sy_ai_caller_of(const sy_principal *p, sy_ai_charged *charge);

#endif
