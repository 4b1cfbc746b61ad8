/*
 * seed.c - `synthia seed-demo` (cli.h): the demo tenant "demo" (plan
 * pro, English search configuration) with an owner, a staff member and a
 * shopper, a publishable and a secret key, and a deterministic catalog
 * of fashion products with their embeddings, all in one transaction.
 *
 * The catalog is generated from fixed tables (20 garment types, their
 * materials, 12 colours with real hex values): the same N products every
 * time, with English and Spanish descriptions (the description holds
 * both, so either language finds a product), categories, prices in EUR
 * and stock (every ninth product is sold out, for the in_stock filter).
 *
 * Seeding is idempotent: when the tenant exists nothing is written and
 * what it holds is printed instead (passwords and keys were printed once,
 * when they were made).  Output: one JSON line {tenant, created, users:
 * [{email, role, password}], keys: {publishable, secret}, products: n}.
 *
 * Options for scripts: --tenant SLUG (another tenant than "demo", e.g. a
 * benchmark's), --products N (default 120, at most 100000), --origin URL
 * (allowed origins of the publishable key; repeatable).  Writes go
 * through this process's database connection (db.h) so that the
 * embeddings (vectors.h) join the same transaction.
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
#include "synthia/db.h"
#include "synthia/statements.h"
#include "synthia/error.h"
#include "synthia/password.h"
#include "synthia/products.h"
#include "synthia/request.h"
#include "synthia/tenancy.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define PRODUCTS_DEFAULT 120
#define PRODUCTS_MAX 100000
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

/* ------------------------------------------------------------ catalog */

typedef struct garment {
    const char *en, *es, *category;
    int64_t base_cents;
    int materials; /* index into material_sets */
    const char *about_en, *about_es;
} garment;

typedef struct material {
    const char *en, *es;
    int price_pct;
} material;

typedef struct colour {
    const char *en, *es, *hex;
} colour;

enum { M_WOVEN, M_KNIT, M_HARD, M__SETS };

static const material material_sets[M__SETS][4] = {
    [M_WOVEN] = {{"Organic Cotton", "algodón orgánico", 100},
                 {"Linen", "lino", 120},
                 {"Silk", "seda", 190},
                 {"Wool", "lana", 150}},
    [M_KNIT] = {{"Merino Wool", "lana merino", 140},
                {"Cashmere", "cachemir", 260},
                {"Cotton", "algodón", 100},
                {"Alpaca", "alpaca", 180}},
    [M_HARD] = {{"Leather", "piel", 160},
                {"Suede", "ante", 150},
                {"Canvas", "lona", 100},
                {"Recycled Nylon", "nailon reciclado", 110}},
};

