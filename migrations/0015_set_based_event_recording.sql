-- Issue 11 (monitoring at scale, stage 5): at 3,000 followed runs PostgreSQL was the ceiling again, a whole core
-- of the two at 1,500 stored events a second (0.64 ms of server CPU per event). pg_stat_statements over 20 s: every
-- call of record_report_events (one per run and pass, about one event each) took 0.73 ms, a third of it the UPDATE
-- of the report row (0.25 ms: PostgreSQL reads and plans the row's 19 CHECK constraints and its generated columns
-- again for every statement that writes `reports`), the INSERT 0.13 ms, the rest the statements around them. Those
-- costs are per statement, not per row, so the monitor now records the events of every run in a lane job in one
-- call, and each statement in it writes all of those runs' rows:
-- 1. append_log_rows is the core of every append: given the owners' head seqs (the caller holds their row locks),
--    it inserts the new events of many owners in one INSERT and returns their seqs. append_log_events (one owner:
--    lock, rows, raise the head) and record_reports_events (many reports: lock the active ones in id order, rows,
--    one UPDATE raising their heads and live columns together) are its two callers: still one way into either log.
--    Each event's dedupe key is looked up in the log's unique index, one probe per event (a LATERAL subquery):
--    written as NOT EXISTS, the plan PL/pgSQL cached while the log was small hashed the whole table instead, and
--    kept doing so as it grew (123 ms a call at 140,000 events).
-- 2. The notify trigger fires once per INSERT statement (a transition table) and sends one notification per owner
--    with the statement's first new seq: the relay hub reads from the lowest notified seq anyway.

-- Inserts events (parallel arrays, one entry per event: owner, type, payload, dedupe key) into owners' logs, each
-- owner's in the order given after its head (`p_locked_ids` and `p_heads`: the owners whose rows the caller has
-- locked, and their event_seq). Skips an event whose owner is not among them, or whose dedupe key the owner's log
-- holds already or that came earlier for the same owner in this call. Returns one seq per event (NULL: skipped);
-- the caller raises each owner's event_seq to its highest.
CREATE FUNCTION append_log_rows(p_log text, p_owner_ids bigint[], p_locked_ids bigint[], p_heads integer[],
                                p_types text[], p_payloads jsonb[], p_dedupe_keys text[])
    RETURNS integer[]
    LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
DECLARE
    v_count integer := coalesce(array_length(p_owner_ids, 1), 0);
    v_seqs  integer[];
BEGIN
    IF coalesce(array_length(p_types, 1), 0) <> v_count OR coalesce(array_length(p_payloads, 1), 0) <> v_count
       OR coalesce(array_length(p_dedupe_keys, 1), 0) <> v_count THEN
        RAISE EXCEPTION 'append_log_events needs arrays of one length' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_count = 0 THEN
        RETURN '{}';
    END IF;
    IF p_log = 'report' THEN
        WITH input AS (
            SELECT u.* FROM unnest(p_owner_ids, p_types, p_payloads, p_dedupe_keys) WITH ORDINALITY AS u(o, t, p, k, n)
        ), fresh AS (
            SELECT i.*, row_number() OVER (PARTITION BY i.o, i.k ORDER BY i.n) AS nth
            FROM input i LEFT JOIN LATERAL (SELECT true AS hit FROM report_events e
                                            WHERE e.report_id = i.o AND e.dedupe_key = i.k LIMIT 1) AS known ON true
            WHERE known.hit IS NULL
        ), numbered AS (
            SELECT f.*, (h.head + row_number() OVER (PARTITION BY f.o ORDER BY f.n))::integer AS s
            FROM fresh f JOIN unnest(p_locked_ids, p_heads) AS h(id, head) ON h.id = f.o
            WHERE f.k IS NULL OR f.nth = 1
        ), inserted AS (
            INSERT INTO report_events (report_id, seq, type, payload, dedupe_key)
            SELECT o, s, t, coalesce(p, '{}'), k FROM numbered ORDER BY o, s
        )
        SELECT array_agg(nb.s ORDER BY i.n) INTO v_seqs FROM input i LEFT JOIN numbered nb ON nb.n = i.n;
    ELSIF p_log = 'batch' THEN
        WITH input AS (
            SELECT u.* FROM unnest(p_owner_ids, p_types, p_payloads, p_dedupe_keys) WITH ORDINALITY AS u(o, t, p, k, n)
        ), fresh AS (
            SELECT i.*, row_number() OVER (PARTITION BY i.o, i.k ORDER BY i.n) AS nth
            FROM input i LEFT JOIN LATERAL (SELECT true AS hit FROM batch_events e
                                            WHERE e.batch_id = i.o AND e.dedupe_key = i.k LIMIT 1) AS known ON true
            WHERE known.hit IS NULL
        ), numbered AS (
            SELECT f.*, (h.head + row_number() OVER (PARTITION BY f.o ORDER BY f.n))::integer AS s
            FROM fresh f JOIN unnest(p_locked_ids, p_heads) AS h(id, head) ON h.id = f.o
            WHERE f.k IS NULL OR f.nth = 1
        ), inserted AS (
            INSERT INTO batch_events (batch_id, seq, type, payload, dedupe_key)
            SELECT o, s, t, coalesce(p, '{}'), k FROM numbered ORDER BY o, s
        )
        SELECT array_agg(nb.s ORDER BY i.n) INTO v_seqs FROM input i LEFT JOIN numbered nb ON nb.n = i.n;
    ELSE
        RAISE EXCEPTION 'unknown event log %', p_log USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN v_seqs;
END
$$;

