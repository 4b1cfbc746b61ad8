/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * analysis.c (domain) - who may read which analysis, and what feedback
 * is valid (analysis.h).
 */
#include "synthia/analysis.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "synthia/aicharge.h"
#include "synthia/chromatic.h"
#include "synthia/clock.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/text.h"
#include "synthia/uploads.h"

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

/* ------------------------------------------------- colour analysis */

static json_object *
str_array(const char *const *v, int n)
{
    json_object *arr = json_object_new_array();
    for (int i = 0; arr && i < n; i++)
        json_object_array_add(arr, json_object_new_string(v[i]));
    return arr;
}

/* What the analyser said, as the result object stored with the
 * analysis. */
static json_object *
chromatic_json(const sy_chromatic *c, const char *upload_id)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "upload_id", json_object_new_string(upload_id));
    json_object_object_add(o, "season", json_object_new_string(c->season));
    json_object_object_add(o, "undertone",
                           json_object_new_string(c->undertone));
    json_object_object_add(o, "value", json_object_new_string(c->value));
    json_object_object_add(o, "contrast",
                           json_object_new_string(c->contrast));
    json_object_object_add(o, "chroma", json_object_new_string(c->chroma));
    json_object_object_add(o, "skin", json_object_new_string(c->skin_hex));
    json_object_object_add(o, "palette",
                           str_array(c->palette, SY_CHROMATIC_PALETTE));
    json_object_object_add(o, "avoid",
                           str_array(c->avoid, SY_CHROMATIC_AVOID));
    json_object_object_add(o, "method",
                           json_object_new_string(SY_CHROMATIC_METHOD));
    return o;
}

int
sy_analysis_chromatic(sy_arena *a, const char *tenant,
                      const sy_ai_caller *who, json_object *body, sy_errs *e,
                      sy_str *json)
{
    sy_str id;
    int rc = sy_json_str(e, body, "upload_id", true, 0, SIZE_MAX, &id);
    if (rc < 0)
        return rc;
    char uid[SY_UUID_LEN + 1];
    if (id.len != SY_UUID_LEN)
        return sy_errs_field(e, "upload_id", "must be a UUID");
    memcpy(uid, id.p, SY_UUID_LEN);
    uid[SY_UUID_LEN] = '\0';
    if (!sy_text_uuid(uid))
        return sy_errs_field(e, "upload_id", "must be a UUID");
    int64_t t0 = sy_mono_us();
    sy_upload_row row;
    sy_image img;
    rc = sy_uploads_decode(a, tenant, uid, SY_CHROMATIC_SIDE, e, &row, &img);
    if (rc < 0)
        return rc;
    if (who->shopper && row.user_id && row.user_id[0] &&
        strcmp(row.user_id, who->user_id) != 0)
        return sy_errs_fail(e, SY_ENOTFOUND, "upload_not_found",
                            "no such upload (it may have expired)");
    sy_chromatic c;
    const char *why = NULL;
    if ((rc = sy_ai_charge(a, who, tenant, e)) < 0)
        return rc;
    rc = sy_chromatic_analyse(a, &img, &c, &why);
    if (rc == SY_EVALIDATION)
        return sy_errs_fail(e, rc, "no_skin_found", why);
    if (rc < 0)
        return rc == SY_EINVAL ? SY_EINTERNAL : rc;
    json_object *result = chromatic_json(&c, uid);
    if (!result)
        return SY_ENOMEM;
    size_t len;
    const char *text = json_object_to_json_string_length(
        result, JSON_C_TO_STRING_PLAIN, &len);
    sy_analysis_new n = {
        .user_id = who->user_id,
        .key_id = who->key_id,
        .type = "chromatic",
        .upload_sha256 = row.sha256,
        .provider = SY_ANALYSIS_PROVIDER_LOCAL,
        .model = SY_CHROMATIC_METHOD,
        .result = text ? (sy_str){text, len} : SY_STR_NULL,
        .duration_ms = (sy_mono_us() - t0) / 1000,
        .cached = false};
    rc = text ? sy_analyses_db_insert(a, tenant, &n, json) : SY_ENOMEM;
    json_object_put(result);
    return rc;
}
