-- Issue 11: the two event logs (report_events, batch_events) keep their tables and columns but share one
-- mechanism: one append function and one notify trigger function. The relay hub reads both over one LISTEN
-- connection (channels named like the tables, payload '<owner id>:<seq>'), so they must behave the same.

-- Appends an event with the next seq of its owner (a report or a batch); returns that seq, or NULL when an
-- event with the same dedupe_key is already stored. Locks the owner's row, so concurrent writers (monitor,
-- webhook, poller) get gap-free, ordered seqs and a duplicate is detected even when both arrive at once.
CREATE FUNCTION append_log_event(p_log text, p_owner_id bigint, p_type text, p_payload jsonb,
                                 p_dedupe_key text DEFAULT NULL)
    RETURNS integer
    LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
DECLARE
    v_owner_table text;
    v_log_table   text;
    v_owner_col   text;
    v_found       boolean;
    v_seq         integer;
BEGIN
    CASE p_log
        WHEN 'report' THEN v_owner_table := 'reports'; v_log_table := 'report_events'; v_owner_col := 'report_id';
        WHEN 'batch' THEN v_owner_table := 'batches'; v_log_table := 'batch_events'; v_owner_col := 'batch_id';
        ELSE RAISE EXCEPTION 'unknown event log %', p_log USING ERRCODE = 'invalid_parameter_value';
    END CASE;
    EXECUTE format('SELECT true FROM %I WHERE id = $1 FOR UPDATE', v_owner_table) INTO v_found USING p_owner_id;
    IF v_found IS NULL THEN
        RAISE EXCEPTION '% % does not exist', p_log, p_owner_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF p_dedupe_key IS NOT NULL THEN
        EXECUTE format('SELECT true FROM %I WHERE %I = $1 AND dedupe_key = $2', v_log_table, v_owner_col)
            INTO v_found USING p_owner_id, p_dedupe_key;
        IF v_found THEN
            RETURN NULL;
        END IF;
    END IF;
    EXECUTE format('UPDATE %I SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq', v_owner_table)
        INTO v_seq USING p_owner_id;
    EXECUTE format('INSERT INTO %I (%I, seq, type, payload, dedupe_key) VALUES ($1, $2, $3, coalesce($4, ''{}''), $5)',
                   v_log_table, v_owner_col)
        USING p_owner_id, v_seq, p_type, p_payload, p_dedupe_key;
    RETURN v_seq;
END
$$;

-- The names the application and the admin tools call stay, as thin wrappers of the one function.
CREATE OR REPLACE FUNCTION append_report_event(p_report_id bigint, p_type text, p_payload jsonb,
                                               p_dedupe_key text DEFAULT NULL)
    RETURNS integer
    LANGUAGE sql
    SET search_path FROM CURRENT AS $$
    SELECT append_log_event('report', p_report_id, p_type, p_payload, p_dedupe_key)
$$;

CREATE OR REPLACE FUNCTION append_batch_event(p_batch_id bigint, p_type text, p_payload jsonb,
                                              p_dedupe_key text DEFAULT NULL)
    RETURNS integer
    LANGUAGE sql
    SET search_path FROM CURRENT AS $$
    SELECT append_log_event('batch', p_batch_id, p_type, p_payload, p_dedupe_key)
$$;

-- One notify trigger for both logs: the channel is the table's name, the owner column its argument.
CREATE FUNCTION notify_log_event() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_NAME, (to_jsonb(NEW) ->> TG_ARGV[0]) || ':' || NEW.seq::text);
    RETURN NULL;
END
$$;

DROP TRIGGER report_events_notify ON report_events;
CREATE TRIGGER report_events_notify AFTER INSERT ON report_events
    FOR EACH ROW EXECUTE FUNCTION notify_log_event('report_id');
DROP TRIGGER batch_events_notify ON batch_events;
CREATE TRIGGER batch_events_notify AFTER INSERT ON batch_events
    FOR EACH ROW EXECUTE FUNCTION notify_log_event('batch_id');
DROP FUNCTION notify_report_event();
DROP FUNCTION notify_batch_event();
