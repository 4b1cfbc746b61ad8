/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * authn.h - who is calling, and may they call this route.
 *
 * Authentication reads at most one credential, in this order: X-API-Key,
 * Authorization: Bearer, the sy_access cookie.  Authorisation compares
 * the principal with the route's auth level and scope (the route table is
 * the only place roles are decided), checks the CSRF token of cookie
 * requests with unsafe methods, and refuses publishable keys from origins
 * their tenant does not allow.
 */
#ifndef SYNTHIA_AUTHN_H
#define SYNTHIA_AUTHN_H

#include "synthia/request.h"
#include "synthia/response.h"

/* Fill req->who from the request's credential, if any.  0 (anonymous is
 * fine here), or a problem in res: 401 for a bad, expired or revoked
 * credential, 503 when the store that must vouch for it is down. */
int sy_authn_authenticate(sy_req *req, sy_res *res);

/* May req->who call req->route?  0, or a problem in res (401 no
 * credential, 403 wrong role/scope/origin/CSRF). */
int sy_authn_authorize(sy_req *req, sy_res *res);

/* The tenant a request acts on: the caller's own, or for sysadmins the
 * ?tenant_id= query parameter.  0 with *tid (37 bytes), or a problem: 422
 * when a sysadmin gives none or a malformed one. */
int sy_authn_tenant(sy_req *req, sy_res *res, const char **tid);

#endif
