/*
 * cache.c - the result cache (cache.h): LZ4 values in Redis with a TTL
 * per type, catalog-versioned keys, per-tenant counters, and a small
 * per-responder memory cache for when Redis is down.
 *
 * Keys (every one carries the tenant's hash tag {t:<tenant>}, so on
 * Redis Cluster a tenant's entries, its catalog version and its stats
 * hash share one slot):
 *   sy:{t:<tenant>}:catver                       catalog version (INCR)
 *   sy:{t:<tenant>}:c:stats                      counters, "<type>:<field>"
 *   sy:{t:<tenant>}:c:<type>:v<version>:<hash>   list, search, product
 *   sy:{t:<tenant>}:c:<type>:u:<user|->:<hash>   analysis, tryon
 * <hash> is the first 32 hex digits of SHA-256(user "\n" what); the user
 * segment of unversioned types lets DELETE /cache find one user's entries
 * with SCAN MATCH.  TTLs: list 300 s, search 120 s, product 300 s,
 * analysis 24 h, tryon 24 h.
 *
 * Values: a 6-byte header (magic 0xc5, format 1 raw / 2 LZ4, raw length
 * as 4 bytes little-endian) then the payload.  Values under 64 bytes, or
 * that LZ4 cannot shrink, are stored raw; values over 4 MiB are not
 * cached.  Anything that does not decode exactly is a miss.
 *
 * A get is one EVALSHA: the script reads the catalog version, builds the
 * entry key, GETs it and counts the hit or miss.  A put is one EVALSHA
 * too, and stores under the version its get saw (remembered per process):
 * when a write bumped the version in between, the put is dropped rather
 * than filing data read before the write under the new version.  The
 * counters are cumulative: "keys" counts puts, bytes_raw/bytes_stored sum
 * what was put (not what is resident).
 *
 * This responder's memory (256 entries, 4 MiB, 256 KiB each,
 * SY_CACHE_MEMORY_TTL_MS, raw values, least recently used out first)
 * keeps what it read or stored.  While Redis is up, a catalog entry is
 * answered from there only at the version this request read with its
 * rate limit (local_get); many-key lookups (sy_cache_get_many, product
 * JSON for searches) use it at the version they read.  When Redis is
 * down, gets and puts use it alone.  A catalog bump that cannot reach
 * Redis is remembered (up to 16 tenants) and sent when Redis answers
 * again, so entries cached before an outage do not outlive a write made
 * during it.
 */
#include "synthia/cache.h"

#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <lz4.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/clock.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/log.h"
#include "synthia/redis.h"

#define UUID_LEN 36
#define HASH_HEX 32
#define KEY_MAX 128
#define MAGIC 0xc5
#define FMT_RAW 1
#define FMT_LZ4 2
#define HEADER_LEN 6
#define RAW_BELOW 64
#define VALUE_MAX (4u << 20)
#define MEM_SLOTS 256
#define MEM_TOTAL (4u << 20)
#define MEM_VALUE_MAX (256u << 10)
#define PENDING_MAX 16
#define SCAN_COUNT "1000"
#define SCAN_ROUNDS_MAX 10000 /* x COUNT: 10M keys looked at, at most */
#define TENANTS_MAX 10000
#define STATS_BATCH 100

enum { F_HITS, F_MISSES, F_KEYS, F_BYTES_RAW, F_BYTES_STORED, F__COUNT };

static const char *const field_names[F__COUNT] = {"hits", "misses", "keys",
                                                  "bytes_raw", "bytes_stored"};

static const struct {
    const char *name;
    bool versioned; /* keyed by the catalog version */
    const char *ttl_ms;
} types[SY_CACHE__COUNT] = {
    [SY_CACHE_LIST] = {"list", true, "300000"},
    [SY_CACHE_SEARCH] = {"search", true, "120000"},
    [SY_CACHE_PRODUCT] = {"product", true, "300000"},
    [SY_CACHE_ANALYSIS] = {"analysis", false, "86400000"},
    [SY_CACHE_TRYON] = {"tryon", false, "86400000"},
};

/* Everything a lookup of (tenant, type, user, what) needs. */
typedef struct cache_key {
    int type;
    char tenant[UUID_LEN + 1]; /* lower case */
    char user[UUID_LEN + 1];   /* key segment: uuid, "-" or "x<hash>" */
    char hash[HASH_HEX + 1];
    char prefix[KEY_MAX]; /* entry key up to the version or the hash */
    char catver[KEY_MAX];
    char stats[KEY_MAX];
} cache_key;

/* ARGV: type, prefix, hash, versioned ("1"/"0").  The entry key is built
 * here rather than declared in KEYS: it has the tenant's hash tag like
 * KEYS[1] and KEYS[2], so it lives in their cluster slot.  Returns
 * {version, value or nil}. */
static sy_redis_script get_script = {
    "cache_get",
    "local v = '0'\n"
    "local key = ARGV[2] .. ARGV[3]\n"
    "if ARGV[4] == '1' then\n"
    "  v = redis.call('GET', KEYS[1]) or '0'\n"
    "  key = ARGV[2] .. 'v' .. v .. ':' .. ARGV[3]\n"
    "end\n"
    "local val = redis.call('GET', key)\n"
    "local f = val and ':hits' or ':misses'\n"
    "redis.call('HINCRBY', KEYS[2], ARGV[1] .. f, 1)\n"
    "return {tonumber(v), val}\n",
    ""};

