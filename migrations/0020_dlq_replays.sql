-- 0020_dlq_replays: which dead letters `consumer dlq replay` sent back to the row topic.
-- Purpose: a letter is replayed once. Keyed by the refused message's position in the row
--   topic (the dead-letter topic may hold two letters for one message: a crash between
--   the send and the batch's commit sends it again), so both copies count as one.
--   A row is claimed ('sending') and committed BEFORE the send; the send's acknowledgement
--   turns it 'sent'. A crash in between leaves 'sending': in doubt, never resent unless the
--   operator asks (the ingest is idempotent, so a resend duplicates nothing).
-- Rollback: DROP TABLE ingest.dlq_replays;  (every letter becomes replayable again)
CREATE SCHEMA IF NOT EXISTS ingest;

CREATE TABLE ingest.dlq_replays (
    source_topic     text NOT NULL,
    source_partition integer NOT NULL,
    source_offset    bigint NOT NULL,
    dlq_topic        text NOT NULL,
    dlq_partition    integer NOT NULL,
    dlq_offset       bigint NOT NULL,
    reason           text NOT NULL,
    file_id          uuid,
    row_no           integer,
    value_from       text NOT NULL CONSTRAINT dlq_replays_value_from_ck
                         CHECK (value_from IN ('letter', 'parse_error', 'raw_layer')),
    state            text NOT NULL CONSTRAINT dlq_replays_state_ck
                         CHECK (state IN ('sending', 'sent')),
    replay_topic     text NOT NULL,
    replay_partition integer,
    replay_offset    bigint,
    replayed_by      text NOT NULL DEFAULT session_user,
    claimed_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    PRIMARY KEY (source_topic, source_partition, source_offset)
);

GRANT ALL ON TABLE ingest.dlq_replays TO admin;
GRANT SELECT, INSERT, UPDATE ON TABLE ingest.dlq_replays TO etl_rw;
