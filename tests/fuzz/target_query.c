/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target_query.c - query strings: sy_req_query (pairs split at '&' and
 * '=', names compared after decoding) and sy_url_decode (percent escapes,
 * '+' as a space or not).
 *
 * Input: the name to look up, a newline, then the raw query string (what
 * follows '?' in REQUEST_URI).  The name from the input is looked up along
 * with the names the routes use.  Both are C strings, as they are in the
 * FastCGI environment (cut at a NUL byte).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "synthia/error.h"
#include "synthia/request.h"

const char fz_target_name[] = "query";

int
fz_init(void)
{
    return 0;
}

void
fz_run(const uint8_t *data, size_t size, sy_buf *t)
{
    static const char *const names[] = {"q",    "limit", "cursor", "mode",
                                        "type", "a b",   "",       "%"};
    sy_str name, query;
    fz_split((sy_str){(const char *)data, size}, '\n', &name, &query);
    char *cname = fz_cstr(name), *cquery = fz_cstr(query);
    query = sy_str_c(cquery);

    sy_arena a;
    sy_arena_init(&a, 4096, 1 << 20);
    sy_req *r = calloc(1, sizeof(*r));
    if (!r)
        abort();
    r->arena = &a;
    r->query = query;

    sy_str v = SY_STR_NULL;
    int rc = sy_req_query(r, cname, &v);
    fz_put(t, "query.input_name", rc, rc == 0 ? v : SY_STR_NULL);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        rc = sy_req_query(r, names[i], &v);
        fz_put(t, "query.name", rc, rc == 0 ? v : SY_STR_NULL);
        if (rc == 0 && v.p[v.len] != '\0')
            fz_fail("sy_req_query: value not NUL-terminated");
    }
    for (int plus = 0; plus <= 1; plus++) {
        rc = sy_url_decode(&a, query, plus, &v);
        fz_put(t, "url_decode", rc, rc == 0 ? v : SY_STR_NULL);
        if (rc == 0 && (v.len > query.len || v.p[v.len] != '\0'))
            fz_fail("sy_url_decode: %zu bytes from %zu, or no NUL", v.len,
                    query.len);
        if (rc == 0 && memchr(v.p, '\0', v.len))
            fz_fail("sy_url_decode: a NUL got through");
    }
    free(r);
    sy_arena_cleanup(&a);
    free(cname);
    free(cquery);
}
