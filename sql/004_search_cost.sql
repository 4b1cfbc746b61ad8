-- SPDX-License-Identifier: BSD-2-Clause
-- 004_search_cost: search indexes that cannot be made to scan most of the
-- table (issue 10).
--
-- Applied by `synthia migrate` inside one transaction.  Forward-only.
-- Building the indexes locks product writes for as long as they take
-- (seconds for 100,000 products); reads go on.
--
-- 1. Full text is indexed per tenant: the old index on `search` alone
--    handed a tenant every other tenant's matches too, each read from the
--    heap and then dropped by the tenant filter.  btree_gin (a trusted
--    extension, in postgresql-contrib) lets one GIN index hold the tenant
--    id and the lexemes.
-- 2. Typo tolerance compares the words of a query with the tenant's
--    vocabulary (product_words: the distinct words of its products' names,
--    categories and descriptions, 3 to 32 characters without a hyphen,
--    unaccented, lower case), never with whole descriptions: a trigram comparison with a
--    word costs about a microsecond, with a description tens of
--    microseconds to milliseconds (it grows with the text), and a query
--    of common trigrams made the old trigram indexes on name and
--    description return most of the table to be compared one row at a
--    time.  The corrections found there are then searched as full text.
-- 3. Both GIN indexes are built with fastupdate off: with it on, rows
--    written since the last (auto)vacuum wait in a pending list that
--    every search reads in full (after a bulk import of 10,000 products,
--    a trigram look-up took 5 ms instead of 0.1 ms).  Catalog writes are
--    few beside searches; they pay the index update at once instead.

CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE INDEX products_tenant_search_idx
    ON products USING gin (tenant_id, search) WITH (fastupdate = off)
    WHERE active;
DROP INDEX products_search_idx;
DROP INDEX products_name_trgm_idx;
DROP INDEX products_description_trgm_idx;

-- The vocabulary of a tenant's catalog.  Words are only ever added (by
-- the trigger below): a word whose products are gone or changed stays,
-- and a correction to it then finds nothing, which costs one index
-- probe.  Its size grows with the distinct words of the catalog, not
-- with the number of products.
CREATE TABLE product_words (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    word text NOT NULL,
    PRIMARY KEY (tenant_id, word)
);

CREATE INDEX product_words_trgm_idx
    ON product_words USING gin (tenant_id, word gin_trgm_ops)
    WITH (fastupdate = off);

-- The words of a product as the vocabulary keeps them: the 'simple'
-- configuration lower-cases without stemming or stop words.  No word
-- with a hyphen: its parts are words of their own, a leading '-' (a
-- negative number) would read as an exclusion in a query, and a chain
-- of them would make a long query of one correction.
CREATE FUNCTION sy_product_words(name text, category text, description text)
RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT w.lexeme
    FROM unnest(to_tsvector('simple'::regconfig,
        sy_unaccent(name || ' ' || category || ' ' || description))) w
    WHERE length(w.lexeme) BETWEEN 3 AND 32 AND strpos(w.lexeme, '-') = 0
$$;

CREATE FUNCTION products_words_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO product_words (tenant_id, word)
    SELECT NEW.tenant_id, w
    FROM sy_product_words(NEW.name, NEW.category, NEW.description) w
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER products_words_insert AFTER INSERT ON products
    FOR EACH ROW EXECUTE FUNCTION products_words_add();
-- Updates set every column (coalesce): only a changed text counts.
CREATE TRIGGER products_words_update AFTER UPDATE OF
    name, category, description ON products
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name
        OR OLD.category IS DISTINCT FROM NEW.category
        OR OLD.description IS DISTINCT FROM NEW.description)
    EXECUTE FUNCTION products_words_add();

INSERT INTO product_words (tenant_id, word)
SELECT DISTINCT p.tenant_id, w
FROM products p, sy_product_words(p.name, p.category, p.description) w
ON CONFLICT DO NOTHING;
