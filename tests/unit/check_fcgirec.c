/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_fcgirec.c - unit tests of the FastCGI record scanner that decides
 * which kept connection holds a whole request, and of the answers to
 * management records (FCGI_GET_VALUES, unknown types) and aborts.
 */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "sycheck.h"
#include "synthia/fcgirec.h"

static unsigned char buf[1024];
static size_t blen;

static void
rec(int type, int id, const void *content, size_t clen, size_t pad)
{
    unsigned char *h = buf + blen;
    h[0] = 1;
    h[1] = (unsigned char)type;
    h[2] = (unsigned char)(id >> 8);
    h[3] = (unsigned char)id;
    h[4] = (unsigned char)(clen >> 8);
    h[5] = (unsigned char)clen;
    h[6] = (unsigned char)pad;
    h[7] = 0;
    if (clen)
        memcpy(h + 8, content, clen);
    memset(h + 8 + clen, 0, pad);
    blen += 8 + clen + pad;
}

static void
begin(int id, bool keep)
{
    unsigned char b[8] = {0, 1, keep ? 1 : 0, 0, 0, 0, 0, 0};
    rec(1, id, b, 8, 0);
}

static sy_fcgi_scan
scan(size_t n, bool full)
{
    sy_fcgi_scan sc;
    sy_fcgi_scan_records(buf, n, full, &sc);
    return sc;
}

START_TEST(test_request_complete_only_with_params_and_stdin_end)
{
    blen = 0;
    ck_assert_int_eq(scan(0, false).state, SY_FCGI_EMPTY);
    begin(1, true);
    size_t after_begin = blen;
    rec(4, 1, "\x01\x01" "ab", 4, 4);
    rec(4, 1, NULL, 0, 0);
    size_t after_params = blen;
    rec(5, 1, NULL, 0, 0);
    /* every prefix short of the end of STDIN is partial */
    for (size_t n = 1; n < blen; n++)
        ck_assert_int_eq(scan(n, false).state, SY_FCGI_PARTIAL);
    sy_fcgi_scan sc = scan(blen, false);
    ck_assert_int_eq(sc.state, SY_FCGI_READY);
    ck_assert_int_eq(sc.request_id, 1);
    ck_assert(sc.keep_conn);
    ck_assert(!sc.has_body);
    /* a full peek buffer with the params done: the body follows */
    ck_assert_int_eq(scan(after_params, true).state, SY_FCGI_READY);
    /* a full one before they end: params larger than the window, being
     * sent (the web server may block until they are read) */
    ck_assert_int_eq(scan(after_begin, true).state, SY_FCGI_READY);
    ck_assert_int_eq(scan(after_begin - 1, true).state, SY_FCGI_PARTIAL);
}
END_TEST

START_TEST(test_body_and_other_ids)
{
    blen = 0;
    rec(5, 9, "stale", 5, 3); /* a record of an ended request: skipped */
    begin(2, false);
    rec(4, 2, NULL, 0, 0);
    rec(5, 2, "body", 4, 4);
    rec(5, 3, NULL, 0, 0); /* another id: not this request's end */
    /* the body has begun: the handler reads the rest as it comes */
    sy_fcgi_scan sc = scan(blen, false);
    ck_assert_int_eq(sc.state, SY_FCGI_READY);
    ck_assert(sc.has_body);
    rec(5, 2, NULL, 0, 0);
    sc = scan(blen, false);
    ck_assert_int_eq(sc.state, SY_FCGI_READY);
    ck_assert(sc.has_body);
    ck_assert(!sc.keep_conn);
    ck_assert_int_eq(sc.request_id, 2);
}
END_TEST

START_TEST(test_abort_management_and_garbage)
{
    blen = 0;
    begin(5, true);
    rec(4, 5, "\x01\x01" "ab", 4, 4);
    rec(2, 5, NULL, 0, 0);
    sy_fcgi_scan sc = scan(blen, false);
    ck_assert_int_eq(sc.state, SY_FCGI_ABORTED);
    ck_assert_uint_eq(sc.len, blen);
    ck_assert_int_eq(sc.request_id, 5);
    ck_assert(sc.keep_conn);

    blen = 0;
    rec(9, 0, "\x0e\x00" "FCGI_MAX_CONNS", 16, 0);
    begin(1, true);
    sc = scan(blen, false);
    ck_assert_int_eq(sc.state, SY_FCGI_MGMT);
    ck_assert_int_eq(sc.type, 9);
    ck_assert_uint_eq(sc.len, 24);
    ck_assert_int_eq(scan(20, false).state, SY_FCGI_PARTIAL);

    blen = 0;
    buf[0] = 2; /* not version 1 */
    memset(buf + 1, 0, 7);
    ck_assert_int_eq(scan(8, false).state, SY_FCGI_BAD);
}
END_TEST