/* ARGV: type, prefix, hash, versioned, version seen by the get ("-":
 * none), value, ttl ms, raw length.  Same slot argument as get_script.
 * Returns 1 when stored, 0 when the version moved on. */
static sy_redis_script put_script = {
    "cache_put",
    "local key = ARGV[2] .. ARGV[3]\n"
    "if ARGV[4] == '1' then\n"
    "  local v = redis.call('GET', KEYS[1]) or '0'\n"
    "  if ARGV[5] ~= '-' and ARGV[5] ~= v then return 0 end\n"
    "  key = ARGV[2] .. 'v' .. v .. ':' .. ARGV[3]\n"
    "end\n"
    "redis.call('SET', key, ARGV[6], 'PX', ARGV[7])\n"
    "redis.call('HINCRBY', KEYS[2], ARGV[1] .. ':keys', 1)\n"
    "redis.call('HINCRBY', KEYS[2], ARGV[1] .. ':bytes_raw', ARGV[8])\n"
    "redis.call('HINCRBY', KEYS[2], ARGV[1] .. ':bytes_stored', #ARGV[6])\n"
    "return 1\n",
    ""};

/* The version the last get of this process saw, for its put. */
static struct {
    bool set;
    int type;
    char tenant[UUID_LEN + 1];
    char hash[HASH_HEX + 1];
    char version[24];
    int64_t v;
} last_get;


typedef struct mem_entry {
    bool used;
    int type;
    char tenant[UUID_LEN + 1];
    char user[UUID_LEN + 1];
    char hash[HASH_HEX + 1];
    int64_t version;    /* catalog version it was read under; -1: none */
    int64_t expires_us;
    uint64_t tick; /* last use */
    char *value;
    size_t len;
} mem_entry;

static mem_entry mem[MEM_SLOTS];
static size_t mem_bytes;
static uint64_t mem_tick;

static char pending[PENDING_MAX][UUID_LEN + 1]; /* bumps owed to Redis */
static int npending;

static void
register_scripts(void)
{
    static bool done;
    if (!done) {
        sy_redis_register(&get_script);
        sy_redis_register(&put_script);
        done = true;
    }
}

/* --------------------------------------------------------- type names */

int
sy_cache_type_parse(sy_str name)
{
    for (int i = 0; i < SY_CACHE__COUNT; i++)
        if (sy_str_eqc(name, types[i].name))
            return i;
    return -1;
}

const char *
sy_cache_type_name(int type)
{
    return type >= 0 && type < SY_CACHE__COUNT ? types[type].name : NULL;
}

/* ----------------------------------------------------------------- keys */

static bool
lower_uuid(const char *in, char out[UUID_LEN + 1])
{
    if (!in || !sy_uuid_valid(in, strlen(in)))
        return false;
    for (int i = 0; i <= UUID_LEN; i++)
        out[i] = in[i] >= 'A' && in[i] <= 'F' ? (char)(in[i] + 32) : in[i];
    return true;
}

/* The user's key segment: its uuid, "-" for none, and for anything else
 * "x" and a hash, so no caller-chosen byte reaches a key name or a SCAN
 * pattern. */
static void
user_segment(const char *user, char out[UUID_LEN + 1])
{
    if (!user || !user[0]) {
        memcpy(out, "-", 2);
    } else if (!lower_uuid(user, out)) {
        unsigned char d[SY_SHA256_LEN];
        char hex[2 * SY_SHA256_LEN + 1];
        sy_sha256(user, strlen(user), d);
        sy_hex(hex, d, sizeof(d));
        out[0] = 'x';
        memcpy(out + 1, hex, HASH_HEX);
        out[HASH_HEX + 1] = '\0';
    }
}

/* SHA-256 of user "\n" what, first HASH_HEX hex digits. */
static void
what_hash(const char *user, sy_str what, char out[HASH_HEX + 1])
{
    size_t ulen = user ? strlen(user) : 0;
    unsigned char d[SY_SHA256_LEN];
    char hex[2 * SY_SHA256_LEN + 1];
    char *buf = malloc(ulen + 1 + what.len + 1);
    if (!buf)
        abort();
    if (ulen)
        memcpy(buf, user, ulen);
    buf[ulen] = '\n';
    if (what.len)
        memcpy(buf + ulen + 1, what.p, what.len);
    sy_sha256(buf, ulen + 1 + what.len, d);
    free(buf);
    sy_hex(hex, d, sizeof(d));
    memcpy(out, hex, HASH_HEX);
    out[HASH_HEX] = '\0';
}

/* Tenant-level key names only (no type, user or hash). */
static int
tenant_keys(cache_key *k, const char *tenant)
{
    if (!lower_uuid(tenant, k->tenant))
        return SY_EINVAL;
    snprintf(k->catver, sizeof(k->catver), "sy:{t:%s}:catver", k->tenant);
    snprintf(k->stats, sizeof(k->stats), "sy:{t:%s}:c:stats", k->tenant);
    return 0;
}

