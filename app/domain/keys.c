/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * keys.c - the rules of a tenant's API keys (tenancy.h): kinds and
 * scopes, the API's form of a key, and creating, rotating and revoking.
 *
 * A key is shown once, when it is made, and stored only as its SHA-256
 * (apikey.c makes it).  Rotation makes a successor with the same name,
 * kind and scopes and lets the old key live on for a grace period;
 * revocation is at once.  Both drop the old key's cached lookup after the
 * change, so every responder sees it on its next request.
 */
#include "synthia/tenancy.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "synthia/crypto.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/log.h"
#include "synthia/text.h"

#define KEY_NAME_MAX_CHARS 100
#define GRACE_DEFAULT 3600

int
sy_tenancy_key_kind(sy_str name)
{
    if (sy_str_eqc(name, "publishable"))
        return SY_KEY_PUBLISHABLE;
    if (sy_str_eqc(name, "secret"))
        return SY_KEY_SECRET;
    return 0;
}

const char *
sy_tenancy_key_kind_name(int kind)
{
    return kind == SY_KEY_PUBLISHABLE ? "publishable" : "secret";
}

uint32_t
sy_tenancy_key_scopes(int kind)
{
    return kind == SY_KEY_PUBLISHABLE ? SY_SCOPES_PUBLISHABLE : SY_SCOPES_ALL;
}

uint32_t
sy_tenancy_key_scope(int kind, sy_str name, const char **why)
{
    uint32_t bit = sy_scope_parse(name);
    if (!bit) {
        *why = "is not a known scope";
        return 0;
    }
    if (!(bit & sy_tenancy_key_scopes(kind))) {
        *why = "is not allowed for publishable keys";
        return 0;
    }
    return bit;
}

const char *
sy_tenancy_scopes_text(sy_arena *a, uint32_t mask)
{
    sy_buf b;
    sy_buf_init(&b, a, 512);
    sy_buf_putc(&b, '[');
    for (uint32_t bit = 1; bit && bit <= SY_SCOPES_ALL; bit <<= 1) {
        const char *name = (mask & bit) ? sy_scope_name(bit) : NULL;
        if (!name)
            continue;
        if (b.len > 1)
            sy_buf_putc(&b, ',');
        sy_buf_json_str(&b, name, strlen(name));
    }
    sy_buf_putc(&b, ']');
    const char *s = sy_buf_cstr(&b);
    return b.failed ? NULL : s;
}

static void
add_str(json_object *o, const char *key, const char *v)
{
    json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

json_object *
sy_tenancy_key_json(const sy_key_row *k)
{
    json_object *o = json_object_new_object();
    json_object *list = k->scopes ? json_tokener_parse(k->scopes) : NULL;
    add_str(o, "id", k->id);
    add_str(o, "name", k->name);
    add_str(o, "kind", k->kind);
    add_str(o, "prefix", k->prefix);
    json_object_object_add(o, "scopes", list ? list : json_object_new_array());
    add_str(o, "created_at", k->created_at);
    add_str(o, "last_used_at", k->last_used_at);
    add_str(o, "expires_at", k->expires_at);
    add_str(o, "revoked_at", k->revoked_at);
    add_str(o, "replaced_by", k->replaced_by);
    return o;
}

/* ------------------------------------------------------------ reading */

/* One scope name into *mask, or a field error "scopes[i]". */
static int
add_scope(int kind, sy_str name, size_t i, sy_errs *e, uint32_t *mask)
{
    const char *why = "must be a string";
    uint32_t bit = name.p ? sy_tenancy_key_scope(kind, name, &why) : 0;
    if (!bit) {
        char field[32];
        snprintf(field, sizeof(field), "scopes[%zu]", i);
        return sy_errs_field(e, field, why);
    }
    *mask |= bit;
    return 0;
}

/* scopes: optional array of scope names, each allowed for the kind;
 * absent means every scope the kind may hold. */
static int
read_scopes(json_object *body, int kind, sy_errs *e, uint32_t *mask)
{
    json_object *v;
    *mask = sy_tenancy_key_scopes(kind);
    if (!json_object_object_get_ex(body, "scopes", &v) ||
        json_object_is_type(v, json_type_null))
        return 0;
    size_t n = json_object_is_type(v, json_type_array)
                   ? json_object_array_length(v)
                   : 0;
    if (n == 0)
        return sy_errs_field(e, "scopes",
                             "must be a non-empty array of scopes");
    int rc = 0;
    *mask = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *s = json_object_array_get_idx(v, i);
        sy_str name = SY_STR_NULL;
        if (json_object_is_type(s, json_type_string))
            name = (sy_str){json_object_get_string(s),
                            (size_t)json_object_get_string_len(s)};
        if (add_scope(kind, name, i, e, mask) < 0)
            rc = SY_EVALIDATION;
    }
    return rc;
}

