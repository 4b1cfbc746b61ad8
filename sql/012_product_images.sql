-- SPDX-License-Identifier: BSD-2-Clause
-- 012_product_images: product images stored in Synthia (PUT / GET /
-- DELETE /api/v1/products/{id}/image, issue 14).
--
-- Applied by `synthia migrate` inside one transaction.  Forward-only.
--
-- An image is kept in the sizes the storefront shows, each re-encoded
-- by Synthia from the decoded pixels (so no EXIF, GPS or other metadata
-- of the original survives): 'full', at most 1024 pixels a side, and
-- 'thumb', at most 256.  Both are JPEG today; content_type says so per
-- row.  The rows go with their product and its tenant (ON DELETE
-- CASCADE); deactivating a product keeps them, for when it comes back.
--
-- products.image_sha256 is the sha256 of the stored 'full' image (NULL:
-- none): the product's JSON shows the image's path from it without a
-- join, and a write of the image moves the product's updated_at (its
-- ETag) in the same statement.  image_url stays the tenant's own
-- external URL, which Synthia never fetches.

ALTER TABLE products
    ADD COLUMN image_sha256 text
        CONSTRAINT products_image_sha256_format
        CHECK (image_sha256 ~ '^[0-9a-f]{64}$');

CREATE TABLE product_images (
    tenant_id uuid NOT NULL,
    product_id uuid NOT NULL,
    size text NOT NULL CHECK (size IN ('full', 'thumb')),
    content_type text NOT NULL
        CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    width integer NOT NULL CHECK (width BETWEEN 1 AND 16384),
    height integer NOT NULL CHECK (height BETWEEN 1 AND 16384),
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    data bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, product_id, size),
    FOREIGN KEY (tenant_id, product_id)
        REFERENCES products (tenant_id, id) ON DELETE CASCADE
);
-- JPEG bytes do not compress: keep them out of line without trying
ALTER TABLE product_images ALTER COLUMN data SET STORAGE EXTERNAL;
