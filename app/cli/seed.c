/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * seed.c - `synthia seed-demo` (cli.h): the demo tenant "demo" (plan
 * pro, English search configuration) with an owner, a staff member and a
 * shopper, a publishable and a secret key, and the demo catalog (demo.h:
 * generated products with their embeddings, through the catalog's
 * rules), all in one transaction.
 *
 * Seeding is idempotent: when the tenant exists nothing is written and
 * what it holds is printed instead (passwords and keys were printed once,
 * when they were made).  Output: one JSON line {tenant, created, users:
 * [{email, role, password}], keys: {publishable, secret}, products: n}.
 *
 * Options for scripts: --tenant SLUG (another tenant than "demo", e.g. a
 * benchmark's), --products N (default 120, at most 100000), --origin URL
 * (allowed origins of the publishable key; repeatable).  Writes go
 * through this process's database connection (db.h) so that everything
 * joins one transaction.
 *
 * The tenant, its users and its keys are still written here with the
 * identity statements (statements.h) until the tenancy, accounts and
 * api-key rules have their domain modules (issue 9, identity half);
 * then those three steps call them and this file no longer needs libpq.
 */
#include "synthia/cli.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/apikey.h"
#include "synthia/cache.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/demo.h"
#include "synthia/db.h"
#include "synthia/statements.h"
#include "synthia/error.h"
#include "synthia/password.h"
#include "synthia/request.h"
#include "synthia/tenancy.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define PRODUCTS_DEFAULT 120
#define ORIGINS_MAX 16
#define PASSWORD_BYTES 18

static const char usage[] =
    "usage: synthia seed-demo [--tenant SLUG] [--products N] "
    "[--origin URL]...\n";

typedef struct seed_opts {
    const char *slug;
    int64_t products;
    const char *origins[ORIGINS_MAX];
    int norigins;
} seed_opts;

/* ------------------------------------------------------------ database */

typedef struct seed_ctx {
    sy_arena arena;
    const char *slug;
    char tid[SY_UUID_LEN + 1];
    json_object *out;
} seed_ctx;

static int
fail(const char *what, const char *why)
{
    fprintf(stderr, "synthia seed-demo: %s%s%s\n", what, why ? ": " : "",
            why ? why : "");
    return EXIT_FAIL;
}

/* Run a statement; 0 with the result, or a message and EXIT_FAIL. */
static int
run(seed_ctx *c, sy_db_stmt *stmt, const char *const *params, int n, PGresult **out)
{
    int rc = sy_db_exec(&c->arena, stmt, params, n, out);
    if (rc == SY_ECONFLICT)
        return fail(stmt->name, "already exists");
    if (rc < 0)
        return fail(stmt->name, sy_strerror(rc));
    return EXIT_OK;
}

static int
print_out(seed_ctx *c)
{
    puts(json_object_to_json_string_ext(
        c->out, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(stdout);
    return EXIT_OK;
}

/* The tenant exists: say what it holds, change nothing. */
static int
describe(seed_ctx *c, PGresult *t)
{
    int64_t products;
    sy_str users;
    int rc = sy_demo_summary(&c->arena, c->tid, &products, &users);
    if (rc < 0)
        return fail("cannot read what the tenant holds", sy_strerror(rc));
    json_object_object_add(c->out, "tenant", sy_tenancy_tenant_json(t, 0));
    json_object_object_add(c->out, "created", json_object_new_boolean(0));
    json_object_object_add(c->out, "users", json_tokener_parse(users.p));
    json_object_object_add(c->out, "keys", NULL);
    json_object_object_add(c->out, "products",
                           json_object_new_int64(products));
    return print_out(c);
}

static int
create_tenant(seed_ctx *c, const seed_opts *o)
{
    json_object *origins = json_object_new_array();
    for (int i = 0; i < o->norigins; i++) {
        char origin[SY_TENANCY_ORIGIN_MAX + 1];
        const char *why;
        if (sy_tenancy_origin(sy_str_c(o->origins[i]), origin,
                              sizeof(origin), &why) < 0) {
            json_object_put(origins);
            return fail("--origin", why);
        }
        json_object_array_add(origins, json_object_new_string(origin));
    }
    char name[96];
    snprintf(name, sizeof(name), "%s Shop",
             strcmp(c->slug, "demo") == 0 ? "Demo" : c->slug);
    const char *params[5] = {
        name, c->slug, NULL, "pro",
        json_object_to_json_string_ext(origins, JSON_C_TO_STRING_PLAIN)};
    PGresult *r;
    int rc = run(c, &sy_sql_tenant_insert, params, 5, &r);
    json_object_put(origins);
    if (rc != EXIT_OK)
        return rc;
    if (PQntuples(r) != 1)
        return fail("plan \"pro\" does not exist", NULL);
    snprintf(c->tid, sizeof(c->tid), "%s", PQgetvalue(r, 0, 0));
    json_object_object_add(c->out, "tenant", sy_tenancy_tenant_json(r, 0));
    json_object_object_add(c->out, "created", json_object_new_boolean(1));
    return EXIT_OK;
}

static int
create_user(seed_ctx *c, const char *role, json_object *users)
{
    unsigned char raw[PASSWORD_BYTES];
    char pw[SY_B64URL_LEN(PASSWORD_BYTES) + 1], hash[SY_PASSWORD_HASH_MAX];
    char email[160], name[64];
    sy_random_bytes(raw, sizeof(raw));
    sy_b64url_encode(pw, raw, sizeof(raw));
    if (sy_password_hash(sy_str_c(pw), hash, sizeof(hash)) < 0)
        return fail("cannot hash a password", NULL);
    snprintf(email, sizeof(email), "%s@%s.example", role, c->slug);
    snprintf(name, sizeof(name), "Demo %s", role);
    const char *params[5] = {c->tid, email, name, role, hash};
    PGresult *r;
    int rc = run(c, &sy_sql_admin_user_insert, params, 5, &r);
    explicit_bzero(hash, sizeof(hash));
    if (rc != EXIT_OK)
        return rc;
    json_object *u = json_object_new_object();
    json_object_object_add(u, "email", json_object_new_string(email));
    json_object_object_add(u, "role", json_object_new_string(role));
    json_object_object_add(u, "password", json_object_new_string(pw));
    json_object_array_add(users, u);
    explicit_bzero(pw, sizeof(pw));
    return EXIT_OK;
}

static int
create_key(seed_ctx *c, int kind, json_object *keys)
{
    char key[SY_APIKEY_LEN + 1], prefix[SY_APIKEY_PREFIX_LEN + 1];
    char hex[2 * SY_SHA256_LEN + 1], name[32];
    unsigned char hash[SY_SHA256_LEN];
    const char *kname = sy_tenancy_key_kind_name(kind);
    const char *scopes =
        sy_tenancy_scopes_text(&c->arena, sy_tenancy_key_scopes(kind));
    if (!scopes)
        return fail("out of memory", NULL);
    sy_apikey_generate(kind, key, prefix, hash);
    sy_hex(hex, hash, sizeof(hash));
    snprintf(name, sizeof(name), "demo %s", kname);
    const char *params[7] = {c->tid, name, kname, prefix, hex, scopes, NULL};
    PGresult *r;
    int rc = run(c, &sy_sql_key_insert, params, 7, &r);
    if (rc == EXIT_OK)
        json_object_object_add(keys, kname, json_object_new_string(key));
    explicit_bzero(key, sizeof(key));
    return rc;
}

static int
create_accounts(seed_ctx *c)
{
    static const char *const roles[] = {"owner", "staff", "shopper"};
    json_object *users = json_object_new_array();
    json_object *keys = json_object_new_object();
    json_object_object_add(c->out, "users", users);
    json_object_object_add(c->out, "keys", keys);
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
        if (create_user(c, roles[i], users) != EXIT_OK)
            return EXIT_FAIL;
    if (create_key(c, SY_KEY_PUBLISHABLE, keys) != EXIT_OK ||
        create_key(c, SY_KEY_SECRET, keys) != EXIT_OK)
        return EXIT_FAIL;
    return EXIT_OK;
}

/* The demo catalog and the tenant's search settings (demo.h). */
static int
create_catalog(seed_ctx *c, int64_t n)
{
    sy_errs e;
    sy_errs_init(&e, &c->arena);
    int rc = sy_demo_catalog(&c->arena, c->tid, n, &e);
    if (rc < 0)
        return fail("cannot add the demo products",
                    e.detail ? e.detail : sy_strerror(rc));
    return EXIT_OK;
}

static int
seed(seed_ctx *c, const seed_opts *o)
{
    if (sy_db_begin() < 0)
        return fail("cannot reach the database", NULL);
    int rc = create_tenant(c, o);
    if (rc == EXIT_OK)
        rc = create_accounts(c);
    if (rc == EXIT_OK)
        rc = create_catalog(c, o->products);
    if (rc != EXIT_OK) {
        sy_db_rollback();
        return rc;
    }
    if (sy_db_commit() < 0)
        return fail("the transaction failed", NULL);
    sy_cache_catalog_bump(&c->arena, c->tid);
    json_object_object_add(c->out, "products",
                           json_object_new_int64(o->products));
    return print_out(c);
}

/* ------------------------------------------------------------ options */

static int
bad_usage(const char *what)
{
    fprintf(stderr, "synthia seed-demo: %s\n%s", what, usage);
    return EXIT_USAGE;
}

static int
parse_opts(int argc, char **argv, seed_opts *o)
{
    const char *why;
    for (int i = 0; i < argc; i++) {
        const char *opt = argv[i];
        if (i + 1 >= argc)
            return bad_usage("an option is missing its value");
        const char *v = argv[++i];
        if (strcmp(opt, "--tenant") == 0) {
            if (sy_tenancy_check_slug(sy_str_c(v), &why) < 0)
                return bad_usage("--tenant is not a valid slug");
            o->slug = v;
        } else if (strcmp(opt, "--products") == 0) {
            if (sy_parse_i64(sy_str_c(v), 0, SY_DEMO_PRODUCTS_MAX, &o->products) < 0)
                return bad_usage("--products takes 0 to 100000");
        } else if (strcmp(opt, "--origin") == 0) {
            if (o->norigins == ORIGINS_MAX)
                return bad_usage("too many --origin");
            o->origins[o->norigins++] = v;
        } else {
            return bad_usage("unknown option");
        }
    }
    return 0;
}

int
sy_cli_seed_demo(int argc, char **argv)
{
    seed_opts o = {.slug = "demo", .products = PRODUCTS_DEFAULT};
    int rc = parse_opts(argc, argv, &o);
    if (rc)
        return rc;
    if (!sy_conf || !sy_conf->db_url)
        return bad_usage("database.url is not set");
    seed_ctx c = {.slug = o.slug, .out = json_object_new_object()};
    sy_arena_init(&c.arena, 1 << 16, 0);
    const char *params[1] = {o.slug};
    PGresult *t;
    rc = run(&c, &sy_sql_tenant_by_slug, params, 1, &t);
    if (rc == EXIT_OK && PQntuples(t) == 1) {
        snprintf(c.tid, sizeof(c.tid), "%s", PQgetvalue(t, 0, 0));
        rc = describe(&c, t);
    } else if (rc == EXIT_OK) {
        rc = seed(&c, &o);
    }
    json_object_put(c.out);
    sy_arena_cleanup(&c.arena);
    sy_db_close();
    return rc;
}
