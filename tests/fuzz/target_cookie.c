/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target_cookie.c - the Cookie header (sy_req_cookie): pairs split at
 * ';', optional white space, quoted values.
 *
 * Input: the cookie name to look up, a newline, then the Cookie header
 * as the web server passes it (HTTP_COOKIE, a C string).  The request is
 * built by sy_req_parse_env, as in production.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "synthia/error.h"
#include "synthia/request.h"

const char fz_target_name[] = "cookie";

int
fz_init(void)
{
    return 0;
}

/* A view must lie inside the header it came from. */
static void
check_inside(sy_str v, sy_str header)
{
    if (v.p && (v.p < header.p || v.p + v.len > header.p + header.len))
        fz_fail("sy_req_cookie: value outside the header");
}

void
fz_run(const uint8_t *data, size_t size, sy_buf *t)
{
    static const char *const names[] = {"sy_access", "sy_refresh", "sy_csrf",
                                        "", "a"};
    sy_str name, value;
    fz_split((sy_str){(const char *)data, size}, '\n', &name, &value);
    char *cname = fz_cstr(name), *cvalue = fz_cstr(value);
    size_t n = strlen(cvalue);
    char *cookie = malloc(n + sizeof("HTTP_COOKIE="));
    if (!cookie)
        abort();
    memcpy(cookie, "HTTP_COOKIE=", 12);
    memcpy(cookie + 12, cvalue, n + 1);
    char method[] = "REQUEST_METHOD=GET", uri[] = "REQUEST_URI=/";
    char *env[] = {method, uri, cookie, NULL};

    sy_arena a;
    sy_arena_init(&a, 4096, 1 << 20);
    sy_req *r = calloc(1, sizeof(*r));
    if (!r)
        abort();
    int rc = sy_req_parse_env(r, &a, env);
    if (rc < 0)
        fz_fail("a plain GET / did not parse: %d", rc);
    sy_str header = sy_req_header(r, "Cookie");
    sy_str v = sy_req_cookie(r, cname);
    check_inside(v, header);
    fz_put(t, "cookie.input_name", 0, v);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        v = sy_req_cookie(r, names[i]);
        check_inside(v, header);
        fz_put(t, "cookie.name", 0, v);
    }
    free(r);
    sy_arena_cleanup(&a);
    free(cookie);
    free(cname);
    free(cvalue);
}
