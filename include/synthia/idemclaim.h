/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * idemclaim.h - what a write that carries an Idempotency-Key does with
 * the key's record (app/domain/idemclaim.c), for every such write
 * (orders, import commits): begin it in the write's transaction
 * (idempotency.h), and refuse a key used for another request or left
 * unfinished, in the client's words.
 */
#ifndef SYNTHIA_IDEMCLAIM_H
#define SYNTHIA_IDEMCLAIM_H

#include "synthia/arena.h"
#include "synthia/errs.h"
#include "synthia/idempotency.h"

/* With the write's transaction open: *state gets SY_IDEM_NEW (do the
 * write; also when key is NULL) or SY_IDEM_REPLAY (*replay holds the
 * recorded answer).  A mismatch is SY_EVALIDATION
 * (idempotency_mismatch), an unfinished first request SY_ECONFLICT
 * (conflict), both recorded in e. */
int sy_idem_claim(sy_arena *a, const sy_idem_key *key, sy_errs *e,
                  int *state, sy_idem_response *replay);

#endif
