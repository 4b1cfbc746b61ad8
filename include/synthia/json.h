/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * json.h - JSON bodies and typed field getters (json-c).
 *
 * Bodies are size-checked before parsing and parsed with a depth-limited
 * tokener.  Getters record a field error (errs.h) for the field they
 * could not read, so a rule collects every problem of a body in one pass
 * and returns SY_EVALIDATION once.
 */
#ifndef SYNTHIA_JSON_H
#define SYNTHIA_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/errs.h"
#include "synthia/str.h"

struct json_object;

#define SY_JSON_MAX_DEPTH 32

/* Is the content type application/json or application/<x>+json (with any
 * parameters)? */
bool sy_json_content_type(sy_str ctype);

/* Parse body into *out (owned by arena a), checking every string of it,
 * object keys included, in one place: what reaches a rule is valid
 * Unicode without NUL.  Returns 0, or (each recorded in e with its
 * problem code and sentence, when e is not NULL):
 *   SY_EJSON        not RFC 8259 JSON (json-c's leniencies, such as
 *                   single quotes and Infinity, refused too), not valid
 *                   UTF-8 (strict: no overlong forms, surrogates or code
 *                   points above U+10FFFF), or a string with an unpaired
 *                   surrogate escape;
 *   SY_EVALIDATION  the top level is not an object, or strings hold NUL
 *                   (raw or \u0000): a field error for each (up to 16),
 *                   named by its path ("attributes.fit", "items[2].note");
 *   SY_ENOMEM. */
int sy_json_parse(sy_arena *a, sy_str body, sy_errs *e,
                  struct json_object **out);

/* Typed getters: 0 with the value, SY_ENOTFOUND when the field is absent
 * and optional, SY_EVALIDATION (recorded in e) when it is absent and
 * required or has the wrong type or range. */
int sy_json_str(sy_errs *e, struct json_object *obj, const char *field,
                bool required, size_t minlen, size_t maxlen, sy_str *out);
int sy_json_int(sy_errs *e, struct json_object *obj, const char *field,
                bool required, int64_t min, int64_t max, int64_t *out);
int sy_json_bool(sy_errs *e, struct json_object *obj, const char *field,
                 bool required, bool *out);

/* json_object_put for the arena's deferred destructors. */
void sy_json_put(void *obj);

#endif
