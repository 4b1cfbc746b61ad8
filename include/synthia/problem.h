/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * problem.h - RFC 9457 application/problem+json responses.
 *
 * {"type": "urn:synthia:problem:<code>", "title", "status", "detail",
 *  "code", "request_id"} plus "errors" for validation failures.  The one
 * mapping from SY_E* codes to HTTP statuses lives here.
 */
#ifndef SYNTHIA_PROBLEM_H
#define SYNTHIA_PROBLEM_H

#include "synthia/response.h"

/* Set res to a problem.  detail may be NULL (the title is used).  Returns
 * the SY_E code that matches status, so handlers can `return sy_problem(..)`.
 */
int sy_problem(sy_res *res, int status, const char *code, const char *detail);

/* Turn an error code into its problem (no-op when res already holds one).
 * Returns rc. */
int sy_problem_from_rc(sy_res *res, int rc);

/* Record a validation error for field; return SY_EVALIDATION once the
 * handler is done collecting. */
int sy_problem_field(sy_res *res, const char *field, const char *message);

/* HTTP status and stable code for an SY_E* code. */
int sy_problem_status(int rc);
const char *sy_problem_code(int rc);

#endif
