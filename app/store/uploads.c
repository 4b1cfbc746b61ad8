/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * uploads.c (store) - uploaded images in Redis (uploads_db.h): a hash
 * per upload and a per-tenant sorted set of live ids for the quota.
 */
#include "synthia/uploads_db.h"

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "synthia/clock.h"
#include "synthia/error.h"
#include "synthia/memcache.h"
#include "synthia/redis.h"

#define KEY_MAX 96

/* KEYS[1] the tenant's set of live uploads, KEYS[2] the upload's hash.
 * ARGV: now ms, max live, id, expiry ms, data, type, width, height,
 * sha256, user.  Returns {1, expiry} when stored, {0, oldest expiry}
 * when the tenant is at its quota. */
static sy_redis_script put_script = {
    .name = "upload_put",
    .lua = "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])\n"
           "if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then\n"
           "  local o = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
           "  return {0, tonumber(o[2])}\n"
           "end\n"
           "redis.call('HSET', KEYS[2], 'data', ARGV[5], 'type', ARGV[6],\n"
           "  'w', ARGV[7], 'h', ARGV[8], 'sha256', ARGV[9],\n"
           "  'exp', ARGV[4], 'user', ARGV[10])\n"
           "redis.call('PEXPIREAT', KEYS[2], ARGV[4])\n"
           "redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])\n"
           "local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')\n"
           "redis.call('PEXPIREAT', KEYS[1], last[2])\n"
           "return {1, tonumber(ARGV[4])}\n",
    .sha = "",
};

static void
keys_of(const char *tenant, const char *id, char set[KEY_MAX],
        char hash[KEY_MAX])
{
    snprintf(set, KEY_MAX, "sy:{t:%s}:uploads", tenant);
    if (hash)
        snprintf(hash, KEY_MAX, "sy:{t:%s}:up:%s", tenant, id);
}

int
sy_uploads_db_put(sy_arena *a, const char *tenant_id,
                  const sy_upload_row *row, int64_t now_ms, int64_t max_live,
                  int64_t *retry_ms)
{
    char set[KEY_MAX], hash[KEY_MAX], now[24], max[24], exp[24], w[24],
        h[24];
    keys_of(tenant_id, row->id, set, hash);
    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    snprintf(max, sizeof(max), "%lld", (long long)max_live);
    snprintf(exp, sizeof(exp), "%lld", (long long)row->expires_ms);
    snprintf(w, sizeof(w), "%lld", (long long)row->width);
    snprintf(h, sizeof(h), "%lld", (long long)row->height);
    const char *argv[12] = {set, hash, now, max, row->id, exp, row->data.p,
                            row->content_type, w, h, row->sha256,
                            row->user_id ? row->user_id : ""};
    size_t lens[12];
    for (int i = 0; i < 12; i++) /* the image is binary: its own length */
        lens[i] = i == 6 ? row->data.len : strlen(argv[i]);
    redisReply *r;
    sy_redis_register(&put_script);
    int rc = sy_redis_eval(a, &put_script, 2, 10, argv, lens, &r);
    if (rc < 0)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_INTEGER)
        return SY_EREDIS;
    if (r->element[0]->integer == 1)
        return 0;
    int64_t wait = r->element[1]->integer - now_ms;
    *retry_ms = wait > 0 ? wait : 0;
    return SY_ERATE;
}

/* An integer field of the reply (decimal text), or -1. */
static int64_t
int_of(const redisReply *e)
{
    if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->len > 19)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < e->len; i++) {
        if (e->str[i] < '0' || e->str[i] > '9')
            return -1;
        v = v * 10 + (e->str[i] - '0');
    }
    return v;
}

/* The row of upload id; with_data: its bytes too (else data is
 * SY_STR_NULL and bytes -1). */
