/*
 * users.c - the user account (account.h) and the /users routes: a
 * user's own profile (PATCH, DELETE /users/me) and a tenant's user
 * management (GET, POST /users, PATCH /users/{id}).
 *
 * Who may call what is decided by the route table alone; the only rules
 * here are business rules.  Every query names the caller's tenant (the
 * tenant-less namespace for sysadmins), so another tenant's ids are 404.
 *
 * Choices where API.md is silent:
 * - Emails are ASCII (an internationalised domain is given in punycode),
 *   kept as typed but unique and looked up case-insensitively.
 * - A name is 1-200 characters after trimming, without control
 *   characters; it is required when an account is created.
 * - PATCH /users/me: changing the password needs current_password (422
 *   when missing); a wrong one is 403, not 401, because the caller's
 *   credential is fine and a 401 would make clients sign the user out.
 *   Wrong guesses count as failed logins for the account (the login
 *   guard), so a stolen access token cannot brute-force the password.
 *   A new password ends every other session of the user; the one making
 *   the change stays signed in.
 * - The last active owner of a tenant (the last sysadmin of the
 *   platform) can neither be demoted nor deactivated nor erased: 409.
 * - PATCH /users/{id}: deactivation and demotion end the user's sessions
 *   at once (their access tokens carry the old role until they expire
 *   otherwise); a promotion takes effect at the next sign-in.
 * - POST /users may create shoppers too, not only staff and owners.
 */
#include "config.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <string.h>

#include "synthia/account.h"
#include "synthia/authn.h"
#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/jwt.h"
#include "synthia/log.h"
#include "synthia/page.h"
#include "synthia/password.h"
#include "synthia/problem.h"
#include "synthia/ratelimit.h"
#include "synthia/routes.h"
#include "synthia/session.h"

#define NAME_MAX_CHARS 200
#define EMAIL_MAX 254
#define LOCAL_MAX 64
#define LABEL_MAX 63

/* ------------------------------------------------------------ the model */

static json_object *
col_json(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return NULL; /* JSON null */
    return json_object_new_string_len(PQgetvalue(r, row, col),
                                      PQgetlength(r, row, col));
}

json_object *
sy_account_json(const PGresult *r, int row)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    bool active = PQgetvalue(r, row, SY_USER_COL_ACTIVE)[0] == 't';
    json_object_object_add(o, "id", col_json(r, row, SY_USER_COL_ID));
    json_object_object_add(o, "email", col_json(r, row, SY_USER_COL_EMAIL));
    json_object_object_add(o, "name", col_json(r, row, SY_USER_COL_NAME));
    json_object_object_add(o, "role", col_json(r, row, SY_USER_COL_ROLE));
    json_object_object_add(o, "tenant_id",
                           col_json(r, row, SY_USER_COL_TENANT_ID));
    json_object_object_add(o, "active", json_object_new_boolean(active));
    json_object_object_add(o, "created_at",
                           col_json(r, row, SY_USER_COL_CREATED_AT));
    json_object_object_add(o, "updated_at",
                           col_json(r, row, SY_USER_COL_UPDATED_AT));
    json_object_object_add(o, "last_login_at",
                           col_json(r, row, SY_USER_COL_LAST_LOGIN_AT));
    return o;
}

const char *
sy_account_tenant(const sy_principal *w)
{
    return w->tenant_id[0] ? w->tenant_id : NULL;
}

static bool
space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static sy_str
trim(sy_str s)
{
    while (s.len && space(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len && space(s.p[s.len - 1]))
        s.len--;
    return s;
}

static bool
alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

/* RFC 5322 dot-atom: atext runs separated by single dots. */
static bool
local_part_ok(sy_str s)
{
    static const char atext[] = "!#$%&'*+/=?^_`{|}~-";
    if (s.len == 0 || s.len > LOCAL_MAX || s.p[0] == '.' ||
        s.p[s.len - 1] == '.')
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (c == '.' ? s.p[i - 1] == '.'
                     : !alnum(c) && !memchr(atext, c, sizeof(atext) - 1))
            return false;
    }
    return true;
}