static const garment garments[] = {
    {"Shirt", "Camisa", "shirts", 5900, M_WOVEN,
     "A crisp button-down with a classic collar and a straight hem.",
     "Camisa abotonada de cuello clásico y bajo recto."},
    {"Oxford Shirt", "Camisa Oxford", "shirts", 6900, M_WOVEN,
     "A relaxed oxford weave with a button-down collar and chest pocket.",
     "Tejido oxford holgado con cuello abotonado y bolsillo en el pecho."},
    {"Blouse", "Blusa", "shirts", 6500, M_WOVEN,
     "A fluid blouse with a soft V-neck and gathered cuffs.",
     "Blusa fluida con escote de pico suave y puños fruncidos."},
    {"T-Shirt", "Camiseta", "shirts", 2900, M_KNIT,
     "A heavyweight crew-neck tee with a boxy fit.",
     "Camiseta de cuello redondo y gramaje alto con corte amplio."},
    {"Wrap Dress", "Vestido cruzado", "dresses", 11900, M_WOVEN,
     "A wrap dress that ties at the waist and falls below the knee.",
     "Vestido cruzado que se anuda a la cintura y cae bajo la rodilla."},
    {"Maxi Dress", "Vestido largo", "dresses", 12900, M_WOVEN,
     "A floor-length summer dress with thin straps and a tiered skirt.",
     "Vestido largo de verano con tirantes finos y falda de volantes."},
    {"Midi Skirt", "Falda midi", "skirts", 7900, M_WOVEN,
     "A pleated midi skirt with an elastic waistband.",
     "Falda midi plisada con cinturilla elástica."},
    {"Chinos", "Chinos", "trousers", 7900, M_WOVEN,
     "Slim chinos with a mid rise and a tapered leg.",
     "Chinos ajustados de tiro medio y pierna estrecha."},
    {"Wide-Leg Trousers", "Pantalón ancho", "trousers", 8900, M_WOVEN,
     "High-waisted trousers with a wide leg and front pleats.",
     "Pantalón de talle alto con pierna ancha y pinzas delanteras."},
    {"Jeans", "Vaqueros", "trousers", 8900, M_WOVEN,
     "Straight jeans with a five-pocket cut and a raw hem.",
     "Vaqueros rectos de cinco bolsillos con bajo sin rematar."},
    {"Blazer", "Americana", "jackets", 18900, M_WOVEN,
     "A single-breasted blazer with notch lapels and flap pockets.",
     "Americana de botonadura sencilla con solapa y bolsillos con tapeta."},
    {"Trench Coat", "Gabardina", "jackets", 22900, M_WOVEN,
     "A double-breasted trench coat with a storm flap and a belt.",
     "Gabardina cruzada con cinturón y solapa cortavientos."},
    {"Bomber Jacket", "Cazadora bomber", "jackets", 14900, M_HARD,
     "A bomber jacket with ribbed cuffs and a two-way zip.",
     "Cazadora bomber con puños de canalé y cremallera de doble cursor."},
    {"Sweater", "Jersey", "knitwear", 9900, M_KNIT,
     "A crew-neck sweater in a soft rib knit.",
     "Jersey de cuello redondo en punto de canalé suave."},
    {"Cardigan", "Cárdigan", "knitwear", 10900, M_KNIT,
     "A long cardigan with horn buttons and patch pockets.",
     "Cárdigan largo con botones de asta y bolsillos de parche."},
    {"Loafers", "Mocasines", "shoes", 12900, M_HARD,
     "Penny loafers with a stacked heel and a cushioned insole.",
     "Mocasines con tacón apilado y plantilla acolchada."},
    {"Sneakers", "Zapatillas", "shoes", 9900, M_HARD,
     "Low-top sneakers with a rubber cupsole.",
     "Zapatillas bajas con suela de goma vulcanizada."},
    {"Ankle Boots", "Botines", "shoes", 15900, M_HARD,
     "Chelsea ankle boots with elastic side panels.",
     "Botines chelsea con elásticos laterales."},
    {"Scarf", "Bufanda", "accessories", 4900, M_KNIT,
     "A long scarf with fringed ends.",
     "Bufanda larga con flecos en los extremos."},
    {"Tote Bag", "Bolso tote", "accessories", 6900, M_HARD,
     "A roomy tote bag with an inner zip pocket.",
     "Bolso tote amplio con bolsillo interior con cremallera."},
};

#define NGARMENTS ((int)(sizeof(garments) / sizeof(garments[0])))

static const colour colours[] = {
    {"Navy", "azul marino", "#1f2a44"},
    {"Black", "negro", "#111111"},
    {"Ivory", "marfil", "#fffff0"},
    {"Camel", "camel", "#c19a6b"},
    {"Burgundy", "burdeos", "#800020"},
    {"Olive", "verde oliva", "#708238"},
    {"Sky Blue", "celeste", "#87ceeb"},
    {"Blush Pink", "rosa palo", "#de5d83"},
    {"Charcoal", "gris marengo", "#36454f"},
    {"Forest Green", "verde bosque", "#228b22"},
    {"Mustard", "mostaza", "#e1ad01"},
    {"Terracotta", "terracota", "#e2725b"},
};

#define NCOLOURS ((int)(sizeof(colours) / sizeof(colours[0])))

/* Product i as the text parameters of product_insert ($2..$11). */
typedef struct product_text {
    char sku[32], name[96], price[24], stock[24], colors[32];
    char description[768], attributes[256], image[96];
    const char *category;
} product_text;

