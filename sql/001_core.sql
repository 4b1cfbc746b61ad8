-- SPDX-License-Identifier: BSD-2-Clause
-- 001_core: plans, tenants and users, the tables every later feature
-- hangs off.
--
-- Applied by `synthia migrate` inside one transaction (so no BEGIN/COMMIT
-- here) and recorded in schema_migrations.  Forward-only: never edit this
-- file once released; change the schema in a new NNN_name.sql.
-- Built-ins only: gen_random_uuid() is core since PostgreSQL 13.

-- Keeps updated_at honest whichever code path writes the row.  The
-- triggers below fire only when the row really changes.
CREATE FUNCTION sy_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- Plans set the per-minute request limits of every API key of a tenant,
-- one limit per cost class (read, write, ai).  The seed rows are defaults:
-- operators may edit the limits or add plans; the application reads them.
CREATE TABLE plans (
    id text PRIMARY KEY
        CONSTRAINT plans_id_format CHECK (id ~ '^[a-z][a-z0-9_]{0,31}$'),
    name text NOT NULL
        CONSTRAINT plans_name_length CHECK (length(name) BETWEEN 1 AND 100),
    read_per_min integer NOT NULL CHECK (read_per_min >= 0),
    write_per_min integer NOT NULL CHECK (write_per_min >= 0),
    ai_per_min integer NOT NULL CHECK (ai_per_min >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER plans_touch BEFORE UPDATE ON plans
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION sy_touch_updated_at();

INSERT INTO plans (id, name, read_per_min, write_per_min, ai_per_min) VALUES
    ('free', 'Free', 600, 120, 5),
    ('basic', 'Basic', 3000, 600, 20),
    ('pro', 'Pro', 12000, 2400, 60),
    ('enterprise', 'Enterprise', 60000, 12000, 200);

-- A tenant is one shop.  Every tenant-owned row in later tables carries
-- tenant_id and every query on it filters by the caller's tenant.  The
-- slug is a DNS label (lower case, 1-63 characters, no leading or
-- trailing hyphen) so it can name a subdomain.  allowed_origins are the
-- browser origins accepted with the tenant's publishable keys.
CREATE TABLE tenants (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL
        CONSTRAINT tenants_name_length
        CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    slug text NOT NULL
        CONSTRAINT tenants_slug_key UNIQUE
        CONSTRAINT tenants_slug_format
        CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
    website text
        CONSTRAINT tenants_website_format
        CHECK (website ~ '^https?://[^[:space:]]+$'
               AND length(website) <= 2048),
    -- A plan in use cannot be deleted; renaming its id follows through.
    plan_id text NOT NULL REFERENCES plans (id) ON UPDATE CASCADE,
    active boolean NOT NULL DEFAULT true,
    allowed_origins text[] NOT NULL DEFAULT '{}'
        CONSTRAINT tenants_allowed_origins_valid
        CHECK (cardinality(allowed_origins) <= 100
               AND array_position(allowed_origins, NULL) IS NULL),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX tenants_plan_id_idx ON tenants (plan_id);
-- Keyset pagination of GET /tenants: ORDER BY created_at, id.
CREATE INDEX tenants_created_idx ON tenants (created_at, id);

CREATE TRIGGER tenants_touch BEFORE UPDATE ON tenants
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION sy_touch_updated_at();

-- Users of a tenant (shopper < staff < owner) and platform sysadmins,
-- who belong to no tenant.  An email is unique per tenant, compared
-- case-insensitively; the sysadmins share one namespace (the all-zero
-- uuid in the index).  password_hash is an argon2id PHC string, NULL for
-- an account that cannot log in with a password.  Deleting a tenant
-- deletes its users.
CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid REFERENCES tenants (id) ON DELETE CASCADE,
    email text NOT NULL
        CONSTRAINT users_email_format
        CHECK (length(email) BETWEEN 3 AND 254
               AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    name text NOT NULL DEFAULT ''
        CONSTRAINT users_name_length CHECK (length(name) <= 200),
    role text NOT NULL
        CONSTRAINT users_role_valid
        CHECK (role IN ('shopper', 'staff', 'owner', 'sysadmin')),
    password_hash text,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz,
    CONSTRAINT users_sysadmin_tenantless
        CHECK ((role = 'sysadmin') = (tenant_id IS NULL)),
    -- Lets tenant-owned tables reference (tenant_id, user_id) so that a
    -- row can never point at another tenant's user.
    CONSTRAINT users_tenant_id_id_key UNIQUE (tenant_id, id)
);

CREATE UNIQUE INDEX users_tenant_email_key ON users (
    coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid),
    lower(email)
);
-- Keyset pagination of a tenant's users: ORDER BY created_at, id.
CREATE INDEX users_tenant_created_idx ON users (tenant_id, created_at, id);

-- Recording a login (last_login_at) is not a change of the account.
CREATE TRIGGER users_touch BEFORE UPDATE ON users
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*
                       AND OLD.last_login_at IS NOT DISTINCT FROM
                           NEW.last_login_at)
    EXECUTE FUNCTION sy_touch_updated_at();
