-- Batches get the reports' visibility choice (issue 12): a research goal and a list of company domains are
-- often private, so a batch is unlisted unless its requester makes it public; only public batches are listed
-- on /batch. Batches created before this migration were all listed, so they stay public.
ALTER TABLE batches
    ADD COLUMN visibility text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'unlisted'));
ALTER TABLE batches ALTER COLUMN visibility SET DEFAULT 'unlisted';

CREATE INDEX batches_public_created_idx ON batches (created_at DESC) WHERE visibility = 'public';
