/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * errs.c - field errors and refusal details without HTTP (errs.h).
 */
#include "synthia/errs.h"

#include <json-c/json.h>
#include <string.h>

#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/str.h"

void
sy_errs_init(sy_errs *e, sy_arena *a)
{
    memset(e, 0, sizeof(*e));
    e->arena = a;
}

int
sy_errs_field(sy_errs *e, const char *field, const char *message)
{
    if (!e->fields) {
        json_object *list = json_object_new_array();
        /* a failed defer has put the list already */
        if (!list || sy_arena_defer(e->arena, sy_json_put, list) < 0)
            return SY_ENOMEM;
        e->fields = list;
    }
    json_object *o = json_object_new_object();
    if (!o)
        return SY_ENOMEM;
    json_object_object_add(o, "field", json_object_new_string(field));
    json_object_object_add(o, "message", json_object_new_string(message));
    json_object_array_add(e->fields, o);
    return SY_EVALIDATION;
}

int
sy_errs_fail(sy_errs *e, int rc, const char *code, const char *detail)
{
    e->code = code;
    e->detail = detail;
    return rc;
}

const char *
sy_errs_text(const sy_errs *e)
{
    if (!e->fields)
        return e->detail;
    sy_buf b;
    sy_buf_init(&b, e->arena, 16384);
    size_t n = json_object_array_length(e->fields);
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(e->fields, i), *f, *m;
        json_object_object_get_ex(o, "field", &f);
        json_object_object_get_ex(o, "message", &m);
        sy_buf_printf(&b, "%s%s: %s", i ? "; " : "",
                      json_object_get_string(f), json_object_get_string(m));
    }
    return sy_buf_cstr(&b);
}
