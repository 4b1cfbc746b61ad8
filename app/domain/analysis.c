/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * analysis.c (domain) - who may read which analysis, and what feedback
 * is valid (analysis.h).
 */
#include "synthia/analysis.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/aicharge.h"
#include "synthia/airesult.h"
#include "synthia/cache.h"
#include "synthia/chromatic.h"
#include "synthia/clock.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/provider.h"
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

/* What the local analyser said, as the result object cached and stored
 * with the analysis (the upload id is added per request). */
static json_object *
chromatic_json(const sy_chromatic *c)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
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

/* ------------------------------------------------- facial analysis */

#define FACIAL_PROMPT                                                       \
    "You are a stylist's assistant. Look at the face in the photo and "    \
    "describe its shape and features for choosing glasses, haircuts and "  \
    "necklines. Answer with one JSON object that satisfies the given "     \
    "schema and nothing else: no prose, no code fences. If no face is "    \
    "visible, still answer the schema with your best guess and a low "     \
    "confidence."

static sy_ai_schema facial_schema = SY_AI_SCHEMA(
    "facial_analysis",
    "{\"type\": \"object\", \"additionalProperties\": false,"
    " \"required\": [\"face_shape\", \"features\", \"confidence\"],"
    " \"properties\": {"
    "  \"face_shape\": {\"type\": \"string\", \"enum\": [\"oval\","
    "   \"round\", \"square\", \"heart\", \"oblong\", \"diamond\","
    "   \"triangle\"]},"
    "  \"confidence\": {\"type\": \"string\", \"enum\": [\"low\","
    "   \"medium\", \"high\"]},"
    "  \"features\": {\"type\": \"object\", \"additionalProperties\": false,"
    "   \"required\": [\"jawline\", \"cheekbones\", \"forehead\","
    "    \"eye_shape\", \"face_length\", \"symmetry\"],"
    "   \"properties\": {"
    "    \"jawline\": {\"type\": \"string\", \"enum\": [\"soft\","
    "     \"defined\", \"angular\"]},"
    "    \"cheekbones\": {\"type\": \"string\", \"enum\": [\"low\","
    "     \"medium\", \"high\"]},"
    "    \"forehead\": {\"type\": \"string\", \"enum\": [\"narrow\","
    "     \"medium\", \"broad\"]},"
    "    \"eye_shape\": {\"type\": \"string\", \"enum\": [\"almond\","
    "     \"round\", \"hooded\", \"monolid\", \"downturned\","
    "     \"upturned\"]},"
    "    \"face_length\": {\"type\": \"string\", \"enum\": [\"short\","
    "     \"balanced\", \"long\"]},"
    "    \"symmetry\": {\"type\": \"string\", \"enum\": [\"symmetric\","
    "     \"slightly_asymmetric\", \"asymmetric\"]}}}}}");

/* Version of the prompt and schema above, part of the cache key: bump
 * it when either changes, so older answers are not served for it.  Only
 * enums: OpenAI's strict mode cannot be told numeric ranges, so a range
 * would only turn its answers into malformed ones. */
#define FACIAL_VERSION 1

/* ------------------------------------------------- the canonical key */

/* params as canonical JSON: object members sorted by name, no spaces,
 * recursively. */