/* Two or more DNS labels: [A-Za-z0-9-]{1,63}, no hyphen at either end. */
static bool
domain_ok(sy_str s)
{
    size_t labels = 0, start = 0;
    for (size_t i = 0; i <= s.len; i++) {
        if (i < s.len && s.p[i] != '.') {
            if (!alnum(s.p[i]) && s.p[i] != '-')
                return false;
            continue;
        }
        size_t n = i - start;
        if (n == 0 || n > LABEL_MAX || s.p[start] == '-' || s.p[i - 1] == '-')
            return false;
        labels++;
        start = i + 1;
    }
    return labels >= 2;
}

int
sy_account_email(sy_str in, sy_str *out)
{
    sy_str e = trim(in);
    if (e.len < 3 || e.len > EMAIL_MAX)
        return SY_EVALIDATION;
    const char *at = memchr(e.p, '@', e.len);
    if (!at)
        return SY_EVALIDATION;
    size_t n = (size_t)(at - e.p);
    if (!local_part_ok((sy_str){e.p, n}) ||
        !domain_ok((sy_str){at + 1, e.len - n - 1}))
        return SY_EVALIDATION;
    *out = e;
    return 0;
}

sy_str
sy_account_email_key(sy_arena *a, sy_str email)
{
    sy_str e = trim(email);
    char *k = sy_str_dup(a, e);
    if (!k)
        return SY_STR_NULL;
    for (size_t i = 0; i < e.len; i++)
        if (k[i] >= 'A' && k[i] <= 'Z')
            k[i] = (char)(k[i] - 'A' + 'a');
    return (sy_str){k, e.len};
}

/* ------------------------------------------------------ reading fields */

