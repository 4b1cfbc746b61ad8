/*
 * idempotency.h - Idempotency-Key for POST /orders, /tryon,
 * /imports/{id}/commit.
 *
 * Used inside the caller's database transaction: sy_idem_begin inserts
 * the key's record (a concurrent duplicate waits on it until the first
 * commits), or finds the finished one and replays it; sy_idem_finish
 * records the response in the same transaction, so the work and its
 * replay record commit together or not at all.  Records live 24 h.
 */
#ifndef SYNTHIA_IDEMPOTENCY_H
#define SYNTHIA_IDEMPOTENCY_H

#include <stdbool.h>

#include "synthia/request.h"
#include "synthia/response.h"

/* With a transaction open.  No Idempotency-Key header: 0 and *replayed
 * false (proceed).  A malformed key: 400.  A finished record for the same
 * key and body: its response is copied into res and *replayed is true.
 * Same key, other body: 422 idempotency_mismatch.  Returns 0 or a
 * negative code with the problem in res. */
int sy_idem_begin(sy_req *req, sy_res *res, bool *replayed);

/* Record res as the key's response (no-op without a key). */
int sy_idem_finish(sy_req *req, const sy_res *res);

#endif
