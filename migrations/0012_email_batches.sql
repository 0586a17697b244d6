-- E-mail is sent in batches (POST /emails/batch, up to 100 messages a request, issue 11): the outbox claims due
-- messages together and stores the batch's Idempotency-Key on each of them before sending. An attempt whose
-- answer was lost (timeout, 5xx) is retried with the same members under the same key, so the provider answers
-- as the first time and sends nothing twice; a message's own idempotency_key stays the record of what it is.
ALTER TABLE email_outbox ADD COLUMN batch_key text CHECK (batch_key IS NULL OR length(batch_key) BETWEEN 1 AND 256);

-- The members of one batch, found again for its retry.
CREATE INDEX email_outbox_batch_idx ON email_outbox (batch_key) WHERE batch_key IS NOT NULL AND status = 'pending';
