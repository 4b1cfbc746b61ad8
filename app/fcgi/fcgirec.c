/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fcgirec.c - FastCGI records waiting in a connection: is a whole request
 * head there, and the answers to management records (fcgirec.h).
 */
#include "synthia/fcgirec.h"

#include <stdio.h>
#include <string.h>

enum {
    T_BEGIN = 1,
    T_ABORT = 2,
    T_END = 3,
    T_PARAMS = 4,
    T_STDIN = 5,
    T_STDOUT = 6,
    T_GET_VALUES = 9,
    T_GET_VALUES_RESULT = 10,
    T_UNKNOWN = 11,
};

void
sy_fcgi_scan_records(const unsigned char *p, size_t n, bool full,
                     sy_fcgi_scan *out)
{
    size_t off = 0;
    int id = -1;
    bool params_done = false, body = false;
    memset(out, 0, sizeof(*out));
    while (off + 8 <= n) {
        const unsigned char *h = p + off;
        if (h[0] != 1) {
            out->state = SY_FCGI_BAD;
            return;
        }
        int type = h[1], rid = h[2] << 8 | h[3];
        size_t end = off + 8 + (size_t)(h[4] << 8 | h[5]) + h[6];
        bool whole = end <= n;
        bool empty = h[4] == 0 && h[5] == 0;
        if (id < 0) {
            if (!whole)
                break;
            if (rid == 0) { /* management record between requests */
                out->state = SY_FCGI_MGMT;
                out->type = type;
                out->len = end;
                return;
            }
            if (type == T_BEGIN && end - off >= 16) {
                id = rid;
                out->request_id = rid;
                out->keep_conn = h[10] & 1; /* FCGI_KEEP_CONN */
            }
            /* anything else before BEGIN_REQUEST (a stray record of an
             * ended request) libfcgi skips: so do we */
        } else if (rid == id) {
            if (type == T_ABORT && whole) {
                out->state = SY_FCGI_ABORTED;
                out->len = end;
                return;
            }
            if (type == T_PARAMS && empty)
                params_done = true;
            if (type == T_STDIN && !empty)
                body = true;
            if (type == T_STDIN && empty && params_done && whole) {
                out->state = SY_FCGI_READY;
                out->has_body = body;
                return;
            }
        }
        off = end;
    }
    if (id >= 0 && (full || (params_done && body))) {
        /* the body is arriving: the handler reads the rest as it comes
         * (a web server may send a large body only as the application
         * reads it).  A full peek window before the params end means
         * params larger than it (a 200 KB URI through Caddy): the web
         * server is sending them and may block until they are read, so
         * libfcgi reads them as they come. */
        out->state = SY_FCGI_READY;
        out->has_body = true;
        return;
    }
    out->state = n ? SY_FCGI_PARTIAL : SY_FCGI_EMPTY;
}

static void
header(unsigned char *h, int type, size_t clen, size_t plen)
{
    h[0] = 1;
    h[1] = (unsigned char)type;
    h[2] = h[3] = 0; /* FCGI_NULL_REQUEST_ID */
    h[4] = (unsigned char)(clen >> 8);
    h[5] = (unsigned char)(clen & 0xff);
    h[6] = (unsigned char)plen;
    h[7] = 0;
}

/* A name-value pair's length: 1 byte below 128, else 4 (high bit set). */
static bool
pair_len(const unsigned char *p, size_t n, size_t *off, size_t *len)
{
    if (*off >= n)
        return false;
    if (!(p[*off] & 0x80)) {
        *len = p[(*off)++];
        return true;
    }
    if (*off + 4 > n)
        return false;
    *len = (size_t)(p[*off] & 0x7f) << 24 | (size_t)p[*off + 1] << 16 |
           (size_t)p[*off + 2] << 8 | p[*off + 3];
    *off += 4;
    return true;
}

