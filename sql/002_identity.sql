-- SPDX-License-Identifier: BSD-2-Clause
-- 002_identity: refresh-token families (sessions) and API keys.
--
-- Applied by `synthia migrate` inside one transaction.  Forward-only.

-- A session is one login: the family of refresh tokens descended from it.
-- Access tokens carry the session id (claim "sid"), so revoking a session
-- ends its access tokens too (see app/auth/session.c).
CREATE TABLE sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid REFERENCES tenants (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cookie boolean NOT NULL DEFAULT false,   -- started in cookie mode
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    revoked_reason text
        CONSTRAINT sessions_revoked_reason_valid
        CHECK (revoked_reason IN ('logout', 'logout_all', 'reuse',
                                  'deactivated', 'password_changed',
                                  'role_changed', 'erased'))
);

CREATE INDEX sessions_user_idx ON sessions (user_id) WHERE revoked_at IS NULL;
-- The revocation re-push after a Redis reconnect reads recent revocations.
CREATE INDEX sessions_revoked_idx ON sessions (revoked_at)
    WHERE revoked_at IS NOT NULL;
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- Refresh tokens are opaque (256 random bits, base64url), stored only as
-- their SHA-256.  Each use rotates the token: the row records when it was
-- used and which token succeeded it.  A second use within
-- auth.refresh_reuse_grace returns that same successor, whose value is
-- re-derived from the presented token and the row's nonce (HMAC), so no
-- token is ever stored in the clear.  A use after the grace revokes the
-- whole session.
CREATE TABLE refresh_tokens (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL
        CONSTRAINT refresh_tokens_token_hash_key UNIQUE
        CONSTRAINT refresh_tokens_hash_length CHECK (length(token_hash) = 32),
    nonce bytea NOT NULL CHECK (length(nonce) = 16),
    parent_id uuid REFERENCES refresh_tokens (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    successor_id uuid REFERENCES refresh_tokens (id) ON DELETE SET NULL
);

CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);
-- Expired rows are deleted by the housekeeping query in session.c.
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);

-- API keys: pk_... (publishable, browsers) and sk_... (secret, servers).
-- The key itself is shown once at creation and stored only as SHA-256;
-- `prefix` (the kind and the first characters) identifies it in lists.
-- Rotation creates a new key and sets the old one's expires_at to the end
-- of the grace period; revocation sets revoked_at (effective at once: the
-- lookup cache is invalidated by the same request).
CREATE TABLE api_keys (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name text NOT NULL DEFAULT ''
        CONSTRAINT api_keys_name_length CHECK (length(name) <= 100),
    kind text NOT NULL
        CONSTRAINT api_keys_kind_valid CHECK (kind IN ('publishable', 'secret')),
    prefix text NOT NULL,
    key_hash bytea NOT NULL
        CONSTRAINT api_keys_key_hash_key UNIQUE
        CONSTRAINT api_keys_hash_length CHECK (length(key_hash) = 32),
    scopes text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    last_used_at timestamptz,
    expires_at timestamptz,
    revoked_at timestamptz,
    replaced_by uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    CONSTRAINT api_keys_tenant_id_id_key UNIQUE (tenant_id, id)
);

CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at, id);
