/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prodimages.c (store) - product images in PostgreSQL (prodimages_db.h).
 *
 * The image bytes go to the server as binary parameters (no hex or
 * escaping on the way in) and come back in bytea's hex text form,
 * decoded here into the arena.  A put is one statement: it updates the
 * product (which locks its row, so two puts of one product queue up)
 * and upserts both sizes only when the product exists.
 */
#include "synthia/prodimages_db.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/error.h"

/* $1 tenant, $2 product; full: $3 type, $4 width, $5 height, $6 sha256,
 * $7 bytes; thumb: $8 .. $12 the same.  Columns: id, sizes written. */
static sy_db_stmt sql_put = SY_DB_STMT_DURABLE(
    "product_image_put",
    "WITH p AS (UPDATE products SET image_sha256 = $6 "
    "WHERE tenant_id = $1::uuid AND id = $2::uuid RETURNING id), "
    "i AS (INSERT INTO product_images AS x (tenant_id, product_id, size, "
    "content_type, width, height, sha256, data) "
    "SELECT $1::uuid, p.id, s.size, s.ct, s.w, s.h, s.sha, s.data "
    "FROM p, (VALUES ('full', $3::text, $4::integer, $5::integer, "
    "$6::text, $7::bytea), ('thumb', $8::text, $9::integer, "
    "$10::integer, $11::text, $12::bytea)) AS s(size, ct, w, h, sha, data) "
    "ON CONFLICT (tenant_id, product_id, size) DO UPDATE SET "
    "content_type = excluded.content_type, width = excluded.width, "
    "height = excluded.height, sha256 = excluded.sha256, "
    "data = excluded.data, updated_at = clock_timestamp() RETURNING 1) "
    "SELECT p.id, (SELECT count(*) FROM i) FROM p",
    12);
/* $1 tenant, $2 product, $3 size, $4 whether inactive products count.
 * Columns: type, width, height, sha256, data, the product's version. */
static sy_db_stmt sql_get = SY_DB_STMT(
    "product_image_get",
    "SELECT i.content_type, i.width, i.height, i.sha256, i.data, "
    "left(p.image_sha256, 16) "
    "FROM product_images i JOIN products p "
    "ON p.tenant_id = i.tenant_id AND p.id = i.product_id "
    "WHERE i.tenant_id = $1::uuid AND i.product_id = $2::uuid "
    "AND i.size = $3 AND (p.active OR $4::boolean)",
    4);
/* $1 tenant, $2 product.  One row when the product exists. */
static sy_db_stmt sql_delete = SY_DB_STMT_DURABLE(
    "product_image_delete",
    "WITH d AS (DELETE FROM product_images "
    "WHERE tenant_id = $1::uuid AND product_id = $2::uuid), "
    "u AS (UPDATE products SET image_sha256 = NULL "
    "WHERE tenant_id = $1::uuid AND id = $2::uuid "
    "AND image_sha256 IS NOT NULL RETURNING id) "
    "SELECT p.id FROM products p "
    "WHERE p.tenant_id = $1::uuid AND p.id = $2::uuid",
    2);

int
sy_prodimages_db_put(sy_arena *a, const char *tenant, const char *product_id,
                     const sy_prodimage *full, const sy_prodimage *thumb)
{
    char fw[24], fh[24], tw[24], th[24];
    snprintf(fw, sizeof(fw), "%lld", (long long)full->width);
    snprintf(fh, sizeof(fh), "%lld", (long long)full->height);
    snprintf(tw, sizeof(tw), "%lld", (long long)thumb->width);
    snprintf(th, sizeof(th), "%lld", (long long)thumb->height);
    const char *params[12] = {tenant,        product_id,
                              full->content_type, fw, fh, full->sha256,
                              full->data.p,  thumb->content_type,
                              tw,            th, thumb->sha256,
                              thumb->data.p};
    int lengths[12] = {-1, -1, -1, -1, -1, -1, (int)full->data.len,
                       -1, -1, -1, -1, (int)thumb->data.len};
    if (full->data.len > INT32_MAX || thumb->data.len > INT32_MAX)
        return SY_EINVAL;
    int rc = sy_db_send(&sql_put, params, lengths, 12);
    PGresult *r;
    if (rc == 0)
        rc = sy_db_wait(a, &r);
    if (rc < 0)
        return rc;
    return sy_db_rows(r) == 1 ? 0 : SY_ENOTFOUND;
}

/* bytea's text form, "\x" and hex, into the arena */
static int
bytea_of(sy_arena *a, sy_str hex, sy_str *out)
{
    if (hex.len < 2 || hex.p[0] != '\\' || hex.p[1] != 'x')
        return SY_EINTERNAL; /* bytea_output = escape: not ours */
    size_t cap = (hex.len - 2) / 2, n;
    unsigned char *buf = sy_arena_alloc(a, cap ? cap : 1);
    if (!buf)
        return SY_ENOMEM;
    if (sy_unhex(buf, cap, hex.p + 2, &n) < 0)
        return SY_EINTERNAL;
    *out = (sy_str){(const char *)buf, n};
    return 0;
}

int
sy_prodimages_db_get(sy_arena *a, const char *tenant, const char *product_id,
                     const char *size, bool with_inactive, sy_prodimage *out)
{
    const char *params[4] = {tenant, product_id, size,
                             with_inactive ? "true" : "false"};
    PGresult *r;
    int rc = sy_db_exec_row(a, &sql_get, params, 4, &r);
    if (rc < 0)
        return rc;
    sy_prodimage img = {.content_type = sy_db_cstr(r, 0, 0),
                        .width = sy_db_i64(r, 0, 1),
                        .height = sy_db_i64(r, 0, 2)};
    snprintf(img.sha256, sizeof(img.sha256), "%s", sy_db_cstr(r, 0, 3));
    snprintf(img.version, sizeof(img.version), "%s", sy_db_cstr(r, 0, 5));
    if ((rc = bytea_of(a, sy_db_str(r, 0, 4), &img.data)) < 0)
        return rc;
    *out = img;
    return 0;
}

int
sy_prodimages_db_delete(sy_arena *a, const char *tenant,
                        const char *product_id)
{
    const char *params[2] = {tenant, product_id};
    PGresult *r;
    return sy_db_exec_row(a, &sql_delete, params, 2, &r);
}
