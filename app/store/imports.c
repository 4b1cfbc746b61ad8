/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * imports.c (store) - import sessions in Redis, their locks, and the
 * catalog statements of a commit (imports_db.h).
 *
 * Each read or write of a session is one Lua call over its keys (which
 * share the tenant's hash tag), followed without waiting by a ZADD of
 * its new expiry into sy:import_sessions (another slot, so not in the
 * script).  A write under a lock checks, in the same script, that the
 * lock still holds the writer's token: a writer whose lock expired
 * (a request that ran past imports.lock_ttl) writes nothing.
 *
 * A commit's products travel as one JSON array per statement
 * (json_to_recordset), a thousand updates or 500 inserts (with their
 * vectors) at a time, so 10,000 rows cost tens of round trips rather
 * than ten thousand, and no statement runs long enough to meet
 * database.statement_timeout.
 */
#include "synthia/imports_db.h"

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "synthia/clock.h"
#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/log.h"
#include "synthia/redis.h"
#include "synthia/vectors.h"

#define KEY_MAX 128
#define BATCH 1000       /* rows of an update statement */
#define INSERT_BATCH 500 /* rows of an insert statement (and vectors) */
#define PARAM_MAX ((size_t)64 << 20) /* bytes of one JSON parameter */
#define LOCK_FIRST_US 2000
#define LOCK_MAX_US 100000

/* ------------------------------------------------------------ keys */

typedef struct imp_keys {
    char meta[KEY_MAX], snaps[KEY_MAX], audit[KEY_MAX], lock[KEY_MAX];
    char member[2 * SY_UUID_LEN + 2]; /* in sy:import_sessions */
} imp_keys;

/* A lower-case copy of a uuid, false when s is not one. */
static bool
uuid_lower(const char *s, char out[SY_UUID_LEN + 1])
{
    if (!s || strlen(s) != SY_UUID_LEN || !sy_uuid_valid(s, SY_UUID_LEN))
        return false;
    for (int i = 0; i <= SY_UUID_LEN; i++)
        out[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
    return true;
}

static int
make_keys(const char *tenant, const char *id, imp_keys *k)
{
    char t[SY_UUID_LEN + 1], i[SY_UUID_LEN + 1];
    if (!uuid_lower(tenant, t) || !uuid_lower(id, i))
        return SY_ENOTFOUND;
    snprintf(k->meta, KEY_MAX, "sy:{t:%s}:imp:%s:meta", t, i);
    snprintf(k->snaps, KEY_MAX, "sy:{t:%s}:imp:%s:snaps", t, i);
    snprintf(k->audit, KEY_MAX, "sy:{t:%s}:imp:%s:audit", t, i);
    snprintf(k->lock, KEY_MAX, "sy:{t:%s}:imp:%s:lock", t, i);
    snprintf(k->member, sizeof(k->member), "%s/%s", t, i);
    return 0;
}

/* The session's new expiry in sy:import_sessions, without waiting for
 * the reply (best effort: health counts, nothing depends on it). */
static void
track(const imp_keys *k, int64_t ttl_ms)
{
    char score[24];
    snprintf(score, sizeof(score), "%lld",
             (long long)(sy_wall_ms() + ttl_ms));
    const char *argv[4] = {"ZADD", SY_IMPORTS_ZSET, score, k->member};
    if (sy_redis_send(4, argv, NULL) < 0)
        sy_log(SY_LOG_WARN, "imports_track", "cannot ZADD %s",
               SY_IMPORTS_ZSET);
}

static void
untrack(const imp_keys *k)
{
    const char *argv[3] = {"ZREM", SY_IMPORTS_ZSET, k->member};
    sy_redis_send(3, argv, NULL);
}

static void
decimal(char out[24], int64_t v)
{
    snprintf(out, 24, "%lld", (long long)v);
}

/* ------------------------------------------------------------ scripts */

/* KEYS meta snaps audit; ARGV ttl.  {cur, doc, snap} or nil. */
static sy_redis_script load_script = {
    .name = "imports_load",
    .lua = "local cur = redis.call('HGET', KEYS[1], 'cur')\n"
           "if not cur then return false end\n"
           "local doc = redis.call('HGET', KEYS[1], 'doc')\n"
           "local snap = redis.call('HGET', KEYS[2], 'v' .. cur)\n"
           "for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end\n"
           "return {cur, doc, snap}\n",
    .sha = "",
};

/* KEYS meta snaps audit lock; ARGV mode ("new" | "locked"), token, ttl,
 * version, snap ("" none), doc, audit entry ("" none), audit max, then
 * the versions to drop.  1; -1 lock lost; -2 session gone. */
static sy_redis_script save_script = {
    .name = "imports_save",
    .lua = "if ARGV[1] == 'locked' then\n"
           "  if redis.call('GET', KEYS[4]) ~= ARGV[2] then return -1 end\n"
           "  if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end\n"
           "end\n"
           "if ARGV[5] ~= '' then\n"
           "  redis.call('HSET', KEYS[2], 'v' .. ARGV[4], ARGV[5])\n"
           "end\n"
           "for i = 9, #ARGV do redis.call('HDEL', KEYS[2], 'v' .. ARGV[i]) "
           "end\n"
           "redis.call('HSET', KEYS[1], 'doc', ARGV[6], 'cur', ARGV[4])\n"
           "if ARGV[7] ~= '' then\n"
           "  redis.call('RPUSH', KEYS[3], ARGV[7])\n"
           "  redis.call('LTRIM', KEYS[3], -tonumber(ARGV[8]), -1)\n"
           "end\n"
           "for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end\n"
           "return 1\n",
    .sha = "",
};

/* KEYS meta snaps audit; ARGV ttl.  The entries, or nil. */
static sy_redis_script audit_script = {
    .name = "imports_audit",
    .lua = "if redis.call('EXISTS', KEYS[1]) == 0 then return false end\n"
           "for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end\n"
           "return redis.call('LRANGE', KEYS[3], 0, -1)\n",
    .sha = "",
};

/* KEYS lock; ARGV token.  Compare and delete. */
static sy_redis_script unlock_script = {
    .name = "imports_unlock",
    .lua = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
           "  return redis.call('DEL', KEYS[1])\n"
           "end\n"
           "return 0\n",
    .sha = "",
};

/* KEYS meta snaps audit lock; ARGV token.  1 deleted, 0 there was no
 * session, -1 lock lost. */
static sy_redis_script delete_script = {
    .name = "imports_delete",
    .lua = "if redis.call('GET', KEYS[4]) ~= ARGV[1] then return -1 end\n"
           "local e = redis.call('EXISTS', KEYS[1])\n"
           "redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])\n"
           "return e\n",
    .sha = "",
};

__attribute__((constructor)) static void
register_scripts(void)
{
    sy_redis_register(&load_script);
    sy_redis_register(&save_script);
    sy_redis_register(&audit_script);
    sy_redis_register(&unlock_script);
    sy_redis_register(&delete_script);
}

/* A reply we did not expect: logged, SY_EREDIS. */
static int
bad_reply(const redisReply *r, const char *what)
{
    sy_log(SY_LOG_ERROR, "imports_redis", "%s: unexpected reply%s%s", what,
           r->type == REDIS_REPLY_ERROR ? ": " : "",
           r->type == REDIS_REPLY_ERROR ? r->str : "");
    return SY_EREDIS;
}

/* A script's integer reply, or SY_EREDIS (logged) for anything else. */
static int
int_reply(const redisReply *r, const char *what, int64_t *out)
{
    if (r->type != REDIS_REPLY_INTEGER)
        return bad_reply(r, what);
    *out = r->integer;
    return 0;
}

/* ------------------------------------------------------------ sessions */

int
sy_imports_db_save(sy_arena *a, const char *tenant, const char *id,
                   const sy_imp_save *s)
{
    imp_keys k;
    int rc = make_keys(tenant, id, &k);
    if (rc < 0)
        return rc;
    int nargs = 8 + s->ndrop, argc = 4 + nargs;
    const char **argv = sy_arena_alloc(a, (size_t)argc * sizeof(*argv));
    size_t *lens = sy_arena_alloc(a, (size_t)argc * sizeof(*lens));
    char *nums = sy_arena_alloc(a, (size_t)(3 + s->ndrop) * 24);
    if (!argv || !lens || !nums)
        return SY_ENOMEM;
    decimal(nums, s->ttl_ms);
    decimal(nums + 24, s->version);
    decimal(nums + 48, s->audit_max > 0 ? s->audit_max : 1);
    const char *fixed[12] = {k.meta, k.snaps, k.audit, k.lock,
                             s->token ? "locked" : "new",
                             s->token ? s->token : "", nums, nums + 24,
                             s->snap.p ? s->snap.p : "", s->doc.p,
                             s->audit.p ? s->audit.p : "", nums + 48};
    for (int i = 0; i < 12; i++) {
        argv[i] = fixed[i];
        lens[i] = strlen(fixed[i]);
    }
    lens[8] = s->snap.p ? s->snap.len : 0;
    lens[9] = s->doc.len;
    lens[10] = s->audit.p ? s->audit.len : 0;
    for (int i = 0; i < s->ndrop; i++) {
        char *d = nums + 72 + 24 * i;
        decimal(d, s->drop[i]);
        argv[12 + i] = d;
        lens[12 + i] = strlen(d);
    }
    redisReply *r;
    int64_t v = 0;
    rc = sy_redis_eval(a, &save_script, 4, nargs, argv, lens, &r);
    if (rc == 0)
        rc = int_reply(r, "save", &v);
    if (rc < 0)
        return rc;
    if (v == -1)
        return SY_ECONFLICT;
    if (v == -2)
        return SY_ENOTFOUND;
    track(&k, s->ttl_ms);
    return 0;
}

/* Run a session script with (meta, snaps, audit; ttl): its reply, or
 * SY_ENOTFOUND when the session is gone. */
static int
session_eval(sy_arena *a, const char *tenant, const char *id, int64_t ttl_ms,
             sy_redis_script *script, imp_keys *k, redisReply **r)
{
    char ttl[24];
    int rc = make_keys(tenant, id, k);
    if (rc < 0)
        return rc;
    decimal(ttl, ttl_ms);
    const char *argv[4] = {k->meta, k->snaps, k->audit, ttl};
    if ((rc = sy_redis_eval(a, script, 3, 1, argv, NULL, r)) < 0)
        return rc;
    return (*r)->type == REDIS_REPLY_NIL ? SY_ENOTFOUND : 0;
}

int
sy_imports_db_load(sy_arena *a, const char *tenant, const char *id,
                   int64_t ttl_ms, sy_imp_loaded *out)
{
    imp_keys k;
    redisReply *r;
    int rc = session_eval(a, tenant, id, ttl_ms, &load_script, &k, &r);
    if (rc < 0)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_STRING)
        return bad_reply(r, "load");
    int64_t version;
    sy_str cur = {r->element[0]->str, r->element[0]->len};
    if (sy_parse_i64(cur, 1, INT64_MAX, &version) < 0 ||
        r->element[2]->type != REDIS_REPLY_STRING) {
        sy_log(SY_LOG_ERROR, "imports_broken",
               "session %s: version %.*s has no table", k.member,
               (int)cur.len, cur.p);
        return SY_EINVAL;
    }
    *out = (sy_imp_loaded){
        .doc = {r->element[1]->str, r->element[1]->len},
        .version = version,
        .snap = {r->element[2]->str, r->element[2]->len},
    };
    track(&k, ttl_ms);
    return 0;
}

int
sy_imports_db_audit(sy_arena *a, const char *tenant, const char *id,
                    int64_t ttl_ms, sy_str **items, int *n)
{
    imp_keys k;
    redisReply *r;
    int rc = session_eval(a, tenant, id, ttl_ms, &audit_script, &k, &r);
    if (rc < 0)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY)
        return bad_reply(r, "audit");
    sy_str *v = sy_arena_alloc(a, (r->elements + 1) * sizeof(*v));
    if (!v)
        return SY_ENOMEM;
    int m = 0;
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            v[m++] = (sy_str){r->element[i]->str, r->element[i]->len};
    *items = v;
    *n = m;
    track(&k, ttl_ms);
    return 0;
}