static bool
has_control(sy_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

/* name: 0 with a NUL-terminated trimmed copy, SY_ENOTFOUND when absent
 * and optional, or SY_EVALIDATION (recorded). */
static int
read_name(sy_req *req, sy_res *res, bool required, const char **out)
{
    sy_str v;
    int rc = sy_json_str(res, req->json, "name", required, 0, SIZE_MAX, &v);
    if (rc < 0)
        return rc;
    v = trim(v);
    if (v.len == 0 || sy_str_utf8_chars(v) > NAME_MAX_CHARS || has_control(v))
        return sy_problem_field(res, "name",
                                "must be 1 to 200 characters, without "
                                "control characters");
    *out = sy_str_dup(req->arena, v);
    return *out ? 0 : SY_ENOMEM;
}

static int
read_email(sy_req *req, sy_res *res, const char **out)
{
    sy_str v;
    int rc = sy_json_str(res, req->json, "email", true, 0, SIZE_MAX, &v);
    if (rc < 0)
        return rc;
    if (sy_account_email(v, &v) < 0)
        return sy_problem_field(res, "email", "must be a valid email address");
    *out = sy_str_dup(req->arena, v);
    return *out ? 0 : SY_ENOMEM;
}

/* A new password, checked against the policy (field `field`). */
static int
read_new_password(sy_res *res, json_object *body, const char *field,
                  bool required, sy_str *out)
{
    const char *why = NULL;
    int rc = sy_json_str(res, body, field, required, 0, SIZE_MAX, out);
    if (rc < 0)
        return rc;
    if (sy_password_policy(*out, &why) < 0)
        return sy_problem_field(res, field, why ? why : "is not allowed");
    return 0;
}

static int
hash_password(sy_arena *a, sy_str pw, const char **out)
{
    char *hash = sy_arena_alloc(a, SY_PASSWORD_HASH_MAX);
    if (!hash)
        return SY_ENOMEM;
    int rc = sy_password_hash(pw, hash, SY_PASSWORD_HASH_MAX);
    if (rc < 0)
        return rc;
    *out = hash;
    return 0;
}

/* shopper, staff or owner: the roles a tenant's users may have. */
static int
tenant_role(sy_str s)
{
    int role = sy_role_parse(s);
    return role >= SY_ROLE_SHOPPER && role <= SY_ROLE_OWNER ? role : 0;
}

static int
no_content(sy_res *res)
{
    res->status = 204;
    return 0;
}

static int
user_response(sy_res *res, int status, const PGresult *r)
{
    json_object *o = sy_account_json(r, 0);
    if (!o)
        return SY_ENOMEM;
    sy_res_headerc(res, "Cache-Control", "no-store");
    return sy_res_json(res, status, o);
}

/* ---------------------------------------------------------- creation */

int
sy_account_create(sy_req *req, sy_res *res, const char *tenant_id, int role)
{
    const char *email = NULL, *name = NULL, *hash = NULL;
    sy_str pw;
    int email_rc = read_email(req, res, &email);
    int pw_rc = read_new_password(res, req->json, "password", true, &pw);
    int rc = read_name(req, res, true, &name);
    if (rc == SY_ENOMEM || email_rc == SY_ENOMEM)
        return SY_ENOMEM;
    if (res->errors || pw_rc < 0 || !email || !name || !role)
        return SY_EVALIDATION;
    rc = hash_password(req->arena, pw, &hash);
    if (rc < 0)
        return rc;
    const char *p[5] = {tenant_id, email, name, sy_role_name(role), hash};
    PGresult *r;
    rc = sy_db_exec_durable(req->arena, SY_SQL_USER_INSERT, p, 5, &r);
    if (rc == SY_ECONFLICT)
        return sy_problem(res, 409, "conflict",
                          "An account with this email address already "
                          "exists.");
    if (rc < 0)
        return rc;
    if (PQntuples(r) != 1)
        return sy_problem(res, 404, "not_found", "No such tenant.");
    return user_response(res, 201, r);
}

/* --------------------------------------------------------- /users/me */

typedef struct me_change {
    const char *name; /* NULL: unchanged */
    sy_str password;  /* p == NULL: unchanged */
    sy_str current;   /* current_password */
} me_change;

static int
read_me_change(sy_req *req, sy_res *res, me_change *ch)
{
    memset(ch, 0, sizeof(*ch));
    int rc = read_name(req, res, false, &ch->name);
    if (rc == SY_ENOMEM)
        return rc;
    rc = read_new_password(res, req->json, "password", false, &ch->password);
    if (rc == SY_ENOTFOUND)
        ch->password = SY_STR_NULL;
    rc = sy_json_str(res, req->json, "current_password", false, 0, SIZE_MAX,
                     &ch->current);
    if (rc == SY_ENOTFOUND && ch->password.p)
        sy_problem_field(res, "current_password",
                         "is required to change the password");
    return res->errors ? SY_EVALIDATION : 0;
}

static int
gone(sy_res *res)
{
    return sy_problem(res, 401, "unauthorized",
                      "This account no longer exists or is deactivated.");
}

/* Check current_password, through the login guard. */
static int
check_current(sy_req *req, sy_res *res, sy_str current)
{
    const sy_principal *w = &req->who;
    const char *p[2] = {sy_account_tenant(w), w->user_id};
    PGresult *r;
    int rc = sy_db_exec(req->arena, SY_SQL_USER_SECRET, p, 2, &r);
    if (rc < 0)
        return rc;
    if (PQntuples(r) != 1)
        return gone(res);
    sy_str key = sy_account_email_key(
        req->arena,
        (sy_str){PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0)});
    rc = sy_login_guard_check(req, res, key, w->tenant_id);
    if (rc < 0)
        return rc;
    bool rehash = false;
    if (PQgetisnull(r, 0, 1)) {
        sy_password_burn(current);
        rc = SY_EUNAUTH;
    } else {
        rc = sy_password_verify(PQgetvalue(r, 0, 1), current, &rehash);
    }
    sy_login_guard_record(req, key, w->tenant_id, rc == 0);
    if (rc < 0)
        return sy_problem(res, 403, "forbidden",
                          "The current password is wrong.");
    return 0;
}