static int
make_key(cache_key *k, const char *tenant, int type, const char *user,
         sy_str what)
{
    if (type < 0 || type >= SY_CACHE__COUNT || tenant_keys(k, tenant) < 0)
        return SY_EINVAL;
    k->type = type;
    user_segment(user, k->user);
    what_hash(user, what, k->hash);
    if (types[type].versioned)
        snprintf(k->prefix, sizeof(k->prefix), "sy:{t:%s}:c:%s:", k->tenant,
                 types[type].name);
    else
        snprintf(k->prefix, sizeof(k->prefix),
                 "sy:{t:%s}:c:%s:u:%s:", k->tenant, types[type].name, k->user);
    return 0;
}

/* --------------------------------------------------------------- values */

static void
put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t
get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Header and payload of value into arena memory: 0, SY_ETOOBIG over
 * VALUE_MAX, SY_ENOMEM. */
static int
encode(sy_arena *a, sy_str value, sy_str *out)
{
    if (value.len > VALUE_MAX)
        return SY_ETOOBIG;
    int bound = LZ4_compressBound((int)value.len);
    size_t cap = HEADER_LEN + (size_t)bound + value.len;
    unsigned char *buf = sy_arena_alloc(a, cap);
    if (!buf)
        return SY_ENOMEM;
    int n = 0;
    if (value.len >= RAW_BELOW)
        n = LZ4_compress_default(value.p, (char *)buf + HEADER_LEN,
                                 (int)value.len, bound);
    buf[0] = MAGIC;
    put_u32(buf + 2, (uint32_t)value.len);
    if (n > 0 && (size_t)n < value.len) {
        buf[1] = FMT_LZ4;
    } else {
        buf[1] = FMT_RAW;
        n = (int)value.len;
        if (value.len)
            memcpy(buf + HEADER_LEN, value.p, value.len);
    }
    *out = (sy_str){(const char *)buf, HEADER_LEN + (size_t)n};
    return 0;
}

/* The value in stored (NUL-terminated arena copy): 0, SY_EINVAL when it
 * is not one of ours or is damaged, SY_ENOMEM. */
static int
decode(sy_arena *a, sy_str stored, sy_str *out)
{
    const unsigned char *p = (const unsigned char *)stored.p;
    if (stored.len < HEADER_LEN || p[0] != MAGIC)
        return SY_EINVAL;
    uint32_t raw = get_u32(p + 2);
    size_t plen = stored.len - HEADER_LEN;
    if (raw > VALUE_MAX || (p[1] == FMT_RAW && plen != raw) ||
        (p[1] != FMT_RAW && p[1] != FMT_LZ4))
        return SY_EINVAL;
    char *buf = sy_arena_alloc(a, (size_t)raw + 1);
    if (!buf)
        return SY_ENOMEM;
    if (p[1] == FMT_RAW) {
        if (raw)
            memcpy(buf, p + HEADER_LEN, raw);
    } else if (LZ4_decompress_safe((const char *)p + HEADER_LEN, buf, (int)plen,
                                   (int)raw) != (int)raw) {
        return SY_EINVAL;
    }
    buf[raw] = '\0';
    *out = (sy_str){buf, raw};
    return 0;
}

/* --------------------------------------------------------------- memory */

static void
mem_free(mem_entry *e)
{
    mem_bytes -= e->len;
    free(e->value);
    memset(e, 0, sizeof(*e));
}

static mem_entry *
mem_find(const cache_key *k)
{
    for (int i = 0; i < MEM_SLOTS; i++) {
        mem_entry *e = &mem[i];
        if (e->used && e->type == k->type && !strcmp(e->hash, k->hash) &&
            !strcmp(e->tenant, k->tenant))
            return e;
    }
    return NULL;
}

/* A free slot, or the least recently used one emptied. */
static mem_entry *
mem_slot(void)
{
    mem_entry *lru = NULL;
    for (int i = 0; i < MEM_SLOTS; i++) {
        if (!mem[i].used)
            return &mem[i];
        if (!lru || mem[i].tick < lru->tick)
            lru = &mem[i];
    }
    mem_free(lru);
    return lru;
}

static void
mem_evict_lru(void)
{
    mem_entry *lru = NULL;
    for (int i = 0; i < MEM_SLOTS; i++)
        if (mem[i].used && (!lru || mem[i].tick < lru->tick))
            lru = &mem[i];
    if (lru)
        mem_free(lru);
}

/* The entry for k (of catalog version `version`; -1: any) into arena
 * memory. */
static int
mem_get(sy_arena *a, const cache_key *k, int64_t version, sy_str *value)
{
    mem_entry *e = mem_find(k);
    if (!e || (version >= 0 && e->version != version))
        return SY_ENOTFOUND;
    if (sy_mono_us() >= e->expires_us) {
        mem_free(e);
        return SY_ENOTFOUND;
    }
    char *copy = sy_arena_strndup(a, e->value, e->len);
    if (!copy)
        return SY_ENOMEM;
    e->tick = ++mem_tick;
    *value = (sy_str){copy, e->len};
    return 0;
}

