/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * analysis.c (domain) - who may read which analysis, and what feedback
 * is valid (analysis.h).
 */
#include "synthia/analysis.h"

#include <json-c/json.h>
#include <stdint.h>
#include <string.h>

#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/text.h"

static const char *const target_types[] = {"analysis", "generation",
                                           "recommendation"};

static const char *
owner_filter(const sy_ai_caller *who)
{
    return who->shopper ? who->user_id : NULL;
}

static int
not_found(sy_errs *e, const char *what)
{
    return sy_errs_fail(e, SY_ENOTFOUND, "not_found", what);
}

int
sy_analysis_get(sy_arena *a, const char *tenant, const char *id,
                const sy_ai_caller *who, sy_errs *e, sy_str *json)
{
    if (!sy_text_uuid(id))
        return not_found(e, "no such analysis");
    int rc = sy_analyses_db_get(a, tenant, id, owner_filter(who), json);
    return rc == SY_ENOTFOUND ? not_found(e, "no such analysis") : rc;
}

int
sy_analysis_list(sy_arena *a, const char *tenant, const sy_ai_caller *who,
                 const sy_keyset *k, sy_analysis_row **rows, int *n)
{
    return sy_analyses_db_list(a, tenant, owner_filter(who), k, rows, n);
}

const char *
sy_feedback_target_type(sy_str s)
{
    for (size_t i = 0; i < sizeof(target_types) / sizeof(*target_types); i++)
        if (sy_str_eqc(s, target_types[i]))
            return target_types[i];
    return NULL;
}

/* The body, field by field; every error is recorded. */
static int
read_feedback(sy_arena *a, json_object *body, sy_errs *e, sy_feedback_new *f)
{
    sy_str v;
    int rc = 0;
    if (sy_json_str(e, body, "target_type", true, 0, SIZE_MAX, &v) < 0)
        rc = SY_EVALIDATION;
    else if (!(f->target_type = sy_feedback_target_type(v)))
        rc = sy_errs_field(e, "target_type",
                           "must be analysis, generation or recommendation");
    if (sy_json_str(e, body, "target_id", true, 0, SIZE_MAX, &v) < 0)
        rc = SY_EVALIDATION;
    else if (!(f->target_id = sy_str_dup(a, v)))
        return SY_ENOMEM;
    else if (!sy_text_uuid(f->target_id))
        rc = sy_errs_field(e, "target_id", "must be a uuid");
    if (sy_json_int(e, body, "rating", true, 1, 5, &f->rating) < 0)
        rc = SY_EVALIDATION;
    int c = sy_json_str(e, body, "comment", false, 0, SIZE_MAX, &v);
    if (c == SY_EVALIDATION)
        rc = SY_EVALIDATION;
    else if (c == 0) {
        if (!sy_text_multiline_ok(v) ||
            sy_str_utf8_chars(v) > SY_FEEDBACK_COMMENT_MAX)
            rc = sy_errs_field(e, "comment",
                               "must be at most 2000 characters of text "
                               "(tab and line breaks allowed)");
        else if (!(f->comment = sy_str_dup(a, v)))
            return SY_ENOMEM;
    }
    return rc;
}

int
sy_feedback_give(sy_arena *a, const char *tenant, const sy_ai_caller *who,
                 json_object *body, sy_errs *e, sy_str *json)
{
    sy_feedback_new f = {.user_id = who->user_id, .key_id = who->key_id};
    int rc = read_feedback(a, body, e, &f);
    if (rc < 0)
        return rc;
    if (strcmp(f.target_type, "generation") == 0)
        return sy_errs_field(e, "target_type",
                             "generation feedback needs try-on jobs, "
                             "which this version does not have");
    rc = sy_feedback_db_insert(a, tenant, &f, owner_filter(who), json);
    return rc == SY_ENOTFOUND ? not_found(e, "no such analysis") : rc;
}

int
sy_feedback_list(sy_arena *a, const char *tenant, const char *target_type,
                 const sy_keyset *k, sy_analysis_row **rows, int *n,
                 sy_str *summary)
{
    int rc = sy_feedback_db_list(a, tenant, target_type, k, rows, n);
    return rc < 0 ? rc : sy_feedback_db_summary(a, tenant, summary);
}
