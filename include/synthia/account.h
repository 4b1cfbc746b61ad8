/*
 * account.h - the user account as the identity routes share it: the
 * columns a user row is selected with (statements.c's USER_COLS), its
 * public JSON form, the checks a new account goes through, and the auth
 * cookies.  Implemented in app/routes/users.c, except the cookies, which
 * live with the login that sets them in app/routes/auth.c.
 */
#ifndef SYNTHIA_ACCOUNT_H
#define SYNTHIA_ACCOUNT_H

#include "synthia/request.h"
#include "synthia/response.h"
#include "synthia/str.h"

struct json_object;
struct pg_result;

/* Column order of every statement that returns users. */
enum sy_account_col {
    SY_USER_COL_ID = 0,
    SY_USER_COL_EMAIL,
    SY_USER_COL_NAME,
    SY_USER_COL_ROLE,
    SY_USER_COL_TENANT_ID, /* NULL for sysadmins */
    SY_USER_COL_ACTIVE,
    SY_USER_COL_CREATED_AT, /* RFC 3339 UTC, microseconds */
    SY_USER_COL_UPDATED_AT,
    SY_USER_COL_LAST_LOGIN_AT, /* NULL before the first login */
    SY_USER_NCOLS
};

/* The public form of row `row` of r: {id, email, name, role, tenant_id,
 * active, created_at, updated_at, last_login_at}; never the password
 * hash.  A new object the caller owns, or NULL when out of memory. */
struct json_object *sy_account_json(const struct pg_result *r, int row);

/* The tenant of a signed-in principal as a SQL parameter: its id, or
 * NULL for sysadmins (the tenant-less namespace). */
const char *sy_account_tenant(const sy_principal *w);

/* Trim white space around an email address and check its syntax (ASCII,
 * dot-atom local part of at most 64 characters, a domain of at least two
 * DNS labels, at most 254 characters in all).  0 with the trimmed view,
 * or SY_EVALIDATION. */
int sy_account_email(sy_str in, sy_str *out);

/* The key that identifies an email for throttling: trimmed and ASCII
 * lower-cased (the database compares lower() too).  Arena memory; an
 * empty view when out of memory. */
sy_str sy_account_email_key(sy_arena *a, sy_str email);

/* Create an account in tenant_id with role from req->json's email,
 * password and name (all required), recording a 422 field error for each
 * bad one, and answer 201 with the user.  Errors already recorded in res
 * (e.g. the caller's role field) count too, and role 0 means the caller
 * recorded one.  409 when the email is taken in the tenant, 404 when the
 * tenant does not exist. */
int sy_account_create(sy_req *req, sy_res *res, const char *tenant_id,
                      int role);

/* Expire the sy_access, sy_refresh and sy_csrf cookies (auth.c). */
int sy_account_clear_cookies(sy_res *res);

#endif
