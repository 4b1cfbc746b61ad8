/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_demo.c - unit tests of the demo catalog's generator (demo.h):
 * the same products every time, within the catalog's own rules (every
 * generated product passes sy_products_read), sold-out and numbered
 * products where the tables put them, and their garment pictures.
 * Seeding itself is covered by
 * tests/integration/test_seed.py.
 */
#include <stdio.h>
#include <string.h>

#include "sycheck.h"
#include "synthia/demo.h"
#include "synthia/error.h"

SY_CHECK_FIXTURE(1 << 16)

START_TEST(test_the_first_product)
{
    sy_demo_product buf;
    sy_product_fields f;
    sy_demo_product_make(0, &buf, &f);
    ck_assert_str_eq(f.sku, "SY-00001");
    ck_assert_str_eq(f.name, "Navy Organic Cotton Shirt");
    ck_assert_str_eq(f.category, "shirts");
    ck_assert_str_eq(f.price, "5995");
    ck_assert_str_eq(f.currency, "EUR");
    ck_assert_str_eq(f.stock, "12");
    ck_assert_str_eq(f.colors, "[\"#1f2a44\",\"#708238\"]");
    ck_assert_str_eq(f.description,
                     "A crisp button-down with a classic collar and a "
                     "straight hem. Made of organic cotton in navy. / "
                     "Camisa de algod\xc3\xb3n org\xc3\xa1nico en color azul "
                     "marino. Camisa abotonada de cuello cl\xc3\xa1sico y "
                     "bajo recto.");
    ck_assert_str_eq(f.image_url,
                     "https://demo.synthia.example/img/SY-00001.jpg");
}
END_TEST

START_TEST(test_the_same_products_every_time)
{
    for (int64_t i = 0; i < 500; i += 37) {
        sy_demo_product a, b;
        sy_product_fields fa, fb;
        memset(&a, 0, sizeof(a)); /* bytes past each string compare too */
        memset(&b, 0, sizeof(b));
        sy_demo_product_make(i, &a, &fa);
        sy_demo_product_make(i, &b, &fb);
        ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
        ck_assert_str_eq(fa.category, fb.category);
    }
}
END_TEST

START_TEST(test_every_ninth_is_sold_out_and_late_ones_are_numbered)
{
    sy_demo_product buf;
    sy_product_fields f;
    for (int64_t i = 0; i < 90; i++) {
        sy_demo_product_make(i, &buf, &f);
        ck_assert_msg((strcmp(f.stock, "0") == 0) == (i % 9 == 4),
                      "product %lld stock %s", (long long)i, f.stock);
    }
    sy_demo_product_make(239, &buf, &f);
    ck_assert_ptr_null(strstr(f.name, " No. "));
    sy_demo_product_make(240, &buf, &f);
    ck_assert_ptr_nonnull(strstr(f.name, " No. 2"));
    sy_demo_product_make(99999, &buf, &f);
    ck_assert_str_eq(f.sku, "SY-100000");
}
END_TEST

static int64_t
number(const char *s)
{
    int64_t v = -1;
    ck_assert_int_eq(sy_parse_i64(sy_str_c(s), 0, INT64_MAX, &v), 0);
    return v;
}

/* The product's fields as the JSON body the API would take. */
static json_object *
as_body(const sy_product_fields *f)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "sku", json_object_new_string(f->sku));
    json_object_object_add(o, "name", json_object_new_string(f->name));
    json_object_object_add(o, "description",
                           json_object_new_string(f->description));
    json_object_object_add(o, "category", json_object_new_string(f->category));
    json_object_object_add(o, "price_cents",
                           json_object_new_int64(number(f->price)));
    json_object_object_add(o, "currency", json_object_new_string(f->currency));
    json_object_object_add(o, "stock", json_object_new_int64(number(f->stock)));
    json_object_object_add(o, "colors", json_tokener_parse(f->colors));
    json_object_object_add(o, "attributes", json_tokener_parse(f->attributes));
    json_object_object_add(o, "image_url",
                           json_object_new_string(f->image_url));
    return o;
}

START_TEST(test_generated_products_pass_the_catalog_rules)
{
    for (int64_t i = 0; i < 300; i++) {
        sy_demo_product buf;
        sy_product_fields f, read;
        sy_demo_product_make(i, &buf, &f);
        json_object *body = as_body(&f);
        int rc = sy_products_read(&A, body, true, &E, &read);
        json_object_put(body);
        ck_assert_msg(rc == 0, "product %lld: %s", (long long)i,
                      sy_errs_text(&E));
        ck_assert_str_eq(read.colors, f.colors);
        ck_assert_str_eq(read.name, f.name);
        sy_arena_reset(&A);
        sy_errs_init(&E, &A);
    }
}
END_TEST

/* Product i's picture: white around, its colour inside, a darker
 * outline between; the same pixels every time. */
START_TEST(test_garment_pictures)
{
    for (int64_t i = 0; i < 60; i++) {
        sy_demo_product buf;
        sy_product_fields f;
        sy_demo_product_make(i, &buf, &f);
        unsigned fill[3];
        ck_assert_int_eq(sscanf(f.colors, "[\"#%2x%2x%2x", &fill[0],
                                &fill[1], &fill[2]),
                         3);
        sy_image img, again;
        ck_assert_int_eq(sy_demo_garment_image(&A, i, &img), 0);
        ck_assert_int_eq(sy_demo_garment_image(&A, i, &again), 0);
        ck_assert_uint_eq(img.width, SY_DEMO_IMAGE_W);
        ck_assert_uint_eq(img.height, SY_DEMO_IMAGE_H);
        size_t n = (size_t)img.width * img.height;
        ck_assert_int_eq(memcmp(img.rgb, again.rgb, n * 3), 0);
        size_t white = 0, inside = 0, outline = 0;
        for (size_t k = 0; k < n; k++) {
            const unsigned char *p = img.rgb + k * 3;
            if (p[0] == 255 && p[1] == 255 && p[2] == 255)
                white++;
            else if (p[0] == fill[0] && p[1] == fill[1] && p[2] == fill[2])
                inside++;
            else if (p[0] == fill[0] * 3 / 5 && p[1] == fill[1] * 3 / 5 &&
                     p[2] == fill[2] * 3 / 5)
                outline++;
        }
        ck_assert_msg(inside > n / 10 && white > n / 5 && outline > 200 &&
                          white + inside + outline == n,
                      "product %lld (%s): %zu inside, %zu white, %zu outline",
                      (long long)i, f.category, inside, white, outline);
        ck_assert_int_eq(img.rgb[0], 255); /* the corners are background */
        ck_assert_int_eq(img.rgb[n * 3 - 1], 255);
        sy_arena_reset(&A);
    }
}
END_TEST

int
main(void)
{
    return sy_check_suite(
        "demo", setup, teardown,
        (const TTest *[]){
            test_the_first_product, test_the_same_products_every_time,
            test_every_ninth_is_sold_out_and_late_ones_are_numbered,
            test_generated_products_pass_the_catalog_rules,
            test_garment_pictures, NULL});
}
