-- SPDX-License-Identifier: BSD-2-Clause
-- 008_ai_budget: a tenant-wide budget of the ai cost class (issue 11).
--
-- Applied by `synthia migrate` inside one transaction.  Forward-only.
--
-- ai_per_min limits each API key and each signed-in user of a tenant;
-- ai_tenant_per_min caps the sum over all of them, per minute, so a shop
-- with many shoppers still has a bound on what its AI work costs.  The
-- ai class is charged only when an analyser or provider actually runs
-- (a cached answer costs a read).  0 means no AI work at all.  There is
-- no default: a plan added later must say what its budget is.
ALTER TABLE plans
    ADD COLUMN ai_tenant_per_min integer NOT NULL DEFAULT 0
        CHECK (ai_tenant_per_min >= 0);

UPDATE plans SET ai_tenant_per_min = CASE id
    WHEN 'free' THEN 20
    WHEN 'basic' THEN 100
    WHEN 'pro' THEN 600
    WHEN 'enterprise' THEN 3000
    ELSE 10 * ai_per_min END;

ALTER TABLE plans ALTER COLUMN ai_tenant_per_min DROP DEFAULT;