static void
make_product(int64_t i, product_text *p)
{
    const garment *g = &garments[i % NGARMENTS];
    int64_t round = i / NGARMENTS;
    const material *m = &material_sets[g->materials][round % 4];
    const colour *c = &colours[(round + 3 * (i % NGARMENTS)) % NCOLOURS];
    const colour *c2 = &colours[(round + 3 * (i % NGARMENTS) + 5) % NCOLOURS];
    int64_t cents = g->base_cents * m->price_pct / 100 / 100 * 100 + 95;

    snprintf(p->sku, sizeof(p->sku), "SY-%05lld", (long long)i + 1);
    snprintf(p->name, sizeof(p->name), "%s %s %s", c->en, m->en, g->en);
    if (round >= 12) /* past the distinct combinations: number the rest */
        snprintf(p->name + strlen(p->name), sizeof(p->name) - strlen(p->name),
                 " No. %lld", (long long)round / 12 + 1);
    snprintf(p->price, sizeof(p->price), "%lld", (long long)cents);
    snprintf(p->stock, sizeof(p->stock), "%lld",
             i % 9 == 4 ? 0LL : (long long)((i * 37 + 11) % 60 + 1));
    if (i % 3 == 0)
        snprintf(p->colors, sizeof(p->colors), "[\"%s\",\"%s\"]", c->hex,
                 c2->hex);
    else
        snprintf(p->colors, sizeof(p->colors), "[\"%s\"]", c->hex);
    snprintf(p->description, sizeof(p->description),
             "%s Made of %s in %s. / %s de %s en color %s. %s", g->about_en,
             m->en, c->en, g->es, m->es, c->es, g->about_es);
    for (char *s = p->description + strlen(g->about_en) + 9; *s && *s != '.';
         s++)
        if (*s >= 'A' && *s <= 'Z') /* "Made of linen", not "Linen" */
            *s = (char)(*s - 'A' + 'a');
    snprintf(p->attributes, sizeof(p->attributes),
             "{\"material\":\"%s\",\"material_es\":\"%s\","
             "\"color_name\":\"%s\",\"color_name_es\":\"%s\"}",
             m->en, m->es, c->en, c->es);
    snprintf(p->image, sizeof(p->image),
             "https://demo.synthia.example/img/%s.jpg", p->sku);
    p->category = g->category;
}

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
    const char *params[1] = {c->tid};
    PGresult *r;
    if (run(c, &sy_sql_seed_tenant_summary, params, 1, &r) != EXIT_OK)
        return EXIT_FAIL;
    json_object_object_add(c->out, "tenant", sy_tenancy_tenant_json(t, 0));
    json_object_object_add(c->out, "created", json_object_new_boolean(0));
    json_object_object_add(c->out, "users",
                           json_tokener_parse(PQgetvalue(r, 0, 1)));
    json_object_object_add(c->out, "keys", NULL);
    json_object_object_add(
        c->out, "products",
        json_object_new_int64(strtoll(PQgetvalue(r, 0, 0), NULL, 10)));
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
    const char *cfg[2] = {c->tid, "english"};
    return run(c, &sy_sql_seed_tenant_config, cfg, 2, &r);
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

/* Product i and its embedding, as the catalog's rules write them. */
static int
create_product(seed_ctx *c, int64_t i)
{
    product_text p;
    make_product(i, &p);
    sy_product_fields f = {
        .sku = p.sku, .name = p.name, .description = p.description,
        .category = p.category, .price = p.price, .currency = "EUR",
        .stock = p.stock, .colors = p.colors, .attributes = p.attributes,
        .image_url = p.image};
    sy_errs e;
    sy_product_row row;
    sy_errs_init(&e, &c->arena);
    int rc = sy_products_add(&c->arena, c->tid, &f, &e, &row);
    if (rc < 0)
        return fail("cannot add a product",
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
    for (int64_t i = 0; rc == EXIT_OK && i < o->products; i++) {
        rc = create_product(c, i);
        if (i % 256 == 255)
            sy_arena_reset(&c->arena); /* results of the rows before */
    }
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
            if (sy_parse_i64(sy_str_c(v), 0, PRODUCTS_MAX, &o->products) < 0)
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
