-- SPDX-License-Identifier: BSD-2-Clause
-- 014_import_commit: what 10,000 new products cost PostgreSQL besides
-- their rows, cut for an import commit under 2 s (issue 15).
--
-- Applied by `synthia migrate` inside one transaction.  Forward-only.
-- The ALTER INDEX statements hold the two indexes exclusively for the
-- moment they take (a catalog update, no rebuild).
--
-- 1. The two GIN indexes of 004 take new entries through a small pending
--    list again (fastupdate on, gin_pending_list_limit 64 kB, the least
--    PostgreSQL allows) instead of one descent per entry.  An insert that
--    finds the list over its limit moves it into the index in one sorted
--    pass, which costs far less per entry: for 10,000 new products the
--    full-text index's upkeep fell from about 0.4 s of backend CPU to
--    0.1 s, the vocabulary's trigram index's from 0.17 s to 0.05 s (a
--    limit of 256 kB saved no more).  004 turned the list off because
--    every search reads all of it, and an unbounded list (4 MB by
--    default, 10,000 products) made a look-up 5 ms instead of 0.1 ms;
--    bounded at 64 kB (about 200 products' entries, or 500 words) a
--    search reads at most 8 pages more, and the product write that finds
--    the list full moves those entries into the index.  (Auto)vacuum
--    empties it too.
-- 2. The statement trigger of 010 takes the words of a tenant whose
--    search configuration is 'simple' (the default) from the search
--    vector the row already has: the lexemes of the 'simple'
--    configuration over the three texts are exactly sy_product_words'
--    (the same parser and dictionary, unaccented; a space cannot join
--    two words), so the vocabulary keeps the same words, without a
--    second to_tsvector of every product (the words of 10,000 products
--    in 0.09 s instead of 0.27 s).  Other configurations stem, so their
--    words are computed from the texts as before.

ALTER INDEX products_tenant_search_idx
    SET (fastupdate = on, gin_pending_list_limit = 64);
ALTER INDEX product_words_trgm_idx
    SET (fastupdate = on, gin_pending_list_limit = 64);

CREATE OR REPLACE FUNCTION products_words_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO product_words (tenant_id, word)
    SELECT DISTINCT n.tenant_id, w
    FROM new_rows n
    JOIN tenants t ON t.id = n.tenant_id,
    LATERAL (
        SELECT u FROM unnest(tsvector_to_array(n.search)) u
        WHERE t.search_config = 'simple'::regconfig
          AND length(u) BETWEEN 3 AND 32 AND strpos(u, '-') = 0
        UNION ALL
        SELECT s FROM sy_product_words(n.name, n.category, n.description) s
        WHERE t.search_config <> 'simple'::regconfig
    ) x(w)
    ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;
