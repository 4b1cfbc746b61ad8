/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * json.c - JSON bodies: content type, depth-limited parsing with json-c,
 * typed getters that record field errors (errs.h).
 */
#include "synthia/json.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/error.h"

void
sy_json_put(void *obj)
{
    json_object_put(obj);
}

bool
sy_json_content_type(sy_str ctype)
{
    const char *semi = memchr(ctype.p ? ctype.p : "", ';', ctype.len);
    sy_str mt = {ctype.p, semi ? (size_t)(semi - ctype.p) : ctype.len};
    while (mt.len && mt.p[mt.len - 1] == ' ')
        mt.len--;
    if (sy_str_ieqc(mt, "application/json"))
        return true;
    /* application/<anything>+json, e.g. application/merge-patch+json */
    return mt.len > 17 && sy_str_ieqc((sy_str){mt.p, 12}, "application/") &&
           sy_str_ieqc((sy_str){mt.p + mt.len - 5, 5}, "+json");
}

int
sy_json_parse(sy_arena *a, sy_str body, struct json_object **out)
{
    json_tokener *tok = json_tokener_new_ex(SY_JSON_MAX_DEPTH);
    if (!tok)
        return SY_ENOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
                                    JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(tok, body.p, (int)body.len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    if (err == json_tokener_continue) {
        /* a bare number or literal only ends at the end of the input */
        o = json_tokener_parse_ex(tok, "", 1);
        err = json_tokener_get_error(tok);
        used = body.len;
    }
    json_tokener_free(tok);
    if (err != json_tokener_success) {
        json_object_put(o);
        return SY_EJSON;
    }
    /* only white space may follow the value */
    for (size_t i = used; i < body.len; i++) {
        char c = body.p[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            json_object_put(o);
            return SY_EJSON;
        }
    }
    if (!o) /* the literal null */
        return SY_EVALIDATION;
    if (sy_arena_defer(a, sy_json_put, o) < 0)
        return SY_ENOMEM;
    if (!json_object_is_type(o, json_type_object))
        return SY_EVALIDATION;
    *out = o;
    return 0;
}

/* Absent field: SY_ENOTFOUND when optional, a recorded error otherwise. */
static int
absent(sy_errs *e, const char *field, bool required)
{
    if (!required)
        return SY_ENOTFOUND;
    /* SY_ENOMEM when the error could not be recorded: a 422 missing it
     * would tell the client the field was fine */
    return sy_errs_field(e, field, "is required");
}

int
sy_json_str(sy_errs *e, struct json_object *obj, const char *field,
            bool required, size_t minlen, size_t maxlen, sy_str *out)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, field, &v) ||
        json_object_is_type(v, json_type_null))
        return absent(e, field, required);
    if (!json_object_is_type(v, json_type_string))
        return sy_errs_field(e, field, "must be a string");
    size_t n = (size_t)json_object_get_string_len(v);
    if (n < minlen || n > maxlen) {
        char msg[96];
        snprintf(msg, sizeof(msg), "must be %zu to %zu characters long",
                 minlen, maxlen);
        return sy_errs_field(e, field, msg);
    }
    *out = (sy_str){json_object_get_string(v), n};
    return 0;
}

int
sy_json_int(sy_errs *e, struct json_object *obj, const char *field,
            bool required, int64_t min, int64_t max, int64_t *out)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, field, &v) ||
        json_object_is_type(v, json_type_null))
        return absent(e, field, required);
    if (!json_object_is_type(v, json_type_int))
        return sy_errs_field(e, field, "must be an integer");
    int64_t n = json_object_get_int64(v);
    /* json-c clamps numbers above INT64_MAX to INT64_MAX */
    bool clamped = n == INT64_MAX &&
                   json_object_get_uint64(v) > (uint64_t)INT64_MAX;
    if (clamped || n < min || n > max) {
        char msg[96];
        snprintf(msg, sizeof(msg), "must be between %lld and %lld",
                 (long long)min, (long long)max);
        return sy_errs_field(e, field, msg);
    }
    *out = n;
    return 0;
}

int
sy_json_bool(sy_errs *e, struct json_object *obj, const char *field,
             bool required, bool *out)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, field, &v) ||
        json_object_is_type(v, json_type_null))
        return absent(e, field, required);
    if (!json_object_is_type(v, json_type_boolean))
        return sy_errs_field(e, field, "must be true or false");
    *out = json_object_get_boolean(v);
    return 0;
}