static void
mem_put(const cache_key *k, int64_t version, sy_str value)
{
    if (value.len > MEM_VALUE_MAX)
        return;
    mem_entry *e = mem_find(k);
    if (e)
        mem_free(e);
    while (mem_bytes + value.len > MEM_TOTAL)
        mem_evict_lru();
    e = mem_slot();
    e->value = malloc(value.len ? value.len : 1);
    if (!e->value)
        abort();
    if (value.len)
        memcpy(e->value, value.p, value.len);
    e->len = value.len;
    mem_bytes += value.len;
    e->used = true;
    e->version = version;
    e->type = k->type;
    memcpy(e->tenant, k->tenant, sizeof(e->tenant));
    memcpy(e->user, k->user, sizeof(e->user));
    memcpy(e->hash, k->hash, sizeof(e->hash));
    e->expires_us = sy_mono_us() + SY_CACHE_MEMORY_TTL_MS * 1000LL;
    e->tick = ++mem_tick;
}

/* Drop the tenant's entries of type (-1: catalog types, -2: all) and
 * user segment (NULL: any). */
static void
mem_drop(const char *tenant, int type, const char *user)
{
    for (int i = 0; i < MEM_SLOTS; i++) {
        mem_entry *e = &mem[i];
        bool of_type = type == -2 || e->type == type ||
                       (type == -1 && types[e->type].versioned);
        if (e->used && of_type && !strcmp(e->tenant, tenant) &&
            (!user || !strcmp(e->user, user)))
            mem_free(e);
    }
}

/* ------------------------------------------------------ pending bumps */

static void
pending_add(const char *tenant)
{
    for (int i = 0; i < npending; i++)
        if (!strcmp(pending[i], tenant))
            return;
    if (npending == PENDING_MAX) {
        sy_log(SY_LOG_WARN, "cache_bump_lost",
               "Redis down: more than %d tenants changed; their cached "
               "lists may be stale until they expire",
               PENDING_MAX);
        return;
    }
    memcpy(pending[npending++], tenant, UUID_LEN + 1);
}

/* Send the bumps owed, in one round trip, when Redis is back. */
static void
pending_flush(sy_arena *a)
{
    if (npending == 0 || sy_redis_down())
        return;
    sy_redis_cmdv cmds[PENDING_MAX];
    redisReply *rep[PENDING_MAX];
    char keys[PENDING_MAX][KEY_MAX];
    const char *argv[PENDING_MAX][2];
    for (int i = 0; i < npending; i++) {
        snprintf(keys[i], KEY_MAX, "sy:{t:%.36s}:catver", pending[i]);
        argv[i][0] = "INCR";
        argv[i][1] = keys[i];
        cmds[i] = (sy_redis_cmdv){2, argv[i], NULL};
    }
    if (sy_redis_pipeline(a, npending, cmds, rep) == 0)
        npending = 0;
}

/* ---------------------------------------------------------------- Redis */

static void
remember_version(const cache_key *k, long long version)
{
    last_get.set = true;
    last_get.type = k->type;
    memcpy(last_get.tenant, k->tenant, sizeof(last_get.tenant));
    memcpy(last_get.hash, k->hash, sizeof(last_get.hash));
    snprintf(last_get.version, sizeof(last_get.version), "%lld", version);
    last_get.v = version;
}

/* 0 with the value, SY_ENOTFOUND, or SY_EREDIS when Redis is down. */
static int
redis_get(sy_arena *a, const cache_key *k, sy_str *value)
{
    const char *argv[] = {
        k->catver, k->stats, types[k->type].name,
        k->prefix, k->hash,  types[k->type].versioned ? "1" : "0"};
    redisReply *r;
    int rc = sy_redis_eval(a, &get_script, 2, 4, argv, NULL, &r);
    if (rc < 0)
        return rc == SY_EREDIS ? rc : SY_ENOTFOUND;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
        sy_log(SY_LOG_ERROR, "cache_get", "unexpected reply: %s",
               r->type == REDIS_REPLY_ERROR ? r->str : "not {version, value}");
        return SY_ENOTFOUND;
    }
    remember_version(k, r->element[0]->integer);
    redisReply *v = r->element[1];
    if (v->type != REDIS_REPLY_STRING)
        return SY_ENOTFOUND;
    rc = decode(a, (sy_str){v->str, v->len}, value);
    if (rc == SY_EINVAL)
        sy_log(SY_LOG_WARN, "cache_corrupt", "%s entry %s: not a cache value",
               types[k->type].name, k->hash);
    return rc < 0 ? SY_ENOTFOUND : 0;
}

/* The version this put should be filed under: the one its get saw. */
static bool
get_matches(const cache_key *k)
{
    return last_get.set && last_get.type == k->type &&
           !strcmp(last_get.hash, k->hash) &&
           !strcmp(last_get.tenant, k->tenant);
}

static const char *
version_seen(const cache_key *k)
{
    return get_matches(k) ? last_get.version : "-";
}

static int
redis_put(sy_arena *a, const cache_key *k, sy_str stored, size_t raw)
{
    char rawlen[24];
    snprintf(rawlen, sizeof(rawlen), "%zu", raw);
    const char *argv[] = {
        k->catver,       k->stats, types[k->type].name,
        k->prefix,       k->hash,  types[k->type].versioned ? "1" : "0",
        version_seen(k), stored.p, types[k->type].ttl_ms,
        rawlen};
    size_t lens[10];
    for (int i = 0; i < 10; i++)
        lens[i] = i == 7 ? stored.len : strlen(argv[i]);
    redisReply *r;
    int rc = sy_redis_eval(a, &put_script, 2, 8, argv, lens, &r);
    if (rc < 0)
        return rc;
    if (r->type == REDIS_REPLY_ERROR)
        sy_log(SY_LOG_ERROR, "cache_put", "%s", r->str);
    return r->type == REDIS_REPLY_INTEGER && r->integer == 1;
}