/* A new password ends the user's other sessions (not this one). */
static int
end_other_sessions(sy_req *req)
{
    const sy_principal *w = &req->who;
    const char *p[3] = {sy_account_tenant(w), w->user_id, w->sid};
    PGresult *r;
    int rc = sy_db_exec(req->arena, SY_SQL_USER_OTHER_SESSIONS, p, 3, &r);
    for (int i = 0; rc == 0 && i < PQntuples(r); i++)
        rc = sy_session_revoke(req->arena, PQgetvalue(r, i, 0),
                               "password_changed");
    return rc;
}

int
sy_route_users_me_patch(sy_req *req, sy_res *res)
{
    me_change ch;
    const char *hash = NULL;
    int rc = read_me_change(req, res, &ch);
    if (rc == 0 && ch.password.p)
        rc = check_current(req, res, ch.current);
    if (rc == 0 && ch.password.p)
        rc = hash_password(req->arena, ch.password, &hash);
    /* before the change: should this fail, nothing has changed yet */
    if (rc == 0 && ch.password.p)
        rc = end_other_sessions(req);
    if (rc < 0)
        return rc;
    const sy_principal *w = &req->who;
    const char *p[4] = {sy_account_tenant(w), w->user_id, ch.name, hash};
    PGresult *r;
    rc = sy_db_exec_durable(req->arena, SY_SQL_USER_UPDATE_SELF, p, 4, &r);
    if (rc < 0)
        return rc;
    if (PQntuples(r) != 1)
        return gone(res);
    return user_response(res, 200, r);
}

/* Is this user the last keeper (owner, or sysadmin) of its namespace? */
static int
last_keeper(sy_arena *a, const char *const p[2], bool *out)
{
    PGresult *r;
    int rc = sy_db_exec(a, SY_SQL_USER_LAST_KEEPER, p, 2, &r);
    if (rc < 0)
        return rc;
    *out = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    return 0;
}

static int
last_keeper_conflict(sy_res *res)
{
    return sy_problem(res, 409, "conflict",
                      "This is the last active owner; make another user "
                      "owner first.");
}

int
sy_route_users_me_delete(sy_req *req, sy_res *res)
{
    const sy_principal *w = &req->who;
    const char *p[2] = {sy_account_tenant(w), w->user_id};
    bool last = false;
    int rc = last_keeper(req->arena, p, &last);
    if (rc < 0)
        return rc;
    if (last)
        return last_keeper_conflict(res);
    /* first, so the access tokens die even though the rows cascade away */
    rc = sy_session_revoke_user(req->arena, w->user_id, "erased");
    PGresult *r = NULL;
    if (rc == 0)
        rc = sy_db_exec_durable(req->arena, SY_SQL_USER_ERASE, p, 2, &r);
    if (rc == 0 && PQntuples(r) == 0)
        rc = last_keeper(req->arena, p, &last); /* raced, or already gone */
    if (rc < 0)
        return rc;
    if (last)
        return last_keeper_conflict(res);
    sy_log(SY_LOG_INFO, "user_erased", "user %s erased their account",
           w->user_id);
    if (w->via_cookie)
        sy_account_clear_cookies(res);
    return no_content(res);
}

/* ------------------------------------------------------------ /users */

static int
role_filter(sy_req *req, sy_res *res, const char **out)
{
    sy_str q;
    int rc = sy_req_query(req, "role", &q);
    *out = NULL;
    if (rc == SY_ENOTFOUND)
        return 0;
    if (rc < 0 || !tenant_role(q))
        return sy_problem_field(res, "role", "must be shopper, staff or owner");
    *out = q.p; /* decoded, NUL-terminated */
    return 0;
}

