-- Batch screening (issue 6): each domain's two-sentence verdict from its Task run, shown in the results
-- table and the downloads. Bounded like the other free-text columns.
ALTER TABLE batch_results
    ADD COLUMN summary text CHECK (length(summary) <= 4000);
