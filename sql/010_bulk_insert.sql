-- SPDX-License-Identifier: BSD-2-Clause
-- 010_bulk_insert: what a product insert maintains besides its row costs
-- once per statement, not once per row, when a statement inserts many
-- (an import commit of 10,000 products: issue 15).
--
-- Applied by `synthia migrate` inside one transaction.  Forward-only.
--
-- 1. The words of new products join the vocabulary (product_words,
--    004_search_cost) through a statement trigger with a transition
--    table: one INSERT ... SELECT DISTINCT in sorted order (so two
--    writers adding the same new words take their index locks in the
--    same order) instead of 004's PL/pgSQL call and INSERT ... ON
--    CONFLICT per row.  For 10,000 new products: 0.35 s of backend CPU
--    instead of 0.75 s, of an INSERT of 1.6 s.  The words kept are the
--    same.  Updates keep 004's row trigger: it fires only for rows whose
--    texts changed, while a transition table would copy every row of
--    every UPDATE (10,000 changed stocks would pay about 0.2 s more for
--    words they do not add).
-- 2. An INSERT may give the full-text vector itself, computed with
--    sy_product_search (the very expression of 003's trigger) over the
--    tenant's configuration read once; then the row trigger, which
--    reads tenants for every row, does not run (about 0.2 s of 1.2 s
--    for 10,000 products).  An INSERT that leaves search at its default
--    '' gets it computed as before, and updates of the texts always
--    recompute it.

DROP TRIGGER products_words_insert ON products;

CREATE FUNCTION products_words_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO product_words (tenant_id, word)
    SELECT DISTINCT n.tenant_id, w
    FROM new_rows n, sy_product_words(n.name, n.category, n.description) w
    ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER products_words_insert AFTER INSERT ON products
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION products_words_inserted();

-- The full-text vector of a product (003's trigger, unchanged), as a
-- function that a bulk INSERT can call in its SELECT list: it reads the
-- tenant's configuration once per statement instead of once per row.
CREATE FUNCTION sy_product_search(cfg regconfig, name text, category text,
                                  description text)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT setweight(to_tsvector(cfg, sy_unaccent(name)), 'A') ||
        setweight(to_tsvector(cfg, sy_unaccent(category)), 'B') ||
        setweight(to_tsvector(cfg, sy_unaccent(description)), 'C')
$$;

CREATE OR REPLACE FUNCTION products_search_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    cfg regconfig;
BEGIN
    SELECT search_config INTO cfg FROM tenants WHERE id = NEW.tenant_id;
    NEW.search := sy_product_search(cfg, NEW.name, NEW.category,
                                    NEW.description);
    RETURN NEW;
END;
$$;

-- An INSERT that gives the vector (an import commit: sy_product_search
-- over the tenant's configuration) skips the per-row trigger; every
-- other INSERT leaves search at its default '' and gets it computed as
-- before.  Updates of the texts always recompute it.
DROP TRIGGER products_search ON products;
CREATE TRIGGER products_search BEFORE UPDATE OF
    name, category, description ON products
    FOR EACH ROW EXECUTE FUNCTION products_search_update();
CREATE TRIGGER products_search_insert BEFORE INSERT ON products
    FOR EACH ROW WHEN (NEW.search = ''::tsvector)
    EXECUTE FUNCTION products_search_update();
