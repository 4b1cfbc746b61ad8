/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * session.c - sessions (one per login) and their rotating refresh tokens,
 * and the "is this session revoked" check behind every access token.
 *
 * Refresh tokens are 32 random bytes in base64url, stored as SHA-256.
 * Each use rotates: the row is marked used and a successor row is added
 * whose token is HMAC-SHA256(jwt secret, presented token || row nonce),
 * so a second use within auth.refresh_reuse_grace re-derives the same
 * successor without it ever being stored (two tabs refreshing at once
 * both get it).  A use after the grace revokes the session: an old token
 * in the wrong hands kills the newest one too.
 *
 * Revocation is recorded in PostgreSQL (authoritative) and as a deny mark
 * sy:{s:<sid>}:revoked in Redis that lives as long as any access token
 * of the session can (access_ttl + leeway, plus a margin for a refresh
 * racing the revocation).  The key carries the session, not the tenant,
 * as its hash tag: the check has only the sid, and no command touches two
 * of these keys together.  sy_session_check is one Redis EXISTS.
 *
 * When may Redis's "no mark" be believed?  Marks can be missing because
 * (a) Redis was unreachable when a revocation wrote it, or (b) Redis lost
 * data (restart without persistence, failover to a replica that had not
 * caught up).  Both come with broken connections: every responder's
 * connection fails and is re-opened (sy_redis_generation changes).  So a
 * responder believes Redis only on a connection over which it has first
 * re-pushed the marks of every session revoked within the mark lifetime,
 * read from PostgreSQL (resync, once per connection).  While Redis is
 * unreachable the check asks PostgreSQL directly.  A revocation whose own
 * Redis write fails is thus still effective at once for responders that
 * cannot reach Redis either, and for every responder as soon as Redis
 * answers again.  The one case this cannot cover is a partition of the
 * revoking responder alone (others reach Redis over unbroken connections):
 * no store all of them read is writable then.  That is logged as
 * session_revoke_unpropagated and the responder resyncs at its next
 * successful connect.  Redis must not evict these keys (maxmemory-policy
 * noeviction, which is also what the rate limiter and queues need).
 */
#include "synthia/session.h"

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "synthia/clock.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/inval.h"
#include "synthia/jwt.h"
#include "synthia/log.h"
#include "synthia/memcache.h"
#include "synthia/redis.h"
#include "synthia/sessions.h"

#define TOKEN_BYTES 32
#define NONCE_BYTES 16
#define MARK_MARGIN_MS 60000
#define HOUSEKEEPING_US (3600LL * 1000000)
#define BYTEA_MAX (2 + 2 * SY_SHA256_LEN + 1)

static const char *const reasons[] = {
    "logout", "logout_all", "reuse", "deactivated", "password_changed",
    "role_changed", "erased",
};

static uint64_t synced_generation; /* Redis connection we have resynced */
static bool resync_needed;         /* a mark could not be written */

/* ------------------------------------------------------------- helpers */

static bool
reason_valid(const char *r)
{
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (r && strcmp(r, reasons[i]) == 0)
            return true;
    return false;
}

static bool
uuid_ok(const char *s)
{
    return s && sy_uuid_valid(s, strlen(s));
}

/* '\x<hex>' text form of a bytea parameter. */
static void
bytea(char out[BYTEA_MAX], const unsigned char *p, size_t n)
{
    out[0] = '\\';
    out[1] = 'x';
    sy_hex(out + 2, p, n);
}

static void
token_hash(const char *token, char out[BYTEA_MAX])
{
    unsigned char h[SY_SHA256_LEN];
    sy_sha256(token, SY_REFRESH_TOKEN_LEN, h);
    bytea(out, h, sizeof(h));
}

static void
new_token(char out[SY_REFRESH_TOKEN_LEN + 1])
{
    unsigned char b[TOKEN_BYTES];
    sy_random_bytes(b, sizeof(b));
    sy_b64url_encode(out, b, sizeof(b));
}