static int
canon_json(sy_buf *b, json_object *v, int depth)
{
    if (depth > 16)
        return SY_EINVAL;
    switch (json_object_get_type(v)) {
    case json_type_object: {
        int n = json_object_object_length(v), i = 0;
        const char **names = n ? malloc((size_t)n * sizeof(*names)) : NULL;
        if (n && !names)
            return SY_ENOMEM;
        json_object_object_foreach(v, k, val)
        {
            (void)val;
            names[i++] = k;
        }
        for (int x = 1; x < n; x++) /* insertion sort: params are few */
            for (int y = x; y > 0 && strcmp(names[y - 1], names[y]) > 0;
                 y--) {
                const char *t = names[y];
                names[y] = names[y - 1];
                names[y - 1] = t;
            }
        int rc = sy_buf_putc(b, '{');
        for (int j = 0; rc == 0 && j < n; j++) {
            if (j)
                rc = sy_buf_putc(b, ',');
            if (rc == 0)
                rc = sy_buf_json_str(b, names[j], strlen(names[j]));
            if (rc == 0)
                rc = sy_buf_putc(b, ':');
            if (rc == 0)
                rc = canon_json(b, json_object_object_get(v, names[j]),
                                depth + 1);
        }
        free(names);
        return rc == 0 ? sy_buf_putc(b, '}') : rc;
    }
    case json_type_array: {
        int rc = sy_buf_putc(b, '[');
        size_t n = json_object_array_length(v);
        for (size_t j = 0; rc == 0 && j < n; j++) {
            if (j)
                rc = sy_buf_putc(b, ',');
            if (rc == 0)
                rc = canon_json(b, json_object_array_get_idx(v, j),
                                depth + 1);
        }
        return rc == 0 ? sy_buf_putc(b, ']') : rc;
    }
    case json_type_string:
        return sy_buf_json_str(b, json_object_get_string(v),
                               (size_t)json_object_get_string_len(v));
    case json_type_int:
        return sy_buf_add_i64(b, json_object_get_int64(v));
    case json_type_double:
        return sy_buf_printf(b, "%.17g", json_object_get_double(v));
    case json_type_boolean:
        return sy_buf_puts(b, json_object_get_boolean(v) ? "true" : "false");
    default:
        return sy_buf_puts(b, "null");
    }
}

/* A name of the key: printable ASCII without spaces, at most 128. */
static bool
key_word(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return false;
    return true;
}

int
sy_analysis_cache_what(sy_arena *a, const char *capability,
                       const char *provider, const char *model,
                       json_object *params, const char *sha256,
                       sy_str *out)
{
    char hex[65];
    if (!key_word(capability) || !key_word(provider) || !key_word(model) ||
        !sha256 || strlen(sha256) != 64 ||
        (params && !json_object_is_type(params, json_type_object)))
        return SY_EINVAL;
    for (int i = 0; i < 64; i++) {
        char c = sha256[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c + 32);
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return SY_EINVAL;
        hex[i] = c;
    }
    hex[64] = '\0';
    sy_buf b;
    sy_buf_init(&b, a, 64 * 1024);
    int rc = sy_buf_printf(&b, "ai1\ncapability=%s\nprovider=%s\nmodel=%s\n"
                               "params=",
                           capability, provider, model);
    if (rc == 0)
        rc = params ? canon_json(&b, params, 0) : sy_buf_puts(&b, "{}");
    if (rc == 0)
        rc = sy_buf_printf(&b, "\nsha256=%s", hex);
    if (rc < 0 || !sy_buf_cstr(&b))
        return rc < 0 ? rc : SY_ENOMEM;
    *out = sy_buf_str(&b);
    return 0;
}

/* --------------------------------------------- analyses, cached */

enum { K_CHROMATIC, K_FACIAL };

/* One analysis asked for: its kind, the upload (without its bytes) and
 * who is asked first (the key's provider and model). */
typedef struct ask {
    int kind;
    const char *type; /* "chromatic" | "facial" */
    const char *tenant;
    sy_upload_row up;
    const char *provider, *model;
    json_object *params;
    int64_t budget_ms; /* the provider timeout: lock TTL, longest wait */
} ask;

/* What run_analyser got: a result object (owned), who gave it, or a
 * refusal that may be cached (negative), or a failure for which the
 * last good result may be served (retryable). */
typedef struct answer {
    json_object *result;
    const char *provider, *model;
    bool negative;
    bool retryable;
} answer;

#define LOCAL_BUDGET_MS 10000
#define CHAIN_BUDGET_MAX_MS 120000

/* The longest a capability's chain may take when each provider is asked
 * once: the sum of their timeouts. */
