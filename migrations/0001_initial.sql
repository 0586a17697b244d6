-- 0001_initial: the Marketlens schema (product.md §6, designed for the lifecycle of §7-§9).
--
-- Conventions for every migration: applied by `marketlens migrate` inside one transaction (so no BEGIN,
-- COMMIT or CREATE INDEX CONCURRENTLY here), never edited once landed, objects created unqualified so they
-- land in the connection's current schema (tests use one schema each). timestamptz everywhere.
--
-- Notifications (delivered on commit, so a listener never sees an uncommitted event):
--   channel report_events, payload '<report_events.report_id>:<seq>'   (trigger report_events_notify)
--   channel batch_events,  payload '<batch_events.batch_id>:<seq>'      (trigger batch_events_notify)
-- The ids are the internal bigint ids, not the public ones. Channels are database-wide.

-- The key of the "identical report" lookup (§7.2): case-, space- and padding-insensitive, hashed so a
-- 2000-character focus still fits a btree entry. Queries call the same function on their parameters:
--   WHERE request_key = report_request_key($1, $2, $3) AND status = 'completed'
CREATE FUNCTION report_request_key(industry text, region text, focus text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN md5(
    lower(regexp_replace(btrim(coalesce(industry, '')), '\s+', ' ', 'g')) || chr(31) ||
    lower(regexp_replace(btrim(coalesce(region, '')), '\s+', ' ', 'g')) || chr(31) ||
    lower(regexp_replace(btrim(coalesce(focus, '')), '\s+', ' ', 'g')));

-- Keeps updated_at honest without every UPDATE having to remember it.
CREATE FUNCTION touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- ---------------------------------------------------------------------------------------------------------
-- Reports

CREATE TABLE reports (
    id                 bigserial PRIMARY KEY,
    public_id          text NOT NULL UNIQUE CHECK (public_id ~ '^[A-Za-z0-9_-]{4,64}$'),
    task_run_id        text UNIQUE,
    title              text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    slug               text UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,119}$'),
    industry           text NOT NULL CHECK (length(industry) BETWEEN 1 AND 120),
    region             text NOT NULL DEFAULT '' CHECK (length(region) <= 80),
    focus              text NOT NULL DEFAULT '' CHECK (length(focus) <= 2000),
    request_key        text NOT NULL GENERATED ALWAYS AS (report_request_key(industry, region, focus)) STORED,
    processor          text NOT NULL CHECK (length(processor) BETWEEN 1 AND 64),
    status             text NOT NULL DEFAULT 'queued'
                       CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    -- The upstream create timed out: a run may exist; reconcile (by metadata.report_id) before creating one.
    create_uncertain   boolean NOT NULL DEFAULT false,
    content            text,
    basis              jsonb,
    visibility         text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'unlisted')),
    hidden             boolean NOT NULL DEFAULT false,
    -- Never shown publicly, never logged.
    email              text CHECK (email IS NULL OR (length(email) <= 254 AND position('@' IN email) > 1)),
    error              text,
    progress_meter     numeric(5, 2) NOT NULL DEFAULT 0 CHECK (progress_meter BETWEEN 0 AND 100),
    sources_considered integer NOT NULL DEFAULT 0 CHECK (sources_considered >= 0),
    sources_read       integer NOT NULL DEFAULT 0 CHECK (sources_read >= 0),
    recent_sources     jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(recent_sources) = 'array'),
    -- The last report_events.seq handed out (see append_report_event).
    event_seq          integer NOT NULL DEFAULT 0 CHECK (event_seq >= 0),
    lease_owner        text,
    lease_expires_at   timestamptz,
    next_poll_at       timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    completed_at       timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    search             tsvector NOT NULL GENERATED ALWAYS AS (
                           setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') ||
                           setweight(to_tsvector('english'::regconfig, coalesce(industry, '')), 'A') ||
                           setweight(to_tsvector('english'::regconfig, coalesce(region, '')), 'B') ||
                           setweight(to_tsvector('english'::regconfig, coalesce(focus, '')), 'B') ||
                           setweight(to_tsvector('english'::regconfig, coalesce(content, '')), 'C')) STORED,
    CONSTRAINT reports_lease_pair CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL)),
    CONSTRAINT reports_completed_has_content
        CHECK (status <> 'completed' OR (content IS NOT NULL AND slug IS NOT NULL AND completed_at IS NOT NULL)),
    CONSTRAINT reports_failed_has_error CHECK (status <> 'failed' OR error IS NOT NULL)
);

COMMENT ON TABLE reports IS 'Market research reports; every status change is one conditional UPDATE … RETURNING';

CREATE TRIGGER reports_touch_updated_at BEFORE UPDATE ON reports
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Active runs for the monitoring threads: WHERE status IN ('queued','running') AND (lease_expires_at IS NULL
-- OR lease_expires_at < now()) … FOR UPDATE SKIP LOCKED; also the home page's "in progress" list.
CREATE INDEX reports_active_idx ON reports (status, lease_expires_at)
    WHERE status IN ('queued', 'running');
