-- Group commit in one statement: every append of a batch is checked and inserted by one
-- function call, which is one round trip and (in autocommit) one transaction and one flush.
-- A transaction-level advisory lock, taken before positions are read and held until the
-- commit is visible, makes appends commit in position order: global readers never skip.
-- (An advisory lock rather than LOCK TABLE ... EXCLUSIVE: that would also block VACUUM and
-- CREATE INDEX CONCURRENTLY on events, i.e. stall every append during maintenance. The
-- price: every writer of `events` must go through this function; nothing else inserts.)
--
-- Per append i: p_streams[i], p_expected[i] (>= 0: that revision; -1: no stream; -2: any;
-- -3: stream exists), p_counts[i] events taken in order from the event arrays.
-- Returns one row per append: status 'ok' | 'retry' (all ids already stored as one run on
-- this stream, in this order: the original positions) | 'wrong' (expected revision
-- mismatch; `actual`) | 'duplicate' (some ids stored, or stored differently). Only 'ok'
-- appends leave rows behind.
--
-- Hot path: one index lookup (the stream's revision) and the INSERT. Known event ids are
-- found by the INSERT itself (ON CONFLICT DO NOTHING on the unique event_id); only then,
-- or when the expectation fails (a retry usually carries a stale one), are ids looked up.
CREATE OR REPLACE FUNCTION vellum_append(
    p_streams text[], p_expected bigint[], p_counts int[],
    p_event_ids uuid[], p_types text[], p_versions int[], p_data bytea[], p_metadata text[]
) RETURNS TABLE (idx int, status text, first_position bigint, last_position bigint,
                 last_revision bigint, actual bigint)
LANGUAGE plpgsql AS $$
DECLARE
    head bigint;
    cur bigint;
    lo int := 1;
    n int;
    inserted bigint;
    ids uuid[];
    k bigint; p1 bigint; p2 bigint; r1 bigint; r2 bigint; same boolean; in_order boolean;
BEGIN
    PERFORM pg_advisory_xact_lock(7661227361646900);  -- the append lock (see above)
    SELECT coalesce(max(e.position), 0) INTO head FROM events e;
    FOR i IN 1 .. coalesce(array_length(p_streams, 1), 0) LOOP
        n := p_counts[i];
        idx := i - 1; status := 'ok'; first_position := NULL; last_position := NULL;
        last_revision := NULL; actual := NULL;
        SELECT e.revision INTO cur FROM events e WHERE e.stream_id = p_streams[i]
         ORDER BY e.revision DESC LIMIT 1;
        IF NOT FOUND THEN cur := NULL; END IF;
        IF (p_expected[i] >= 0 AND cur IS DISTINCT FROM p_expected[i])
           OR (p_expected[i] = -1 AND cur IS NOT NULL)
           OR (p_expected[i] = -3 AND cur IS NULL) THEN
            status := 'wrong'; actual := cur;
        ELSIF n = 1 THEN  -- the common case: no array slices, no unnest
            INSERT INTO events (position, stream_id, revision, event_id, type, version, data,
                                metadata)
            VALUES (head + 1, p_streams[i], coalesce(cur, -1) + 1, p_event_ids[lo],
                    p_types[lo], p_versions[lo], p_data[lo], p_metadata[lo]::jsonb)
            ON CONFLICT (event_id) DO NOTHING;
            GET DIAGNOSTICS inserted = ROW_COUNT;
        ELSE
            INSERT INTO events (position, stream_id, revision, event_id, type, version, data,
                                metadata)
            SELECT head + u.ord, p_streams[i], coalesce(cur, -1) + u.ord, u.eid, u.etype,
                   u.ever, u.edata, u.emeta::jsonb
              FROM unnest(p_event_ids[lo : lo + n - 1], p_types[lo : lo + n - 1],
                          p_versions[lo : lo + n - 1], p_data[lo : lo + n - 1],
                          p_metadata[lo : lo + n - 1])
                   WITH ORDINALITY AS u(eid, etype, ever, edata, emeta, ord)
            ON CONFLICT (event_id) DO NOTHING;
            GET DIAGNOSTICS inserted = ROW_COUNT;
        END IF;
        IF status = 'wrong' OR inserted < n THEN
            -- Rare path: take back what this append inserted, then tell a clean retry
            -- from a duplicate (or a plain expectation failure).
            IF status = 'ok' THEN
                DELETE FROM events e WHERE e.position > head AND e.position <= head + n;
            END IF;
            ids := p_event_ids[lo : lo + n - 1];
            SELECT count(*), min(e.position), max(e.position), min(e.revision),
                   max(e.revision), bool_and(e.stream_id = p_streams[i])
              INTO k, p1, p2, r1, r2, same FROM events e WHERE e.event_id = ANY(ids);
            SELECT bool_and(e.revision = r1 + array_position(ids, e.event_id) - 1)
              INTO in_order FROM events e WHERE e.event_id = ANY(ids);
            IF k = n AND same AND r2 - r1 = n - 1 AND in_order THEN
                status := 'retry'; first_position := p1; last_position := p2;
                last_revision := r2; actual := NULL;
            ELSIF k > 0 THEN
                status := 'duplicate'; actual := NULL;
            END IF;  -- k = 0: a genuine expectation failure, status stays 'wrong'
        ELSE
            first_position := head + 1; last_position := head + n;
            last_revision := coalesce(cur, -1) + n;
            head := head + n;
        END IF;
        lo := lo + n;
        RETURN NEXT;
    END LOOP;
    PERFORM pg_notify('vellum_events', head::text);
END $$;