size_t
sy_fcgi_mgmt_answer(const unsigned char *rec, size_t len,
                     const sy_fcgi_limits *lim, unsigned char *out,
                     size_t cap)
{
    if (len < 8 || cap < 16)
        return 0;
    size_t clen = (size_t)(rec[4] << 8 | rec[5]);
    if (8 + clen > len)
        return 0;
    if (rec[1] != T_GET_VALUES) {
        header(out, T_UNKNOWN, 8, 0);
        memset(out + 8, 0, 8);
        out[8] = rec[1];
        return 16;
    }
    const unsigned char *c = rec + 8;
    size_t off = 0, o = 8;
    while (off < clen) {
        size_t nl, vl;
        if (!pair_len(c, clen, &off, &nl) || !pair_len(c, clen, &off, &vl) ||
            nl > clen - off || vl > clen - off - nl)
            return 0;
        const char *name = (const char *)c + off;
        char val[24];
        val[0] = 0;
        if (nl == 14 && memcmp(name, "FCGI_MAX_CONNS", 14) == 0)
            snprintf(val, sizeof(val), "%ld", lim->max_conns);
        else if (nl == 13 && memcmp(name, "FCGI_MAX_REQS", 13) == 0)
            snprintf(val, sizeof(val), "%ld", lim->max_reqs);
        else if (nl == 15 && memcmp(name, "FCGI_MPXS_CONNS", 15) == 0)
            snprintf(val, sizeof(val), "0");
        off += nl + vl;
        size_t v = strlen(val);
        if (!v)
            continue; /* a variable we do not know: not in the answer */
        if (o + 2 + nl + v + 7 > cap)
            return 0;
        out[o++] = (unsigned char)nl;
        out[o++] = (unsigned char)v;
        memcpy(out + o, name, nl);
        memcpy(out + o + nl, val, v);
        o += nl + v;
    }
    size_t body = o - 8, pad = (8 - body % 8) % 8;
    memset(out + o, 0, pad);
    header(out, T_GET_VALUES_RESULT, body, pad);
    return o + pad;
}

void
sy_fcgi_end_request(int id, int app_status, unsigned char out[16])
{
    memset(out, 0, 16);
    out[0] = 1;
    out[1] = T_END;
    out[2] = (unsigned char)(id >> 8);
    out[3] = (unsigned char)(id & 0xff);
    out[5] = 8;
    out[8] = (unsigned char)((unsigned)app_status >> 24);
    out[9] = (unsigned char)((unsigned)app_status >> 16);
    out[10] = (unsigned char)((unsigned)app_status >> 8);
    out[11] = (unsigned char)app_status;
    out[12] = 0; /* FCGI_REQUEST_COMPLETE */
}

size_t
sy_fcgi_find_abort(const unsigned char *p, size_t n, int request_id)
{
    size_t off = 0;
    while (off + 8 <= n) {
        const unsigned char *h = p + off;
        if (h[0] != 1)
            return 0;
        size_t end = off + 8 + (size_t)(h[4] << 8 | h[5]) + h[6];
        if (end > n)
            return 0;
        if (h[1] == T_ABORT && (h[2] << 8 | h[3]) == request_id)
            return end;
        off = end;
    }
    return 0;
}

size_t
sy_fcgi_response_size(size_t len)
{
    return len + 8 * (len / 65535 + 1) + 8 + 16;
}

size_t
sy_fcgi_response_records(int id, const void *p, size_t len,
                         unsigned char *out)
{
    const unsigned char *s = p;
    size_t o = 0;
    for (;;) { /* data records, then the empty one that ends STDOUT */
        size_t n = len > 65535 ? 65535 : len;
        unsigned char h[8] = {1, T_STDOUT, (unsigned char)(id >> 8),
                              (unsigned char)(id & 0xff),
                              (unsigned char)(n >> 8),
                              (unsigned char)(n & 0xff), 0, 0};
        memcpy(out + o, h, 8);
        if (n)
            memcpy(out + o + 8, s, n);
        o += 8 + n;
        s += n;
        len -= n;
        if (n == 0)
            break;
    }
    sy_fcgi_end_request(id, 0, out + o);
    return o + 16;
}
