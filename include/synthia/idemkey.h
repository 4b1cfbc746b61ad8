/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * idemkey.h - the HTTP side of Idempotency-Key (app/http/idemkey.c):
 * the record's name from a request, and a recorded response back into
 * a response.  The records themselves are idempotency.h's; what a route
 * does with them (orders: the whole order in one transaction) is the
 * domain's.
 */
#ifndef SYNTHIA_IDEMKEY_H
#define SYNTHIA_IDEMKEY_H

#include <stdbool.h>

#include "synthia/idempotency.h"
#include "synthia/request.h"
#include "synthia/response.h"

/* The record's name for this request: the caller's tenant, its scope
 * (user or key), the route's method and pattern, the key, and SHA-256
 * of method, path and raw body.  0; SY_ENOTFOUND without an
 * Idempotency-Key header; a problem in res for a malformed key (400:
 * 1 to 255 printable ASCII characters) or a missing tenant; SY_ENOMEM. */
int sy_idem_key_from_req(sy_req *req, sy_res *res, sy_idem_key *out);

/* Respond with r: its status, content type and body, and those of its
 * headers worth replaying (Location); with replayed, also
 * Idempotent-Replayed: true.  0 or SY_ENOMEM. */
int sy_idem_respond(sy_res *res, const sy_idem_response *r, bool replayed);

#endif
