-- API keys (issue 14): a developer's requests to /api/v1/… and /research/batch* are limited per key instead of
-- per client address. The key itself (`mlk_<public id>_<secret>`) is shown once by `marketlens apikeys create`;
-- only its SHA-256 is stored, so a database dump grants nothing. The public id is what `list` shows and `revoke`
-- accepts. A revoked key stays (with its name) so a request carrying it is answered 401, never anonymously.

CREATE TABLE api_keys (
    id bigserial PRIMARY KEY,
    public_id text NOT NULL UNIQUE CHECK (public_id ~ '^[a-z0-9]{8}$'),
    name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    key_hash bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    reports_per_hour integer NOT NULL CHECK (reports_per_hour >= 0),
    batch_runs_per_hour integer NOT NULL CHECK (batch_runs_per_hour >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz
);
