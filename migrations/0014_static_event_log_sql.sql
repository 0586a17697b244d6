-- Issue 11 (monitoring at scale, stage 4): with 3,000 followed runs the PostgreSQL backends of the monitor's lanes
-- were the ceiling (four of them at a third of a core each, about 0.9 ms of server CPU per stored event), not the
-- workers. Three causes, one change each:
-- 1. append_log_events built its five statements with EXECUTE format(...), so every call parsed and planned them
--    again. Each log now has its own static statements, which PL/pgSQL plans once per session.
-- 2. The notify trigger turned every new row (payload included) into jsonb to read its owner column by name. It
--    reads the column directly now.
-- 3. Recording a run's events took three round trips (lock the report and check it is active, append, update the
--    live progress columns), each a statement parsed and planned anew. record_report_events does the three in one
--    call, through append_log_events (still the one way into either log).

-- Appends events (parallel arrays: type, payload, dedupe key) in order to an owner's log; returns one seq per
-- event, NULL for one whose dedupe key is already stored or came earlier in the same call.
CREATE OR REPLACE FUNCTION append_log_events(p_log text, p_owner_id bigint, p_types text[], p_payloads jsonb[],
                                             p_dedupe_keys text[])
    RETURNS integer[]
    LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
DECLARE
    v_first integer;
    v_seq   integer;
    v_known text[];
    v_seqs  integer[] := '{}';
    v_count integer := coalesce(array_length(p_types, 1), 0);
BEGIN
    IF coalesce(array_length(p_payloads, 1), 0) <> v_count OR coalesce(array_length(p_dedupe_keys, 1), 0) <> v_count THEN
        RAISE EXCEPTION 'append_log_events needs arrays of one length' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_log = 'report' THEN
        SELECT event_seq INTO v_first FROM reports WHERE id = p_owner_id FOR UPDATE;
        IF v_first IS NOT NULL THEN
            SELECT coalesce(array_agg(dedupe_key), '{}') INTO v_known FROM report_events
            WHERE report_id = p_owner_id AND dedupe_key = ANY(p_dedupe_keys);
        END IF;
    ELSIF p_log = 'batch' THEN
        SELECT event_seq INTO v_first FROM batches WHERE id = p_owner_id FOR UPDATE;
        IF v_first IS NOT NULL THEN
            SELECT coalesce(array_agg(dedupe_key), '{}') INTO v_known FROM batch_events
            WHERE batch_id = p_owner_id AND dedupe_key = ANY(p_dedupe_keys);
        END IF;
    ELSE
        RAISE EXCEPTION 'unknown event log %', p_log USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_first IS NULL THEN
        RAISE EXCEPTION '% % does not exist', p_log, p_owner_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    v_seq := v_first;
    FOR i IN 1..v_count LOOP
        IF p_dedupe_keys[i] IS NOT NULL AND p_dedupe_keys[i] = ANY(v_known) THEN
            v_seqs := v_seqs || NULL::integer;
        ELSE
            v_seq := v_seq + 1;
            v_seqs := v_seqs || v_seq;
            IF p_dedupe_keys[i] IS NOT NULL THEN
                v_known := v_known || p_dedupe_keys[i];
            END IF;
        END IF;
    END LOOP;
    IF v_seq = v_first THEN
        RETURN v_seqs;
    END IF;
    IF p_log = 'report' THEN
        UPDATE reports SET event_seq = v_seq WHERE id = p_owner_id;
        INSERT INTO report_events (report_id, seq, type, payload, dedupe_key)
        SELECT p_owner_id, e.s, e.t, coalesce(e.p, '{}'), e.d
        FROM unnest(v_seqs, p_types, p_payloads, p_dedupe_keys) AS e(s, t, p, d)
        WHERE e.s IS NOT NULL ORDER BY e.s;
    ELSE
        UPDATE batches SET event_seq = v_seq WHERE id = p_owner_id;
        INSERT INTO batch_events (batch_id, seq, type, payload, dedupe_key)
        SELECT p_owner_id, e.s, e.t, coalesce(e.p, '{}'), e.d
        FROM unnest(v_seqs, p_types, p_payloads, p_dedupe_keys) AS e(s, t, p, d)
        WHERE e.s IS NOT NULL ORDER BY e.s;
    END IF;
    RETURN v_seqs;
END
$$;

-- One notify trigger for both logs: the channel is the table's name, the owner column its argument.
CREATE OR REPLACE FUNCTION notify_log_event() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_ARGV[0] = 'report_id' THEN
        PERFORM pg_notify(TG_TABLE_NAME, NEW.report_id::text || ':' || NEW.seq::text);
    ELSE
        PERFORM pg_notify(TG_TABLE_NAME, NEW.batch_id::text || ':' || NEW.seq::text);
    END IF;
    RETURN NULL;
END
$$;

-- Records mapped upstream events of an active report: appends them (append_log_events) and, from those that were
-- new, raises the live columns (the highest progress figures, the last non-empty source list) and moves a queued
-- report to running. Per event: type, payload, dedupe key, and (NULL when it is no progress event) its progress,
-- sources considered and read, its source list (NULL when empty), and whether it marks the run running. Returns
-- one seq per event (NULL for a duplicate), or NULL when the report is missing or no longer active (nothing is
-- stored then: a completion committed first).
CREATE FUNCTION record_report_events(p_report_id bigint, p_types text[], p_payloads jsonb[], p_dedupe_keys text[],
                                     p_progress double precision[], p_considered integer[], p_read integer[],
                                     p_recent jsonb[], p_marks_running boolean[])
    RETURNS integer[]
    LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
DECLARE
    v_status     text;
    v_seqs       integer[];
    v_progress   double precision;
    v_considered integer;
    v_read       integer;
    v_recent     jsonb;
    v_running    boolean := false;
    v_new        boolean := false;
BEGIN
    -- Locked first, so nothing is appended after a completion committed by someone else.
    SELECT status INTO v_status FROM reports WHERE id = p_report_id FOR UPDATE;
    IF v_status IS NULL OR v_status NOT IN ('queued', 'running') THEN
        RETURN NULL;
    END IF;
    v_seqs := append_log_events('report', p_report_id, p_types, p_payloads, p_dedupe_keys);
    FOR i IN 1..coalesce(array_length(v_seqs, 1), 0) LOOP
        CONTINUE WHEN v_seqs[i] IS NULL;
        v_new := true;
        v_progress := greatest(v_progress, p_progress[i]);
        v_considered := greatest(v_considered, p_considered[i]);
        v_read := greatest(v_read, p_read[i]);
        v_recent := coalesce(p_recent[i], v_recent);
        v_running := v_running OR coalesce(p_marks_running[i], false);
    END LOOP;
    IF v_new AND (v_progress IS NOT NULL OR v_recent IS NOT NULL OR (v_running AND v_status = 'queued')) THEN
        UPDATE reports SET
            progress_meter = greatest(progress_meter, v_progress),
            sources_considered = greatest(sources_considered, v_considered),
            sources_read = greatest(sources_read, v_read),
            recent_sources = coalesce(v_recent, recent_sources),
            status = CASE WHEN v_running AND status = 'queued' THEN 'running' ELSE status END,
            started_at = CASE WHEN v_running AND status = 'queued' THEN coalesce(started_at, now()) ELSE started_at END
        WHERE id = p_report_id;
    END IF;
    RETURN v_seqs;
END
$$;
