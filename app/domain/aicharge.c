/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * aicharge.c - the ai cost class, charged when AI work actually runs
 * (aicharge.h).
 */
#include "synthia/aicharge.h"

#include <stdio.h>
#include <string.h>

#include "synthia/error.h"

/* Why the charge was refused, in a sentence. */
static int
refused(sy_arena *a, const sy_rl_ai *d, sy_errs *e)
{
    bool caller = d->per_caller && !d->caller.allowed;
    const sy_rl_decision *b = caller ? &d->caller : &d->tenant;
    char s[160];
    const char *detail = s;
    if (b->limit == 0)
        detail = "Your plan allows no AI analyses.";
    else if (caller)
        snprintf(s, sizeof(s),
                 "AI limit of %lld analyses per minute reached; retry in "
                 "%lld s.",
                 (long long)b->limit, (long long)b->reset_s);
    else
        snprintf(s, sizeof(s),
                 "The shop's AI budget of %lld analyses per minute is used "
                 "up; retry in %lld s.",
                 (long long)b->limit, (long long)b->reset_s);
    if (detail == s)
        detail = sy_arena_strndup(a, s, strlen(s));
    e->retry_after = b->reset_s > 0 ? b->reset_s : 1;
    return sy_errs_fail(e, SY_ERATE, "rate_limited",
                        detail ? detail : "AI limit reached.");
}

sy_ai_caller
sy_ai_caller_of(const sy_principal *p, sy_ai_charged *charge)
{
    bool sysadmin = p->kind == SY_WHO_USER && p->role == SY_ROLE_SYSADMIN;
    return (sy_ai_caller){
        .user_id = p->user_id[0] ? p->user_id : NULL,
        .key_id = p->key_id[0] ? p->key_id : NULL,
        .shopper = p->user_id[0] && p->role < SY_ROLE_STAFF,
        .ai_limit = sysadmin ? -1 : p->limits[SY_RATE_AI],
        .charge = charge};
}

int
sy_ai_charge(sy_arena *a, const sy_ai_caller *who, const char *tenant,
             sy_errs *e)
{
    sy_rl_plan plan;
    sy_rl_ai d;
    char subject[SY_RL_SUBJECT_MAX];
    int rc = sy_ratelimit_plan(a, tenant, &plan);
    if (rc == SY_ENOTFOUND)
        return sy_errs_fail(e, rc, "not_found", "no such tenant");
    if (rc < 0)
        return rc;
    sy_ratelimit_subject(who->key_id, who->user_id, subject);
    rc = sy_ratelimit_ai(a, tenant, subject, who->ai_limit, plan.tenant_ai,
                         &d);
    if (rc < 0)
        return rc;
    if (who->charge)
        *who->charge = (sy_ai_charged){.done = true, .d = d};
    return d.allowed ? 0 : refused(a, &d, e);
}