-- The public library, newest first, keyset-paginated on (completed_at, id).
CREATE INDEX reports_library_idx ON reports (completed_at DESC, id DESC)
    WHERE status = 'completed' AND visibility = 'public' AND NOT hidden;
-- The recent identical completed report (§7.2).
CREATE INDEX reports_identical_idx ON reports (request_key, completed_at DESC)
    WHERE status = 'completed';
-- Full-text search: WHERE search @@ websearch_to_tsquery('english', $1) ORDER BY ts_rank(search, …).
CREATE INDEX reports_search_idx ON reports USING gin (search);

-- ---------------------------------------------------------------------------------------------------------
-- Report events: the replayable log behind the live stream (§8). seq is the SSE id.

CREATE TABLE report_events (
    report_id  bigint NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    seq        integer NOT NULL CHECK (seq > 0),
    type       text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_.]{0,63}$'),
    payload    jsonb NOT NULL DEFAULT '{}',
    -- Identifies an upstream event, so a replay after reconnect is stored once.
    dedupe_key text CHECK (length(dedupe_key) <= 500),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (report_id, seq),
    CONSTRAINT report_events_dedupe UNIQUE (report_id, dedupe_key)
);

CREATE INDEX report_events_created_idx ON report_events (created_at);

CREATE FUNCTION notify_report_event() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('report_events', NEW.report_id::text || ':' || NEW.seq::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER report_events_notify AFTER INSERT ON report_events
    FOR EACH ROW EXECUTE FUNCTION notify_report_event();

-- Appends an event with the next seq of its report; returns that seq, or NULL when an event with the same
-- dedupe_key is already stored. Locks the report row, so concurrent writers (monitor, webhook, poller)
-- get gap-free, ordered seqs and a duplicate is detected even when both arrive at once.
CREATE FUNCTION append_report_event(p_report_id bigint, p_type text, p_payload jsonb, p_dedupe_key text DEFAULT NULL)
    RETURNS integer
    LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
DECLARE
    v_seq integer;
BEGIN
    PERFORM 1 FROM reports WHERE id = p_report_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'report % does not exist', p_report_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF p_dedupe_key IS NOT NULL
       AND EXISTS (SELECT 1 FROM report_events WHERE report_id = p_report_id AND dedupe_key = p_dedupe_key) THEN
        RETURN NULL;
    END IF;
    UPDATE reports SET event_seq = event_seq + 1 WHERE id = p_report_id RETURNING event_seq INTO v_seq;
    INSERT INTO report_events (report_id, seq, type, payload, dedupe_key)
        VALUES (p_report_id, v_seq, p_type, coalesce(p_payload, '{}'), p_dedupe_key);
    RETURN v_seq;
END
$$;

-- ---------------------------------------------------------------------------------------------------------
-- E-mail outbox. A sender claims due rows by pushing next_attempt_at forward and counting the attempt
-- (UPDATE … WHERE id = (SELECT id … WHERE status = 'pending' AND next_attempt_at <= now()
-- FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING *), sends with idempotency_key, then marks it sent; a crash
-- mid-send only delays a retry that the provider deduplicates.

CREATE TABLE email_outbox (
    id              bigserial PRIMARY KEY,
    report_id       bigint REFERENCES reports (id) ON DELETE CASCADE,
    kind            text NOT NULL DEFAULT 'report_completed' CHECK (length(kind) BETWEEN 1 AND 64),
    idempotency_key text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 256),
    to_address      text NOT NULL CHECK (length(to_address) BETWEEN 3 AND 254),
    subject         text NOT NULL CHECK (length(subject) BETWEEN 1 AND 998),
    html_body       text NOT NULL,
    text_body       text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    provider_id     text,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT email_outbox_sent_has_time CHECK (status <> 'sent' OR sent_at IS NOT NULL)
);

CREATE TRIGGER email_outbox_touch_updated_at BEFORE UPDATE ON email_outbox
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE INDEX email_outbox_due_idx ON email_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX email_outbox_report_idx ON email_outbox (report_id);

-- ---------------------------------------------------------------------------------------------------------
-- Batch company screening (§9)

CREATE TABLE batches (
    id                   bigserial PRIMARY KEY,
    public_id            text NOT NULL UNIQUE CHECK (public_id ~ '^[A-Za-z0-9_-]{4,64}$'),
    research_goal        text NOT NULL CHECK (length(research_goal) BETWEEN 1 AND 5000),
    search_depth         text NOT NULL CHECK (search_depth IN ('quick', 'standard', 'comprehensive')),
    processor            text NOT NULL CHECK (length(processor) BETWEEN 1 AND 64),
    max_parallel         integer NOT NULL CHECK (max_parallel BETWEEN 1 AND 50),
    confidence_threshold numeric(4, 3) NOT NULL CHECK (confidence_threshold BETWEEN 0 AND 1),
    domain_count         integer NOT NULL DEFAULT 0 CHECK (domain_count >= 0),
    status               text NOT NULL DEFAULT 'queued'
                         CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    taskgroup_id         text UNIQUE,
    -- The last upstream group event_id stored, to resume the group stream after it.
    group_event_cursor   text,
    event_seq            integer NOT NULL DEFAULT 0 CHECK (event_seq >= 0),
    lease_owner          text,
    lease_expires_at     timestamptz,
    metrics              jsonb NOT NULL DEFAULT '{}',
    error                text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    started_at           timestamptz,
    completed_at         timestamptz,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT batches_lease_pair CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL))
);

