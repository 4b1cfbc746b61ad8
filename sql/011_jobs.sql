-- SPDX-License-Identifier: BSD-2-Clause
-- 011_jobs: virtual try-on jobs (POST /api/v1/tryon, /api/v1/jobs/*) and
-- the inputs and results that go with them (issue 14).
--
-- Applied by `synthia migrate` inside one transaction.  Forward-only.
--
-- The job row is the source of truth; the Redis stream a worker reads
-- only carries job ids, so a stream that Redis lost is rebuilt from the
-- rows still queued (the worker's sweep).  A job's inputs are copied
-- here when it is accepted (uploads live in Redis with a TTL and Redis
-- may lose them) and its result image is kept here until
-- result_expires_at (jobs.result_retention); both go with the job, and a
-- user's jobs go with the user (erasure, DELETE /users/me).
--
-- version moves on every change a client can see (status, attempts,
-- result); it is the job's ETag and what a parked GET /jobs/{id}?wait=
-- compares.  Every such change is also published on the Redis channel
-- sy:job:<id> (message: the new status) after it commits.

CREATE TABLE jobs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id uuid,
    key_id uuid,
    status text NOT NULL DEFAULT 'queued'
        CONSTRAINT jobs_status_valid
        CHECK (status IN ('queued', 'running', 'done', 'error', 'canceled')),
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
    -- sha256 (hex) of the inputs and provider parameters: identical
    -- inputs of the same tenant finished within 24 h answer the same job.
    input_hash text NOT NULL
        CONSTRAINT jobs_input_hash_format CHECK (input_hash ~ '^[0-9a-f]{64}$'),
    garment_product_ids uuid[] NOT NULL DEFAULT '{}',
    provider text,
    model text,
    provider_job_id text,
    error text,
    result bytea,
    result_type text
        CONSTRAINT jobs_result_type_valid
        CHECK (result_type IS NULL OR result_type IN
               ('image/jpeg', 'image/png', 'image/webp')),
    result_expires_at timestamptz,
    duration_ms bigint CHECK (duration_ms >= 0),
    provider_duration_ms bigint CHECK (provider_duration_ms >= 0),
    cold_start boolean,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at timestamptz,
    completed_at timestamptz,
    -- scheduling: when a failed attempt may run again (back-off), and who
    -- holds the job while it runs (the worker's lease, renewed by
    -- heartbeats; a lapsed lease is a stalled attempt).
    next_attempt_at timestamptz,
    lease_owner text,
    lease_until timestamptz,
    CONSTRAINT jobs_tenant_id_id_key UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, key_id)
        REFERENCES api_keys (tenant_id, id) ON DELETE SET NULL (key_id)
);

-- identical finished inputs within 24 h
CREATE INDEX jobs_dedupe_idx ON jobs (tenant_id, input_hash, completed_at)
    WHERE status = 'done';
-- the sweep and the queue metrics: unfinished jobs only
CREATE INDEX jobs_open_idx ON jobs (status, created_at)
    WHERE status IN ('queued', 'running');
CREATE INDEX jobs_user_idx ON jobs (tenant_id, user_id);
-- result retention
CREATE INDEX jobs_result_expiry_idx ON jobs (result_expires_at)
    WHERE result IS NOT NULL;

-- A job's input images, in order: ord 0 is the person photo, 1.. the
-- garments (uploads or stored product images), copied at acceptance.
CREATE TABLE job_inputs (
    job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    ord smallint NOT NULL CHECK (ord BETWEEN 0 AND 8),
    role text NOT NULL CHECK (role IN ('person', 'garment')),
    content_type text NOT NULL
        CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    data bytea NOT NULL,
    PRIMARY KEY (job_id, ord)
);
