/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * demo.c (domain) - the demo shop of `synthia seed-demo` (demo.h).
 *
 * The catalog is generated from fixed tables (20 garment types, their
 * materials, 12 colours with real hex values): the same N products every
 * time, with English and Spanish descriptions (the description holds
 * both, so either language finds a product), categories, prices in EUR
 * and stock (every ninth product is sold out, for the in_stock filter).
 * Products go through the catalog's rules (sy_products_add), so each
 * gets its embedding in the caller's transaction, exactly as one made
 * through the API.  The first ones also get a stored image
 * (prodimages.h): a flat garment silhouette of their category (a shirt,
 * dress, skirt, trousers, shoe or bag shape) in their first colour with a
 * darker outline, on white, drawn here, so that the storefront and the
 * local try-on compositor have pictures without any network.
 */
#include "synthia/demo.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "synthia/demo_db.h"
#include "synthia/error.h"
#include "synthia/prodimages.h"

#define ARENA_ROWS 256 /* products per scratch arena reset */

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

/* The product's fields, pointing into p. */
static void
fields_of(const sy_demo_product *p, const char *category,
          sy_product_fields *f)
{
    *f = (sy_product_fields){
        .sku = p->sku, .name = p->name, .description = p->description,
        .category = category, .price = p->price, .currency = "EUR",
        .stock = p->stock, .colors = p->colors, .attributes = p->attributes,
        .image_url = p->image};
}

void
sy_demo_product_make(int64_t i, sy_demo_product *p, sy_product_fields *f)
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
    fields_of(p, g->category, f);
}

/* ------------------------------------------------------------ images */

/* The silhouette of a garment of the category: is (u, v), in 1/1000 of
 * the picture's width and height from its top left, inside it? */
static bool
silhouette(const char *category, int u, int v)
{
    int du = u > 500 ? u - 500 : 500 - u; /* distance from the middle */
    if (strcmp(category, "dresses") == 0) {
        if (v >= 100 && v < 400) /* bodice with straps */
            return du < 160 && !(v < 180 && du < 90);
        if (v >= 400 && v < 950) /* the skirt widens */
            return du < 160 + (v - 400) * 160 / 550;
        return false;
    }
    if (strcmp(category, "skirts") == 0)
        return v >= 150 && v < 850 && du < 200 + (v - 150) * 150 / 700;
    if (strcmp(category, "trousers") == 0) {
        if (v >= 80 && v < 220)
            return du < 220;
        return v >= 220 && v < 950 && du < 220 && du > 12;
    }
    if (strcmp(category, "shoes") == 0)
        return (v >= 560 && v < 800 && du < 350) ||
               (v >= 320 && v < 560 && u >= 150 && u < 500);
    if (strcmp(category, "accessories") == 0)
        return v >= 300 && v < 900 && du < 280;
    /* shirts, knitwear, jackets: a body, sleeves, a round neck */
    int neck_v = v - 100;
    if (du * du + neck_v * neck_v < 90 * 90)
        return false;
    bool jacket = strcmp(category, "jackets") == 0;
    if (v >= 100 && v < (jacket ? 950 : 920) && du < 220)
        return true;
    if (jacket) /* long sleeves */
        return v >= 100 && v < 720 && du >= 220 && du < 390 - v / 20;
    return v >= 100 && v < 380 && du >= 220 && du < 400 - (v - 100) / 4;
}

int
sy_demo_garment_image(sy_arena *a, int64_t i, sy_image *out)
{
    const garment *g = &garments[i % NGARMENTS];
    int64_t round = i / NGARMENTS;
    const colour *c = &colours[(round + 3 * (i % NGARMENTS)) % NCOLOURS];
    unsigned char fill[3], edge[3];
    for (int k = 0; k < 3; k++) {
        unsigned v = 0;
        for (int d = 0; d < 2; d++) {
            char h = c->hex[1 + 2 * k + d];
            v = v * 16 + (unsigned)(h <= '9' ? h - '0' : h - 'a' + 10);
        }
        fill[k] = (unsigned char)v;
        edge[k] = (unsigned char)(v * 3 / 5); /* a darker outline, so that
                                                  ivory shows on white */
    }
    uint32_t w = SY_DEMO_IMAGE_W, h = SY_DEMO_IMAGE_H;
    unsigned char *rgb = sy_arena_alloc(a, (size_t)w * h * 3);
    if (!rgb)
        return SY_ENOMEM;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            int u = (int)(x * 1000 / w), v = (int)(y * 1000 / h);
            unsigned char *p = rgb + ((size_t)y * w + x) * 3;
            if (!silhouette(g->category, u, v)) {
                p[0] = p[1] = p[2] = 255;
                continue;
            }
            /* the outline: a point 6 pixels away is outside */
            int d = 6 * 1000 / (int)w, dv = 6 * 1000 / (int)h;
            bool border = !silhouette(g->category, u - d, v) ||
                          !silhouette(g->category, u + d, v) ||
                          !silhouette(g->category, u, v - dv) ||
                          !silhouette(g->category, u, v + dv);
            memcpy(p, border ? edge : fill, 3);
        }
    *out = (sy_image){.type = SY_IMAGE_NONE, .src_width = w,
                      .src_height = h, .width = w, .height = h, .rgb = rgb};
    return 0;
}

int
sy_demo_catalog(sy_arena *a, const char *tenant, int64_t n, int64_t nimages,
                sy_errs *e)
{
    int rc = sy_demo_db_search_config(a, tenant, "english");
    if (rc < 0)
        return rc;
    sy_arena scratch; /* the rows of each batch of products */
    sy_arena pixels;  /* one product's pictures */
    sy_arena_init(&scratch, 1 << 16, 0);
    sy_arena_init(&pixels, 1 << 20, 0);
    for (int64_t i = 0; rc == 0 && i < n && i < SY_DEMO_PRODUCTS_MAX; i++) {
        sy_demo_product buf;
        sy_product_fields f;
        sy_product_row row;
        sy_image img;
        sy_prodimage full;
        sy_demo_product_make(i, &buf, &f);
        rc = sy_products_add(&scratch, tenant, &f, e, &row);
        if (rc == 0 && i < nimages) {
            rc = sy_demo_garment_image(&pixels, i, &img);
            if (rc == 0)
                rc = sy_prodimages_put_pixels(&pixels, tenant, row.id, &img,
                                              &full);
            sy_arena_reset(&pixels);
        }
        if (i % ARENA_ROWS == ARENA_ROWS - 1)
            sy_arena_reset(&scratch);
    }
    sy_arena_cleanup(&pixels);
    sy_arena_cleanup(&scratch);
    return rc;
}

int
sy_demo_summary(sy_arena *a, const char *tenant, int64_t *products,
                sy_str *users)
{
    return sy_demo_db_summary(a, tenant, products, users);
}
