-- SPDX-License-Identifier: BSD-2-Clause
-- 009_events: analytics events sent by storefronts (POST /api/v1/events)
-- and the hourly counts the analytics routes read (issue 14).
--
-- Applied by `synthia migrate` inside one transaction.  Forward-only.
--
-- Layout: events is RANGE-partitioned by month on occurred_at, not one
-- table with a BRIN index.  Why:
-- 1. Retention is the main thing done to old rows, and dropping a month's
--    partition is instant and leaves no dead tuples; deleting 10 million
--    rows a month from one 100-million-row table costs hours of I/O and
--    vacuum, and the space it frees is reused by new inserts, which
--    scatters new times into old block ranges and widens every BRIN
--    summary until the index prunes nothing.
-- 2. No analytics query reads raw events: they read event_counts (below),
--    so the raw table needs no index at all for reads, and an index-free
--    heap is the cheapest thing to append to.
-- Partitions are created ahead by events_partitions_ensure(): here for
-- the previous, current and next two months, by every `synthia events
-- prune` (run it daily: it also drops partitions past events.retention),
-- and by the insert path itself when PostgreSQL reports that a row has no
-- partition (so a forgotten prune never loses events).
--
-- occurred_at is the event's own time (the client's ts, checked to lie
-- within 7 days before and 5 minutes after its arrival) and received_at
-- the server's.  Events are not tied to tenants by a foreign key (a
-- check per row on the hottest write path, and a cascade that would have
-- to scan every partition); a deleted tenant's events age out with
-- retention, and its counts go with it at once (event_counts cascades).

CREATE TABLE events (
    tenant_id uuid NOT NULL,
    key_id uuid,
    type text NOT NULL
        CONSTRAINT events_type_format CHECK (type ~ '^[a-z0-9_.]{1,64}$'),
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    data jsonb
) PARTITION BY RANGE (occurred_at);

-- Create the monthly partitions of events from the month before
-- `from_ts` through `months_ahead` months after it (existing ones are
-- left alone).  Returns the names of the partitions it created.
CREATE FUNCTION events_partitions_ensure(from_ts timestamptz,
                                         months_ahead integer)
    RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    m timestamptz;
    part text;
BEGIN
    IF months_ahead < 0 OR months_ahead > 24 THEN
        RAISE EXCEPTION 'months_ahead must be 0 to 24';
    END IF;
    FOR i IN -1 .. months_ahead LOOP
        m := date_trunc('month', from_ts, 'UTC') + make_interval(months => i);
        part := 'events_' || to_char(m AT TIME ZONE 'UTC', 'YYYYMM');
        IF to_regclass(part) IS NULL THEN
            BEGIN
                EXECUTE format('CREATE TABLE %I PARTITION OF events '
                               'FOR VALUES FROM (%L) TO (%L)', part, m,
                               m + interval '1 month');
                RETURN NEXT part;
            EXCEPTION WHEN duplicate_table THEN
                NULL; -- another session made it first
            END;
        END IF;
    END LOOP;
END
$$;

-- Drop the partitions of events whose every row occurred before
-- `cutoff`.  Returns the names of the partitions it dropped.
CREATE FUNCTION events_partitions_drop_before(cutoff timestamptz)
    RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    part text;
BEGIN
    FOR part IN
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'events'::regclass
          AND c.relname ~ '^events_[0-9]{6}$'
          AND (to_date(substr(c.relname, 8), 'YYYYMM')::timestamp
               AT TIME ZONE 'UTC') + interval '1 month' <= cutoff
        ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE %I', part);
        RETURN NEXT part;
    END LOOP;
END
$$;

SELECT events_partitions_ensure(now(), 2);

-- Events per tenant, type and hour (UTC), kept by the same statement
-- that inserts a batch (one INSERT ... ON CONFLICT DO UPDATE per batch,
-- its rows in key order so that two batches never deadlock).  The
-- timeseries and summary routes read only this table: a 30-day summary
-- of a tenant with ten event types reads at most 7,200 rows however many
-- events there were.  Pruned with the events (by hour).
CREATE TABLE event_counts (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    hour timestamptz NOT NULL,
    type text NOT NULL,
    n bigint NOT NULL CHECK (n >= 0),
    PRIMARY KEY (tenant_id, hour, type)
);
