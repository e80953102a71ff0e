-- The common case of group commit, alone in its batch: ONE append of ONE event. Same rules
-- as vellum_append() (004), which stays the reference: the same lock, position and revision
-- allocation, expected-revision check and idempotency by event id. Without arrays to build
-- and unpack it costs a single writer about 15% less per append (bench/eventstore.py).
-- It only decides the easy outcome: anything else (a wrong expected revision, a known
-- event id) answers 'general' having inserted nothing, and the caller asks vellum_append(),
-- which tells a retry from a duplicate from a wrong revision.
CREATE OR REPLACE FUNCTION vellum_append_one(
    p_stream text, p_expected bigint, p_event_id uuid, p_type text, p_version int,
    p_data bytea, p_metadata text,
    OUT status text, OUT first_position bigint, OUT last_position bigint,
    OUT last_revision bigint, OUT actual bigint)
LANGUAGE plpgsql AS $$
DECLARE
    head bigint;
    cur bigint;
    inserted bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(7661227361646900);  -- the append lock (see 004)
    SELECT coalesce(max(e.position), 0) INTO head FROM events e;
    SELECT e.revision INTO cur FROM events e WHERE e.stream_id = p_stream
     ORDER BY e.revision DESC LIMIT 1;
    IF (p_expected >= 0 AND cur IS DISTINCT FROM p_expected)
       OR (p_expected = -1 AND cur IS NOT NULL)
       OR (p_expected = -3 AND cur IS NULL) THEN
        status := 'general';
        RETURN;
    END IF;
    INSERT INTO events (position, stream_id, revision, event_id, type, version, data, metadata)
    VALUES (head + 1, p_stream, coalesce(cur, -1) + 1, p_event_id, p_type, p_version, p_data,
            p_metadata::jsonb)
    ON CONFLICT (event_id) DO NOTHING;
    GET DIAGNOSTICS inserted = ROW_COUNT;
    IF inserted = 0 THEN
        status := 'general';
        RETURN;
    END IF;
    status := 'ok';
    first_position := head + 1;
    last_position := head + 1;
    last_revision := coalesce(cur, -1) + 1;
    PERFORM pg_notify('vellum_events', (head + 1)::text);
END $$;
