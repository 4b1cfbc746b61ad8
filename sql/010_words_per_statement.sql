-- SPDX-License-Identifier: BSD-2-Clause
-- 010_words_per_statement: the words of new products join the catalog's
-- vocabulary (product_words, 004_search_cost) once per statement instead
-- of once per row (issue 15).
--
-- Applied by `synthia migrate` inside one transaction.  Forward-only.
--
-- 004's insert trigger ran a PL/pgSQL function and an INSERT ... ON
-- CONFLICT for every new product: in an import commit of 10,000 new
-- products it took about 0.75 s of the INSERT's 1.6 s of CPU.  A
-- statement trigger with a transition table adds the words of every row
-- the statement inserted in one INSERT ... SELECT DISTINCT (0.35 s), in
-- sorted order, so two writers adding the same new words take their
-- index locks in the same order.  The words kept are the same:
-- sy_product_words of each new product's name, category and description.
--
-- Updates keep 004's row trigger: it fires only for rows whose texts
-- changed, while a transition table would copy every row of every
-- UPDATE (an import commit that changes 10,000 stocks would pay about
-- 0.2 s more for words it does not add).

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
