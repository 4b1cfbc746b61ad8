/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * page.c - keyset pagination of lists (page.h).
 *
 * A cursor is the base64url (no padding) of "<created_at>|<id>" of the
 * last row of a page, with created_at as the statements print it:
 * "YYYY-MM-DDTHH:MM:SS.ffffffZ" in UTC, microseconds being PostgreSQL's
 * own precision, so the next page starts exactly after that row.  Decoding
 * is strict (every character, every field range), so a forged cursor is
 * a 400, never a query error.  Without a cursor the page starts after
 * the lowest possible key ("-infinity", the nil uuid), which lets one
 * statement `WHERE (created_at, id) > ($ts, $id)` serve every page.
 */
#include "synthia/page.h"

#include <json-c/json.h>

#include <stdio.h>
#include <string.h>

#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/problem.h"

#define LIMIT_DEFAULT 20
#define LIMIT_MAX 100
#define TS_LEN 27 /* 2024-05-01T12:34:56.123456Z */
#define RAW_LEN (TS_LEN + 1 + SY_UUID_LEN)
#define CURSOR_MAX 128

static bool
digits(const char *p, size_t n, int lo, int hi, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return v >= lo && v <= hi;
}

static int
days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" with every field in range, so that
 * PostgreSQL can never refuse it. */
static bool
valid_ts(const char *s)
{
    int y, mo, d, h, mi, sec, us;
    if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[19] != '.' || s[26] != 'Z')
        return false;
    return digits(s, 4, 1, 9999, &y) && digits(s + 5, 2, 1, 12, &mo) &&
           digits(s + 8, 2, 1, 31, &d) && d <= days_in_month(y, mo) &&
           digits(s + 11, 2, 0, 23, &h) && digits(s + 14, 2, 0, 59, &mi) &&
           digits(s + 17, 2, 0, 59, &sec) && digits(s + 20, 6, 0, 999999, &us);
}

static int
bad_cursor(sy_res *res)
{
    return sy_problem(res, 400, "bad_request",
                      "cursor is not valid: pass next_cursor of the previous "
                      "page unchanged");
}

static int
parse_cursor(sy_res *res, sy_str c, sy_page *out)
{
    unsigned char raw[CURSOR_MAX];
    size_t n = 0;
    if (c.len > CURSOR_MAX ||
        sy_b64url_decode(raw, sizeof(raw), c.p, c.len, &n) < 0 ||
        n != RAW_LEN || raw[TS_LEN] != '|')
        return bad_cursor(res);
    memcpy(out->after_ts, raw, TS_LEN);
    out->after_ts[TS_LEN] = '\0';
    memcpy(out->after_id, raw + TS_LEN + 1, SY_UUID_LEN);
    out->after_id[SY_UUID_LEN] = '\0';
    /* memchr: the decoded bytes may hold a NUL that strlen would hide */
    if (memchr(raw, '\0', RAW_LEN) || !valid_ts(out->after_ts) ||
        !sy_uuid_valid(out->after_id, SY_UUID_LEN))
        return bad_cursor(res);
    out->after = true;
    return 0;
}

static int
parse_limit(sy_req *req, sy_res *res, int64_t *out)
{
    sy_str v;
    int rc = sy_req_query(req, "limit", &v);
    if (rc == SY_ENOTFOUND) {
        *out = LIMIT_DEFAULT;
        return 0;
    }
    if (rc == SY_ENOMEM) /* not the client's fault: no 422 */
        return rc;
    if (rc < 0 || sy_parse_i64(v, 1, LIMIT_MAX, out) < 0)
        return sy_problem_field(res, "limit",
                                "must be an integer from 1 to 100");
    return 0;
}

int
sy_page_parse(sy_req *req, sy_res *res, sy_page *out)
{
    sy_page p = {.after = false};
    snprintf(p.after_ts, sizeof(p.after_ts), "-infinity");
    snprintf(p.after_id, sizeof(p.after_id),
             "00000000-0000-0000-0000-000000000000");
    int rc = parse_limit(req, res, &p.limit);
    if (rc < 0)
        return rc;
    sy_str c;
    rc = sy_req_query(req, "cursor", &c);
    if (rc == SY_EBADREQ)
        return bad_cursor(res);
    if (rc < 0 && rc != SY_ENOTFOUND) /* never the first page instead */
        return rc;
    if (rc == 0 && (rc = parse_cursor(res, c, &p)) < 0)
        return rc;
    /* at most 101: fits the byte the format is told about */
    snprintf(p.limit_text, sizeof(p.limit_text), "%hhu",
             (unsigned char)(p.limit + 1));
    *out = p;
    return 0;
}

int
sy_page_cursor(sy_arena *a, const char *ts, const char *id, char **out)
{
    char raw[RAW_LEN + 1];
    if (!ts || !id || strlen(ts) != TS_LEN || strlen(id) != SY_UUID_LEN)
        return SY_EINVAL;
    memcpy(raw, ts, TS_LEN);
    raw[TS_LEN] = '|';
    memcpy(raw + TS_LEN + 1, id, SY_UUID_LEN);
    char *s = sy_arena_alloc(a, SY_B64URL_LEN(RAW_LEN) + 1);
    if (!s)
        return SY_ENOMEM;
    sy_b64url_encode(s, raw, RAW_LEN);
    *out = s;
    return 0;
}

int
sy_page_count(const sy_page *p, int nrows)
{
    return nrows > p->limit ? (int)p->limit : nrows;
}

int
sy_page_reply(sy_res *res, const sy_page *p, int nrows, json_object *items,
              const char *last_ts, const char *last_id)
{
    json_object *next = NULL;
    if (!items)
        return SY_ENOMEM;
    if (nrows > p->limit) {
        char *cursor;
        int rc = sy_page_cursor(res->arena, last_ts, last_id, &cursor);
        if (rc < 0) {
            json_object_put(items);
            return rc;
        }
        next = json_object_new_string(cursor);
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "items", items);
    json_object_object_add(o, "next_cursor", next);
    return sy_res_json(res, 200, o);
}

int
sy_page_reply_rows(sy_res *res, const sy_page *p, const void *rows,
                   int nrows, size_t size, sy_page_render render,
                   size_t ts_off, size_t id_off)
{
    const char *base = rows, *last = NULL;
    int n = sy_page_count(p, nrows);
    json_object *items = json_object_new_array();
    for (int i = 0; items && i < n; i++)
        json_object_array_add(items, render(base + (size_t)i * size));
    if (n)
        last = base + (size_t)(n - 1) * size;
    return sy_page_reply(res, p, nrows, items,
                         last ? *(const char *const *)(last + ts_off) : NULL,
                         last ? *(const char *const *)(last + id_off) : NULL);
}