/* The successor of token: HMAC-SHA256(jwt secret, token || nonce). */
static int
successor(const char *token, const unsigned char nonce[NONCE_BYTES],
          char out[SY_REFRESH_TOKEN_LEN + 1])
{
    unsigned char data[SY_REFRESH_TOKEN_LEN + NONCE_BYTES];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    memcpy(data, token, SY_REFRESH_TOKEN_LEN);
    memcpy(data + SY_REFRESH_TOKEN_LEN, nonce, NONCE_BYTES);
    if (!HMAC(EVP_sha256(), sy_conf->jwt_secret, (int)sy_conf->jwt_secret_len,
              data, sizeof(data), mac, &n) ||
        n != TOKEN_BYTES)
        return SY_EINTERNAL;
    sy_b64url_encode(out, mac, TOKEN_BYTES);
    explicit_bzero(mac, sizeof(mac));
    return 0;
}

int
sy_session_csrf(const char *sid, char out[SY_SESSION_CSRF_LEN + 1])
{
    static const char label[] = "sy-csrf";
    unsigned char data[sizeof(label) + SY_UUID_LEN];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!uuid_ok(sid))
        return SY_EINVAL;
    memcpy(data, label, sizeof(label));
    memcpy(data + sizeof(label), sid, SY_UUID_LEN);
    if (!HMAC(EVP_sha256(), sy_conf->jwt_secret, (int)sy_conf->jwt_secret_len,
              data, sizeof(data), mac, &n) ||
        n != SY_SHA256_LEN)
        return SY_EINTERNAL;
    sy_b64url_encode(out, mac, SY_SHA256_LEN);
    return 0;
}

