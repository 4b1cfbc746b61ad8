/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * json.c - JSON bodies: content type, depth-limited parsing with json-c,
 * the one check of every string of a body (strict UTF-8, no NUL, keys
 * included), typed getters that record field errors (errs.h).
 */
#include "synthia/json.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/error.h"
#include "synthia/text.h"

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

/* ------------------------------------------------ the strings of a body */

/* Field errors recorded for NUL strings at most; a body may hold many. */
#define NUL_FIELDS_MAX 16
/* A key as a path component is cut here (at a character boundary). */
#define PATH_KEY_MAX 64
#define PATH_MAX_BYTES 4096

/* Where the scanner is: one frame per open object or array. */
typedef struct scan_frame {
    bool object;
    bool want_key; /* objects: the next string is a key */
    size_t index;  /* arrays: of the current element */
    sy_str key;    /* objects: the current key, raw (escapes and all) */
} scan_frame;

typedef struct scan {
    const char *p, *end;
    scan_frame f[SY_JSON_MAX_DEPTH + 1];
    int depth;
    sy_errs *record; /* NULL: count NUL strings only */
    int nuls;
    bool nomem;      /* a field error could not be recorded */
    const char *why; /* SY_EJSON: the sentence for the client */
} scan;

/* A key cut to at most PATH_KEY_MAX bytes without splitting a UTF-8
 * sequence. */
static sy_str
path_key(sy_str k)
{
    if (k.len <= PATH_KEY_MAX)
        return k;
    size_t n = PATH_KEY_MAX;
    while (n && ((unsigned char)k.p[n] & 0xc0) == 0x80)
        n--;
    return (sy_str){k.p, n};
}

/* The field path of the string being read ("attributes.fit",
 * "items[2].note"): the open containers, then this key or element. */
static void
record_nul(scan *s, bool is_key, sy_str key)
{
    char path[PATH_MAX_BYTES];
    size_t n = 0;
    for (int i = 1; i <= s->depth && n < sizeof(path) - 32; i++) {
        const scan_frame *f = &s->f[i];
        bool last = i == s->depth;
        if (f->object) {
            sy_str k = path_key(last && is_key ? key : f->key);
            n += (size_t)snprintf(path + n, sizeof(path) - n, "%s%.*s",
                                  n ? "." : "", (int)k.len, k.p);
        } else {
            n += (size_t)snprintf(path + n, sizeof(path) - n, "[%zu]",
                                  f->index);
        }
    }
    s->nuls++;
    if (s->record && s->nuls <= NUL_FIELDS_MAX &&
        sy_errs_field(s->record, n ? path : "(body)",
                      "must not contain NUL (\\u0000)") == SY_ENOMEM)
        s->nomem = true;
}