CREATE TRIGGER batches_touch_updated_at BEFORE UPDATE ON batches
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE INDEX batches_active_idx ON batches (status, lease_expires_at) WHERE status IN ('queued', 'running');
CREATE INDEX batches_created_idx ON batches (created_at DESC);

CREATE TABLE batch_results (
    batch_id     bigint NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    -- The domain's place in the request, so results list in the order they were asked for.
    position     integer NOT NULL CHECK (position >= 0),
    domain       text NOT NULL CHECK (length(domain) BETWEEN 1 AND 253),
    run_id       text UNIQUE,
    status       text NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    matches      boolean,
    confidence   numeric(4, 3) CHECK (confidence BETWEEN 0 AND 1),
    technologies jsonb NOT NULL DEFAULT '[]',
    evidence     jsonb NOT NULL DEFAULT '[]',
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, domain),
    CONSTRAINT batch_results_position UNIQUE (batch_id, position)
);

CREATE TRIGGER batch_results_touch_updated_at BEFORE UPDATE ON batch_results
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE batch_events (
    batch_id   bigint NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    seq        integer NOT NULL CHECK (seq > 0),
    type       text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_.]{0,63}$'),
    payload    jsonb NOT NULL DEFAULT '{}',
    dedupe_key text CHECK (length(dedupe_key) <= 500),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, seq),
    CONSTRAINT batch_events_dedupe UNIQUE (batch_id, dedupe_key)
);

CREATE INDEX batch_events_created_idx ON batch_events (created_at);

CREATE FUNCTION notify_batch_event() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('batch_events', NEW.batch_id::text || ':' || NEW.seq::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER batch_events_notify AFTER INSERT ON batch_events
    FOR EACH ROW EXECUTE FUNCTION notify_batch_event();

-- As append_report_event, for batches.
CREATE FUNCTION append_batch_event(p_batch_id bigint, p_type text, p_payload jsonb, p_dedupe_key text DEFAULT NULL)
    RETURNS integer
    LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
DECLARE
    v_seq integer;
BEGIN
    PERFORM 1 FROM batches WHERE id = p_batch_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'batch % does not exist', p_batch_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF p_dedupe_key IS NOT NULL
       AND EXISTS (SELECT 1 FROM batch_events WHERE batch_id = p_batch_id AND dedupe_key = p_dedupe_key) THEN
        RETURN NULL;
    END IF;
    UPDATE batches SET event_seq = event_seq + 1 WHERE id = p_batch_id RETURNING event_seq INTO v_seq;
    INSERT INTO batch_events (batch_id, seq, type, payload, dedupe_key)
        VALUES (p_batch_id, v_seq, p_type, coalesce(p_payload, '{}'), p_dedupe_key);
    RETURN v_seq;
END
$$;

-- ---------------------------------------------------------------------------------------------------------
-- Rate limits, counted at creation (§4): INSERT … ON CONFLICT (bucket, window_start)
-- DO UPDATE SET count = rate_limits.count + 1 RETURNING count. Buckets hold no raw client address.

CREATE TABLE rate_limits (
    bucket       text NOT NULL CHECK (length(bucket) BETWEEN 1 AND 200),
    window_start timestamptz NOT NULL,
    count        integer NOT NULL DEFAULT 0 CHECK (count >= 0),
    PRIMARY KEY (bucket, window_start)
);

CREATE INDEX rate_limits_window_idx ON rate_limits (window_start);

-- Validation verdicts of the Chat API, keyed by a hash of the normalised input.
CREATE TABLE validation_cache (
    key_hash   text PRIMARY KEY CHECK (length(key_hash) BETWEEN 1 AND 128),
    verdict    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX validation_cache_created_idx ON validation_cache (created_at);

-- Parallel webhook deliveries already handled: INSERT … ON CONFLICT DO NOTHING tells a replay apart.
CREATE TABLE webhook_deliveries (
    webhook_id  text PRIMARY KEY CHECK (length(webhook_id) BETWEEN 1 AND 256),
    received_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhook_deliveries_received_idx ON webhook_deliveries (received_at);