int
sy_route_users_list(sy_req *req, sy_res *res)
{
    const char *tid, *role;
    sy_page pg;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc == 0)
        rc = sy_page_parse(req, res, &pg);
    if (rc == 0)
        rc = role_filter(req, res, &role);
    if (rc < 0)
        return rc;
    const char *p[5] = {tid, role, pg.limit_text, pg.after_ts, pg.after_id};
    PGresult *r;
    rc = sy_db_exec(req->arena, SY_SQL_USERS_LIST, p, 5, &r);
    if (rc < 0)
        return rc;
    return sy_page_respond(res, &pg, r, SY_USER_COL_CREATED_AT,
                           SY_USER_COL_ID, sy_account_json);
}

int
sy_route_users_create(sy_req *req, sy_res *res)
{
    const char *tid;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0)
        return rc;
    sy_str v;
    int role = 0;
    if (sy_json_str(res, req->json, "role", true, 0, SIZE_MAX, &v) == 0 &&
        !(role = tenant_role(v)))
        sy_problem_field(res, "role", "must be shopper, staff or owner");
    return sy_account_create(req, res, tid, role);
}

typedef struct user_change {
    const char *role;   /* NULL: unchanged */
    const char *active; /* "true" / "false" / NULL */
} user_change;

static int
read_user_change(sy_req *req, sy_res *res, user_change *ch)
{
    sy_str v;
    bool active;
    memset(ch, 0, sizeof(*ch));
    int rc = sy_json_str(res, req->json, "role", false, 0, SIZE_MAX, &v);
    if (rc == 0 && !tenant_role(v))
        sy_problem_field(res, "role", "must be shopper, staff or owner");
    else if (rc == 0)
        ch->role = sy_role_name(tenant_role(v));
    if (sy_json_bool(res, req->json, "active", false, &active) == 0)
        ch->active = active ? "true" : "false";
    return res->errors ? SY_EVALIDATION : 0;
}

/* The update matched nothing: no such user here, or the last owner. */
static int
patch_refused(sy_req *req, sy_res *res, const char *const p[2])
{
    PGresult *r;
    int rc = sy_db_exec(req->arena, SY_SQL_USER_GET, p, 2, &r);
    if (rc < 0)
        return rc;
    if (PQntuples(r) == 0)
        return sy_problem(res, 404, "not_found", "No such user.");
    return last_keeper_conflict(res);
}

/* Deactivation or demotion: the user's tokens must stop working now. */
static int
end_sessions_if_needed(sy_req *req, const PGresult *r, const user_change *ch)
{
    int was = sy_role_parse(sy_str_c(PQgetvalue(r, 0, SY_USER_NCOLS)));
    int now = sy_role_parse(sy_str_c(PQgetvalue(r, 0, SY_USER_COL_ROLE)));
    const char *id = PQgetvalue(r, 0, SY_USER_COL_ID);
    if (ch->active && ch->active[0] == 'f')
        return sy_session_revoke_user(req->arena, id, "deactivated");
    if (now < was)
        return sy_session_revoke_user(req->arena, id, "role_changed");
    return 0;
}

int
sy_route_users_patch(sy_req *req, sy_res *res)
{
    const char *tid;
    user_change ch;
    int rc = sy_authn_tenant(req, res, &tid);
    if (rc < 0)
        return rc;
    sy_str id = req->params[0];
    if (!sy_uuid_valid(id.p, id.len))
        return sy_problem(res, 404, "not_found", "No such user.");
    rc = read_user_change(req, res, &ch);
    if (rc < 0)
        return rc;
    const char *p[4] = {tid, id.p, ch.role, ch.active};
    PGresult *r;
    rc = sy_db_exec_durable(req->arena, SY_SQL_USER_PATCH, p, 4, &r);
    if (rc < 0)
        return rc;
    if (PQntuples(r) != 1)
        return patch_refused(req, res, p);
    rc = end_sessions_if_needed(req, r, &ch);
    if (rc < 0)
        return rc;
    return user_response(res, 200, r);
}
