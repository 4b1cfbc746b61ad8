/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * idempotency.h - Idempotency-Key records (app/store/idempotency.c), for
 * POST /orders now and /tryon, /imports/{id}/commit later.
 *
 * Plain values: a record is named by an sy_idem_key (the HTTP layer
 * builds it from a request: idemkey.h) and holds the response to replay
 * as an sy_idem_response.  Used inside the caller's database
 * transaction: sy_idem_begin inserts the key's record (a concurrent
 * duplicate waits on it until the first commits), or finds the finished
 * one; sy_idem_finish records the response in the same transaction, so
 * the work and its replay record commit together or not at all.
 * Records live 24 h.
 */
#ifndef SYNTHIA_IDEMPOTENCY_H
#define SYNTHIA_IDEMPOTENCY_H

#include "synthia/arena.h"
#include "synthia/crypto.h"
#include "synthia/str.h"

#define SY_IDEM_HEADERS_MAX 4

/* The name of a record.  Two clients, or two routes, never share one. */
typedef struct sy_idem_key {
    const char *tenant; /* uuid */
    const char *scope;  /* the caller: "u:<user id>" or "k:<key id>" */
    const char *route;  /* method and pattern: "POST /api/v1/orders" */
    const char *key;    /* the client's Idempotency-Key */
    unsigned char request_hash[SY_SHA256_LEN]; /* of method, path, body */
} sy_idem_key;

typedef struct sy_idem_header {
    const char *name;
    sy_str value;
} sy_idem_header;

/* A response as recorded and replayed. */
typedef struct sy_idem_response {
    int status;
    sy_str content_type;
    sy_str body;
    sy_idem_header headers[SY_IDEM_HEADERS_MAX];
    int nheaders;
} sy_idem_response;

enum sy_idem_state {
    SY_IDEM_NEW,        /* first use (or the record expired): do the
                           work, then sy_idem_finish */
    SY_IDEM_REPLAY,     /* finished for the same request: replay it */
    SY_IDEM_MISMATCH,   /* the key was used for another request */
    SY_IDEM_UNFINISHED, /* its first request committed without recording
                           a response (no caller does that) */
};

/* With a transaction open: claim the record of k.  0 with *state
 * (enum sy_idem_state) and, for SY_IDEM_REPLAY, the recorded response
 * in *replay (arena memory); SY_EDB, SY_ENOMEM. */
int sy_idem_begin(sy_arena *a, const sy_idem_key *k, int *state,
                  sy_idem_response *replay);

/* In the same transaction, after SY_IDEM_NEW: record r as the key's
 * response.  0, SY_EDB, SY_ENOMEM, SY_EINTERNAL (the record is gone).
 * Records that expired over an hour ago are deleted here too, a bounded
 * batch at most hourly per process. */
int sy_idem_finish(sy_arena *a, const sy_idem_key *k,
                   const sy_idem_response *r);

#endif