/* ------------------------------------------------------- local copies */

/* Count n of field for k's type without awaiting the reply. */
static void
count_async(const cache_key *k, const char *field, long long n)
{
    char f[32], by[24];
    if (n <= 0)
        return;
    snprintf(f, sizeof(f), "%s:%s", types[k->type].name, field);
    snprintf(by, sizeof(by), "%lld", n);
    sy_redis_send(4, (const char *[]){"HINCRBY", k->stats, f, by}, NULL);
}


/* While Redis is up, a versioned entry this responder read or wrote is
 * kept in memory too (SY_CACHE_MEMORY_TTL_MS at most) and served from
 * there when this request's rate-limit call read the tenant's catalog
 * version and it is still the entry's: no round trip at all.  The hit is
 * counted with a command whose reply is not awaited. */
static int
local_get(sy_arena *a, const sy_catver *cv, const cache_key *k,
          sy_str *value)
{
    if (!types[k->type].versioned || !cv || !cv->set ||
        strcmp(cv->tenant, k->tenant) != 0 ||
        mem_get(a, k, cv->version, value) < 0)
        return SY_ENOTFOUND;
    count_async(k, "hits", 1);
    remember_version(k, cv->version);
    return 0;
}

/* ------------------------------------------------------------ get, put */

int
sy_cache_get(sy_arena *a, const sy_catver *cv, const char *tenant, int type,
             const char *user, sy_str what, sy_str *value)
{
    cache_key k;
    if (make_key(&k, tenant, type, user, what) < 0)
        return SY_ENOTFOUND;
    register_scripts();
    pending_flush(a);
    if (!sy_redis_down()) {
        if (local_get(a, cv, &k, value) == 0)
            return 0;
        int rc = redis_get(a, &k, value);
        if (rc == 0 && types[type].versioned && get_matches(&k))
            mem_put(&k, last_get.v, *value);
        if (rc != SY_EREDIS)
            return rc;
    }
    return mem_get(a, &k, -1, value);
}

void
sy_cache_put(sy_arena *a, const char *tenant, int type, const char *user,
             sy_str what, sy_str value)
{
    cache_key k;
    sy_str stored;
    if (make_key(&k, tenant, type, user, what) < 0 || value.len > VALUE_MAX)
        return;
    register_scripts();
    pending_flush(a);
    if (!sy_redis_down()) {
        if (encode(a, value, &stored) < 0)
            return;
        int rc = redis_put(a, &k, stored, value.len);
        if (rc == 1 && types[type].versioned && get_matches(&k))
            mem_put(&k, last_get.v, value);
        if (rc != SY_EREDIS)
            return;
    }
    mem_put(&k, -1, value);
}

/* ---------------------------------------------------------- many keys */

/* The entry key of k at version v, in arena memory. */
static char *
entry_key(sy_arena *a, const cache_key *k, int64_t v)
{
    size_t cap = sizeof(k->prefix) + 24 + sizeof(k->hash);
    char *key = sy_arena_alloc(a, cap);
    if (key)
        snprintf(key, cap, "%sv%lld:%s", k->prefix, (long long)v, k->hash);
    return key;
}

/* Fill values[i] of the keys ks[i] that were found, from one MGET. */
static int
mget(sy_arena *a, cache_key *ks, int64_t v, const int *idx, int m,
     sy_str *values)
{
    const char **argv = sy_arena_alloc(a, (size_t)(m + 1) * sizeof(*argv));
    redisReply *r;
    int found = 0;
    if (!argv)
        return 0;
    argv[0] = "MGET";
    for (int j = 0; j < m; j++)
        if (!(argv[j + 1] = entry_key(a, &ks[idx[j]], v)))
            return 0;
    if (sy_redis_argv(a, m + 1, argv, NULL, &r) < 0 ||
        r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)m)
        return 0;
    for (int j = 0; j < m; j++) {
        redisReply *e = r->element[j];
        sy_str *out = &values[idx[j]];
        if (e->type != REDIS_REPLY_STRING ||
            decode(a, (sy_str){e->str, e->len}, out) < 0) {
            *out = SY_STR_NULL;
            continue;
        }
        mem_put(&ks[idx[j]], v, *out);
        found++;
    }
    return found;
}