static int64_t
chain_budget_ms(int cap)
{
    int64_t sum = 0;
    for (int i = 0; i < sy_conf->ai_nchain[cap]; i++) {
        int kind = sy_conf->ai_chain[cap][i].kind;
        sum += kind == SY_AI_LOCAL ? LOCAL_BUDGET_MS
                                   : sy_conf->ai_ep[kind].timeout_ms;
    }
    return sum < 1000 ? 1000 : sum > CHAIN_BUDGET_MAX_MS ? CHAIN_BUDGET_MAX_MS
                                                         : sum;
}

static json_object *
facial_result(json_object *answer_json)
{
    json_object *o = json_object_new_object(), *v;
    if (!o)
        return NULL;
    const char *keys[] = {"face_shape", "features", "confidence"};
    for (size_t i = 0; i < 3; i++)
        if (json_object_object_get_ex(answer_json, keys[i], &v))
            json_object_object_add(o, keys[i], json_object_get(v));
    return o;
}

/* The one place where a request that the AI result cache could not
 * answer runs the analyser or calls a provider (the cache's miss).
 * 0 with ans->result; else the refusal or failure in e, with
 * ans->negative or ans->retryable saying what the cache may do. */
static int
run_analyser(sy_arena *a, const ask *q, int64_t deadline_us, sy_errs *e,
             answer *ans)
{
    memset(ans, 0, sizeof(*ans));
    if (q->kind == K_CHROMATIC) {
        sy_image img;
        sy_chromatic c;
        const char *why = NULL;
        int rc = sy_uploads_decode(a, q->tenant, q->up.id, SY_CHROMATIC_SIDE,
                                   e, NULL, &img);
        if (rc < 0)
            return rc;
        rc = sy_chromatic_analyse(a, &img, &c, &why);
        if (rc == SY_EVALIDATION) {
            ans->negative = true;
            return sy_errs_fail(e, rc, "no_skin_found", why);
        }
        if (rc < 0)
            return rc == SY_EINVAL ? SY_EINTERNAL : rc;
        ans->provider = SY_ANALYSIS_PROVIDER_LOCAL;
        ans->model = SY_CHROMATIC_METHOD;
        return (ans->result = chromatic_json(&c)) ? 0 : SY_ENOMEM;
    }
    sy_upload_row full;
    int rc = sy_uploads_db_get(a, q->tenant, q->up.id, &full);
    if (rc == SY_ENOTFOUND)
        return sy_errs_fail(e, rc, "upload_not_found",
                            "no such upload (it may have expired)");
    if (rc < 0)
        return rc;
    sy_ai_image img = {full.data.p, full.data.len, full.content_type};
    sy_ai_opts o = {.deadline_us = deadline_us, .max_tokens = 512};
    sy_ai_outcome oc;
    json_object *out = NULL;
    rc = sy_ai_vision(a, &img, FACIAL_PROMPT, &facial_schema, &o, &out, &oc);
    if (rc == 0) {
        ans->provider = oc.provider;
        ans->model = oc.model;
        return (ans->result = facial_result(out)) ? 0 : SY_ENOMEM;
    }
    if (rc != SY_EPROVIDER)
        return rc;
    if (oc.err == SY_AI_ENOPROVIDER)
        return sy_errs_fail(e, rc, "provider_unavailable",
                            "facial analysis needs a vision provider: set "
                            "ai.vision in synthia.conf");
    if (oc.err == SY_AI_ECLIENT &&
        (oc.http_status == 400 || oc.http_status == 413 ||
         oc.http_status == 415 || oc.http_status == 422)) {
        ans->negative = true;
        return sy_errs_fail(e, SY_EVALIDATION, "image_rejected",
                            "the vision provider refused this image "
                            "(unusable or unsupported); try another photo");
    }
    ans->retryable = oc.err != SY_AI_ECLIENT;
    char *d = sy_arena_alloc(a, 128);
    if (d)
        snprintf(d, 128, "no vision provider could answer (last: %s%s%s)",
                 sy_ai_err_name(oc.err),
                 oc.provider && oc.provider[0] ? " from " : "",
                 oc.provider ? oc.provider : "");
    return sy_errs_fail(e, SY_EPROVIDER, "provider_unavailable",
                        d ? d : "no vision provider could answer");
}

