-- attesto-sqlx migration 1 (PostgreSQL): the store tables.
--
-- Every table and index name starts with the configured table prefix
-- (default `attesto_`), substituted by attesto-sqlx when it applies this file.
-- Conventions: codes, tokens, request URIs, nonces and consent tokens are stored
-- only as SHA-256 hashes (32-byte BYTEA); every instant is whole seconds since
-- the Unix epoch (BIGINT), the unit the stores compare with the caller's `now`;
-- lists and structured values are JSONB.

CREATE TABLE {prefix}authorization_codes (
    code_hash BYTEA PRIMARY KEY CHECK (octet_length(code_hash) = 32),
    client_id TEXT NOT NULL CHECK (client_id <> ''),
    redirect_uri TEXT,
    scope JSONB NOT NULL,
    code_challenge TEXT,
    nonce TEXT,
    subject TEXT NOT NULL CHECK (subject <> ''),
    auth_time BIGINT,
    acr TEXT,
    amr JSONB NOT NULL,
    sid TEXT,
    resource JSONB NOT NULL,
    cnf JSONB NOT NULL,
    claims JSONB,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    redeemed_at BIGINT,
    issuance_recorded BOOLEAN NOT NULL DEFAULT FALSE,
    issued_family_id TEXT,
    issued_access_token_jti TEXT,
    issued_access_token_expires_at BIGINT,
    CHECK (expires_at > issued_at),
    CHECK (redeemed_at IS NOT NULL OR NOT issuance_recorded)
);
CREATE INDEX {prefix}codes_expires_idx ON {prefix}authorization_codes (expires_at);

CREATE TABLE {prefix}refresh_families (
    family_id TEXT PRIMARY KEY CHECK (family_id <> ''),
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX {prefix}families_expires_idx ON {prefix}refresh_families (expires_at);

CREATE TABLE {prefix}refresh_tokens (
    token_hash BYTEA PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    family_id TEXT NOT NULL REFERENCES {prefix}refresh_families (family_id),
    generation BIGINT NOT NULL CHECK (generation >= 0),
    parent_hash BYTEA CHECK (octet_length(parent_hash) = 32),
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    family_expires_at BIGINT NOT NULL,
    sweep_at BIGINT NOT NULL,
    client_id TEXT NOT NULL CHECK (client_id <> ''),
    subject TEXT NOT NULL CHECK (subject <> ''),
    scope JSONB NOT NULL,
    resource JSONB NOT NULL,
    cnf JSONB NOT NULL,
    auth_time BIGINT,
    acr TEXT,
    amr JSONB NOT NULL,
    sid TEXT,
    claims JSONB,
    rotated_at BIGINT,
    successor_hash BYTEA CHECK (octet_length(successor_hash) = 32),
    sealed_successor BYTEA,
    CHECK (expires_at > issued_at),
    CHECK (sweep_at = LEAST(expires_at, family_expires_at)),
    CHECK (rotated_at IS NOT NULL OR successor_hash IS NULL)
);
CREATE INDEX {prefix}refresh_family_idx ON {prefix}refresh_tokens (family_id);
CREATE INDEX {prefix}refresh_sweep_idx ON {prefix}refresh_tokens (sweep_at);

CREATE TABLE {prefix}pushed_authorization_requests (
    request_uri_hash BYTEA PRIMARY KEY CHECK (octet_length(request_uri_hash) = 32),
    client_id TEXT NOT NULL CHECK (client_id <> ''),
    params JSONB NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    CHECK (expires_at > issued_at)
);
CREATE INDEX {prefix}par_expires_idx ON {prefix}pushed_authorization_requests (expires_at);

CREATE TABLE {prefix}dpop_nonces (
    nonce_hash BYTEA PRIMARY KEY CHECK (octet_length(nonce_hash) = 32),
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    CHECK (expires_at > issued_at)
);
CREATE INDEX {prefix}nonces_expires_idx ON {prefix}dpop_nonces (expires_at);

CREATE TABLE {prefix}jti_replays (
    namespace TEXT NOT NULL,
    key_hash BYTEA NOT NULL CHECK (octet_length(key_hash) = 32),
    expires_at BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (namespace, key_hash),
    CHECK (expires_at > recorded_at)
);
CREATE INDEX {prefix}replays_expires_idx ON {prefix}jti_replays (expires_at);

CREATE TABLE {prefix}device_codes (
    device_code_hash BYTEA PRIMARY KEY CHECK (octet_length(device_code_hash) = 32),
    user_code_hash BYTEA NOT NULL UNIQUE CHECK (octet_length(user_code_hash) = 32),
    client_id TEXT NOT NULL CHECK (client_id <> ''),
    scope JSONB NOT NULL,
    resource JSONB NOT NULL,
    cnf JSONB NOT NULL,
    interval_seconds BIGINT NOT NULL CHECK (interval_seconds > 0 AND interval_seconds <= 4294967295),
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'redeemed')),
    approval JSONB,
    last_polled_at BIGINT,
    last_poll_slowed BOOLEAN NOT NULL DEFAULT FALSE,
    CHECK (expires_at > issued_at),
    CHECK ((approval IS NOT NULL) = (status IN ('approved', 'redeemed')))
);
CREATE INDEX {prefix}device_expires_idx ON {prefix}device_codes (expires_at);

CREATE TABLE {prefix}consent_grants (
    token_hash BYTEA PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    binding_hash BYTEA NOT NULL CHECK (octet_length(binding_hash) = 32),
    subject TEXT NOT NULL CHECK (subject <> ''),
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT,
    CHECK (expires_at > issued_at)
);
CREATE INDEX {prefix}consent_expires_idx ON {prefix}consent_grants (expires_at);

CREATE TABLE {prefix}logout_sessions (
    sid TEXT NOT NULL CHECK (sid <> ''),
    client_id TEXT NOT NULL CHECK (client_id <> ''),
    subject TEXT NOT NULL CHECK (subject <> ''),
    backchannel_logout_uri TEXT NOT NULL CHECK (backchannel_logout_uri <> ''),
    session_required BOOLEAN NOT NULL,
    recorded_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (sid, client_id),
    CHECK (expires_at > recorded_at)
);
CREATE INDEX {prefix}logout_subject_idx ON {prefix}logout_sessions (subject);
CREATE INDEX {prefix}logout_expires_idx ON {prefix}logout_sessions (expires_at);

CREATE TABLE {prefix}client_id_metadata (
    client_id TEXT PRIMARY KEY CHECK (client_id <> ''),
    document JSONB NOT NULL,
    etag TEXT,
    fetched_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    CHECK (expires_at > fetched_at)
);
CREATE INDEX {prefix}cimd_expires_idx ON {prefix}client_id_metadata (expires_at);
