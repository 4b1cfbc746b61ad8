/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prodcache.c - products by id in this responder's memory (prodcache.h).
 *
 * One memcache ("products"), keyed by tenant and product id (lower
 * case); the value is a small head (the catalog version it was read
 * under, the lengths) followed by updated_at and the JSON.  An entry of
 * another version is a miss, and the next put of that product replaces
 * it; entries of retired versions otherwise leave with the least
 * recently used.
 */
#include "synthia/prodcache.h"

#include <stdlib.h>
#include <string.h>

#include "synthia/cachekey.h"
#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/memcache.h"

#define KEY_LEN (2 * SY_UUID_LEN)

typedef struct head {
    int64_t version;
    uint32_t ulen, jlen; /* updated_at, then the JSON */
} head;

static sy_memcache products =
    SY_MEMCACHE("products", SY_PRODCACHE_ENTRIES, SY_PRODCACHE_BYTES,
                SY_PRODCACHE_TTL_MS);
SY_MEMCACHE_REGISTER(products)

/* tenant then id, lower case, into key (KEY_LEN bytes). */
static bool
make_key(const char *tenant, const char *id, char key[KEY_LEN + 1])
{
    char t[SY_UUID_LEN + 1], i[SY_UUID_LEN + 1];
    if (!sy_cache_key_uuid(tenant, t) || !sy_cache_key_uuid(id, i))
        return false;
    memcpy(key, t, SY_UUID_LEN);
    memcpy(key + SY_UUID_LEN, i, SY_UUID_LEN + 1);
    return true;
}

int
sy_prodcache_get(sy_arena *a, const char *tenant, const char *id,
                 int64_t version, sy_product_row *out)
{
    char key[KEY_LEN + 1];
    size_t n = 0;
    const head *h;
    if (version < 0 || !make_key(tenant, id, key) ||
        !(h = sy_memcache_get(&products, key, KEY_LEN, &n)) ||
        h->version != version)
        return SY_ENOTFOUND;
    const char *p = (const char *)(h + 1);
    char *ids = sy_arena_strndup(a, key + SY_UUID_LEN, SY_UUID_LEN);
    char *upd = sy_arena_strndup(a, p, h->ulen);
    char *json = sy_arena_strndup(a, p + h->ulen, h->jlen);
    if (!ids || !upd || !json)
        return SY_ENOMEM;
    *out = (sy_product_row){.id = ids,
                            .json = {json, h->jlen},
                            .updated_at = upd,
                            .active = true};
    return 0;
}

void
sy_prodcache_put(const char *tenant, int64_t version,
                 const sy_product_row *row)
{
    char key[KEY_LEN + 1];
    size_t ulen = row->updated_at ? strlen(row->updated_at) : 0;
    if (version < 0 || !row->json.p || !ulen ||
        row->json.len > SY_PRODCACHE_VALUE_MAX ||
        !make_key(tenant, row->id, key))
        return;
    size_t n = sizeof(head) + ulen + row->json.len;
    head *h = malloc(n);
    if (!h)
        abort(); /* as the arena does */
    *h = (head){version, (uint32_t)ulen, (uint32_t)row->json.len};
    memcpy(h + 1, row->updated_at, ulen);
    memcpy((char *)(h + 1) + ulen, row->json.p, row->json.len);
    sy_memcache_put(&products, key, KEY_LEN, h, n);
    free(h);
}