/* The cached forms.  An answer is the analysis the miss stored, as its
 * JSON text, after a line naming the user it was stored for ("-" for an
 * API key): "analysis <user>\n<json>".  A hit answers that analysis as
 * it is (same id, no row written), with cached and duration_ms spliced
 * in.  A refusal (always a 422) is "refusal\n{"code", "detail"}". */
#define ANSWER_TAG "analysis "
#define REFUSAL_TAG "refusal\n"

static int
refusal_value(sy_arena *a, const sy_errs *e, sy_str *out)
{
    json_object *o = json_object_new_object();
    if (!o)
        return SY_ENOMEM;
    json_object_object_add(o, "code",
                           json_object_new_string(e->code ? e->code : ""));
    json_object_object_add(o, "detail",
                           json_object_new_string(e->detail ? e->detail : ""));
    sy_buf b;
    sy_buf_init(&b, a, 4096);
    const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    int rc = t ? sy_buf_puts(&b, REFUSAL_TAG) : SY_ENOMEM;
    if (rc == 0)
        rc = sy_buf_puts(&b, t);
    json_object_put(o);
    if (rc < 0 || !sy_buf_cstr(&b))
        return rc < 0 ? rc : SY_ENOMEM;
    *out = sy_buf_str(&b);
    return 0;
}

static int
answer_value(sy_arena *a, const sy_ai_caller *who, sy_str analysis,
             sy_str *out)
{
    sy_buf b;
    sy_buf_init(&b, a, analysis.len + 64);
    int rc = sy_buf_printf(&b, ANSWER_TAG "%s\n",
                           who->user_id ? who->user_id : "-");
    if (rc == 0)
        rc = sy_buf_append(&b, analysis.p, analysis.len);
    if (rc < 0 || !sy_buf_cstr(&b))
        return rc < 0 ? rc : SY_ENOMEM;
    *out = sy_buf_str(&b);
    return 0;
}

/* Store the analysis for the caller: result (borrowed) with the upload
 * id, who answered, and whether it came from the cache. */
static int
record(sy_arena *a, const ask *q, const sy_ai_caller *who,
       json_object *result, const char *provider, const char *model,
       bool cached, int64_t t0, sy_str *json)
{
    json_object_object_add(result, "upload_id",
                           json_object_new_string(q->up.id));
    size_t len;
    const char *text = json_object_to_json_string_length(
        result, JSON_C_TO_STRING_PLAIN, &len);
    if (!text)
        return SY_ENOMEM;
    sy_analysis_new n = {.user_id = who->user_id,
                         .key_id = who->key_id,
                         .type = q->type,
                         .upload_sha256 = q->up.sha256,
                         .provider = provider,
                         .model = model,
                         .result = (sy_str){text, len},
                         .duration_ms = (sy_mono_us() - t0) / 1000,
                         .cached = cached};
    return sy_analyses_db_insert(a, q->tenant, &n, json);
}

/* The span of the value of top-level member name in the JSON object
 * text j (as PostgreSQL prints jsonb: "name": value): 0 with [*from,
 * *to), or SY_ENOTFOUND.  Strings are skipped whole, so text inside
 * them never matches. */
static int
member_span(sy_str j, const char *name, size_t *from, size_t *to)
{
    size_t nl = strlen(name);
    int depth = 0;
    for (size_t i = 0; i < j.len; i++) {
        char c = j.p[i];
        if (c == '"') {
            size_t s = ++i;
            while (i < j.len && j.p[i] != '"')
                i += j.p[i] == '\\' ? 2 : 1;
            if (i >= j.len)
                return SY_ENOTFOUND;
            if (depth != 1 || i - s != nl || memcmp(j.p + s, name, nl))
                continue;
            size_t v = i + 1;
            while (v < j.len && (j.p[v] == ' ' || j.p[v] == ':'))
                v++;
            size_t e = v; /* a scalar: up to the next , or } */
            while (e < j.len && j.p[e] != ',' && j.p[e] != '}')
                e++;
            if (e >= j.len || e == v)
                return SY_ENOTFOUND;
            *from = v;
            *to = e;
            return 0;
        }
        if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']')
            depth--;
    }
    return SY_ENOTFOUND;
}

