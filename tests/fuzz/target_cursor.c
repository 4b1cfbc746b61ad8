/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target_cursor.c - pagination parameters: sy_page_parse (?limit= and the
 * base64url ?cursor= of "<created_at>|<id>") and the cursor it makes,
 * sy_page_cursor: whatever cursor is accepted must decode to values that
 * encode into a cursor that is accepted with the same values.
 *
 * Input: either the raw query string, or "raw:" then the bytes of a
 * decoded cursor, which the target base64url-encodes into ?cursor= (so
 * that mutations reach the timestamp and uuid checks, not only the
 * base64 alphabet).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/page.h"
#include "synthia/response.h"

#define RAW_MAX 4096

const char fz_target_name[] = "cursor";

int
fz_init(void)
{
    return 0;
}

static int
parse(sy_arena *a, sy_str query, sy_page *p, sy_buf *t, const char *label)
{
    sy_req *r = calloc(1, sizeof(*r));
    sy_res *res = calloc(1, sizeof(*res));
    if (!r || !res)
        abort();
    r->arena = a;
    r->query = query;
    sy_res_init(res, a, r, 1 << 16);
    memset(p, 0x55, sizeof(*p)); /* must be written only on success */
    int rc = sy_page_parse(r, res, p);
    fz_puti(t, label, rc, res->status);
    if (rc < 0) {
        for (size_t i = 0; i < sizeof(*p); i++)
            if (((unsigned char *)p)[i] != 0x55)
                fz_fail("sy_page_parse wrote its result and failed");
        /* 422 for the limit, 400 for the cursor, or out of memory */
        if (rc != SY_EVALIDATION && rc != SY_EBADREQ && rc != SY_ENOMEM)
            fz_fail("sy_page_parse failed with rc %d", rc);
    }
    free(res);
    free(r);
    return rc;
}

static void
trace_page(sy_buf *t, const sy_page *p)
{
    fz_puti(t, "limit", 0, p->limit);
    fz_puti(t, "after", 0, p->after);
    fz_putc(t, "after_ts", 0, p->after_ts);
    fz_putc(t, "after_id", 0, p->after_id);
    fz_putc(t, "limit_text", 0, p->limit_text);
    if (p->limit < 1 || p->limit > 100)
        fz_fail("limit %lld accepted", (long long)p->limit);
}

void
fz_run(const uint8_t *data, size_t size, sy_buf *t)
{
    sy_str in = {(const char *)data, size};
    char *query;
    if (sy_str_starts(in, "raw:")) {
        size_t n = size - 4 > RAW_MAX ? RAW_MAX : size - 4;
        query = malloc(sizeof("cursor=") + SY_B64URL_LEN(n));
        if (!query)
            abort();
        memcpy(query, "cursor=", 7);
        size_t m = sy_b64url_encode(query + 7, data + 4, n);
        query[7 + m] = 0;
    } else {
        query = fz_cstr(in); /* a C string in the FastCGI environment */
    }

    sy_arena a;
    sy_arena_init(&a, 4096, 1 << 20);
    sy_page p, q;
    int rc = parse(&a, sy_str_c(query), &p, t, "page_parse");
    if (rc == 0) {
        trace_page(t, &p);
        if (p.after) {
            char *c = NULL;
            rc = sy_page_cursor(&a, p.after_ts, p.after_id, &c);
            fz_putc(t, "cursor", rc, rc == 0 ? c : NULL);
            char again[256];
            if (rc == 0) {
                snprintf(again, sizeof(again), "cursor=%s", c);
                rc = parse(&a, sy_str_c(again), &q, t, "page_parse.again");
            }
            if (rc == 0 && (!q.after || strcmp(p.after_ts, q.after_ts) != 0 ||
                            strcmp(p.after_id, q.after_id) != 0))
                fz_fail("cursor %s does not give back %s|%s", c, p.after_ts,
                        p.after_id);
        }
    }
    sy_arena_cleanup(&a);
    free(query);
}
