/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jsonschema.c - a small JSON Schema subset (jsonschema.h): checking a
 * schema, checking a value against it, and the providers' forms of it.
 */
#include "synthia/jsonschema.h"

#include <ctype.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "synthia/str.h"

static const char *const type_names[] = {"object", "array",  "string",
                                         "number", "integer", "boolean",
                                         "null"};
enum { T_OBJECT, T_ARRAY, T_STRING, T_NUMBER, T_INTEGER, T_BOOLEAN, T_NULL };

/* Path of the place being checked, as $.a.b[3] (bounded). */
typedef struct path {
    char buf[160];
    size_t len;
} path;

static size_t path_push(path *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static size_t
path_push(path *p, const char *fmt, ...)
{
    size_t was = p->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->buf + p->len, sizeof(p->buf) - p->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        p->len += (size_t)n < sizeof(p->buf) - p->len
                      ? (size_t)n
                      : sizeof(p->buf) - p->len - 1;
    return was;
}

static void
path_pop(path *p, size_t was)
{
    p->len = was;
    p->buf[was] = '\0';
}

static bool
say(char *why, size_t whylen, const path *p, const char *rule)
{
    if (why && whylen)
        snprintf(why, whylen, "%s: %s", p->len ? p->buf : "$", rule);
    return false;
}

static int
type_of(json_object *schema)
{
    json_object *t;
    if (!json_object_object_get_ex(schema, "type", &t))
        return -1;
    const char *s = json_object_get_string(t);
    for (int i = 0; i < (int)(sizeof(type_names) / sizeof(type_names[0]));
         i++)
        if (json_object_is_type(t, json_type_string) &&
            strcmp(s, type_names[i]) == 0)
            return i;
    return -2;
}

static bool
is_count(json_object *v)
{
    return json_object_is_type(v, json_type_int) &&
           json_object_get_int64(v) >= 0;
}

static bool
is_number(json_object *v)
{
    return json_object_is_type(v, json_type_int) ||
           json_object_is_type(v, json_type_double);
}

/* ------------------------------------------------------ schema check */

/* May keyword key with value v stand in a schema of type t? */
static bool
keyword_ok(int t, const char *key, json_object *v)
{
    bool ok;
    if (strcmp(key, "type") == 0 || strcmp(key, "description") == 0)
        ok = strcmp(key, "type") == 0 ||
             json_object_is_type(v, json_type_string);
    else if (strcmp(key, "properties") == 0)
        ok = t == T_OBJECT && json_object_is_type(v, json_type_object);
    else if (strcmp(key, "required") == 0) {
        ok = t == T_OBJECT && json_object_is_type(v, json_type_array);
        for (size_t i = 0; ok && i < json_object_array_length(v); i++)
            ok = json_object_is_type(json_object_array_get_idx(v, i),
                                     json_type_string);
    } else if (strcmp(key, "additionalProperties") == 0)
        ok = t == T_OBJECT && json_object_is_type(v, json_type_boolean);
    else if (strcmp(key, "items") == 0)
        ok = t == T_ARRAY; /* checked below */
    else if (strcmp(key, "minItems") == 0 ||
             strcmp(key, "maxItems") == 0)
        ok = t == T_ARRAY && is_count(v);
    else if (strcmp(key, "minLength") == 0 ||
             strcmp(key, "maxLength") == 0)
        ok = t == T_STRING && is_count(v);
    else if (strcmp(key, "minimum") == 0 || strcmp(key, "maximum") == 0)
        ok = (t == T_NUMBER || t == T_INTEGER) && is_number(v);
    else if (strcmp(key, "enum") == 0)
        ok = json_object_is_type(v, json_type_array) &&
             json_object_array_length(v) > 0;
    else
        ok = false;
    return ok;
}

static bool
schema_ok(json_object *s, int depth, path *p, char *why, size_t whylen)
{
    if (!json_object_is_type(s, json_type_object))
        return say(why, whylen, p, "a schema must be an object");
    if (depth > SY_JSONSCHEMA_MAX_DEPTH)
        return say(why, whylen, p, "nested too deep");
    int t = type_of(s);
    if (t < 0)
        return say(why, whylen, p, "type must be one of object, array, "
                   "string, number, integer, boolean, null");
    json_object_object_foreach(s, key, v) {
        if (!keyword_ok(t, key, v)) {
            size_t was = path_push(p, ".%s", key);
            say(why, whylen, p, "keyword not allowed here or of the "
                "wrong type");
            path_pop(p, was);
            return false;
        }
    }
    json_object *sub_s;
    if (t == T_OBJECT &&
        json_object_object_get_ex(s, "properties", &sub_s)) {
        json_object_object_foreach(sub_s, name, sub) {
            size_t was = path_push(p, ".properties.%s", name);
            bool ok = schema_ok(sub, depth + 1, p, why, whylen);
            path_pop(p, was);
            if (!ok)
                return false;
        }
    }
    if (t == T_ARRAY) {
        if (!json_object_object_get_ex(s, "items", &sub_s))
            return say(why, whylen, p, "an array schema needs items");
        size_t was = path_push(p, ".items");
        bool ok = schema_ok(sub_s, depth + 1, p, why, whylen);
        path_pop(p, was);
        if (!ok)
            return false;
    }
    return true;
}

bool
sy_jsonschema_valid(json_object *schema, char *why, size_t whylen)
{
    path p = {.len = 0};
    p.buf[0] = '\0';
    path_push(&p, "$");
    return schema_ok(schema, 0, &p, why, whylen);
}

/* ------------------------------------------------------- value check */

static bool check(json_object *s, json_object *v, path *p, char *why,
                  size_t whylen);

static bool
in_enum(json_object *s, json_object *v)
{
    json_object *e;
    if (!json_object_object_get_ex(s, "enum", &e))
        return true;
    for (size_t i = 0; i < json_object_array_length(e); i++)
        if (json_object_equal(json_object_array_get_idx(e, i), v))
            return true;
    return false;
}

static bool
get_count(json_object *s, const char *key, int64_t *out)
{
    json_object *v;
    if (!json_object_object_get_ex(s, key, &v))
        return false;
    *out = json_object_get_int64(v);
    return true;
}

static bool
check_object(json_object *s, json_object *v, path *p, char *why,
             size_t whylen)
{
    json_object *props = NULL, *req, *addl;
    json_object_object_get_ex(s, "properties", &props);
    if (json_object_object_get_ex(s, "required", &req)) {
        for (size_t i = 0; i < json_object_array_length(req); i++) {
            const char *k =
                json_object_get_string(json_object_array_get_idx(req, i));
            if (!json_object_object_get_ex(v, k, NULL)) {
                size_t was = path_push(p, ".%s", k);
                say(why, whylen, p, "required but missing");
                path_pop(p, was);
                return false;
            }
        }
    }
    bool closed = json_object_object_get_ex(s, "additionalProperties",
                                            &addl) &&
                  !json_object_get_boolean(addl);
    json_object_object_foreach(v, key, val) {
        json_object *sub = NULL;
        if (props)
            json_object_object_get_ex(props, key, &sub);
        size_t was = path_push(p, ".%s", key);
        bool ok = sub ? check(sub, val, p, why, whylen)
                      : !closed || say(why, whylen, p, "not allowed");
        path_pop(p, was);
        if (!ok)
            return false;
    }
    return true;
}

static bool
check_array(json_object *s, json_object *v, path *p, char *why,
            size_t whylen)
{
    int64_t lim;
    size_t n = json_object_array_length(v);
    if (get_count(s, "minItems", &lim) && (int64_t)n < lim)
        return say(why, whylen, p, "too few items");
    if (get_count(s, "maxItems", &lim) && (int64_t)n > lim)
        return say(why, whylen, p, "too many items");
    json_object *items;
    json_object_object_get_ex(s, "items", &items);
    for (size_t i = 0; i < n; i++) {
        size_t was = path_push(p, "[%zu]", i);
        bool ok = check(items, json_object_array_get_idx(v, i), p, why,
                        whylen);
        path_pop(p, was);
        if (!ok)
            return false;
    }
    return true;
}

static bool
check_range(json_object *s, double d, path *p, char *why, size_t whylen)
{
    json_object *lim;
    if (json_object_object_get_ex(s, "minimum", &lim) &&
        d < json_object_get_double(lim))
        return say(why, whylen, p, "below the minimum");
    if (json_object_object_get_ex(s, "maximum", &lim) &&
        d > json_object_get_double(lim))
        return say(why, whylen, p, "above the maximum");
    return true;
}

static bool
check(json_object *s, json_object *v, path *p, char *why, size_t whylen)
{
    int64_t lim;
    int t = type_of(s);
    bool ok;
    switch (t) {
    case T_OBJECT:
        ok = json_object_is_type(v, json_type_object);
        break;
    case T_ARRAY:
        ok = json_object_is_type(v, json_type_array);
        break;
    case T_STRING:
        ok = json_object_is_type(v, json_type_string);
        break;
    case T_NUMBER:
        ok = is_number(v) && isfinite(json_object_get_double(v));
        break;
    case T_INTEGER:
        /* 3.0 is an integer in JSON Schema; json-c reads it as double */
        ok = json_object_is_type(v, json_type_int) ||
             (json_object_is_type(v, json_type_double) &&
              isfinite(json_object_get_double(v)) &&
              json_object_get_double(v) ==
                  (double)(int64_t)json_object_get_double(v));
        break;
    case T_BOOLEAN:
        ok = json_object_is_type(v, json_type_boolean);
        break;
    default: /* T_NULL */
        ok = v == NULL || json_object_is_type(v, json_type_null);
        break;
    }
    if (!ok) {
        char rule[48];
        snprintf(rule, sizeof(rule), "must be of type %s", type_names[t]);
        return say(why, whylen, p, rule);
    }
    if (!in_enum(s, v))
        return say(why, whylen, p, "not one of the enum values");
    switch (t) {
    case T_OBJECT:
        return check_object(s, v, p, why, whylen);
    case T_ARRAY:
        return check_array(s, v, p, why, whylen);
    case T_STRING: {
        sy_str str = {json_object_get_string(v),
                      (size_t)json_object_get_string_len(v)};
        int64_t chars = (int64_t)sy_str_utf8_chars(str);
        if (get_count(s, "minLength", &lim) && chars < lim)
            return say(why, whylen, p, "shorter than minLength");
        if (get_count(s, "maxLength", &lim) && chars > lim)
            return say(why, whylen, p, "longer than maxLength");
        return true;
    }
    case T_NUMBER:
    case T_INTEGER:
        return check_range(s, json_object_get_double(v), p, why, whylen);
    default:
        return true;
    }
}

bool
sy_jsonschema_check(json_object *schema, json_object *value, char *why,
                    size_t whylen)
{
    path p = {.len = 0};
    p.buf[0] = '\0';
    path_push(&p, "$");
    return check(schema, value, &p, why, whylen);
}

/* -------------------------------------------------------- wire forms */

enum { FOR_OPENAI, FOR_GEMINI };

static json_object *
wire(json_object *s, int who)
{
    json_object *out = json_object_new_object(), *v;
    if (!out)
        return NULL;
    int t = type_of(s);
    json_object_object_foreach(s, key, val) {
        json_object *copy = NULL;
        bool range = strcmp(key, "minimum") == 0 ||
                     strcmp(key, "maximum") == 0 ||
                     strcmp(key, "minItems") == 0 ||
                     strcmp(key, "maxItems") == 0;
        bool length = strcmp(key, "minLength") == 0 ||
                      strcmp(key, "maxLength") == 0;
        if (length || (range && who == FOR_OPENAI))
            continue;
        if (who == FOR_GEMINI && (strcmp(key, "additionalProperties") == 0 ||
                                  (strcmp(key, "enum") == 0 &&
                                   t != T_STRING)))
            continue;
        if (strcmp(key, "properties") == 0) {
            copy = json_object_new_object();
            json_object_object_foreach(val, pk, pv) {
                json_object *sub = wire(pv, who);
                if (!copy || !sub) {
                    json_object_put(sub);
                    json_object_put(copy);
                    copy = NULL;
                    break;
                }
                json_object_object_add(copy, pk, sub);
            }
        } else if (strcmp(key, "items") == 0) {
            copy = wire(val, who);
        } else if (strcmp(key, "type") == 0 && who == FOR_GEMINI) {
            char up[16];
            const char *n = type_names[t];
            size_t i = 0;
            for (; n[i] && i < sizeof(up) - 1; i++)
                up[i] = (char)toupper((unsigned char)n[i]);
            up[i] = '\0';
            copy = json_object_new_string(up);
        } else if (json_object_deep_copy(val, &copy, NULL) != 0) {
            copy = NULL;
        }
        if (!copy) {
            json_object_put(out);
            return NULL;
        }
        json_object_object_add(out, key, copy);
    }
    if (who == FOR_GEMINI && t == T_STRING &&
        json_object_object_get_ex(s, "enum", &v)) {
        json_object *f = json_object_new_string("enum");
        if (!f) {
            json_object_put(out);
            return NULL;
        }
        json_object_object_add(out, "format", f);
    }
    return out;
}

json_object *
sy_jsonschema_for_openai(json_object *schema)
{
    return wire(schema, FOR_OPENAI);
}

json_object *
sy_jsonschema_for_gemini(json_object *schema)
{
    return wire(schema, FOR_GEMINI);
}