/* The stored analysis j as this request's answer: cached true and this
 * request's duration_ms, the rest byte for byte. */
static int
served(sy_arena *a, sy_str j, int64_t t0, sy_str *json)
{
    size_t cf, ct, df, dt;
    if (member_span(j, "cached", &cf, &ct) < 0 ||
        member_span(j, "duration_ms", &df, &dt) < 0)
        return SY_EINTERNAL;
    struct {
        size_t from, to;
        char text[24];
    } edit[2] = {{cf, ct, "true"}, {df, dt, ""}};
    snprintf(edit[1].text, sizeof(edit[1].text), "%lld",
             (long long)((sy_mono_us() - t0) / 1000));
    if (df < cf) { /* in the order they appear */
        edit[0].from = df, edit[0].to = dt;
        memcpy(edit[0].text, edit[1].text, sizeof(edit[0].text));
        edit[1].from = cf, edit[1].to = ct;
        memcpy(edit[1].text, "true", 5);
    }
    sy_buf b;
    sy_buf_init(&b, a, j.len + 32);
    size_t at = 0;
    int rc = 0;
    for (int i = 0; rc == 0 && i < 2; i++) {
        rc = sy_buf_append(&b, j.p + at, edit[i].from - at);
        if (rc == 0)
            rc = sy_buf_puts(&b, edit[i].text);
        at = edit[i].to;
    }
    if (rc == 0)
        rc = sy_buf_append(&b, j.p + at, j.len - at);
    if (rc < 0 || !sy_buf_cstr(&b))
        return rc < 0 ? rc : SY_ENOMEM;
    *json = sy_buf_str(&b);
    return 0;
}

/* The stored analysis j for another caller than the one it was stored
 * for (staff asking about a shopper's upload, or another API key's
 * caller): its result recorded anew for this caller, cached. */
static int
recorded_for(sy_arena *a, const ask *q, const sy_ai_caller *who, sy_str j,
             int64_t t0, sy_str *json)
{
    json_object *o = json_tokener_parse(j.p), *p, *m;
    if (!o || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, "provider", &p) ||
        !json_object_object_get_ex(o, "model", &m)) {
        json_object_put(o);
        return SY_EINTERNAL;
    }
    const char *ps = json_object_get_string(p),
               *ms = json_object_get_string(m);
    char *provider = ps ? sy_arena_strndup(a, ps, strlen(ps)) : NULL;
    char *model = ms ? sy_arena_strndup(a, ms, strlen(ms)) : NULL;
    const char *meta[] = {"id",          "type",          "provider",
                          "model",       "cached",        "duration_ms",
                          "upload_sha256", "user_id",     "created_at",
                          "upload_id"};
    for (size_t i = 0; i < sizeof(meta) / sizeof(*meta); i++)
        json_object_object_del(o, meta[i]);
    int rc = provider && model ? record(a, q, who, o, provider, model, true,
                                        t0, json)
                               : SY_ENOMEM;
    json_object_put(o);
    return rc;
}

/* A cached value as the answer to this request: the stored analysis
 * (the caller's own: no row written), or the refusal it holds. */
static int
from_cache(sy_arena *a, const ask *q, const sy_ai_caller *who, sy_str v,
           int64_t t0, sy_errs *e, sy_str *json)
{
    size_t rl = strlen(REFUSAL_TAG), al = strlen(ANSWER_TAG);
    if (v.len > rl && !memcmp(v.p, REFUSAL_TAG, rl)) {
        json_object *o = json_tokener_parse(v.p + rl);
        const char *c = json_object_get_string(
                       json_object_object_get(o, "code")),
                   *d = json_object_get_string(
                       json_object_object_get(o, "detail"));
        char *code = c ? sy_arena_strndup(a, c, strlen(c)) : NULL;
        char *detail = d ? sy_arena_strndup(a, d, strlen(d)) : NULL;
        json_object_put(o);
        if (!code || !code[0] || !detail)
            return SY_EINTERNAL;
        return sy_errs_fail(e, SY_EVALIDATION, code, detail);
    }
    const char *nl = v.len > al ? memchr(v.p, '\n', v.len) : NULL;
    if (!nl || memcmp(v.p, ANSWER_TAG, al))
        return SY_EINTERNAL;
    sy_str user = {v.p + al, (size_t)(nl - v.p) - al};
    sy_str j = {nl + 1, v.len - (size_t)(nl + 1 - v.p)};
    bool own = who->user_id ? sy_str_eqc(user, who->user_id)
                            : sy_str_eqc(user, "-");
    return own ? served(a, j, t0, json) : recorded_for(a, q, who, j, t0, json);
}