int
sy_cache_get_many(sy_arena *a, const sy_catver *cv, const char *tenant,
                  int type, int n, const sy_str *whats, sy_str *values,
                  int64_t *version)
{
    int64_t v;
    cache_key *ks;
    int *idx, m = 0, found = 0;
    for (int i = 0; i < n; i++)
        values[i] = SY_STR_NULL;
    *version = -1;
    if (type < 0 || type >= SY_CACHE__COUNT || !types[type].versioned ||
        n <= 0 || sy_redis_down() ||
        sy_cache_catalog_version(a, cv, tenant, &v) < 0 ||
        !(ks = sy_arena_alloc(a, (size_t)n * sizeof(*ks))) ||
        !(idx = sy_arena_alloc(a, (size_t)n * sizeof(*idx))))
        return 0;
    for (int i = 0; i < n; i++) {
        if (make_key(&ks[i], tenant, type, NULL, whats[i]) < 0)
            return 0;
        if (mem_get(a, &ks[i], v, &values[i]) == 0)
            found++;
        else
            idx[m++] = i;
    }
    if (m > 0)
        found += mget(a, ks, v, idx, m, values);
    count_async(&ks[0], "hits", found);
    count_async(&ks[0], "misses", n - found);
    *version = v;
    return found;
}

void
sy_cache_put_many(sy_arena *a, const char *tenant, int type, int64_t version,
                  int n, const sy_str *whats, const sy_str *values)
{
    long long raw = 0, stored_total = 0;
    int m = 0;
    cache_key k;
    if (version < 0 || n <= 0 || type < 0 || type >= SY_CACHE__COUNT ||
        !types[type].versioned || sy_redis_down())
        return;
    sy_redis_cmdv *cmds = sy_arena_alloc(a, (size_t)n * sizeof(*cmds));
    redisReply **rep = sy_arena_alloc(a, (size_t)n * sizeof(*rep));
    if (!cmds || !rep)
        return;
    for (int i = 0; i < n; i++) {
        sy_str stored;
        const char **argv = sy_arena_alloc(a, 5 * sizeof(*argv));
        size_t *lens = sy_arena_alloc(a, 5 * sizeof(*lens));
        if (!argv || !lens || !values[i].p ||
            make_key(&k, tenant, type, NULL, whats[i]) < 0 ||
            encode(a, values[i], &stored) < 0 ||
            !(argv[1] = entry_key(a, &k, version)))
            continue;
        argv[0] = "SET";
        argv[2] = stored.p;
        argv[3] = "PX";
        argv[4] = types[type].ttl_ms;
        for (int j = 0; j < 5; j++)
            lens[j] = j == 2 ? stored.len : strlen(argv[j]);
        cmds[m++] = (sy_redis_cmdv){5, argv, lens};
        mem_put(&k, version, values[i]);
        raw += (long long)values[i].len;
        stored_total += (long long)stored.len;
    }
    if (m == 0 || sy_redis_pipeline(a, m, cmds, rep) < 0)
        return;
    count_async(&k, "keys", m);
    count_async(&k, "bytes_raw", raw);
    count_async(&k, "bytes_stored", stored_total);
}

/* ------------------------------------------------------ catalog version */

void
sy_cache_catalog_bump(sy_arena *a, sy_catver *cv, const char *tenant)
{
    cache_key k;
    if (tenant_keys(&k, tenant) < 0)
        return;
    mem_drop(k.tenant, -1, NULL);
    if (cv)
        cv->set = false;
    pending_flush(a);
    redisReply *r;
    if (sy_redis_down() ||
        sy_redis_argv(a, 2, (const char *[]){"INCR", k.catver}, NULL, &r) < 0)
        pending_add(k.tenant);
}

int
sy_cache_catalog_version(sy_arena *a, const sy_catver *cv, const char *tenant,
                         int64_t *version)
{
    cache_key k;
    if (tenant_keys(&k, tenant) < 0)
        return SY_EINVAL;
    if (cv && cv->set && strcmp(cv->tenant, k.tenant) == 0) {
        *version = cv->version;
        return 0;
    }
    pending_flush(a);
    if (sy_redis_down())
        return SY_EREDIS;
    redisReply *r;
    int rc = sy_redis_argv(a, 2, (const char *[]){"GET", k.catver}, NULL, &r);
    if (rc < 0)
        return rc;
    int64_t v = 0;
    if (r->type == REDIS_REPLY_STRING &&
        sy_parse_i64((sy_str){r->str, r->len}, 0, INT64_MAX, &v) < 0)
        return SY_EREDIS;
    *version = v;
    return 0;
}

int
sy_cache_version_cmd(sy_arena *a, const char *tenant, sy_redis_cmdv *cmd)
{
    cache_key k;
    const char **argv = sy_arena_alloc(a, 2 * sizeof(*argv));
    if (tenant_keys(&k, tenant) < 0 || !argv ||
        !(argv[1] = sy_arena_strndup(a, k.catver, strlen(k.catver))))
        return SY_EINVAL;
    argv[0] = "GET";
    *cmd = (sy_redis_cmdv){2, argv, NULL};
    return 0;
}

void
sy_cache_version_reply(sy_catver *cv, const char *tenant,
                       const struct redisReply *r)
{
    int64_t v = 0;
    cv->set = false;
    if (!lower_uuid(tenant, cv->tenant) ||
        (r->type != REDIS_REPLY_NIL && r->type != REDIS_REPLY_STRING) ||
        (r->type == REDIS_REPLY_STRING &&
         sy_parse_i64((sy_str){r->str, r->len}, 0, INT64_MAX, &v) < 0))
        return;
    cv->version = v;
    cv->set = true;
}

/* ---------------------------------------------------------------- stats */

typedef struct totals {
    int64_t n[SY_CACHE__COUNT][F__COUNT];
    int64_t tenants;
    bool partial;
} totals;

