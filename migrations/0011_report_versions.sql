-- Report versions (issue 16, product.md §17): a refresh runs the same request again and becomes the next
-- version of the same report family, at its own slug.
--
-- family_id is the id of the family's first report (a report that is nobody's refresh is its own family's
-- first). version is the report's number in its family, given when it completes (1, 2, …): a refresh that
-- fails or is cancelled never takes a number, so the numbers a reader sees have no gaps. The trigger below
-- keeps both rules for every path that writes reports (creation, refresh, completion, import), so no caller
-- can forget them.

ALTER TABLE reports
    -- Not a foreign key: the operator's purge may remove a family's first report; the rest stay one family.
    ADD COLUMN family_id bigint,
    ADD COLUMN version integer CHECK (version IS NULL OR version >= 1);

UPDATE reports SET family_id = id;
UPDATE reports SET version = 1 WHERE status = 'completed';

ALTER TABLE reports ALTER COLUMN family_id SET NOT NULL;

-- One number per version; also the index of a family's versions, newest last.
CREATE UNIQUE INDEX reports_family_version_idx ON reports (family_id, version);
-- "Is a refresh of this family still running?" (one at a time per family).
CREATE INDEX reports_family_active_idx ON reports (family_id) WHERE status IN ('queued', 'running');

-- family_id defaults to the row's own id; the next version number is given on the transition to completed,
-- under a transaction lock on the family (advisory lock class 16, key the family id modulo 2^31-1), so two refreshes finishing at once cannot take the same number.
CREATE FUNCTION reports_family_version() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.family_id := coalesce(NEW.family_id, NEW.id);
    END IF;
    IF NEW.status = 'completed' AND NEW.version IS NULL THEN
        PERFORM pg_advisory_xact_lock(16, (NEW.family_id % 2147483647)::integer);
        NEW.version := 1 + coalesce(
            (SELECT max(version) FROM reports WHERE family_id = NEW.family_id AND id <> NEW.id), 0);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER reports_family_version BEFORE INSERT OR UPDATE OF status ON reports
    FOR EACH ROW EXECUTE FUNCTION reports_family_version();