#define TAKEOVERS_MAX 3

/* The single-flight token, made on first use (a hit needs none). */
static const char *
lock_token(char t[SY_UUID_LEN + 1])
{
    if (!t[0])
        sy_uuid_v4(t);
    return t;
}

/* Answer q for the caller: from the AI result cache (X-Cache: HIT),
 * else by run_analyser with single flight across responders (MISS),
 * else, when every provider failed, from the last good result (STALE).
 * Without Redis, the analyser is run with no cache at all. */
static int
analyse(sy_arena *a, const ask *q, const sy_ai_caller *who, sy_errs *e,
        sy_str *json, int *xcache)
{
    int64_t t0 = sy_mono_us();
    sy_str what, v;
    sy_airesult_key key;
    int found = SY_AIRESULT_MISS, rc;
    const char *owner = q->up.user_id && q->up.user_id[0] ? q->up.user_id
                                                          : NULL;
    bool cache = sy_analysis_cache_what(a, q->type, q->provider, q->model,
                                        q->params, q->up.sha256, &what) == 0 &&
                 sy_airesult_key_make(&key, q->tenant, SY_CACHE_ANALYSIS,
                                      owner, what) == 0 &&
                 sy_uploads_db_key(q->tenant, q->up.id, key.guard,
                                   sizeof(key.guard)) == 0;
    char token[SY_UUID_LEN + 1] = ""; /* made only when a hit is not */
    *xcache = SY_ANALYSIS_MISS;
    for (int turn = 0; cache; turn++) {
        if (sy_airesult_get(a, &key, &found, &v) < 0)
            cache = false; /* Redis is down: no cache */
        else if (found != SY_AIRESULT_MISS)
            break;
        else if ((rc = sy_airesult_lock(a, &key, lock_token(token),
                                        q->budget_ms)) < 0)
            cache = false;
        else if (rc == 1)
            break; /* this request computes it */
        else if ((rc = sy_airesult_wait(a, &key,
                                        sy_mono_us() + q->budget_ms * 1000,
                                        &found, &v)) == 0)
            break;
        else if (rc == SY_ETIMEOUT)
            return sy_errs_fail(e, SY_ETIMEOUT, "timeout",
                                "an identical analysis is still running; "
                                "try again shortly");
        else if (rc != SY_ENOTFOUND || turn + 1 >= TAKEOVERS_MAX)
            cache = false; /* the holder died: take over */
    }
    if (cache && found == SY_AIRESULT_GONE) {
        /* the upload expired or was erased since this responder read its
         * metadata: checked in the lookup's round trip */
        sy_uploads_db_forget(q->tenant, q->up.id);
        return sy_errs_fail(e, SY_ENOTFOUND, "upload_not_found",
                            "No upload of that id: uploads expire after "
                            "uploads.ttl, and belong to one tenant.");
    }
    if (cache && found != SY_AIRESULT_MISS) {
        *xcache = SY_ANALYSIS_HIT;
        return from_cache(a, q, who, v, t0, e, json);
    }
    if (cache)
        sy_airesult_miss(&key);
    answer ans;
    if ((rc = sy_ai_charge(a, who, q->tenant, e)) < 0) {
        if (cache)
            sy_airesult_unlock(a, &key, token);
        return rc;
    }
    rc = run_analyser(a, q, t0 + q->budget_ms * 1000, e, &ans);
    if (rc == 0) {
        rc = record(a, q, who, ans.result, ans.provider, ans.model, false, t0,
                    json);
        json_object_put(ans.result);
        if (cache && rc == 0 && answer_value(a, who, *json, &v) == 0)
            sy_airesult_put(a, &key, token, v, false,
                            sy_conf->ai_cache_ttl_ms,
                            sy_conf->ai_cache_stale_ttl_ms, 0);
        else if (cache)
            sy_airesult_unlock(a, &key, token);
        return rc;
    }
    if (!cache)
        return rc;
    if (ans.negative && refusal_value(a, e, &v) == 0) {
        sy_airesult_put(a, &key, token, v, true, sy_conf->ai_cache_ttl_ms,
                        0, sy_conf->ai_cache_negative_ttl_ms);
        return rc;
    }
    sy_airesult_unlock(a, &key, token);
    if (ans.retryable && sy_conf->ai_cache_stale_ttl_ms > 0 &&
        sy_airesult_stale(a, &key, &v) == 0) {
        sy_errs_init(e, e->arena);
        *xcache = SY_ANALYSIS_STALE;
        return from_cache(a, q, who, v, t0, e, json);
    }
    return rc;
}