/* Add one HGETALL reply of a stats hash ("<type>:<field>" -> count). */
static void
add_hash(totals *t, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *f = r->element[i], *v = r->element[i + 1];
        const char *colon = memchr(f->str, ':', f->len);
        int64_t n;
        if (!colon || sy_parse_i64((sy_str){v->str, v->len}, INT64_MIN,
                                   INT64_MAX, &n) < 0)
            continue;
        int type =
            sy_cache_type_parse((sy_str){f->str, (size_t)(colon - f->str)});
        sy_str field = {colon + 1, f->len - (size_t)(colon + 1 - f->str)};
        for (int j = 0; type >= 0 && j < F__COUNT; j++)
            if (sy_str_eqc(field, field_names[j]))
                t->n[type][j] += n;
    }
}

static json_object *
ratio(int64_t num, int64_t den)
{
    double r = den > 0 ? (double)num / (double)den : 0.0;
    char s[32];
    snprintf(s, sizeof(s), "%.4f", r);
    return json_object_new_double_s(r, s);
}

/* {hits, misses, hit_ratio, keys, bytes_raw, bytes_stored,
 * compression_ratio}: compression_ratio is raw / stored (3.0: stored
 * values take a third of the raw size), 0 before any put. */
static json_object *
counts_json(const int64_t n[F__COUNT])
{
    json_object *o = json_object_new_object();
    for (int j = 0; j < F__COUNT; j++) {
        json_object_object_add(o, field_names[j], json_object_new_int64(n[j]));
        if (j == F_MISSES)
            json_object_object_add(o, "hit_ratio",
                                   ratio(n[F_HITS], n[F_HITS] + n[F_MISSES]));
    }
    json_object_object_add(o, "compression_ratio",
                           ratio(n[F_BYTES_RAW], n[F_BYTES_STORED]));
    return o;
}

static json_object *
totals_json(const totals *t, bool global)
{
    int64_t sum[F__COUNT] = {0};
    json_object *by_type = json_object_new_object();
    for (int i = 0; i < SY_CACHE__COUNT; i++) {
        for (int j = 0; j < F__COUNT; j++)
            sum[j] += t->n[i][j];
        json_object_object_add(by_type, types[i].name, counts_json(t->n[i]));
    }
    json_object *o = counts_json(sum);
    json_object_object_add(o, "by_type", by_type);
    if (global) {
        json_object_object_add(o, "tenants", json_object_new_int64(t->tenants));
        json_object_object_add(o, "partial",
                               json_object_new_boolean(t->partial));
    }
    return o;
}

/* Called with each SCAN batch (an array reply of key names) and a
 * scratch arena emptied after the call.  Returns 0 to go on, 1 to stop,
 * or an error. */
typedef int (*scan_fn)(void *ctx, sy_arena *scratch, const redisReply *keys);

/* SCAN MATCH pattern, COUNT SCAN_COUNT a step, at most SCAN_ROUNDS_MAX
 * steps (then *partial).  Each step's replies are freed before the
 * next, so a large keyspace costs time, not memory. */
static int
scan_each(const char *pattern, scan_fn fn, void *ctx, bool *partial)
{
    sy_arena scratch;
    sy_arena_init(&scratch, 16384, 0);
    char cursor[32] = "0";
    int rc = 0, round = 0;
    do {
        const char *argv[] = {"SCAN",  cursor,  "MATCH",
                              pattern, "COUNT", SCAN_COUNT};
        redisReply *r;
        rc = sy_redis_argv(&scratch, 6, argv, NULL, &r);
        if (rc == 0 && (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                        r->element[0]->type != REDIS_REPLY_STRING ||
                        r->element[0]->len >= sizeof(cursor) ||
                        r->element[1]->type != REDIS_REPLY_ARRAY))
            rc = SY_EREDIS;
        if (rc == 0) {
            snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
            rc = fn(ctx, &scratch, r->element[1]);
        }
        sy_arena_reset(&scratch);
    } while (rc == 0 && strcmp(cursor, "0") && ++round < SCAN_ROUNDS_MAX);
    sy_arena_cleanup(&scratch);
    if (rc == 0 && strcmp(cursor, "0")) {
        sy_log(SY_LOG_WARN, "cache_scan", "%s: stopped after %d steps", pattern,
               SCAN_ROUNDS_MAX);
        if (partial)
            *partial = true;
    }
    return rc < 0 ? rc : 0;
}

typedef struct key_list {
    char (*keys)[KEY_MAX];
    size_t n;
    bool full;
} key_list;

static int
collect_keys(void *ctx, sy_arena *scratch, const redisReply *found)
{
    key_list *l = ctx;
    (void)scratch;
    for (size_t i = 0; i < found->elements; i++) {
        const redisReply *e = found->element[i];
        if (l->n == TENANTS_MAX) {
            l->full = true;
            return 1;
        }
        if (e->type == REDIS_REPLY_STRING && e->len < KEY_MAX)
            snprintf(l->keys[l->n++], KEY_MAX, "%.*s", (int)e->len, e->str);
    }
    return 0;
}

static int
cmp_key(const void *x, const void *y)
{
    return strcmp(x, y);
}