/* ------------------------------------------------------------ locks */

/* One attempt: 0 taken, SY_ECONFLICT held by another, SY_EREDIS. */
static int
try_lock(sy_arena *a, const imp_keys *k, const char *token,
         const char *ttl)
{
    const char *argv[6] = {"SET", k->lock, token, "NX", "PX", ttl};
    redisReply *r;
    int rc = sy_redis_argv(a, 6, argv, NULL, &r);
    if (rc < 0)
        return rc;
    if (r->type == REDIS_REPLY_STATUS)
        return 0;
    if (r->type == REDIS_REPLY_NIL)
        return SY_ECONFLICT;
    return bad_reply(r, "lock");
}

/* Sleep us microseconds, jittered down to half (so that waiters who
 * collided do not collide again in step). */
static int64_t
back_off(int64_t us)
{
    int64_t d = us / 2 + (int64_t)sy_random_below((uint64_t)(us / 2 + 1));
    struct timespec ts = {d / 1000000, (d % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0)
        ;
    return d;
}

int
sy_imports_db_lock(sy_arena *a, const char *tenant, const char *id,
                   int64_t ttl_ms, int64_t wait_ms, char *token,
                   int64_t *waited_us)
{
    imp_keys k;
    char ttl[24];
    unsigned char raw[SY_IMPORTS_TOKEN_LEN / 2];
    int rc = make_keys(tenant, id, &k);
    if (rc < 0)
        return rc;
    decimal(ttl, ttl_ms);
    sy_random_bytes(raw, sizeof(raw));
    sy_hex(token, raw, sizeof(raw));
    token[SY_IMPORTS_TOKEN_LEN] = '\0';
    int64_t t0 = sy_mono_us(), deadline = t0 + wait_ms * 1000;
    int64_t step = LOCK_FIRST_US;
    for (;;) {
        rc = try_lock(a, &k, token, ttl);
        int64_t now = sy_mono_us();
        if (rc != SY_ECONFLICT || now >= deadline) {
            *waited_us = now - t0;
            return rc;
        }
        back_off(step < deadline - now ? step : deadline - now);
        step = step * 2 > LOCK_MAX_US ? LOCK_MAX_US : step * 2;
    }
}

void
sy_imports_db_unlock(sy_arena *a, const char *tenant, const char *id,
                     const char *token)
{
    imp_keys k;
    redisReply *r;
    if (make_keys(tenant, id, &k) < 0)
        return;
    const char *argv[2] = {k.lock, token};
    if (sy_redis_eval(a, &unlock_script, 1, 1, argv, NULL, &r) < 0)
        sy_log(SY_LOG_WARN, "imports_unlock",
               "cannot release the lock of %s; it expires by itself",
               k.member);
}

int
sy_imports_db_delete(sy_arena *a, const char *tenant, const char *id,
                     const char *token)
{
    imp_keys k;
    redisReply *r;
    int64_t v = 0;
    int rc = make_keys(tenant, id, &k);
    if (rc < 0)
        return rc;
    const char *argv[5] = {k.meta, k.snaps, k.audit, k.lock, token};
    rc = sy_redis_eval(a, &delete_script, 4, 1, argv, NULL, &r);
    if (rc == 0)
        rc = int_reply(r, "delete", &v);
    if (rc < 0)
        return rc;
    if (v == -1)
        return SY_ECONFLICT;
    untrack(&k);
    return v == 1 ? 0 : SY_ENOTFOUND;
}

/* ---------------------------------------------------------- PostgreSQL */

/* $1 tenant, $2 JSON array of skus: the (1-based) positions of those a
 * product of the tenant has. */
static sy_db_stmt sql_skus =
    SY_DB_STMT("imports_skus",
     "SELECT s.i FROM json_array_elements_text($2::json) "
     "WITH ORDINALITY AS s(sku, i) "
     "JOIN products p ON p.tenant_id = $1::uuid AND p.sku = s.sku",
     2);

#define IMP_RECORD                                                        \
    "json_to_recordset($2::json) AS r(id uuid, sku text, name text, "     \
    "description text, category text, price_cents bigint, currency text, " \
    "stock integer, colors json, attributes json, image_url text)"
#define IMP_COLORS "ARRAY(SELECT json_array_elements_text(r.colors))"
#define IMP_WRITTEN                                                       \
    "p.id, p.sku, p.active, "                                             \
    "p.name || ' ' || p.category || ' ' || p.description"

/* $1 tenant, $2 JSON array of products (every field given but
 * image_url), each with the id it gets; $3 model, $4 dims, $5 the same
 * ids as an array, $6 their local vectors one after the other, $4 * 4
 * bytes each, as one binary bytea (sy_vectors_local_bytes).  The
 * products and their vectors in one statement: the vectors of new
 * products need neither vectors_upsert_many's conflict handling nor its
 * deletion of other embedders' vectors, and the ids are the caller's, so
 * the responder embeds a batch before sending it, while PostgreSQL runs
 * the previous one, and nothing comes back.  created_at in input order
 * (clock_timestamp per row), as single inserts give it.  The full-text
 * vector is computed here with the tenant's configuration read once
 * (010_bulk_insert), which spares the per-row trigger that would read it
 * for every product (the one-row join keeps the rows in input order).
 * The vectors' foreign key to their products is checked at the end of
 * the statement, when the products are there. */
static sy_db_stmt sql_insert =
    SY_DB_STMT("imports_insert",
     "WITH p AS (INSERT INTO products (id, tenant_id, sku, name, "
     "description, category, price_cents, currency, stock, colors, "
     "attributes, image_url, search, created_at, updated_at) "
     "SELECT r.id, $1::uuid, r.sku, r.name, r.description, r.category, "
     "r.price_cents, r.currency, r.stock, " IMP_COLORS ", "
     "r.attributes::jsonb, r.image_url, sy_product_search("
     "t.search_config, r.name, r.category, r.description), "
     "clock_timestamp(), clock_timestamp() "
     "FROM " IMP_RECORD " JOIN tenants t ON t.id = $1::uuid) "
     "INSERT INTO product_embeddings "
     "(product_id, tenant_id, embedder, model, dims, vec) "
     "SELECT u.id, $1::uuid, 'local', $3, $4::smallint,"
     " substring($6::bytea FROM ((u.o - 1) * 4 * $4::int + 1)::int"
     " FOR 4 * $4::int) "
     "FROM unnest($5::uuid[]) WITH ORDINALITY AS u(id, o)",
     6);

/* The value an update gives each field: the row's, or (absent) the
 * product's own. */
#define IMP_NEW_NAME "coalesce(r.name, p.name)"
#define IMP_NEW_DESCRIPTION "coalesce(r.description, p.description)"
#define IMP_NEW_CATEGORY "coalesce(r.category, p.category)"
#define IMP_NEW_PRICE "coalesce(r.price_cents, p.price_cents)"
#define IMP_NEW_CURRENCY "coalesce(r.currency, p.currency)"
#define IMP_NEW_STOCK "coalesce(r.stock, p.stock)"
#define IMP_NEW_COLORS                                                    \
    "CASE WHEN r.colors IS NULL THEN p.colors ELSE " IMP_COLORS " END"
#define IMP_NEW_ATTRIBUTES                                                \
    "CASE WHEN r.attributes IS NULL THEN p.attributes "                   \
    "ELSE p.attributes || r.attributes::jsonb END"
#define IMP_NEW_IMAGE "coalesce(r.image_url, p.image_url)"

/* $1 tenant, $2 JSON array of products by sku; absent fields stay.  A
 * product the row would not change is not written at all (no new row
 * version, no index or trigger work: committing the same file twice
 * costs reads only) and not returned. */
static sy_db_stmt sql_update =
    SY_DB_STMT("imports_update",
     "UPDATE products AS p SET name = " IMP_NEW_NAME ", "
     "description = " IMP_NEW_DESCRIPTION ", "
     "category = " IMP_NEW_CATEGORY ", "
     "price_cents = " IMP_NEW_PRICE ", "
     "currency = " IMP_NEW_CURRENCY ", "
     "stock = " IMP_NEW_STOCK ", "
     "colors = " IMP_NEW_COLORS ", "
     "attributes = " IMP_NEW_ATTRIBUTES ", "
     "image_url = " IMP_NEW_IMAGE " "
     "FROM " IMP_RECORD " "
     "WHERE p.tenant_id = $1::uuid AND p.sku = r.sku "
     "AND (p.name, p.description, p.category, p.price_cents, p.currency, "
     "p.stock, p.colors, p.attributes, p.image_url) IS DISTINCT FROM ("
     IMP_NEW_NAME ", " IMP_NEW_DESCRIPTION ", " IMP_NEW_CATEGORY ", "
     IMP_NEW_PRICE ", " IMP_NEW_CURRENCY ", " IMP_NEW_STOCK ", "
     IMP_NEW_COLORS ", " IMP_NEW_ATTRIBUTES ", " IMP_NEW_IMAGE ") "
     "RETURNING " IMP_WRITTEN,
     2);
#undef IMP_NEW_NAME
#undef IMP_NEW_DESCRIPTION
#undef IMP_NEW_CATEGORY
#undef IMP_NEW_PRICE
#undef IMP_NEW_CURRENCY
#undef IMP_NEW_STOCK
#undef IMP_NEW_COLORS
#undef IMP_NEW_ATTRIBUTES
#undef IMP_NEW_IMAGE
#undef IMP_WRITTEN
#undef IMP_COLORS
#undef IMP_RECORD

int
sy_imports_db_skus(sy_arena *a, const char *tenant, const char *const *skus,
                   int n, bool *found)
{
    sy_buf b;
    sy_buf_init(&b, a, PARAM_MAX);
    sy_buf_putc(&b, '[');
    for (int i = 0; i < n; i++) {
        if (i)
            sy_buf_putc(&b, ',');
        sy_buf_json_str(&b, skus[i], strlen(skus[i]));
        found[i] = false;
    }
    sy_buf_putc(&b, ']');
    const char *params[2] = {tenant, sy_buf_cstr(&b)};
    if (!params[1])
        return SY_ENOMEM;
    PGresult *r;
    int rc = sy_db_exec(a, &sql_skus, params, 2, &r);
    if (rc < 0)
        return rc;
    for (int i = 0; i < sy_db_rows(r); i++) {
        int64_t k = sy_db_i64(r, i, 0);
        if (k >= 1 && k <= n)
            found[k - 1] = true;
    }
    return 0;
}

/* "name":"value" for a text field that is given. */
static void
add_text(sy_buf *b, const char *name, const char *v)
{
    if (!v)
        return;
    sy_buf_printf(b, "%s\"%s\":", b->p[b->len - 1] == '{' ? "" : ",", name);
    sy_buf_json_str(b, v, strlen(v));
}

/* "name":<JSON> for a field given as JSON text (colors, attributes). */
static void
add_json(sy_buf *b, const char *name, const char *v)
{
    if (!v)
        return;
    sy_buf_printf(b, "%s\"%s\":%s", b->p[b->len - 1] == '{' ? "" : ",", name,
                  v);
}

/* The JSON array of rows[0..n) for IMP_RECORD, with ids[i] as the id of
 * rows[i] (ids NULL: none). */
static const char *
rows_json(sy_arena *a, const sy_product_fields *rows,
          char (*ids)[SY_UUID_LEN + 1], int n)
{
    sy_buf b;
    sy_buf_init(&b, a, PARAM_MAX);
    sy_buf_putc(&b, '[');
    for (int i = 0; i < n; i++) {
        const sy_product_fields *f = &rows[i];
        sy_buf_puts(&b, i ? ",{" : "{");
        add_text(&b, "id", ids ? ids[i] : NULL);
        add_text(&b, "sku", f->sku);
        add_text(&b, "name", f->name);
        add_text(&b, "description", f->description);
        add_text(&b, "category", f->category);
        add_text(&b, "price_cents", f->price);
        add_text(&b, "currency", f->currency);
        add_text(&b, "stock", f->stock);
        add_json(&b, "colors", f->colors);
        add_json(&b, "attributes", f->attributes);
        add_text(&b, "image_url", f->image_url);
        sy_buf_putc(&b, '}');
    }
    sy_buf_putc(&b, ']');
    return sy_buf_cstr(&b);
}

/* Run stmt over rows, BATCH at a time; the written rows into *out. */
static int
write_batches(sy_arena *a, sy_db_stmt *stmt, const char *tenant,
              const sy_product_fields *rows, int n, sy_imp_written **out,
              int *nout)
{
    sy_imp_written *w = sy_arena_alloc(a, (size_t)(n ? n : 1) * sizeof(*w));
    if (!w)
        return SY_ENOMEM;
    int m = 0;
    for (int start = 0; start < n; start += BATCH) {
        int k = n - start < BATCH ? n - start : BATCH;
        const char *params[2] = {tenant,
                                 rows_json(a, rows + start, NULL, k)};
        if (!params[1])
            return SY_ENOMEM;
        PGresult *r;
        int rc = sy_db_exec(a, stmt, params, 2, &r);
        if (rc < 0)
            return rc;
        for (int i = 0; i < sy_db_rows(r) && m < n; i++)
            w[m++] = (sy_imp_written){
                .id = sy_db_cstr(r, i, 0),
                .sku = sy_db_cstr(r, i, 1),
                .active = sy_db_bool(r, i, 2),
                .text = sy_db_str(r, i, 3),
            };
    }
    *out = w;
    *nout = m;
    return 0;
}

/* The parameters of sql_insert for rows[0..n) (n <= INSERT_BATCH), in a
 * scratch arena of its own (libpq has its copy once sy_db_send
 * returns): new ids, the rows, and their vectors, made of the text a
 * product's vector is always made of (name, category, description). */
typedef struct insert_batch {
    sy_arena scratch;
    char dims[16];
    const char *params[6];
    int lengths[6];
} insert_batch;

static int
build_insert(insert_batch *b, const char *tenant,
             const sy_product_fields *rows, int n)
{
    size_t vbytes = (size_t)(n ? n : 1) * SY_VECTORS_LOCAL_BYTES;
    /* the JSON (at most PARAM_MAX), the texts, the vectors and the ids */
    sy_arena_init(&b->scratch, vbytes + ((size_t)1 << 20), 2 * PARAM_MAX);
    char(*ids)[SY_UUID_LEN + 1] = sy_arena_alloc(
        &b->scratch, (size_t)(n + 1) * (SY_UUID_LEN + 1));
    sy_str *texts = sy_arena_alloc(&b->scratch,
                                   (size_t)(n + 1) * sizeof(*texts));
    unsigned char *vecs = sy_arena_alloc(&b->scratch, vbytes);
    sy_buf idb;
    sy_buf_init(&idb, &b->scratch, (size_t)n * (SY_UUID_LEN + 1) + 8);
    if (!ids || !texts || !vecs)
        return SY_ENOMEM;
    sy_buf_putc(&idb, '{');
    for (int i = 0; i < n; i++) {
        const sy_product_fields *f = &rows[i];
        sy_uuid_v4(ids[i]);
        sy_buf_puts(&idb, i ? "," : "");
        sy_buf_puts(&idb, ids[i]);
        size_t ln = strlen(f->name), lc = strlen(f->category),
               ld = strlen(f->description);
        char *t = sy_arena_alloc(&b->scratch, ln + lc + ld + 3);
        if (!t)
            return SY_ENOMEM;
        memcpy(t, f->name, ln);
        t[ln] = ' ';
        memcpy(t + ln + 1, f->category, lc);
        t[ln + 1 + lc] = ' ';
        memcpy(t + ln + 2 + lc, f->description, ld + 1);
        texts[i] = (sy_str){t, ln + lc + ld + 2};
    }
    sy_buf_putc(&idb, '}');
    sy_vectors_local_bytes(texts, n, vecs);
    const char *json = rows_json(&b->scratch, rows, ids, n);
    const char *idtext = sy_buf_cstr(&idb);
    if (!json || !idtext)
        return SY_ENOMEM;
    snprintf(b->dims, sizeof(b->dims), "%d", SY_EMBED_DIMS);
    const char *params[6] = {tenant, json, SY_EMBED_LOCAL_MODEL, b->dims,
                             idtext, (const char *)vecs};
    const int lengths[6] = {-1, -1, -1, -1, -1,
                            n * SY_VECTORS_LOCAL_BYTES};
    memcpy(b->params, params, sizeof(params));
    memcpy(b->lengths, lengths, sizeof(lengths));
    return 0;
}

/* Batches in a pipeline of two: batch i+1 is built (ids, JSON, and the
 * embedding of every product, most of the responder's share) while
 * PostgreSQL runs batch i, sent and not yet waited for.  Every batch
 * sent is waited for, also after a failure. */
int
sy_imports_db_insert(sy_arena *a, const char *tenant,
                     const sy_product_fields *rows, int n, int *nout)
{
    PGresult *r;
    bool pending = false;
    int rc = 0;
    for (int at = 0; at < n && rc == 0; at += INSERT_BATCH) {
        int k = n - at < INSERT_BATCH ? n - at : INSERT_BATCH;
        insert_batch b;
        rc = build_insert(&b, tenant, rows + at, k);
        if (pending) {
            int wrc = sy_db_wait(a, &r);
            pending = false;
            if (rc == 0)
                rc = wrc;
        }
        if (rc == 0)
            pending = (rc = sy_db_send(&sql_insert, b.params, b.lengths,
                                       6)) == 0;
        sy_arena_cleanup(&b.scratch);
    }
    if (pending) {
        int wrc = sy_db_wait(a, &r);
        if (rc == 0)
            rc = wrc;
    }
    *nout = rc == 0 ? n : 0;
    return rc;
}

int
sy_imports_db_update(sy_arena *a, const char *tenant,
                     const sy_product_fields *rows, int n,
                     sy_imp_written **out, int *nout)
{
    return write_batches(a, &sql_update, tenant, rows, n, out, nout);
}