static int
hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int d = sy_hex_digit(p[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static int
bad(scan *s, const char *why)
{
    s->why = why;
    return SY_EJSON;
}

/* A string from its opening quote; escapes decoded as far as needed to
 * find NUL and unpaired surrogates (raw bytes were checked as UTF-8). */
static int
scan_string(scan *s)
{
    scan_frame *top = &s->f[s->depth];
    bool is_key = s->depth > 0 && top->object && top->want_key;
    const char *start = ++s->p;
    bool nul = false;
    while (s->p < s->end && *s->p != '"') {
        unsigned char c = (unsigned char)*s->p++;
        if (c == 0)
            nul = true;
        if (c != '\\')
            continue;
        if (s->p >= s->end)
            return bad(s, "The body is not well-formed JSON.");
        if (*s->p++ != 'u')
            continue;
        int cp = s->end - s->p >= 4 ? hex4(s->p) : -1;
        if (cp < 0)
            return bad(s, "The body is not well-formed JSON.");
        s->p += 4;
        if (cp == 0)
            nul = true;
        if (cp >= 0xdc00 && cp <= 0xdfff)
            return bad(s, "The body is not valid Unicode: a string has "
                          "an unpaired surrogate escape.");
        if (cp >= 0xd800 && cp <= 0xdbff) {
            int lo = s->end - s->p >= 6 && s->p[0] == '\\' && s->p[1] == 'u'
                         ? hex4(s->p + 2)
                         : -1;
            if (lo < 0xdc00 || lo > 0xdfff)
                return bad(s, "The body is not valid Unicode: a string has "
                              "an unpaired surrogate escape.");
            s->p += 6;
        }
    }
    if (s->p >= s->end)
        return bad(s, "The body is not well-formed JSON.");
    sy_str raw = {start, (size_t)(s->p - start)};
    s->p++; /* the closing quote */
    if (is_key)
        top->key = raw;
    if (nul)
        record_nul(s, is_key, raw);
    return 0;
}

static bool
digit(char c)
{
    return c >= '0' && c <= '9';
}

/* RFC 8259 number: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int
scan_number(scan *s)
{
    const char *p = s->p, *e = s->end;
    if (p < e && *p == '-')
        p++;
    if (p < e && *p == '0')
        p++;
    else if (p < e && digit(*p))
        while (p < e && digit(*p))
            p++;
    else
        return bad(s, "The body is not well-formed JSON.");
    if (p < e && *p == '.') {
        if (++p >= e || !digit(*p))
            return bad(s, "The body is not well-formed JSON.");
        while (p < e && digit(*p))
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        if (++p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || !digit(*p))
            return bad(s, "The body is not well-formed JSON.");
        while (p < e && digit(*p))
            p++;
    }
    s->p = p;
    return 0;
}

/* true, false or null, and nothing else json-c would take (Infinity). */
static int
scan_word(scan *s)
{
    const char *p = s->p;
    while (p < s->end && *p >= 'a' && *p <= 'z')
        p++;
    sy_str w = {s->p, (size_t)(p - s->p)};
    if (!sy_str_eqc(w, "true") && !sy_str_eqc(w, "false") &&
        !sy_str_eqc(w, "null"))
        return bad(s, "The body is not well-formed JSON.");
    s->p = p;
    return 0;
}

static int
scan_open(scan *s, bool object)
{
    if (s->depth == SY_JSON_MAX_DEPTH)
        return bad(s, "The body is not well-formed JSON.");
    s->f[++s->depth] = (scan_frame){.object = object, .want_key = object};
    s->p++;
    return 0;
}

/* The structure of a text json-c accepted, its strings checked; json-c
 * is more lenient than RFC 8259 (single quotes, Infinity, "1.") and
 * each leniency is refused here. */
static int
scan_text(scan *s)
{
    while (s->p < s->end) {
        char c = *s->p;
        scan_frame *top = &s->f[s->depth];
        int rc = 0;
        switch (c) {
        case ' ': case '\t': case '\r': case '\n':
            s->p++;
            break;
        case '{': case '[':
            rc = scan_open(s, c == '{');
            break;
        case '}': case ']':
            if (s->depth == 0)
                return bad(s, "The body is not well-formed JSON.");
            s->depth--;
            s->p++;
            break;
        case ':':
            top->want_key = false;
            s->p++;
            break;
        case ',':
            top->want_key = top->object;
            top->index++;
            s->p++;
            break;
        case '"':
            rc = scan_string(s);
            break;
        default:
            if (c == '-' || digit(c))
                rc = scan_number(s);
            else if (c >= 'a' && c <= 'z')
                rc = scan_word(s);
            else
                rc = bad(s, "The body is not well-formed JSON.");
            break;
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
refuse(sy_errs *e, int rc, const char *code, const char *detail)
{
    return e ? sy_errs_fail(e, rc, code, detail) : rc;
}

/* json-c's reading of body: SY_EJSON unless it is one value followed by
 * white space only. */
static int
tokenize(sy_str body, json_object **out)
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
    *out = o;
    return 0;
}

int
sy_json_parse(sy_arena *a, sy_str body, sy_errs *e, struct json_object **out)
{
    static const char malformed[] = "The body is not well-formed JSON.";
    json_object *o = NULL;
    if (body.len > INT32_MAX)
        return refuse(e, SY_EJSON, "invalid_json", malformed);
    int rc = tokenize(body, &o);
    if (rc < 0)
        return rc == SY_EJSON ? refuse(e, rc, "invalid_json", malformed) : rc;
    /* a failed defer has put the object already */
    if (o && sy_arena_defer(a, sy_json_put, o) < 0)
        return SY_ENOMEM;
    /* json-c lets overlong forms, surrogates and code points above
     * U+10FFFF through; the structure is ASCII, so the whole text is
     * checked at once */
    if (!sy_text_utf8(body))
        return refuse(e, SY_EJSON, "invalid_json",
                      "The body is not valid UTF-8.");
    scan s = {.p = body.p, .end = body.p + body.len};
    if (scan_text(&s) < 0)
        return refuse(e, SY_EJSON, "invalid_json", s.why);
    if (!o || !json_object_is_type(o, json_type_object))
        return refuse(e, SY_EVALIDATION, "validation_failed",
                      "The body must be a JSON object.");
    if (s.nuls && e) { /* again, naming each string's field */
        scan named = {.p = body.p, .end = body.p + body.len, .record = e};
        scan_text(&named);
        /* not a 422 that names fewer fields than it should */
        if (named.nomem)
            return SY_ENOMEM;
    }
    if (s.nuls)
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
