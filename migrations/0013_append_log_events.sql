-- Issue 11 (monitoring at scale): the event log appends several events of one owner in one call. One event at a
-- time, every append bumped the owner's event_seq with its own UPDATE; n of them on one row in one transaction
-- leave n row versions that each later UPDATE walks past, so storing a burst was quadratic (2,000 events of one
-- report took 1.6 s of server time, 0.8 ms an event; the monitors under load could not keep up). Now the owner's
-- row is locked once, known dedupe keys are looked up in one query, event_seq is raised once and the new events
-- are inserted in one INSERT (in seq order, so the notify trigger still fires in order). append_log_event is the
-- same call with one event, so there is still one mechanism.

-- Appends events (parallel arrays: type, payload, dedupe key) in order to an owner's log; returns one seq per
-- event, NULL for one whose dedupe key is already stored or came earlier in the same call.
CREATE FUNCTION append_log_events(p_log text, p_owner_id bigint, p_types text[], p_payloads jsonb[],
                                  p_dedupe_keys text[])
    RETURNS integer[]
    LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
DECLARE
    v_owner_table text;
    v_log_table   text;
    v_owner_col   text;
    v_first       integer;
    v_seq         integer;
    v_known       text[];
    v_seqs        integer[] := '{}';
    v_count       integer := coalesce(array_length(p_types, 1), 0);
BEGIN
    CASE p_log
        WHEN 'report' THEN v_owner_table := 'reports'; v_log_table := 'report_events'; v_owner_col := 'report_id';
        WHEN 'batch' THEN v_owner_table := 'batches'; v_log_table := 'batch_events'; v_owner_col := 'batch_id';
        ELSE RAISE EXCEPTION 'unknown event log %', p_log USING ERRCODE = 'invalid_parameter_value';
    END CASE;
    IF coalesce(array_length(p_payloads, 1), 0) <> v_count OR coalesce(array_length(p_dedupe_keys, 1), 0) <> v_count THEN
        RAISE EXCEPTION 'append_log_events needs arrays of one length' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('SELECT event_seq FROM %I WHERE id = $1 FOR UPDATE', v_owner_table) INTO v_first USING p_owner_id;
    IF v_first IS NULL THEN
        RAISE EXCEPTION '% % does not exist', p_log, p_owner_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    EXECUTE format('SELECT coalesce(array_agg(dedupe_key), ''{}'') FROM %I WHERE %I = $1 AND dedupe_key = ANY($2)',
                   v_log_table, v_owner_col)
        INTO v_known USING p_owner_id, p_dedupe_keys;
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
    IF v_seq > v_first THEN
        EXECUTE format('UPDATE %I SET event_seq = $2 WHERE id = $1', v_owner_table) USING p_owner_id, v_seq;
        EXECUTE format('INSERT INTO %I (%I, seq, type, payload, dedupe_key)
                        SELECT $1, e.s, e.t, coalesce(e.p, ''{}''), e.d
                        FROM unnest($2::integer[], $3::text[], $4::jsonb[], $5::text[]) AS e(s, t, p, d)
                        WHERE e.s IS NOT NULL ORDER BY e.s', v_log_table, v_owner_col)
            USING p_owner_id, v_seqs, p_types, p_payloads, p_dedupe_keys;
    END IF;
    RETURN v_seqs;
END
$$;

CREATE OR REPLACE FUNCTION append_log_event(p_log text, p_owner_id bigint, p_type text, p_payload jsonb,
                                            p_dedupe_key text DEFAULT NULL)
    RETURNS integer
    LANGUAGE sql
    SET search_path FROM CURRENT AS $$
    SELECT (append_log_events(p_log, p_owner_id, ARRAY[p_type], ARRAY[p_payload], ARRAY[p_dedupe_key]))[1]
$$;