/* Names of every tenant's stats hash (at most TENANTS_MAX), sorted and
 * without the duplicates SCAN may return.  Caller frees l->keys. */
static int
stats_keys(key_list *l, bool *partial)
{
    l->keys = calloc(TENANTS_MAX, KEY_MAX);
    if (!l->keys)
        abort();
    int rc = scan_each("sy:{t:*}:c:stats", collect_keys, l, partial);
    if (l->full)
        *partial = true;
    qsort(l->keys, l->n, KEY_MAX, cmp_key);
    size_t u = 0;
    for (size_t i = 0; i < l->n; i++)
        if (u == 0 || strcmp(l->keys[u - 1], l->keys[i]))
            memmove(l->keys[u++], l->keys[i], KEY_MAX);
    l->n = u;
    return rc;
}

/* Sum every tenant's stats hash, STATS_BATCH HGETALLs per round trip;
 * each batch's replies are freed with its scratch arena. */
static int
global_totals(totals *t)
{
    key_list l = {0};
    int rc = stats_keys(&l, &t->partial);
    sy_arena scratch;
    sy_arena_init(&scratch, 16384, 0);
    for (size_t i = 0; rc == 0 && i < l.n; i += STATS_BATCH) {
        int m = (int)(l.n - i < STATS_BATCH ? l.n - i : STATS_BATCH);
        sy_redis_cmdv cmds[STATS_BATCH];
        redisReply *rep[STATS_BATCH];
        const char *argv[STATS_BATCH][2];
        for (int j = 0; j < m; j++) {
            argv[j][0] = "HGETALL";
            argv[j][1] = l.keys[i + (size_t)j];
            cmds[j] = (sy_redis_cmdv){2, argv[j], NULL};
        }
        rc = sy_redis_pipeline(&scratch, m, cmds, rep);
        for (int j = 0; rc == 0 && j < m; j++)
            add_hash(t, rep[j]);
        sy_arena_reset(&scratch);
    }
    sy_arena_cleanup(&scratch);
    free(l.keys);
    t->tenants = (int64_t)l.n;
    return rc;
}

int
sy_cache_stats(sy_arena *a, const char *tenant, struct json_object **out)
{
    totals t = {0};
    cache_key k;
    int rc;
    if (tenant && tenant_keys(&k, tenant) < 0)
        return SY_EINVAL;
    pending_flush(a);
    if (sy_redis_down())
        return SY_EREDIS;
    if (tenant) {
        redisReply *r;
        rc =
            sy_redis_argv(a, 2, (const char *[]){"HGETALL", k.stats}, NULL, &r);
        if (rc == 0)
            add_hash(&t, r);
    } else {
        rc = global_totals(&t);
    }
    if (rc < 0)
        return rc;
    *out = totals_json(&t, tenant == NULL);
    return 0;
}

/* --------------------------------------------------------------- delete */

/* UNLINK one SCAN batch; ctx is the running count. */
static int
unlink_keys(void *ctx, sy_arena *scratch, const redisReply *found)
{
    size_t n = found->elements;
    if (n == 0)
        return 0;
    const char **argv = sy_arena_alloc(scratch, (n + 1) * sizeof(*argv));
    size_t *lens = sy_arena_alloc(scratch, (n + 1) * sizeof(*lens));
    if (!argv || !lens)
        return SY_ENOMEM;
    argv[0] = "UNLINK";
    lens[0] = 6;
    for (size_t i = 0; i < n; i++) {
        if (found->element[i]->type != REDIS_REPLY_STRING)
            return SY_EREDIS;
        argv[i + 1] = found->element[i]->str;
        lens[i + 1] = found->element[i]->len;
    }
    redisReply *r;
    int rc = sy_redis_argv(scratch, (int)n + 1, argv, lens, &r);
    if (rc == 0 && r->type == REDIS_REPLY_INTEGER)
        *(int64_t *)ctx += r->integer;
    return rc;
}

int
sy_cache_delete(sy_arena *a, const char *tenant, int type, const char *user,
                int64_t *deleted)
{
    cache_key k;
    char useg[UUID_LEN + 1];
    if (tenant_keys(&k, tenant) < 0 || type < -1 || type >= SY_CACHE__COUNT)
        return SY_EINVAL;
    if (user)
        user_segment(user, useg);
    mem_drop(k.tenant, type < 0 ? -2 : type, user ? useg : NULL);
    pending_flush(a);
    if (sy_redis_down())
        return SY_EREDIS;
    *deleted = 0;
    for (int t = 0; t < SY_CACHE__COUNT; t++) {
        if ((type >= 0 && t != type) || (user && types[t].versioned))
            continue;
        char pattern[KEY_MAX];
        if (user)
            snprintf(pattern, sizeof(pattern), "sy:{t:%s}:c:%s:u:%s:*",
                     k.tenant, types[t].name, useg);
        else
            snprintf(pattern, sizeof(pattern), "sy:{t:%s}:c:%s:*", k.tenant,
                     types[t].name);
        int rc = scan_each(pattern, unlink_keys, deleted, NULL);
        if (rc < 0)
            return rc;
    }
    if (!user && (type < 0 || types[type].versioned))
        sy_cache_catalog_bump(a, NULL, k.tenant);
    return 0;
}
