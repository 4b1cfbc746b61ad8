/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target_router.c - the route matcher (sy_router_match) over the real
 * route table: literal segments, {name} captures of one non-empty
 * segment, 404 versus 405 with the Allow list, GET answering HEAD.
 *
 * Input: the method, a newline, then the raw path (both C strings in the
 * FastCGI environment, so cut at a NUL byte).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "synthia/error.h"
#include "synthia/router.h"

const char fz_target_name[] = "router";

int
fz_init(void)
{
    return 0;
}

void
fz_run(const uint8_t *data, size_t size, sy_buf *t)
{
    sy_str method, path;
    fz_split((sy_str){(const char *)data, size}, '\n', &method, &path);
    char *m = fz_cstr(method), *p = fz_cstr(path);
    sy_str ms = sy_str_c(m), ps = sy_str_c(p);
    sy_route_match rm;
    int rc = sy_router_match(sy_routes, sy_nroutes, ms, ps, &rm);
    fz_puti(t, "match", rc, rm.index);
    if (!memchr(rm.allow, 0, sizeof(rm.allow)))
        fz_fail("Allow list not NUL-terminated");
    if (rc == 0) {
        if (rm.index < 0 || (size_t)rm.index >= sy_nroutes || rm.nparams < 0 ||
            rm.nparams > SY_REQ_MAX_PARAMS)
            fz_fail("index %d, %d params", rm.index, rm.nparams);
        for (int i = 0; i < rm.nparams; i++) {
            sy_str v = rm.params[i];
            /* a capture is one non-empty segment of the path */
            if (v.len == 0 || v.p < ps.p || v.p + v.len > ps.p + ps.len ||
                memchr(v.p, '/', v.len))
                fz_fail("capture %d is not a segment of the path", i);
            fz_put(t, "param", 0, v);
        }
    } else if (rc == SY_EMETHOD) {
        if (!rm.allow[0])
            fz_fail("405 without an Allow list");
        fz_putc(t, "allow", rc, rm.allow);
    } else if (rc != SY_ENOTFOUND) {
        fz_fail("sy_router_match returned %d", rc);
    }
    free(m);
    free(p);
}