static int
check_kind(sy_str s, sy_errs *e, int *kind)
{
    *kind = sy_tenancy_key_kind(s);
    if (!*kind)
        return sy_errs_field(e, "kind",
                             "must be \"publishable\" or \"secret\"");
    return 0;
}

static int
check_key_name(sy_arena *a, sy_str s, sy_errs *e, const char **name)
{
    const char *why;
    if (sy_tenancy_text(&s, true, 0, KEY_NAME_MAX_CHARS, &why) < 0)
        return sy_errs_field(e, "name",
                             "must be at most 100 characters, without "
                             "control characters");
    *name = sy_str_dup(a, s);
    return *name ? 0 : SY_ENOMEM;
}

/* ------------------------------------------------------------ making */

/* A fresh key of kind into out->key and k (prefix, hash). */
static void
generate(sy_arena *a, int kind, sy_tenancy_key *out, sy_key_new *k,
         char hex[2 * SY_SHA256_LEN + 1], char prefix[SY_APIKEY_PREFIX_LEN + 1])
{
    unsigned char hash[SY_SHA256_LEN];
    (void)a;
    sy_apikey_generate(kind, out->key, prefix, hash);
    sy_hex(hex, hash, sizeof(hash));
    k->kind = sy_tenancy_key_kind_name(kind);
    k->prefix = prefix;
    k->hash_hex = hex;
}

static int
insert_key(sy_arena *a, const char *tenant, const char *name, int kind,
           uint32_t mask, const char *creator, sy_errs *e,
           sy_tenancy_key *out)
{
    char hex[2 * SY_SHA256_LEN + 1], prefix[SY_APIKEY_PREFIX_LEN + 1];
    sy_key_new k = {.name = name, .created_by = creator};
    generate(a, kind, out, &k, hex, prefix);
    k.scopes = sy_tenancy_scopes_text(a, mask);
    if (!k.scopes)
        return SY_ENOMEM;
    int rc = sy_keys_insert(a, tenant, &k, &out->row);
    if (rc == SY_ECONFLICT) /* 190 random bits colliding: never */
        return SY_EINTERNAL;
    if (rc == SY_ENOTFOUND)
        return sy_errs_fail(e, rc, "not_found", "No tenant has this id.");
    return rc;
}

int
sy_tenancy_key_create(sy_arena *a, const char *tenant, json_object *body,
                      const char *creator, sy_errs *e, sy_tenancy_key *out)
{
    const char *name = NULL;
    int kind = 0;
    uint32_t mask = 0;
    sy_str s = SY_STR("");
    int rc = sy_json_str(e, body, "name", false, 0, 1024, &s);
    if (rc == 0 || rc == SY_ENOTFOUND)
        rc = check_key_name(a, s, e, &name);
    if (sy_json_str(e, body, "kind", true, 0, 32, &s) == 0 &&
        check_kind(s, e, &kind) == 0)
        read_scopes(body, kind, e, &mask);
    if (rc == SY_ENOMEM)
        return rc;
    if (sy_errs_any(e))
        return SY_EVALIDATION;
    return insert_key(a, tenant, name, kind, mask, creator, e, out);
}

