-- SPDX-License-Identifier: BSD-2-Clause
-- 007_embedders: each product vector records the embedder that made it
-- (issue 11, external embedding providers).
--
-- Applied by `synthia migrate` inside one transaction.  Forward-only.
--
-- A vector is comparable only with vectors of the same embedder and
-- model (and dims): the local n-gram embedder's space has nothing to do
-- with OpenAI's or Gemini's.  So a product may now hold one vector per
-- embedder+model: the local one, written with every product write, and
-- those of the external embedders of [ai] embeddings, written by
-- `synthia reembed`.  Search loads one embedder+model's vectors at a
-- time and embeds the query with that same embedder+model, so two
-- embedders' vectors are never compared.  Existing rows are the local
-- embedder's.

ALTER TABLE product_embeddings
    ADD COLUMN embedder text NOT NULL DEFAULT 'local'
        CHECK (embedder IN ('local', 'openai', 'gemini'));
ALTER TABLE product_embeddings ALTER COLUMN embedder DROP DEFAULT;
ALTER TABLE product_embeddings DROP CONSTRAINT product_embeddings_pkey;
ALTER TABLE product_embeddings ADD PRIMARY KEY (product_id, embedder, model);

-- Loads and fingerprints read one tenant's vectors of one embedder+model;
-- reembed looks for the products lacking one.
DROP INDEX product_embeddings_tenant_idx;
CREATE INDEX product_embeddings_tenant_idx
    ON product_embeddings (tenant_id, embedder, model);
