-- Realtime ops carry the client's op id in the event metadata; a client that re-sends an
-- op after a reconnect (it never saw the ack) is answered from the events the first send
-- appended instead of applying it twice. This index finds them.
CREATE INDEX IF NOT EXISTS events_op_id ON events ((metadata ->> 'op_id'), stream_id)
    WHERE metadata ? 'op_id';