-- Appends events in order to one owner's log; returns one seq per event, NULL for one whose dedupe key is already
-- stored or came earlier in the same call.
CREATE OR REPLACE FUNCTION append_log_events(p_log text, p_owner_id bigint, p_types text[], p_payloads jsonb[],
                                             p_dedupe_keys text[])
    RETURNS integer[]
    LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
DECLARE
    v_head integer;
    v_seqs integer[];
    v_last integer;
BEGIN
    IF p_log = 'report' THEN
        SELECT event_seq INTO v_head FROM reports WHERE id = p_owner_id FOR UPDATE;
    ELSIF p_log = 'batch' THEN
        SELECT event_seq INTO v_head FROM batches WHERE id = p_owner_id FOR UPDATE;
    ELSE
        RAISE EXCEPTION 'unknown event log %', p_log USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_head IS NULL THEN
        RAISE EXCEPTION '% % does not exist', p_log, p_owner_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    v_seqs := append_log_rows(p_log, array_fill(p_owner_id, ARRAY[coalesce(array_length(p_types, 1), 0)]),
                              ARRAY[p_owner_id], ARRAY[v_head], p_types, p_payloads, p_dedupe_keys);
    SELECT max(s) INTO v_last FROM unnest(v_seqs) AS s;
    IF v_last IS NOT NULL THEN
        IF p_log = 'report' THEN
            UPDATE reports SET event_seq = v_last WHERE id = p_owner_id;
        ELSE
            UPDATE batches SET event_seq = v_last WHERE id = p_owner_id;
        END IF;
    END IF;
    RETURN v_seqs;
END
$$;

-- Records mapped upstream events of many reports (parallel arrays, one entry per event, each report's in order):
-- report, type, payload, dedupe key, and (NULL when it is no progress event) its progress, sources considered and
-- read, its source list (NULL when empty), and whether it marks the run running. Locks the reports still active
-- (queued, running) in id order, appends their events through append_log_rows, and raises each one's event_seq and
-- live columns (the highest progress figures, the last non-empty source list, queued -> running) from its new
-- events in one UPDATE. Returns one seq per event: NULL for a duplicate, or an event of a report that is missing
-- or no longer active (nothing is stored for it: a completion committed first).
CREATE FUNCTION record_reports_events(p_report_ids bigint[], p_types text[], p_payloads jsonb[],
                                      p_dedupe_keys text[], p_progress double precision[], p_considered integer[],
                                      p_read integer[], p_recent jsonb[], p_marks_running boolean[])
    RETURNS integer[]
    LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
DECLARE
    v_ids   bigint[];
    v_heads integer[];
    v_seqs  integer[];
BEGIN
    -- Locked first, so nothing is appended after a completion committed by someone else.
    SELECT array_agg(id ORDER BY id), array_agg(event_seq ORDER BY id) INTO v_ids, v_heads
    FROM (SELECT id, event_seq FROM reports WHERE id = ANY(p_report_ids) AND status IN ('queued', 'running')
          ORDER BY id FOR UPDATE) AS active;
    v_seqs := append_log_rows('report', p_report_ids, coalesce(v_ids, '{}'), coalesce(v_heads, '{}'), p_types,
                              p_payloads, p_dedupe_keys);
    UPDATE reports r SET
        event_seq = a.head,
        progress_meter = greatest(r.progress_meter, a.progress),
        sources_considered = greatest(r.sources_considered, a.considered),
        sources_read = greatest(r.sources_read, a.read),
        recent_sources = coalesce(a.recent, r.recent_sources),
        status = CASE WHEN a.running AND r.status = 'queued' THEN 'running' ELSE r.status END,
        started_at = CASE WHEN a.running AND r.status = 'queued' THEN coalesce(r.started_at, now()) ELSE r.started_at END
    FROM (SELECT e.o, max(e.s) AS head, max(e.pr) AS progress, max(e.c) AS considered, max(e.rd) AS read,
                 (array_agg(e.rc ORDER BY e.n DESC) FILTER (WHERE e.rc IS NOT NULL))[1] AS recent,
                 bool_or(coalesce(e.mr, false)) AS running
          FROM unnest(p_report_ids, v_seqs, p_progress, p_considered, p_read, p_recent, p_marks_running)
               WITH ORDINALITY AS e(o, s, pr, c, rd, rc, mr, n)
          WHERE e.s IS NOT NULL GROUP BY e.o) AS a
    WHERE r.id = a.o;
    RETURN v_seqs;
END
$$;

DROP FUNCTION record_report_events(bigint, text[], jsonb[], text[], double precision[], integer[], integer[], jsonb[],
                                   boolean[]);

-- One notification per owner and INSERT statement, `<owner id>:<first new seq>`, on the channel named after the
-- table; the owner column is the trigger's argument.
CREATE FUNCTION notify_log_events() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_ARGV[0] = 'report_id' THEN
        PERFORM pg_notify(TG_TABLE_NAME, report_id::text || ':' || min(seq)::text)
        FROM new_events GROUP BY report_id;
    ELSE
        PERFORM pg_notify(TG_TABLE_NAME, batch_id::text || ':' || min(seq)::text)
        FROM new_events GROUP BY batch_id;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER report_events_notify ON report_events;
CREATE TRIGGER report_events_notify AFTER INSERT ON report_events
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION notify_log_events('report_id');
DROP TRIGGER batch_events_notify ON batch_events;
CREATE TRIGGER batch_events_notify AFTER INSERT ON batch_events
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION notify_log_events('batch_id');
DROP FUNCTION notify_log_event();
