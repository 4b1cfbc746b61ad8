/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fcgirec.h - FastCGI records as they wait in a connection, before
 * libfcgi reads them.
 *
 * A responder that keeps several connections open serves one request at
 * a time, so it must know which connection holds a whole request head
 * without consuming a byte: it peeks (recv MSG_PEEK) and scans the records
 * here.  Management records (FCGI_GET_VALUES) that arrive between requests
 * are answered here too, truthfully: libfcgi's own answer hardcodes one
 * connection and one request.
 */
#ifndef SYNTHIA_FCGIREC_H
#define SYNTHIA_FCGIREC_H

#include <stdbool.h>
#include <stddef.h>

/* Large enough for any single record (8 + 65535 + 255 bytes). */
#define SY_FCGI_PEEK_MAX (72 * 1024)

typedef enum sy_fcgi_state {
    SY_FCGI_EMPTY = 0, /* nothing has arrived */
    SY_FCGI_PARTIAL,   /* a request head is still arriving */
    SY_FCGI_READY,     /* BEGIN_REQUEST, every PARAMS record, and the
                          end of STDIN or the start of a body */
    SY_FCGI_MGMT,      /* a whole management record (request id 0) comes
                          first: `len` bytes, of `type` */
    SY_FCGI_ABORTED,   /* FCGI_ABORT_REQUEST for a request not yet
                          served: `len` bytes to discard */
    SY_FCGI_BAD,       /* not FastCGI 1: close the connection */
} sy_fcgi_state;

typedef struct sy_fcgi_scan {
    sy_fcgi_state state;
    size_t len;        /* MGMT, ABORTED: bytes up to the record's end */
    int type;          /* MGMT: the record type */
    int request_id;    /* ABORTED, READY: the request's id */
    bool keep_conn;    /* ABORTED, READY: FCGI_KEEP_CONN was set */
    bool has_body;     /* READY: STDIN carries content */
} sy_fcgi_scan;

/* Scan the n bytes at p (the start of a connection's unread input).
 * full: the peek filled its buffer, so more may wait in the socket: a
 * request begun in a full window is READY (its params or body are being
 * sent, and the sender may block until they are read). */
void sy_fcgi_scan_records(const unsigned char *p, size_t n, bool full,
                          sy_fcgi_scan *out);

/* What this application accepts, for FCGI_GET_VALUES. */
typedef struct sy_fcgi_limits {
    long max_conns; /* FCGI_MAX_CONNS */
    long max_reqs;  /* FCGI_MAX_REQS */
} sy_fcgi_limits;

/* The answer to the management record rec (len bytes, as SY_FCGI_MGMT
 * reported): FCGI_GET_VALUES_RESULT naming only the variables asked for
 * that we know (FCGI_MPXS_CONNS is 0: one request per connection at a
 * time), or FCGI_UNKNOWN_TYPE.  Writes at most cap bytes to out; returns
 * the length, or 0 when the record is malformed (close the connection). */
size_t sy_fcgi_mgmt_answer(const unsigned char *rec, size_t len,
                           const sy_fcgi_limits *lim, unsigned char *out,
                           size_t cap);

/* The end of the FCGI_ABORT_REQUEST record for request_id among the
 * whole records at p (n bytes), or 0 when there is none (a parked
 * request's connection: the client went away). */
size_t sy_fcgi_find_abort(const unsigned char *p, size_t n, int request_id);

/* A whole response of request id as records: STDOUT records carrying
 * the len bytes at p, the empty STDOUT record and END_REQUEST, written
 * to out (sy_fcgi_response_size(len) bytes); returns the length.  What
 * a signal handler can write to a socket in one go. */
size_t sy_fcgi_response_size(size_t len);
size_t sy_fcgi_response_records(int id, const void *p, size_t len,
                                unsigned char *out);

/* FCGI_END_REQUEST for id with FCGI_REQUEST_COMPLETE: 16 bytes. */
void sy_fcgi_end_request(int id, int app_status, unsigned char out[16]);

#endif
