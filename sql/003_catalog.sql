-- SPDX-License-Identifier: BSD-2-Clause
-- 003_catalog: products with full-text and trigram search, product
-- embeddings, orders with their lines, and idempotency records.
--
-- Applied by `synthia migrate` inside one transaction.  Forward-only.
-- pg_trgm and unaccent are "trusted" extensions (PostgreSQL 13+), so the
-- owner of the database may create them; on Debian they come with the
-- postgresql package (postgresql-contrib).

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;

-- Each shop writes in its own language: the text-search configuration
-- used for its products (simple, english, spanish, ...).
ALTER TABLE tenants
    ADD COLUMN search_config regconfig NOT NULL DEFAULT 'simple';

-- unaccent() is only STABLE (its dictionary could change); this wrapper
-- pins the dictionary so it can be used in triggers and indexes.
CREATE FUNCTION sy_unaccent(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;

-- Products of a tenant.  Deleting (DELETE /products/{id}) deactivates:
-- orders keep pointing at the row.  sku is unique per tenant among all
-- rows, active or not, so an sku always names one product.
CREATE TABLE products (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    sku text NOT NULL
        CONSTRAINT products_sku_format CHECK (sku ~ '^[A-Za-z0-9._-]{1,64}$'),
    name text NOT NULL
        CONSTRAINT products_name_length CHECK (length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT ''
        CONSTRAINT products_description_length
        CHECK (length(description) <= 10000),
    category text NOT NULL DEFAULT ''
        CONSTRAINT products_category_length CHECK (length(category) <= 100),
    price_cents bigint NOT NULL CHECK (price_cents >= 0),
    currency text NOT NULL
        CONSTRAINT products_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
    stock integer NOT NULL CONSTRAINT products_stock_nonnegative
        CHECK (stock >= 0),
    colors text[] NOT NULL DEFAULT '{}'
        CONSTRAINT products_colors_format
        CHECK (cardinality(colors) <= 32
               AND array_position(colors, NULL) IS NULL
               AND array_to_string(colors, ',')
                   ~ '^(#[0-9a-f]{6}(,#[0-9a-f]{6})*)?$'),
    attributes jsonb NOT NULL DEFAULT '{}'
        CONSTRAINT products_attributes_object
        CHECK (jsonb_typeof(attributes) = 'object'),
    image_url text
        CONSTRAINT products_image_url_format
        CHECK (image_url ~ '^https?://[^[:space:]]+$'
               AND length(image_url) <= 2048),
    active boolean NOT NULL DEFAULT true,
    -- maintained by products_search_update with the tenant's configuration
    search tsvector NOT NULL DEFAULT ''::tsvector,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT products_tenant_sku_key UNIQUE (tenant_id, sku),
    CONSTRAINT products_tenant_id_id_key UNIQUE (tenant_id, id)
);

-- Keyset pagination: ORDER BY created_at, id within a tenant.
CREATE INDEX products_tenant_created_idx
    ON products (tenant_id, created_at, id) WHERE active;
CREATE INDEX products_tenant_category_idx
    ON products (tenant_id, category) WHERE active;
CREATE INDEX products_search_idx ON products USING gin (search);
-- Typo tolerance when full text finds too little: trigram similarity on
-- the name and on the words of the description.
CREATE INDEX products_name_trgm_idx
    ON products USING gin (sy_unaccent(lower(name)) gin_trgm_ops);
CREATE INDEX products_description_trgm_idx
    ON products USING gin (sy_unaccent(lower(description)) gin_trgm_ops);

CREATE FUNCTION products_search_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    cfg regconfig;
BEGIN
    SELECT search_config INTO cfg FROM tenants WHERE id = NEW.tenant_id;
    NEW.search :=
        setweight(to_tsvector(cfg, sy_unaccent(NEW.name)), 'A') ||
        setweight(to_tsvector(cfg, sy_unaccent(NEW.category)), 'B') ||
        setweight(to_tsvector(cfg, sy_unaccent(NEW.description)), 'C');
    RETURN NEW;
END;
$$;

CREATE TRIGGER products_search BEFORE INSERT OR UPDATE OF
    name, category, description ON products
    FOR EACH ROW EXECUTE FUNCTION products_search_update();

CREATE TRIGGER products_touch BEFORE UPDATE ON products
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION sy_touch_updated_at();

-- A tenant that changes its language re-indexes its products.
CREATE FUNCTION tenants_search_config_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE products SET name = name WHERE tenant_id = NEW.id;
    RETURN NEW;
END;
$$;

CREATE TRIGGER tenants_search_config AFTER UPDATE OF search_config ON tenants
    FOR EACH ROW WHEN (OLD.search_config IS DISTINCT FROM NEW.search_config)
    EXECUTE FUNCTION tenants_search_config_changed();

-- Embeddings of products for semantic search, written in the same
-- transaction as the product.  vec is dims little-endian float32 values,
-- L2-normalised; model names the embedder that made it.
CREATE TABLE product_embeddings (
    product_id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    model text NOT NULL,
    dims smallint NOT NULL CHECK (dims BETWEEN 1 AND 4096),
    vec bytea NOT NULL CHECK (length(vec) = 4 * dims),
    updated_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, product_id)
        REFERENCES products (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX product_embeddings_tenant_idx ON product_embeddings (tenant_id);

-- Orders.  user_id is kept NULL-able: erasing a user (DELETE /users/me)
-- keeps the order, anonymised.  Lines copy the product's sku, name and
-- price at the time of ordering.
CREATE TABLE orders (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id uuid,
    status text NOT NULL DEFAULT 'pending'
        CONSTRAINT orders_status_valid
        CHECK (status IN ('pending', 'paid', 'fulfilled', 'canceled')),
    total_cents bigint NOT NULL CHECK (total_cents >= 0),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    note text CHECK (length(note) <= 1000),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orders_tenant_id_id_key UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE SET NULL (user_id)
);

CREATE INDEX orders_tenant_created_idx ON orders (tenant_id, created_at, id);
CREATE INDEX orders_user_idx ON orders (tenant_id, user_id, created_at, id);

CREATE TRIGGER orders_touch BEFORE UPDATE ON orders
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION sy_touch_updated_at();

CREATE TABLE order_items (
    order_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    line smallint NOT NULL CHECK (line BETWEEN 1 AND 100),
    product_id uuid NOT NULL,
    sku text NOT NULL,
    name text NOT NULL,
    quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    unit_price_cents bigint NOT NULL CHECK (unit_price_cents >= 0),
    PRIMARY KEY (order_id, line),
    FOREIGN KEY (tenant_id, order_id)
        REFERENCES orders (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id)
);

-- Idempotency-Key records (POST /orders, /tryon, /imports/{id}/commit):
-- the first response, replayed for the same key and body for 24 h.  The
-- scope is the caller (user or API key) so two clients cannot collide.
CREATE TABLE idempotency_keys (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    scope text NOT NULL,          -- 'u:<user id>' or 'k:<key id>'
    route text NOT NULL,          -- route pattern, e.g. 'POST /api/v1/orders'
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL CHECK (length(request_hash) = 32),
    status integer,               -- NULL while the first request runs
    content_type text,
    body bytea,
    headers jsonb,                -- e.g. {"Location": "..."}
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL DEFAULT now() + interval '24 hours',
    PRIMARY KEY (tenant_id, scope, route, key)
);

CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);
