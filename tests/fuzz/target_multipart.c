/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target_multipart.c - multipart/form-data (sy_multipart_find): the
 * boundary parameter of the Content-Type, delimiter lines, part headers,
 * quoted parameters, and the bounds on parts and headers.
 *
 * Input: the Content-Type header value, a newline, then the request body
 * (any bytes).  The parts named "file" (what POST /uploads reads), "csv"
 * and the empty name are looked up.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "synthia/error.h"
#include "synthia/multipart.h"

const char fz_target_name[] = "multipart";

int
fz_init(void)
{
    return 0;
}

static bool
inside(sy_str v, const char *p, size_t n)
{
    return !v.p || (v.p >= p && v.p + v.len <= p + n);
}

void
fz_run(const uint8_t *data, size_t size, sy_buf *t)
{
    static const char *const fields[] = {"file", "csv", ""};
    sy_str ct, body;
    fz_split((sy_str){(const char *)data, size}, '\n', &ct, &body);
    /* the body on the heap of its exact size: ASan sees any over-read */
    char *copy = malloc(body.len ? body.len : 1);
    if (!copy)
        abort();
    if (body.len)
        memcpy(copy, body.p, body.len);
    body.p = copy;

    sy_arena a;
    sy_arena_init(&a, 4096, 1 << 20);
    fz_put(t, "media_type", 0, sy_multipart_media_type(ct));
    fz_puti(t, "is_form", 0, sy_multipart_is_form(ct));
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        sy_multipart_part p = {.parts = -1};
        const char *why = NULL;
        int rc = sy_multipart_find(&a, ct, body, fields[i], &p, &why);
        if (rc < 0) {
            if (!why || !*why)
                fz_fail("sy_multipart_find: %d without a reason", rc);
            if (p.parts != -1 || p.data.p)
                fz_fail("sy_multipart_find: out written on failure");
            fz_putc(t, "find", rc, why);
            continue;
        }
        if (!inside(p.data, body.p, body.len) ||
            !inside(p.content_type, body.p, body.len))
            fz_fail("sy_multipart_find: a view outside the body");
        if (p.parts < 1 || p.parts > SY_MULTIPART_MAX_PARTS)
            fz_fail("sy_multipart_find: %d parts", p.parts);
        if (p.data.len + 2 > body.len)
            fz_fail("sy_multipart_find: a part as long as the body");
        fz_put(t, "find.data", rc, p.data);
        fz_put(t, "find.content_type", rc, p.content_type);
        fz_put(t, "find.filename", rc, p.filename);
        fz_puti(t, "find.parts", rc, p.parts);
    }
    sy_arena_cleanup(&a);
    free(copy);
}
