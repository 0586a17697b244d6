-- Owners without accounts, idempotent creation and e-mail erasure (issue 12, product.md §15).
--
-- A report or batch is owned by whoever holds its manage token (/manage/{token}). Only the token's SHA-256
-- is stored (manage_token_hash); a retried report carries the same hash, so one link manages the original and
-- its retries. mail_token keeps the plaintext only while a report still owes its owner an e-mail (report
-- ready or failed) that must carry the link; the terminal transition that enqueues that e-mail clears it, as do
-- "stop e-mails" and the erasure pass.

ALTER TABLE reports
    ADD COLUMN manage_token_hash bytea CHECK (manage_token_hash IS NULL OR length(manage_token_hash) = 32),
    ADD COLUMN mail_token text CHECK (mail_token IS NULL OR length(mail_token) <= 100),
    ADD COLUMN email_notifications boolean NOT NULL DEFAULT true,
    -- Set when the owner deletes the report: its page answers 410, it is listed and streamed nowhere, and its
    -- content, events and e-mail address are gone.
    ADD COLUMN deleted_at timestamptz,
    -- When the report's address was last used for an e-mail (the erasure clock starts there).
    ADD COLUMN email_used_at timestamptz,
    ADD CONSTRAINT reports_deleted_is_hidden CHECK (deleted_at IS NULL OR hidden);

CREATE INDEX reports_manage_token_idx ON reports (manage_token_hash) WHERE manage_token_hash IS NOT NULL;
CREATE INDEX reports_email_erasure_idx ON reports (email_used_at) WHERE email IS NOT NULL;

ALTER TABLE batches
    ADD COLUMN manage_token_hash bytea CHECK (manage_token_hash IS NULL OR length(manage_token_hash) = 32);

CREATE INDEX batches_manage_token_idx ON batches (manage_token_hash) WHERE manage_token_hash IS NOT NULL;

-- An erased address leaves the row (sent_at, provider id, attempts) for the operator; the body goes too,
-- since it carries the owner's manage link.
ALTER TABLE email_outbox ALTER COLUMN to_address DROP NOT NULL;
ALTER TABLE email_outbox ADD COLUMN erased_at timestamptz;
CREATE INDEX email_outbox_erasure_idx ON email_outbox (sent_at) WHERE erased_at IS NULL AND sent_at IS NOT NULL;

-- Idempotency-Key for the creating POSTs (POST /api/v1/reports, /research/batch, /research/batch/stream).
-- The first request inserts the row (the primary key decides between concurrent duplicates), does the work
-- and stores its answer; a repeat with the same body gets that answer, a different body a 409. Kept 24 h.
CREATE TABLE idempotency_keys (
    scope        text NOT NULL CHECK (length(scope) BETWEEN 1 AND 64),
    key_hash     bytea NOT NULL CHECK (length(key_hash) = 32),
    request_hash bytea NOT NULL CHECK (length(request_hash) = 32),
    -- Set when the first request has answered; until then repeats wait (or take over a stale claim).
    status       integer CHECK (status BETWEEN 100 AND 599),
    headers      jsonb NOT NULL DEFAULT '{}',
    body         text,
    resource_id  text,
    claimed_at   timestamptz NOT NULL DEFAULT now(),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key_hash)
);

CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