START_TEST(test_get_values_answer)
{
    static const char ask[] = "\x0e\x00" "FCGI_MAX_CONNS"
                              "\x0d\x00" "FCGI_MAX_REQS"
                              "\x0f\x00" "FCGI_MPXS_CONNS"
                              "\x03\x00" "FOO";
    blen = 0;
    rec(9, 0, ask, sizeof(ask) - 1, 0);
    sy_fcgi_limits lim = {.max_conns = 128, .max_reqs = 96};
    unsigned char out[256];
    size_t n = sy_fcgi_mgmt_answer(buf, blen, &lim, out, sizeof(out));
    static const char want[] = "\x0e\x03" "FCGI_MAX_CONNS" "128"
                               "\x0d\x02" "FCGI_MAX_REQS" "96"
                               "\x0f\x01" "FCGI_MPXS_CONNS" "0";
    size_t wl = sizeof(want) - 1;
    ck_assert_uint_eq(n % 8, 0);
    ck_assert_uint_eq(n, 8 + wl + out[6]);
    ck_assert_int_eq(out[0], 1);
    ck_assert_int_eq(out[1], 10); /* FCGI_GET_VALUES_RESULT */
    ck_assert_int_eq(out[2] << 8 | out[3], 0);
    ck_assert_uint_eq((size_t)(out[4] << 8 | out[5]), wl);
    ck_assert(memcmp(out + 8, want, wl) == 0);

    /* a name longer than the content: malformed */
    blen = 0;
    rec(9, 0, "\x20\x00" "FCGI", 6, 2);
    ck_assert_uint_eq(sy_fcgi_mgmt_answer(buf, blen, &lim, out, sizeof(out)),
                      0);
    /* an unknown management type: FCGI_UNKNOWN_TYPE naming it */
    blen = 0;
    rec(42, 0, NULL, 0, 0);
    ck_assert_uint_eq(sy_fcgi_mgmt_answer(buf, blen, &lim, out, sizeof(out)),
                      16);
    ck_assert_int_eq(out[1], 11);
    ck_assert_int_eq(out[8], 42);
}
END_TEST

START_TEST(test_end_request)
{
    unsigned char out[16];
    sy_fcgi_end_request(0x1234, 7, out);
    ck_assert_int_eq(out[1], 3);
    ck_assert_int_eq(out[2], 0x12);
    ck_assert_int_eq(out[3], 0x34);
    ck_assert_int_eq(out[5], 8);
    ck_assert_int_eq(out[11], 7);
    ck_assert_int_eq(out[12], 0); /* FCGI_REQUEST_COMPLETE */
}
END_TEST

/* A parked request's connection: its abort is found among the records
 * that follow its head (an unread empty STDIN, say); another request's
 * abort, a partial record or garbage is not an abort of it. */
START_TEST(test_find_abort_of_a_parked_request)
{
    blen = 0;
    rec(5, 3, NULL, 0, 0);
    size_t stdin_end = blen;
    ck_assert_uint_eq(sy_fcgi_find_abort(buf, blen, 3), 0);
    rec(2, 4, NULL, 0, 0); /* another id */
    ck_assert_uint_eq(sy_fcgi_find_abort(buf, blen, 3), 0);
    rec(2, 3, NULL, 0, 0);
    ck_assert_uint_eq(sy_fcgi_find_abort(buf, blen, 3), blen);
    ck_assert_uint_eq(sy_fcgi_find_abort(buf, blen - 1, 3), 0);
    ck_assert_uint_eq(sy_fcgi_find_abort(buf, stdin_end + 8, 3), 0);
    buf[0] = 2; /* not FastCGI 1 */
    ck_assert_uint_eq(sy_fcgi_find_abort(buf, blen, 3), 0);
}
END_TEST

/* A whole response as records: STDOUT of at most 65535 bytes each, the
 * empty STDOUT, END_REQUEST; within the size it announces. */
START_TEST(test_response_records)
{
    static unsigned char body[70000], out[70100];
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (unsigned char)i;
    size_t sizes[] = {0, 1, 65535, 65536, sizeof(body)};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(*sizes); k++) {
        size_t len = sizes[k];
        size_t n = sy_fcgi_response_records(0x102, body, len, out);
        ck_assert_uint_le(n, sy_fcgi_response_size(len));
        size_t off = 0, got = 0;
        for (;;) {
            unsigned char *h = out + off;
            ck_assert_int_eq(h[0], 1);
            ck_assert_int_eq(h[2] << 8 | h[3], 0x102);
            size_t clen = (size_t)(h[4] << 8 | h[5]);
            if (h[1] == 3) {
                ck_assert_uint_eq(clen, 8);
                off += 16;
                break;
            }
            ck_assert_int_eq(h[1], 6);
            ck_assert_int_eq(memcmp(h + 8, body + got, clen), 0);
            got += clen;
            off += 8 + clen;
            if (clen == 0)
                ck_assert_uint_eq(got, len);
        }
        ck_assert_uint_eq(off, n);
        ck_assert_uint_eq(got, len);
    }
}
END_TEST

int
main(void)
{
    const TTest *const tests[] = {
        test_request_complete_only_with_params_and_stdin_end,
        test_body_and_other_ids, test_abort_management_and_garbage,
        test_get_values_answer, test_end_request,
        test_find_abort_of_a_parked_request, test_response_records, NULL};
    return sy_check_suite("fcgirec", NULL, NULL, tests);
}