/* The body's upload id (checked first: a bad body is 422 whatever the
 * configuration), the provider asked first (facial: none configured is
 * 503 before any lookup), and the tenant's upload (a shopper's own). */
static int
ask_for(sy_arena *a, const char *tenant, const sy_ai_caller *who,
        json_object *body, sy_errs *e, ask *q)
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
    q->tenant = tenant;
    if (q->kind == K_FACIAL &&
        !sy_ai_primary(SY_AI_VISION, &q->provider, &q->model))
        return sy_errs_fail(e, SY_EPROVIDER, "provider_unavailable",
                            "facial analysis needs a vision provider: set "
                            "ai.vision in synthia.conf");
    rc = sy_uploads_db_meta(a, tenant, uid, &q->up);
    if (rc == 0 && who->shopper && q->up.user_id && q->up.user_id[0] &&
        strcmp(q->up.user_id, who->user_id) != 0)
        rc = SY_ENOTFOUND;
    if (rc == SY_ENOTFOUND)
        return sy_errs_fail(e, SY_ENOTFOUND, "upload_not_found",
                            "No upload of that id: uploads expire after "
                            "uploads.ttl, and belong to one tenant.");
    return rc;
}

int
sy_analysis_chromatic(sy_arena *a, const char *tenant,
                      const sy_ai_caller *who, json_object *body, sy_errs *e,
                      sy_str *json, int *xcache)
{
    ask q = {.kind = K_CHROMATIC,
             .type = "chromatic",
             .provider = SY_ANALYSIS_PROVIDER_LOCAL,
             .model = SY_CHROMATIC_METHOD,
             .budget_ms = LOCAL_BUDGET_MS};
    *xcache = SY_ANALYSIS_MISS;
    int rc = ask_for(a, tenant, who, body, e, &q);
    if (rc < 0)
        return rc;
    if (!(q.params = json_object_new_object()))
        return SY_ENOMEM;
    json_object_object_add(q.params, "side",
                           json_object_new_int(SY_CHROMATIC_SIDE));
    rc = analyse(a, &q, who, e, json, xcache);
    json_object_put(q.params);
    return rc;
}

int
sy_analysis_facial(sy_arena *a, const char *tenant, const sy_ai_caller *who,
                   json_object *body, sy_errs *e, sy_str *json, int *xcache)
{
    ask q = {.kind = K_FACIAL, .type = "facial"};
    *xcache = SY_ANALYSIS_MISS;
    q.budget_ms = chain_budget_ms(SY_AI_VISION);
    int rc = ask_for(a, tenant, who, body, e, &q);
    if (rc < 0)
        return rc;
    if (!(q.params = json_object_new_object()))
        return SY_ENOMEM;
    json_object_object_add(q.params, "schema",
                           json_object_new_string(facial_schema.name));
    json_object_object_add(q.params, "version",
                           json_object_new_int(FACIAL_VERSION));
    rc = analyse(a, &q, who, e, json, xcache);
    json_object_put(q.params);
    return rc;
}