static int
get_row(sy_arena *a, const char *tenant_id, const char *id, bool with_data,
        sy_upload_row *out)
{
    char set[KEY_MAX], hash[KEY_MAX];
    keys_of(tenant_id, id, set, hash);
    const char *argv[] = {"HMGET", hash,  with_data ? "data" : "type",
                          "type",  "w",   "h",
                          "sha256", "exp", "user"};
    redisReply *r;
    int rc = sy_redis_argv(a, 9, argv, NULL, &r);
    if (rc < 0)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 7)
        return SY_EREDIS;
    redisReply **e = r->element;
    if (e[0]->type == REDIS_REPLY_NIL)
        return SY_ENOTFOUND;
    for (int i = 0; i < 7; i++)
        if (e[i]->type != REDIS_REPLY_STRING)
            return SY_EREDIS;
    sy_upload_row row;
    memset(&row, 0, sizeof(row));
    if (strlen(id) >= sizeof(row.id) || e[4]->len >= sizeof(row.sha256))
        return SY_EREDIS;
    memcpy(row.id, id, strlen(id) + 1);
    memcpy(row.sha256, e[4]->str, e[4]->len);
    row.data = with_data ? (sy_str){e[0]->str, e[0]->len} : SY_STR_NULL;
    row.bytes = with_data ? (int64_t)e[0]->len : -1;
    row.content_type = sy_arena_strndup(a, e[1]->str, e[1]->len);
    row.user_id = sy_arena_strndup(a, e[6]->str, e[6]->len);
    if (!row.content_type || !row.user_id)
        return SY_ENOMEM;
    row.width = int_of(e[2]);
    row.height = int_of(e[3]);
    row.expires_ms = int_of(e[5]);
    if (row.width < 1 || row.height < 1 || row.expires_ms < 0)
        return SY_EREDIS;
    *out = row;
    return 0;
}

int
sy_uploads_db_get(sy_arena *a, const char *tenant_id, const char *id,
                  sy_upload_row *out)
{
    return get_row(a, tenant_id, id, true, out);
}

/* Upload metadata per responder (uploads_db.h, sy_uploads_db_meta):
 * an upload never changes, so an entry is good until the upload expires;
 * UPLOAD_META_TTL_MS bounds how long one deleted before its expiry is
 * still described here. */
#define UPLOAD_META_TTL_MS 60000
static sy_memcache meta_mem =
    SY_MEMCACHE("upload_meta", 4096, 1024 * 1024, UPLOAD_META_TTL_MS);
SY_MEMCACHE_REGISTER(meta_mem)

typedef struct meta_rec {
    int64_t width, height, expires_ms;
    char sha256[65];
    char user_id[37];
    char content_type[128];
} meta_rec;

int
sy_uploads_db_key(const char *tenant_id, const char *id, char *out,
                  size_t outlen)
{
    int n = snprintf(out, outlen, "sy:{t:%s}:up:%s", tenant_id, id);
    return n > 0 && (size_t)n < outlen ? 0 : SY_EINVAL;
}

void
sy_uploads_db_forget(const char *tenant_id, const char *id)
{
    char k[KEY_MAX];
    int kl = snprintf(k, sizeof(k), "%s/%s", tenant_id, id);
    if (kl > 0 && (size_t)kl < sizeof(k))
        sy_memcache_drop(&meta_mem, k, (size_t)kl);
}

