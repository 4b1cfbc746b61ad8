/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * idemclaim.c (domain) - an Idempotency-Key's record, claimed for a
 * write (idemclaim.h).
 */
#include "synthia/idemclaim.h"

#include "synthia/error.h"

int
sy_idem_claim(sy_arena *a, const sy_idem_key *key, sy_errs *e, int *state,
              sy_idem_response *replay)
{
    *state = SY_IDEM_NEW;
    int rc = key ? sy_idem_begin(a, key, state, replay) : 0;
    if (rc < 0)
        return rc;
    if (*state == SY_IDEM_MISMATCH)
        return sy_errs_fail(e, SY_EVALIDATION, "idempotency_mismatch",
                            "This Idempotency-Key was used with a "
                            "different request; use a new key for a new "
                            "request.");
    if (*state == SY_IDEM_UNFINISHED)
        return sy_errs_fail(e, SY_ECONFLICT, "conflict",
                            "The first request with this Idempotency-Key "
                            "did not finish; use a new key.");
    return 0;
}
