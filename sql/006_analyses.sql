-- SPDX-License-Identifier: BSD-2-Clause
-- 006_analyses: colour and facial analyses of a shopper's photo, and the
-- feedback shoppers and shops give on analyses and recommendations.
--
-- Applied by `synthia migrate` inside one transaction.  Forward-only.

-- One analysis: what a provider said about an upload.  The photo itself
-- is never stored (uploads live in Redis with a TTL); its SHA-256 is, so
-- that the result cache and a later re-analysis can be matched to it.
-- A user's analyses go with the user (erasure, DELETE /users/me); an
-- analysis made with an API key has no user and stays with the tenant.
CREATE TABLE analyses (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id uuid,
    key_id uuid,
    type text NOT NULL
        CONSTRAINT analyses_type_valid CHECK (type IN ('chromatic', 'facial')),
    upload_sha256 text NOT NULL
        CONSTRAINT analyses_sha256_format CHECK (upload_sha256 ~ '^[0-9a-f]{64}$'),
    provider text NOT NULL CHECK (length(provider) BETWEEN 1 AND 100),
    model text NOT NULL DEFAULT '' CHECK (length(model) <= 200),
    result jsonb NOT NULL,
    duration_ms integer NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    cached boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT analyses_tenant_id_id_key UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, key_id)
        REFERENCES api_keys (tenant_id, id) ON DELETE SET NULL (key_id)
);

CREATE INDEX analyses_user_idx ON analyses (tenant_id, user_id, created_at, id);
CREATE INDEX analyses_tenant_created_idx ON analyses (tenant_id, created_at, id);

-- Feedback on something Synthia produced.  target_id is an analysis for
-- 'analysis', and for 'recommendation' the analysis the recommendations
-- were computed from; 'generation' (a try-on result) is accepted once
-- try-on jobs exist.  Erased with its user.
CREATE TABLE feedback (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id uuid,
    key_id uuid,
    target_type text NOT NULL
        CONSTRAINT feedback_target_type_valid
        CHECK (target_type IN ('analysis', 'generation', 'recommendation')),
    target_id uuid NOT NULL,
    rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment text CHECK (length(comment) <= 2000),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, key_id)
        REFERENCES api_keys (tenant_id, id) ON DELETE SET NULL (key_id)
);

CREATE INDEX feedback_tenant_created_idx ON feedback (tenant_id, created_at, id);
CREATE INDEX feedback_target_idx ON feedback (tenant_id, target_type, target_id);