int
sy_uploads_db_meta(sy_arena *a, const char *tenant_id, const char *id,
                   sy_upload_row *out)
{
    char k[KEY_MAX];
    int kl = snprintf(k, sizeof(k), "%s/%s", tenant_id, id);
    size_t n;
    const meta_rec *m = kl > 0 && (size_t)kl < sizeof(k)
                            ? sy_memcache_get(&meta_mem, k, (size_t)kl, &n)
                            : NULL;
    if (m && n == sizeof(*m) && m->expires_ms > sy_wall_ms()) {
        sy_upload_row row;
        memset(&row, 0, sizeof(row));
        memcpy(row.id, id, strlen(id) + 1); /* as long as when stored */
        memcpy(row.sha256, m->sha256, sizeof(row.sha256));
        row.content_type = sy_arena_strndup(a, m->content_type,
                                            strlen(m->content_type));
        row.user_id = sy_arena_strndup(a, m->user_id, strlen(m->user_id));
        if (!row.content_type || !row.user_id)
            return SY_ENOMEM;
        row.width = m->width;
        row.height = m->height;
        row.expires_ms = m->expires_ms;
        row.data = SY_STR_NULL;
        row.bytes = -1;
        *out = row;
        return 0;
    }
    int rc = get_row(a, tenant_id, id, false, out);
    meta_rec r;
    memset(&r, 0, sizeof(r));
    if (rc == 0 && kl > 0 && (size_t)kl < sizeof(k) &&
        strlen(out->user_id) < sizeof(r.user_id) &&
        strlen(out->content_type) < sizeof(r.content_type)) {
        r.width = out->width;
        r.height = out->height;
        r.expires_ms = out->expires_ms;
        memcpy(r.sha256, out->sha256, sizeof(r.sha256));
        memcpy(r.user_id, out->user_id, strlen(out->user_id));
        memcpy(r.content_type, out->content_type, strlen(out->content_type));
        sy_memcache_put(&meta_mem, k, (size_t)kl, &r, sizeof(r));
    }
    return rc;
}

/* KEYS[1] the tenant's set, KEYS[2..] upload hashes; ARGV[1] the user,
 * ARGV[2..] the ids of those hashes.  Deletes the user's; returns how
 * many. */
static sy_redis_script erase_script = {
    .name = "upload_erase_user",
    .lua = "local n = 0\n"
           "for i = 2, #KEYS do\n"
           "  if redis.call('HGET', KEYS[i], 'user') == ARGV[1] then\n"
           "    redis.call('DEL', KEYS[i])\n"
           "    redis.call('ZREM', KEYS[1], ARGV[i])\n"
           "    n = n + 1\n"
           "  end\n"
           "end\n"
           "return n\n",
    .sha = "",
};

#define ERASE_BATCH 128

/* One batch: ids[0..n) of the set. */
static int
erase_batch(sy_arena *a, const char *set, const char *tenant_id,
            const char *user_id, redisReply **ids, size_t n, int64_t *deleted)
{
    const char **argv = sy_arena_alloc(a, (2 * n + 2) * sizeof(*argv));
    if (!argv)
        return SY_ENOMEM;
    argv[0] = set;
    argv[n + 1] = user_id;
    for (size_t i = 0; i < n; i++) {
        char scratch[KEY_MAX], *hash = sy_arena_alloc(a, KEY_MAX), *id;
        if (ids[i]->type != REDIS_REPLY_STRING)
            return SY_EREDIS;
        id = sy_arena_strndup(a, ids[i]->str, ids[i]->len);
        if (!hash || !id)
            return SY_ENOMEM;
        keys_of(tenant_id, id, scratch, hash);
        argv[1 + i] = hash;
        argv[n + 2 + i] = id;
    }
    redisReply *r;
    int rc = sy_redis_eval(a, &erase_script, (int)n + 1, (int)n + 1, argv,
                           NULL, &r);
    if (rc < 0)
        return rc;
    if (r->type != REDIS_REPLY_INTEGER)
        return SY_EREDIS;
    *deleted += r->integer;
    return 0;
}

int
sy_uploads_db_erase_user(sy_arena *a, const char *tenant_id,
                         const char *user_id, int64_t *deleted)
{
    char set[KEY_MAX];
    redisReply *r;
    *deleted = 0;
    keys_of(tenant_id, NULL, set, NULL);
    const char *argv[] = {"ZRANGE", set, "0", "-1"};
    int rc = sy_redis_argv(a, 4, argv, NULL, &r);
    if (rc < 0)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY)
        return SY_EREDIS;
    for (size_t i = 0; i < r->elements && rc == 0; i += ERASE_BATCH) {
        size_t n = r->elements - i < ERASE_BATCH ? r->elements - i
                                                 : ERASE_BATCH;
        rc = erase_batch(a, set, tenant_id, user_id, r->element + i, n,
                         deleted);
    }
    return rc;
}