int
sy_tenancy_key_create_plain(sy_arena *a, const char *tenant,
                            const char *name, const char *kind_name,
                            const char *const *scopes, int nscopes,
                            sy_errs *e, sy_tenancy_key *out)
{
    const char *nm = NULL;
    int kind = 0;
    uint32_t mask = 0;
    int rc = check_key_name(a, sy_str_c(name ? name : ""), e, &nm);
    if (check_kind(sy_str_c(kind_name), e, &kind) == 0) {
        mask = nscopes ? 0 : sy_tenancy_key_scopes(kind);
        for (int i = 0; i < nscopes; i++)
            add_scope(kind, sy_str_c(scopes[i]), (size_t)i, e, &mask);
    }
    if (rc == SY_ENOMEM)
        return rc;
    if (sy_errs_any(e))
        return SY_EVALIDATION;
    return insert_key(a, tenant, nm, kind, mask, NULL, e, out);
}

/* ------------------------------------------------------------ changing */

/* Drop the cached lookup of a key whose row changed (its hash in hex).
 * The database is the truth: when Redis cannot be told, lookups go to
 * PostgreSQL anyway, so a failure is logged and the change stands. */
static void
forget_key(sy_arena *a, const char *hash_hex)
{
    unsigned char hash[SY_SHA256_LEN];
    size_t n = 0;
    int rc = sy_unhex(hash, sizeof(hash), hash_hex, &n) == 0 &&
                     n == sizeof(hash)
                 ? sy_apikey_forget(a, hash)
                 : SY_EINVAL;
    if (rc < 0)
        sy_log(SY_LOG_WARN, "apikey_forget_failed",
               "key row changed but its cached lookup was not dropped: %s",
               sy_strerror(rc));
}

static int
no_key(sy_errs *e)
{
    return sy_errs_fail(e, SY_ENOTFOUND, "not_found",
                        "This tenant has no such key.");
}

static int
cannot_rotate(sy_errs *e)
{
    return sy_errs_fail(e, SY_ECONFLICT, "conflict",
                        "This key is revoked, expired or already rotated; "
                        "rotate its successor or create a new key.");
}

int
sy_tenancy_key_rotate(sy_arena *a, const char *tenant, const char *id,
                      json_object *body, const char *creator, sy_errs *e,
                      sy_tenancy_key *out)
{
    int64_t grace = GRACE_DEFAULT;
    const char *kind_name;
    bool spent;
    if (!sy_text_uuid(id))
        return no_key(e);
    int rc = sy_json_int(e, body, "grace_seconds", false, 0,
                         SY_TENANCY_GRACE_MAX, &grace);
    if (rc < 0 && rc != SY_ENOTFOUND)
        return rc;
    rc = sy_keys_get(a, tenant, id, &kind_name, &spent);
    if (rc == SY_ENOTFOUND)
        return no_key(e);
    if (rc < 0)
        return rc;
    if (spent)
        return cannot_rotate(e);
    char hex[2 * SY_SHA256_LEN + 1], prefix[SY_APIKEY_PREFIX_LEN + 1];
    sy_key_new k = {.created_by = creator};
    generate(a, sy_tenancy_key_kind(sy_str_c(kind_name)), out, &k, hex,
             prefix);
    rc = sy_keys_rotate(a, tenant, id, &k, grace, &out->row);
    if (rc == SY_ENOTFOUND) /* rotated or revoked in between */
        return cannot_rotate(e);
    if (rc < 0)
        return rc == SY_ECONFLICT ? SY_EINTERNAL : rc;
    forget_key(a, out->row.old_hash);
    return 0;
}

int
sy_tenancy_key_revoke(sy_arena *a, const char *tenant, const char *id,
                      sy_errs *e)
{
    const char *hash;
    if (!sy_text_uuid(id))
        return no_key(e);
    int rc = sy_keys_revoke(a, tenant, id, &hash);
    if (rc == SY_ENOTFOUND)
        return no_key(e);
    if (rc < 0)
        return rc;
    forget_key(a, hash);
    return 0;
}
