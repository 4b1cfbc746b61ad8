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
 * benchmark's), --products N (default 120, at most 100000), --images N
 * (how many of the first products get a stored garment picture, default
 * 240), --origin URL (allowed origins of the publishable key;
 * repeatable).  Writes go
 * through this process's database connection (db.h) so that everything
 * joins one transaction; the tenant, its users and its keys pass the
 * same rules as the API's (tenancy.h, accounts.h).
 */
#include "synthia/cli.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthia/accounts.h"
#include "synthia/apikey.h"
#include "synthia/cache.h"
#include "synthia/config.h"
#include "synthia/crypto.h"
#include "synthia/demo.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/password.h"
#include "synthia/jwt.h"
#include "synthia/tenancy.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define PRODUCTS_DEFAULT 120
#define ORIGINS_MAX 16
#define PASSWORD_BYTES 18

static const char usage[] =
    "usage: synthia seed-demo [--tenant SLUG] [--products N] [--images N] "
    "[--origin URL]...\n";

typedef struct seed_opts {
    const char *slug;
    int64_t products;
    int64_t images;
    const char *origins[ORIGINS_MAX];
    int norigins;
} seed_opts;

/* ------------------------------------------------------------ database */

typedef struct seed_ctx {
    sy_arena arena;
    const char *slug;
    char tid[SY_UUID_LEN + 1];
    json_object *out;
    sy_errs errs;
} seed_ctx;

static int
fail(const char *what, const char *why)
{
    fprintf(stderr, "synthia seed-demo: %s%s%s\n", what, why ? ": " : "",
            why ? why : "");
    return EXIT_FAIL;
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
describe(seed_ctx *c, const sy_tenant *t)
{
    int64_t products;
    sy_str users;
    int rc = sy_demo_summary(&c->arena, c->tid, &products, &users);
    if (rc < 0)
        return fail("cannot read what the tenant holds", sy_strerror(rc));
    json_object_object_add(c->out, "tenant", sy_tenancy_tenant_json(t));
    json_object_object_add(c->out, "created", json_object_new_boolean(0));
    json_object_object_add(c->out, "users", json_tokener_parse(users.p));
    json_object_object_add(c->out, "keys", NULL);
    json_object_object_add(c->out, "products",
                           json_object_new_int64(products));
    return print_out(c);
}

/* A rule refused what seed-demo asked for: say which. */
static int
refused(seed_ctx *c, const char *what, int rc)
{
    const char *why = sy_errs_text(&c->errs);
    return fail(what, why ? why : sy_strerror(rc));
}

static int
create_tenant(seed_ctx *c, const seed_opts *o)
{
    char name[96];
    sy_tenant t;
    snprintf(name, sizeof(name), "%s Shop",
             strcmp(c->slug, "demo") == 0 ? "Demo" : c->slug);
    sy_tenancy_new n = {.name = name, .slug = c->slug, .plan = "pro",
                        .origins = o->origins, .norigins = o->norigins};
    int rc = sy_tenancy_create_plain(&c->arena, &n, &c->errs, &t);
    if (rc < 0)
        return refused(c, "cannot create the tenant", rc);
    snprintf(c->tid, sizeof(c->tid), "%s", t.id);
    json_object_object_add(c->out, "tenant", sy_tenancy_tenant_json(&t));
    json_object_object_add(c->out, "created", json_object_new_boolean(1));
    return EXIT_OK;
}

static int
create_user(seed_ctx *c, const char *role, json_object *users)
{
    unsigned char raw[PASSWORD_BYTES];
    char pw[SY_B64URL_LEN(PASSWORD_BYTES) + 1];
    char email[160], name[64];
    sy_user u;
    sy_random_bytes(raw, sizeof(raw));
    sy_b64url_encode(pw, raw, sizeof(raw));
    snprintf(email, sizeof(email), "%s@%s.example", role, c->slug);
    snprintf(name, sizeof(name), "Demo %s", role);
    int rc = sy_accounts_create_plain(&c->arena, c->tid, sy_str_c(email),
                                      sy_str_c(name),
                                      sy_role_parse(sy_str_c(role)),
                                      sy_str_c(pw), &c->errs, &u);
    if (rc < 0) {
        explicit_bzero(pw, sizeof(pw));
        return refused(c, "cannot create a user", rc);
    }
    json_object *j = json_object_new_object();
    json_object_object_add(j, "email", json_object_new_string(email));
    json_object_object_add(j, "role", json_object_new_string(role));
    json_object_object_add(j, "password", json_object_new_string(pw));
    json_object_array_add(users, j);
    explicit_bzero(pw, sizeof(pw));
    return EXIT_OK;
}

static int
create_key(seed_ctx *c, int kind, json_object *keys)
{
    char name[32];
    sy_tenancy_key k;
    const char *kname = sy_tenancy_key_kind_name(kind);
    snprintf(name, sizeof(name), "demo %s", kname);
    int rc = sy_tenancy_key_create_plain(&c->arena, c->tid, name, kname, NULL,
                                         0, &c->errs, &k);
    if (rc < 0)
        return refused(c, "cannot create a key", rc);
    json_object_object_add(keys, kname, json_object_new_string(k.key));
    explicit_bzero(k.key, sizeof(k.key));
    return EXIT_OK;
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
create_catalog(seed_ctx *c, int64_t n, int64_t nimages)
{
    sy_errs e;
    sy_errs_init(&e, &c->arena);
    int rc = sy_demo_catalog(&c->arena, c->tid, n, nimages, &e);
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
        rc = create_catalog(c, o->products, o->images);
    if (rc != EXIT_OK) {
        sy_db_rollback();
        return rc;
    }
    if (sy_db_commit() < 0)
        return fail("the transaction failed", NULL);
    sy_cache_catalog_bump(&c->arena, NULL, c->tid);
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
        } else if (strcmp(opt, "--images") == 0) {
            if (sy_parse_i64(sy_str_c(v), 0, SY_DEMO_PRODUCTS_MAX,
                             &o->images) < 0)
                return bad_usage("--images takes 0 to 100000");
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
    seed_opts o = {.slug = "demo", .products = PRODUCTS_DEFAULT,
                   .images = SY_DEMO_IMAGES_DEFAULT};
    int rc = parse_opts(argc, argv, &o);
    if (rc)
        return rc;
    if (!sy_conf || !sy_conf->db_url)
        return bad_usage("database.url is not set");
    seed_ctx c = {.slug = o.slug, .out = json_object_new_object()};
    sy_arena_init(&c.arena, 1 << 16, 0);
    sy_errs_init(&c.errs, &c.arena);
    sy_tenant t;
    rc = sy_tenants_by_slug(&c.arena, o.slug, &t);
    if (rc == 0) {
        snprintf(c.tid, sizeof(c.tid), "%s", t.id);
        rc = describe(&c, &t);
    } else if (rc == SY_ENOTFOUND) {
        rc = seed(&c, &o);
    } else {
        rc = fail("cannot reach the database", sy_strerror(rc));
    }
    json_object_put(c.out);
    sy_arena_cleanup(&c.arena);
    sy_db_close();
    return rc;
}