static bool
token_syntax(sy_str t)
{
    if (t.len != SY_REFRESH_TOKEN_LEN)
        return false;
    for (size_t i = 0; i < t.len; i++) {
        char c = t.p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

static void
millis(char out[24], int64_t ms)
{
    snprintf(out, 24, "%lld", (long long)ms);
}

/* ------------------------------------------------------ deny marks */

/* How long a mark must live: as long as any access token of the session
 * can still be accepted. */
static int64_t
mark_ttl_ms(void)
{
    return sy_conf->access_ttl_ms + sy_conf->jwt_leeway_ms + MARK_MARGIN_MS;
}

static void
mark_key(char out[64], const char *sid)
{
    snprintf(out, 64, "sy:{s:%s}:revoked", sid);
}

/* A command whose error reply counts as Redis failing. */
static int
redis_run(sy_arena *a, int argc, const char **argv, redisReply **out)
{
    int rc = sy_redis_argv(a, argc, argv, NULL, out);
    if (rc < 0)
        return rc;
    return (*out)->type == REDIS_REPLY_ERROR ? SY_EREDIS : 0;
}

static int
push_mark(sy_arena *a, const char *sid)
{
    char key[64], px[24];
    redisReply *r;
    mark_key(key, sid);
    millis(px, mark_ttl_ms());
    const char *argv[] = {"SET", key, "1", "PX", px};
    return redis_run(a, 5, argv, &r);
}

/* ------------------------------------------- sessions checked lately */

/* Sessions this responder found not revoked, with the invalidation
 * epoch read before the check (inval.h).  While the subscription has
 * been confirmed since, a revocation is pushed ("sess <sid>", after its
 * mark is in Redis) and drops the entry, so a trusted entry needs no
 * EXISTS; otherwise the check asks Redis as before. */
static sy_memcache checked = SY_MEMCACHE("sessions", 1024,
                                         1024 * (SY_UUID_LEN + 64), 0);
SY_MEMCACHE_REGISTER(checked)

static bool
checked_trusted(const char *sid)
{
    const uint64_t *e = sy_memcache_get(&checked, sid, strlen(sid), NULL);
    return e && sy_inval_trusted(*e);
}

static void
checked_put(const char *sid, uint64_t epoch)
{
    if (epoch)
        sy_memcache_put(&checked, sid, strlen(sid), &epoch, sizeof(epoch));
}

/* "sess <sid>": the session was revoked. */
static void
on_sess(sy_str arg)
{
    sy_memcache_drop(&checked, arg.p, arg.len);
}
SY_INVAL_HANDLER("sess", on_sess)

/* After the PostgreSQL revocation: the mark, or a note that Redis must
 * be resynced (see the top of the file); then every responder is told
 * (before the revoking request answers). */
static void
mark_revoked(sy_arena *a, const char *sid)
{
    sy_memcache_drop(&checked, sid, strlen(sid));
    if (push_mark(a, sid) == 0) {
        sy_inval_publish("sess", sid);
        return;
    }
    resync_needed = true;
    sy_logline *l = sy_log_begin(SY_LOG_ERROR, "session_revoke_unpropagated");
    sy_log_cstr(l, "session_id", sid);
    sy_log_cstr(l, "msg", "Redis unreachable; PostgreSQL has the revocation");
    sy_log_end(l);
}

/* Revoked per PostgreSQL (a session that is gone counts as revoked). */
static int
check_db(sy_arena *a, const char *sid)
{
    bool revoked;
    if (sy_sessions_revoked(a, sid, &revoked) < 0)
        return SY_EDB;
    return revoked ? SY_EUNAUTH : 0;
}

/* Re-push the marks of every recently revoked session over the current
 * connection; *listed says whether sid is one of them. */
static int
resync(sy_arena *a, const char *sid, bool *listed)
{
    uint64_t gen = sy_redis_generation();
    sy_db_list l;
    int rc = sy_sessions_recently_revoked(a, mark_ttl_ms(), &l);
    bool found = false;
    for (int i = 0; rc == 0 && i < l.n; i++) {
        found = found || strcmp(l.v[i], sid) == 0;
        rc = push_mark(a, l.v[i]);
    }
    if (rc < 0)
        return rc;
    if (sy_redis_generation() != gen)
        return SY_EREDIS;
    synced_generation = gen;
    resync_needed = false;
    *listed = found;
    return 0;
}

int
sy_session_check(sy_arena *a, const char *sid)
{
    char key[64];
    redisReply *r;
    if (!uuid_ok(sid))
        return SY_EUNAUTH;
    if (checked_trusted(sid))
        return 0;
    uint64_t epoch = sy_inval_epoch(); /* before the EXISTS */
    mark_key(key, sid);
    const char *argv[] = {"EXISTS", key};
    int rc = redis_run(a, 2, argv, &r);
    if (rc == SY_EREDIS)
        return check_db(a, sid);
    if (rc < 0)
        return rc;
    if (r->type == REDIS_REPLY_INTEGER && r->integer > 0)
        return SY_EUNAUTH;
    if (sy_redis_generation() != synced_generation || resync_needed) {
        bool listed = false;
        if (resync(a, sid, &listed) < 0)
            return check_db(a, sid);
        return listed ? SY_EUNAUTH : 0;
    }
    checked_put(sid, epoch);
    return 0;
}

/* ---------------------------------------------------------- revocation */

int
sy_session_revoke(sy_arena *a, const char *sid, const char *reason)
{
    if (!uuid_ok(sid) || !reason_valid(reason))
        return SY_EINVAL;
    sy_db_list l;
    int rc = sy_sessions_revoke(a, sid, reason, &l);
    for (int i = 0; rc == 0 && i < l.n; i++)
        mark_revoked(a, l.v[i]);
    return rc;
}

int
sy_session_revoke_user(sy_arena *a, const char *user_id, const char *reason)
{
    if (!uuid_ok(user_id) || !reason_valid(reason))
        return SY_EINVAL;
    sy_db_list l;
    int rc = sy_sessions_revoke_user(a, user_id, reason, &l);
    for (int i = 0; rc == 0 && i < l.n; i++)
        mark_revoked(a, l.v[i]);
    return rc;
}

/* ------------------------------------------------------------ starting */

/* Expired refresh tokens go, a batch at most once an hour per
 * responder; piggybacked on logins, which are rare next to requests. */
static void
housekeeping(sy_arena *a)
{
    static int64_t next_us;
    int64_t now = sy_mono_us();
    if (now < next_us)
        return;
    next_us = now + HOUSEKEEPING_US;
    int64_t n = 0;
    if (sy_sessions_housekeeping(a, &n) == 0 && n > 0)
        sy_log(SY_LOG_DEBUG, "refresh_housekeeping",
               "deleted %lld expired refresh tokens", (long long)n);
}

int
sy_session_start(sy_arena *a, const char *tenant_id, const char *user_id,
                 int role, bool cookie, sy_session_user *out)
{
    sy_session_user u = {.role = role, .cookie = cookie};
    unsigned char nonce[NONCE_BYTES];
    char hash[BYTEA_MAX], nonce_p[BYTEA_MAX];
    bool sysadmin = !tenant_id || !*tenant_id;
    if (!uuid_ok(user_id) || (!sysadmin && !uuid_ok(tenant_id)))
        return SY_EINVAL;
    new_token(u.refresh);
    token_hash(u.refresh, hash);
    sy_random_bytes(nonce, sizeof(nonce));
    bytea(nonce_p, nonce, sizeof(nonce));
    int rc = sy_sessions_insert(a, sysadmin ? NULL : tenant_id, user_id,
                                cookie, sy_conf->refresh_ttl_ms, hash,
                                nonce_p, u.sid);
    if (rc == SY_ENOTFOUND)
        return SY_EUNAUTH; /* deactivated or deleted meanwhile */
    if (rc < 0)
        return rc;
    memcpy(u.user_id, user_id, SY_UUID_LEN + 1);
    if (!sysadmin)
        memcpy(u.tenant_id, tenant_id, SY_UUID_LEN + 1);
    housekeeping(a);
    *out = u;
    return 0;
}

/* ----------------------------------------------------------- refreshing */

typedef struct refresh_row {
    sy_refresh_row r;
    unsigned char nonce[NONCE_BYTES];
} refresh_row;

static int
lookup(sy_arena *a, const char *token, refresh_row *row)
{
    char hash[BYTEA_MAX];
    token_hash(token, hash);
    int rc = sy_sessions_refresh_lookup(a, hash,
                                        sy_conf->refresh_reuse_grace_ms,
                                        &row->r);
    if (rc == SY_ENOTFOUND)
        return SY_EUNAUTH;
    if (rc < 0)
        return rc;
    size_t n = 0;
    if (!row->r.nonce_hex ||
        !OPENSSL_hexstr2buf_ex(row->nonce, sizeof(row->nonce), &n,
                               row->r.nonce_hex, '\0') ||
        n != NONCE_BYTES)
        return SY_EINTERNAL;
    return 0;
}

static void
fill_user(const refresh_row *row, sy_session_user *u)
{
    memset(u, 0, sizeof(*u));
    snprintf(u->user_id, sizeof(u->user_id), "%s", row->r.user);
    if (row->r.tenant)
        snprintf(u->tenant_id, sizeof(u->tenant_id), "%s", row->r.tenant);
    snprintf(u->sid, sizeof(u->sid), "%s", row->r.session);
    u->role = sy_role_parse(sy_str_c(row->r.role));
    u->cookie = row->r.cookie;
}

/* First use: mark it used and add the successor. */
static int
rotate(sy_arena *a, const refresh_row *row, const char *next)
{
    unsigned char nonce[NONCE_BYTES];
    char hash[BYTEA_MAX], nonce_p[BYTEA_MAX];
    token_hash(next, hash);
    sy_random_bytes(nonce, sizeof(nonce));
    bytea(nonce_p, nonce, sizeof(nonce));
    return sy_sessions_rotate(a, row->r.session, row->r.id, hash, nonce_p,
                              sy_conf->refresh_ttl_ms);
}

/* Used within the grace: the successor it already has, if next is it
 * (it is not when the jwt secret changed in between). */
static int
same_successor(sy_arena *a, const refresh_row *row, const char *next)
{
    char hash[BYTEA_MAX];
    const char *have;
    if (!row->r.successor)
        return SY_EUNAUTH;
    int rc = sy_sessions_token_hash(a, row->r.successor, &have);
    if (rc == SY_ENOTFOUND)
        return SY_EUNAUTH;
    if (rc < 0)
        return rc;
    token_hash(next, hash);
    return strcmp(hash + 2, have) == 0 ? 0 : SY_EUNAUTH;
}

static int
revoke_reused(sy_arena *a, const refresh_row *row)
{
    return sy_sessions_revoke_reuse(a, row->r.session);
}

/* Inside the transaction, with the token's row and session locked.
 * *reuse is set when the session was revoked for reuse (to commit). */
static int
refresh_locked(sy_arena *a, const char *token, refresh_row *row,
               bool *reuse, sy_session_user *out)
{
    int rc = lookup(a, token, row);
    if (rc < 0)
        return rc;
    if (!row->r.session_live || !row->r.token_live || !row->r.user_active)
        return SY_EUNAUTH;
    if (row->r.used && !row->r.in_grace) {
        rc = revoke_reused(a, row);
        *reuse = rc == 0;
        return rc < 0 ? rc : SY_EUNAUTH;
    }
    sy_session_user u;
    fill_user(row, &u);
    rc = successor(token, row->nonce, u.refresh);
    if (rc == 0)
        rc = row->r.used ? same_successor(a, row, u.refresh)
                         : rotate(a, row, u.refresh);
    if (rc == 0)
        *out = u;
    explicit_bzero(&u, sizeof(u));
    return rc;
}

static void
log_reuse(const refresh_row *row)
{
    sy_logline *l = sy_log_begin(SY_LOG_WARN, "refresh_token_reuse");
    sy_log_cstr(l, "session_id", row->r.session);
    sy_log_cstr(l, "user_id", row->r.user);
    if (row->r.tenant)
        sy_log_cstr(l, "tenant_id", row->r.tenant);
    sy_log_cstr(l, "msg", "a rotated refresh token was used again after the "
                          "grace; the session is revoked");
    sy_log_end(l);
}

int
sy_session_of_refresh(sy_arena *a, sy_str token, char sid[SY_UUID_LEN + 1])
{
    char tok[SY_REFRESH_TOKEN_LEN + 1], hash[BYTEA_MAX];
    if (!token_syntax(token))
        return SY_EUNAUTH;
    memcpy(tok, token.p, SY_REFRESH_TOKEN_LEN);
    tok[SY_REFRESH_TOKEN_LEN] = 0;
    token_hash(tok, hash);
    const char *id;
    int rc = sy_sessions_of_token(a, hash, &id);
    if (rc == SY_ENOTFOUND)
        return SY_EUNAUTH;
    if (rc == 0)
        snprintf(sid, SY_UUID_LEN + 1, "%s", id);
    return rc;
}

int
sy_session_refresh(sy_arena *a, sy_str token, sy_session_user *out)
{
    char tok[SY_REFRESH_TOKEN_LEN + 1];
    if (!token_syntax(token))
        return SY_EUNAUTH;
    memcpy(tok, token.p, SY_REFRESH_TOKEN_LEN);
    tok[SY_REFRESH_TOKEN_LEN] = 0;
    int rc = sy_db_begin_durable();
    if (rc < 0)
        return rc;
    refresh_row row = {0};
    bool reuse = false;
    rc = refresh_locked(a, tok, &row, &reuse, out);
    if (rc == 0 || reuse) {
        int c = sy_db_commit();
        if (c < 0)
            return c;
    } else {
        sy_db_rollback();
    }
    if (reuse) {
        mark_revoked(a, row.r.session);
        log_reuse(&row);
    }
    return rc;
}
