/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * accounts.c - the rules of user accounts (accounts.h).
 *
 * Reading a body records every problem of it in one pass; only then is
 * anything hashed or written.  Login asks the login guard (ratelimit.h)
 * before it looks and tells it the outcome after, keyed on the same
 * normalised email the lookup uses.
 */
#include "synthia/accounts.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/cache.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/jwt.h"
#include "synthia/log.h"
#include "synthia/password.h"
#include "synthia/ratelimit.h"
#include "synthia/sessions.h"
#include "synthia/tenancy.h"
#include "synthia/tenants.h"
#include "synthia/text.h"
#include "synthia/uploads_db.h"

#define NAME_MAX_CHARS 200
#define EMAIL_MAX 254
#define EMAIL_INPUT_MAX 1024
#define LOCAL_MAX 64
#define LABEL_MAX 63

/* ------------------------------------------------------------ the model */

static json_object *
str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

json_object *
sy_accounts_json(const sy_user *u)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "id", str_or_null(u->id));
    json_object_object_add(o, "email", str_or_null(u->email));
    json_object_object_add(o, "name", str_or_null(u->name));
    json_object_object_add(o, "role", str_or_null(u->role));
    json_object_object_add(o, "tenant_id", str_or_null(u->tenant_id));
    json_object_object_add(o, "active", json_object_new_boolean(u->active));
    json_object_object_add(o, "created_at", str_or_null(u->created_at));
    json_object_object_add(o, "updated_at", str_or_null(u->updated_at));
    json_object_object_add(o, "last_login_at", str_or_null(u->last_login_at));
    return o;
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
sy_accounts_email(sy_str in, sy_str *out)
{
    sy_str e = sy_text_trim(in);
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
sy_accounts_email_key(sy_arena *a, sy_str email)
{
    sy_str e = sy_text_trim(email);
    char *k = sy_str_dup(a, e);
    if (!k)
        return SY_STR_NULL;
    for (size_t i = 0; i < e.len; i++)
        if (k[i] >= 'A' && k[i] <= 'Z')
            k[i] = (char)(k[i] - 'A' + 'a');
    return (sy_str){k, e.len};
}

int
sy_accounts_tenant_role(sy_str s)
{
    int role = sy_role_parse(s);
    return role >= SY_ROLE_SHOPPER && role <= SY_ROLE_OWNER ? role : 0;
}

/* ------------------------------------------------------ reading fields */

static bool
name_ok(sy_str *v)
{
    *v = sy_text_trim(*v);
    return v->len > 0 && sy_str_utf8_chars(*v) <= NAME_MAX_CHARS &&
           sy_text_line_ok(*v);
}

static int
bad_name(sy_errs *e)
{
    return sy_errs_field(e, "name",
                         "must be 1 to 200 characters, without control "
                         "characters");
}

/* name: 0 with a NUL-terminated trimmed copy, SY_ENOTFOUND when absent
 * and optional, or SY_EVALIDATION (recorded). */
static int
read_name(sy_arena *a, json_object *body, bool required, sy_errs *e,
          const char **out)
{
    sy_str v;
    int rc = sy_json_str(e, body, "name", required, 0, SIZE_MAX, &v);
    if (rc < 0)
        return rc;
    if (!name_ok(&v))
        return bad_name(e);
    *out = sy_str_dup(a, v);
    return *out ? 0 : SY_ENOMEM;
}

static int
check_email(sy_arena *a, sy_str v, sy_errs *e, const char **out)
{
    if (sy_accounts_email(v, &v) < 0)
        return sy_errs_field(e, "email", "must be a valid email address");
    *out = sy_str_dup(a, v);
    return *out ? 0 : SY_ENOMEM;
}

/* A new password, checked against the policy (field `field`). */
static int
check_password(sy_str pw, const char *field, sy_errs *e)
{
    const char *why = NULL;
    if (sy_password_policy(pw, &why) < 0)
        return sy_errs_field(e, field, why ? why : "is not allowed");
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

/* ---------------------------------------------------------- creation */

static int
insert_account(sy_arena *a, const char *tenant, const char *email,
               const char *name, int role, sy_str pw, sy_errs *e,
               sy_user *out)
{
    const char *hash;
    int rc = hash_password(a, pw, &hash);
    if (rc < 0)
        return rc;
    rc = sy_users_insert(a, tenant, email, name, sy_role_name(role), hash,
                         out);
    if (rc == SY_ECONFLICT)
        return sy_errs_fail(e, rc, "conflict",
                            "An account with this email address already "
                            "exists.");
    if (rc == SY_ENOTFOUND)
        return sy_errs_fail(e, rc, "not_found", "No such tenant.");
    return rc;
}

int
sy_accounts_create(sy_arena *a, const char *tenant, json_object *body,
                   int role, sy_errs *e, sy_user *out)
{
    const char *email = NULL, *name = NULL;
    sy_str v, pw = SY_STR_NULL;
    int rc = 0;
    if (sy_json_str(e, body, "email", true, 0, SIZE_MAX, &v) == 0)
        rc = check_email(a, v, e, &email);
    if (sy_json_str(e, body, "password", true, 0, SIZE_MAX, &pw) == 0)
        check_password(pw, "password", e);
    if (rc == SY_ENOMEM || read_name(a, body, true, e, &name) == SY_ENOMEM)
        return SY_ENOMEM;
    if (sy_errs_any(e) || !email || !name || !pw.p || !role)
        return SY_EVALIDATION;
    return insert_account(a, tenant, email, name, role, pw, e, out);
}

int
sy_accounts_create_plain(sy_arena *a, const char *tenant, sy_str email,
                         sy_str name, int role, sy_str password, sy_errs *e,
                         sy_user *out)
{
    const char *em = NULL, *nm = NULL;
    if (check_email(a, email, e, &em) == SY_ENOMEM)
        return SY_ENOMEM;
    if (sy_text_trim(name).len && !name_ok(&name))
        bad_name(e);
    else if (!(nm = sy_str_dup(a, name)))
        return SY_ENOMEM;
    check_password(password, "password", e);
    if (sy_errs_any(e) || !em || !nm)
        return SY_EVALIDATION;
    return insert_account(a, tenant, em, nm, role, password, e, out);
}

/* ------------------------------------------------------------- login */

typedef struct login_input {
    sy_str key;       /* the email, trimmed and lower-cased */
    const char *email; /* the same, NUL-terminated */
    sy_str password;
    const char *slug; /* `tenant`, or NULL */
    bool cookie;
} login_input;

/* Where the account is looked up. */
typedef struct login_ns {
    const char *tenant;     /* NULL: the sysadmins' namespace */
    const char *slug_check; /* key logins: the slug the body named */
    const char *guard;      /* the login guard's namespace */
    bool unknown;           /* the slug names no active tenant */
} login_ns;

static int
read_login(sy_arena *a, json_object *b, sy_errs *e, login_input *in)
{
    sy_str email = SY_STR_NULL, slug = SY_STR_NULL;
    memset(in, 0, sizeof(*in));
    /* white space around it is trimmed, as the lookup and sign-up do */
    if (sy_json_str(e, b, "email", true, 1, EMAIL_INPUT_MAX, &email) == 0 &&
        !sy_text_line_ok(sy_text_trim(email)))
        sy_errs_field(e, "email", "must not contain control characters");
    sy_json_str(e, b, "password", true, 1, 4096, &in->password);
    /* a slug is looked up and names the login guard's namespace */
    const char *why;
    if (sy_json_str(e, b, "tenant", false, 1, 63, &slug) == 0 &&
        sy_tenancy_check_slug(slug, &why) < 0)
        sy_errs_field(e, "tenant", why);
    else if (slug.p && !(in->slug = sy_str_dup(a, slug)))
        return SY_ENOMEM;
    sy_json_bool(e, b, "cookie", false, &in->cookie);
    if (sy_errs_any(e))
        return SY_EVALIDATION;
    in->key = sy_accounts_email_key(a, email);
    in->email = in->key.p;
    return in->email ? 0 : SY_ENOMEM;
}

static int
resolve_ns(sy_arena *a, const login_input *in, const char *key_tenant,
           login_ns *ns)
{
    memset(ns, 0, sizeof(*ns));
    if (key_tenant) {
        ns->tenant = key_tenant;
        ns->slug_check = in->slug;
        ns->guard = key_tenant;
        return 0;
    }
    if (!in->slug) {
        ns->guard = "";
        return 0;
    }
    int rc = sy_tenants_active_by_slug(a, in->slug, &ns->tenant);
    if (rc == SY_ENOTFOUND) {
        ns->unknown = true;
        rc = 0;
    }
    ns->guard = ns->tenant ? ns->tenant : in->slug;
    return rc;
}

/* Verify, or burn the same time when there is nothing to verify. */
static bool
password_matches(const sy_user *u, bool found, sy_str pw, bool *rehash)
{
    *rehash = false;
    if (!found || !u->password_hash) {
        sy_password_burn(pw);
        return false;
    }
    return sy_password_verify(u->password_hash, pw, rehash) == 0;
}

static int
login_failed(sy_errs *e, sy_str client, const login_ns *ns)
{
    sy_logline *l = sy_log_begin(SY_LOG_INFO, "login_failed");
    sy_log_str(l, "client", client);
    sy_log_cstr(l, "tenant", ns->guard);
    sy_log_end(l);
    /* the same answer whatever the cause */
    return sy_errs_fail(e, SY_EUNAUTH, "unauthorized",
                        "Invalid email or password.");
}

static int
throttled(sy_errs *e, int64_t retry_s)
{
    char *d = sy_arena_alloc(e->arena, 64);
    if (d)
        snprintf(d, 64, "Too many failed logins; retry in %lld s.",
                 (long long)retry_s);
    e->retry_after = retry_s;
    return sy_errs_fail(e, SY_ERATE, "rate_limited", d);
}

/* An access token for user u in session s. */
static int
issue(sy_arena *a, sy_signin *out)
{
    sy_claims c;
    memset(&c, 0, sizeof(c));
    snprintf(c.sub, sizeof(c.sub), "%s", out->user.id);
    if (out->user.tenant_id)
        snprintf(c.tid, sizeof(c.tid), "%s", out->user.tenant_id);
    c.role = sy_role_parse(sy_str_c(out->user.role));
    snprintf(c.sid, sizeof(c.sid), "%s", out->session.sid);
    int rc = sy_jwt_issue(a, &c, &out->access_token);
    if (rc == 0)
        out->expires_in = c.exp - c.iat;
    return rc;
}

/* last_login_at (and the hash again when the config asks for more),
 * then a session and its tokens. */
static int
sign_in(sy_arena *a, const login_input *in, const sy_user *u, bool rehash,
        sy_signin *out)
{
    char hash[SY_PASSWORD_HASH_MAX];
    bool rehashed =
        rehash && sy_password_hash(in->password, hash, sizeof(hash)) == 0;
    int rc = sy_users_logged_in(a, u->tenant_id, u->id,
                                rehashed ? hash : NULL, &out->user);
    if (rc < 0) /* SY_ENOTFOUND: deleted or deactivated a moment ago */
        return rc == SY_ENOTFOUND ? SY_EUNAUTH : rc;
    int role = sy_role_parse(sy_str_c(out->user.role));
    rc = sy_session_start(a, out->user.tenant_id, out->user.id, role,
                          in->cookie, &out->session);
    if (rc < 0)
        return rc;
    out->cookie = in->cookie;
    return issue(a, out);
}

int
sy_accounts_login(sy_arena *a, json_object *body, const char *key_tenant,
                  sy_str client, sy_errs *e, sy_signin *out)
{
    login_input in;
    login_ns ns;
    sy_user u = {0};
    bool found = false, rehash = false;
    int64_t retry = 0;
    int rc = read_login(a, body, e, &in);
    if (rc == 0)
        rc = resolve_ns(a, &in, key_tenant, &ns);
    if (rc < 0)
        return rc;
    if (sy_login_guard_check(a, in.key, ns.guard, client, &retry) ==
        SY_ERATE)
        return throttled(e, retry);
    if (!ns.unknown) {
        rc = sy_users_find_login(a, ns.tenant, in.email, ns.slug_check, &u);
        if (rc < 0 && rc != SY_ENOTFOUND)
            return rc;
        found = rc == 0;
    }
    bool ok = password_matches(&u, found, in.password, &rehash);
    sy_login_guard_record(a, in.key, ns.guard, client, ok);
    memset(out, 0, sizeof(*out));
    rc = ok ? sign_in(a, &in, &u, rehash, out) : SY_EUNAUTH;
    return rc == SY_EUNAUTH ? login_failed(e, client, &ns) : rc;
}

int
sy_accounts_refresh(sy_arena *a, sy_str token, sy_errs *e, sy_signin *out)
{
    memset(out, 0, sizeof(*out));
    int rc = sy_session_refresh(a, token, &out->session);
    if (rc == 0)
        rc = sy_users_get(a, out->session.tenant_id[0]
                                 ? out->session.tenant_id
                                 : NULL,
                          out->session.user_id, true, &out->user);
    if (rc == SY_ENOTFOUND || rc == SY_EUNAUTH)
        return sy_errs_fail(e, SY_EUNAUTH, "unauthorized",
                            "The refresh token is not valid, has expired, "
                            "or has been revoked.");
    if (rc < 0)
        return rc;
    out->cookie = out->session.cookie;
    return issue(a, out);
}

/* --------------------------------------------------------- /users/me */

static int
gone(sy_errs *e)
{
    return sy_errs_fail(e, SY_EUNAUTH, "unauthorized",
                        "This account no longer exists or is deactivated.");
}

int
sy_accounts_me(sy_arena *a, const sy_principal *who, sy_errs *e,
               sy_user *out)
{
    int rc = sy_users_get(a, sy_principal_tenant(who), who->user_id, true,
                          out);
    return rc == SY_ENOTFOUND ? gone(e) : rc;
}

typedef struct me_change {
    const char *name; /* NULL: unchanged */
    sy_str password;  /* p == NULL: unchanged */
    sy_str current;   /* current_password */
} me_change;

static int
read_me_change(sy_arena *a, json_object *body, sy_errs *e, me_change *ch)
{
    memset(ch, 0, sizeof(*ch));
    if (read_name(a, body, false, e, &ch->name) == SY_ENOMEM)
        return SY_ENOMEM;
    if (sy_json_str(e, body, "password", false, 0, SIZE_MAX,
                    &ch->password) == 0)
        check_password(ch->password, "password", e);
    int rc = sy_json_str(e, body, "current_password", false, 0, SIZE_MAX,
                         &ch->current);
    if (rc == SY_ENOTFOUND && ch->password.p)
        sy_errs_field(e, "current_password",
                      "is required to change the password");
    return sy_errs_any(e) ? SY_EVALIDATION : 0;
}

/* Check current_password, through the login guard. */
static int
check_current(sy_arena *a, const sy_principal *w, sy_str current,
              sy_str client, sy_errs *e)
{
    sy_user u;
    int64_t retry = 0;
    int rc = sy_users_secret(a, sy_principal_tenant(w), w->user_id, &u);
    if (rc == SY_ENOTFOUND)
        return gone(e);
    if (rc < 0)
        return rc;
    sy_str key = sy_accounts_email_key(a, sy_str_c(u.email));
    if (sy_login_guard_check(a, key, w->tenant_id, client, &retry) ==
        SY_ERATE)
        return throttled(e, retry);
    bool rehash = false;
    if (!u.password_hash) {
        sy_password_burn(current);
        rc = SY_EUNAUTH;
    } else {
        rc = sy_password_verify(u.password_hash, current, &rehash);
    }
    sy_login_guard_record(a, key, w->tenant_id, client, rc == 0);
    if (rc < 0)
        return sy_errs_fail(e, SY_EFORBIDDEN, "forbidden",
                            "The current password is wrong.");
    return 0;
}

/* A new password ends the user's other sessions (not this one). */
static int
end_other_sessions(sy_arena *a, const sy_principal *w)
{
    sy_db_list l;
    int rc = sy_sessions_live_of_user(a, sy_principal_tenant(w), w->user_id,
                                      w->sid[0] ? w->sid : NULL, &l);
    for (int i = 0; rc == 0 && i < l.n; i++)
        rc = sy_session_revoke(a, l.v[i], "password_changed");
    return rc;
}

int
sy_accounts_update_self(sy_arena *a, const sy_principal *who,
                        json_object *body, sy_str client, sy_errs *e,
                        sy_user *out)
{
    me_change ch;
    const char *hash = NULL;
    int rc = read_me_change(a, body, e, &ch);
    if (rc == 0 && ch.password.p)
        rc = check_current(a, who, ch.current, client, e);
    if (rc == 0 && ch.password.p)
        rc = hash_password(a, ch.password, &hash);
    /* before the change: should this fail, nothing has changed yet */
    if (rc == 0 && ch.password.p)
        rc = end_other_sessions(a, who);
    if (rc < 0)
        return rc;
    rc = sy_users_update_self(a, sy_principal_tenant(who), who->user_id,
                              ch.name, hash, out);
    return rc == SY_ENOTFOUND ? gone(e) : rc;
}

static int
last_keeper(sy_errs *e)
{
    return sy_errs_fail(e, SY_ECONFLICT, "conflict",
                        "This is the last active owner; make another user "
                        "owner first.");
}

/* What of the user lives in Redis: their uploads and their cached AI
 * results.  Sysadmins have neither. */
static int
erase_ai_data(sy_arena *a, const char *tid, const char *uid)
{
    int64_t uploads = 0, cached = 0;
    if (!tid)
        return 0;
    int rc = sy_uploads_db_erase_user(a, tid, uid, &uploads);
    if (rc == 0)
        rc = sy_cache_delete(a, tid, SY_CACHE_ANALYSIS, uid, &cached);
    if (rc == 0)
        sy_log(SY_LOG_INFO, "user_erased_ai_data",
               "user %s: %lld uploads and %lld cached analyses erased", uid,
               (long long)uploads, (long long)cached);
    return rc;
}

int
sy_accounts_erase(sy_arena *a, const sy_principal *who, sy_errs *e)
{
    const char *tid = sy_principal_tenant(who);
    bool last = false;
    int rc = sy_users_last_keeper(a, tid, who->user_id, &last);
    if (rc < 0)
        return rc;
    if (last)
        return last_keeper(e);
    /* while the caller can still retry if Redis is away */
    if ((rc = erase_ai_data(a, tid, who->user_id)) < 0)
        return rc;
    /* first, so the access tokens die even though the rows cascade away */
    rc = sy_session_revoke_user(a, who->user_id, "erased");
    if (rc == 0)
        rc = sy_users_erase(a, tid, who->user_id);
    if (rc == SY_ENOTFOUND) { /* raced to last keeper, or already gone */
        rc = sy_users_last_keeper(a, tid, who->user_id, &last);
        if (rc == 0 && last)
            return last_keeper(e);
    }
    if (rc < 0)
        return rc;
    sy_log(SY_LOG_INFO, "user_erased", "user %s erased their account",
           who->user_id);
    return 0;
}

int
sy_accounts_logout(sy_arena *a, const sy_principal *who, bool all)
{
    if (all)
        return sy_session_revoke_user(a, who->user_id, "logout_all");
    return sy_session_revoke(a, who->sid, "logout");
}

/* ------------------------------------------------------------ /users */

int
sy_accounts_list(sy_arena *a, const char *tenant, const char *role_filter,
                 const sy_keyset *page, sy_errs *e, sy_user_list *out)
{
    if (role_filter && !sy_accounts_tenant_role(sy_str_c(role_filter)))
        return sy_errs_field(e, "role", "must be shopper, staff or owner");
    return sy_users_list(a, tenant, role_filter, page, out);
}

typedef struct user_change {
    const char *role;   /* NULL: unchanged */
    const char *active; /* "true" / "false" / NULL */
} user_change;

static int
read_user_change(json_object *body, sy_errs *e, user_change *ch)
{
    sy_str v;
    bool active;
    memset(ch, 0, sizeof(*ch));
    int rc = sy_json_str(e, body, "role", false, 0, SIZE_MAX, &v);
    if (rc == 0 && !sy_accounts_tenant_role(v))
        sy_errs_field(e, "role", "must be shopper, staff or owner");
    else if (rc == 0)
        ch->role = sy_role_name(sy_accounts_tenant_role(v));
    if (sy_json_bool(e, body, "active", false, &active) == 0)
        ch->active = active ? "true" : "false";
    return sy_errs_any(e) ? SY_EVALIDATION : 0;
}

static int
no_user(sy_errs *e)
{
    return sy_errs_fail(e, SY_ENOTFOUND, "not_found", "No such user.");
}

/* Deactivation or demotion: the user's tokens must stop working now. */
static int
end_sessions_if_needed(sy_arena *a, const sy_user *u, const user_change *ch)
{
    int was = sy_role_parse(sy_str_c(u->prev_role));
    int now = sy_role_parse(sy_str_c(u->role));
    if (ch->active && ch->active[0] == 'f')
        return sy_session_revoke_user(a, u->id, "deactivated");
    if (now < was)
        return sy_session_revoke_user(a, u->id, "role_changed");
    return 0;
}

int
sy_accounts_change(sy_arena *a, const char *tenant, const char *id,
                   json_object *body, sy_errs *e, sy_user *out)
{
    user_change ch;
    if (!sy_text_uuid(id))
        return no_user(e);
    int rc = read_user_change(body, e, &ch);
    if (rc < 0)
        return rc;
    rc = sy_users_patch(a, tenant, id, ch.role, ch.active, out);
    if (rc == SY_ENOTFOUND) { /* no such user here, or the last owner */
        sy_user u;
        rc = sy_users_get(a, tenant, id, false, &u);
        if (rc == SY_ENOTFOUND)
            return no_user(e);
        return rc < 0 ? rc : last_keeper(e);
    }
    if (rc < 0)
        return rc;
    return end_sessions_if_needed(a, out, &ch);
}
