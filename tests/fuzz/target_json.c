/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target_json.c - JSON request bodies: sy_json_parse (size, depth, strict
 * UTF-8, surrogate escapes, RFC 8259 tokens, only white space after the
 * value, an object at the top, NUL in any string or key refused with its
 * field path, every refusal saying why) and the typed getters
 * sy_json_str / _int / _bool, which record problems in the response, then
 * the problem+json body those problems make.
 *
 * Input: the body.  The getters are asked for the fields the routes read
 * and for every key of the object, each with a tight and a loose range.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/problem.h"
#include "synthia/response.h"

#define MAX_KEYS 32

const char fz_target_name[] = "json";

int
fz_init(void)
{
    return 0;
}

/* Every getter with a tight and a loose range; out-parameters must be
 * left alone unless the getter succeeds (STYLE.md, errors). */
static void
get_field(sy_buf *t, sy_res *res, json_object *o, const char *f)
{
    static const char sentinel[] = "untouched";
    for (int loose = 0; loose <= 1; loose++) {
        sy_str s = SY_STR(sentinel);
        int rc = sy_json_str(&res->errs, o, f, !loose, loose ? 0 : 1,
                             loose ? SIZE_MAX : 64, &s);
        if (rc < 0 && s.p != sentinel)
            fz_fail("sy_json_str wrote its result and failed");
        if (rc == 0 && s.p[s.len] != '\0')
            fz_fail("sy_json_str: value not NUL-terminated");
        fz_put(t, "str", rc, rc == 0 ? s : SY_STR_NULL);

        int64_t i = 42;
        rc = sy_json_int(&res->errs, o, f, !loose, loose ? INT64_MIN : -100,
                         loose ? INT64_MAX : 100, &i);
        if (rc < 0 && i != 42)
            fz_fail("sy_json_int wrote its result and failed");
        fz_puti(t, "int", rc, rc == 0 ? i : 0);

        bool b = true;
        rc = sy_json_bool(&res->errs, o, f, !loose, &b);
        if (rc < 0 && !b)
            fz_fail("sy_json_bool wrote its result and failed");
        fz_puti(t, "bool", rc, rc == 0 ? b : 0);
    }
}

void
fz_run(const uint8_t *data, size_t size, sy_buf *t)
{
    static const char *const fields[] = {"email", "password", "name",
                                         "price", "stock",    "cookie",
                                         "limit", "",         "a.b"};
    sy_arena a;
    sy_arena_init(&a, 4096, 1 << 20);
    sy_res *res = calloc(1, sizeof(*res));
    if (!res)
        abort();
    sy_res_init(res, &a, NULL, 1 << 16);

    json_object *o = NULL;
    int rc = sy_json_parse(&a, (sy_str){(const char *)data, size},
                           &res->errs, &o);
    fz_puti(t, "parse", rc, 0);
    if (rc < 0 && rc != SY_ENOMEM) {
        /* the refusal as a client reads it: its code, and the sentence or
         * the fields (each NUL string named by its path) */
        const char *why = sy_errs_text(&res->errs);
        fz_putc(t, "refusal", why || !res->errs.fields ? 0 : SY_ENOMEM,
                why ? why : "");
        fz_putc(t, "code", 0, res->errs.code ? res->errs.code : "");
        if (rc != SY_EJSON && rc != SY_EVALIDATION)
            fz_fail("sy_json_parse: unexpected code %d", rc);
        if (!why && !res->errs.fields) /* fields: their text may fail */
            fz_fail("sy_json_parse: refused without saying why");
    }
    if (rc == 0) {
        if (!json_object_is_type(o, json_type_object))
            fz_fail("sy_json_parse: the top level is not an object");
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
            get_field(t, res, o, fields[i]);
        /* the keys are copied first: a getter must not change the object */
        char *keys[MAX_KEYS];
        int nkeys = 0;
        json_object_object_foreach(o, key, val)
        {
            (void)val;
            if (nkeys == MAX_KEYS)
                break;
            keys[nkeys++] = fz_cstr(sy_str_c(key));
        }
        for (int i = 0; i < nkeys; i++) {
            fz_putc(t, "key", 0, keys[i]);
            get_field(t, res, o, keys[i]);
            free(keys[i]);
        }
        if (res->errs.fields) {
            rc = sy_problem(res, 422, "validation_failed", NULL);
            fz_put(t, "problem", rc == SY_EVALIDATION ? 0 : rc,
                   sy_buf_str(&res->body));
        }
    }
    free(res);
    sy_arena_cleanup(&a);
}
