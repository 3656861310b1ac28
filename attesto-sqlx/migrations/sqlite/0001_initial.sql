-- attesto-sqlx migration 1 (SQLite): the store tables.
--
-- Every table and index name starts with the configured table prefix
-- (default `attesto_`), substituted by attesto-sqlx when it applies this file.
-- Conventions: codes, tokens, request URIs, nonces and consent tokens are stored
-- only as SHA-256 hashes (32-byte BLOB); every instant is whole seconds since
-- the Unix epoch (INTEGER), the unit the stores compare with the caller's `now`;
-- lists and structured values are JSON text. Tables are STRICT, so a value of
-- the wrong type is refused instead of stored.

CREATE TABLE {prefix}authorization_codes (
    code_hash BLOB PRIMARY KEY CHECK (length(code_hash) = 32),
    client_id TEXT NOT NULL CHECK (client_id <> ''),
    redirect_uri TEXT,
    scope TEXT NOT NULL CHECK (json_valid(scope)),
    code_challenge TEXT,
    nonce TEXT,
    subject TEXT NOT NULL CHECK (subject <> ''),
    auth_time INTEGER,
    acr TEXT,
    amr TEXT NOT NULL CHECK (json_valid(amr)),
    sid TEXT,
    resource TEXT NOT NULL CHECK (json_valid(resource)),
    cnf TEXT NOT NULL CHECK (json_valid(cnf)),
    claims TEXT CHECK (json_valid(claims)),
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    redeemed_at INTEGER,
    issuance_recorded INTEGER NOT NULL DEFAULT 0 CHECK (issuance_recorded IN (0, 1)),
    issued_family_id TEXT,
    issued_access_token_jti TEXT,
    issued_access_token_expires_at INTEGER,
    CHECK (expires_at > issued_at),
    CHECK (redeemed_at IS NOT NULL OR issuance_recorded = 0)
) STRICT;
CREATE INDEX {prefix}codes_expires_idx ON {prefix}authorization_codes (expires_at);

CREATE TABLE {prefix}refresh_families (
    family_id TEXT PRIMARY KEY CHECK (family_id <> ''),
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX {prefix}families_expires_idx ON {prefix}refresh_families (expires_at);

CREATE TABLE {prefix}refresh_tokens (
    token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
    family_id TEXT NOT NULL REFERENCES {prefix}refresh_families (family_id),
    generation INTEGER NOT NULL CHECK (generation >= 0),
    parent_hash BLOB CHECK (length(parent_hash) = 32),
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    family_expires_at INTEGER NOT NULL,
    sweep_at INTEGER NOT NULL,
    client_id TEXT NOT NULL CHECK (client_id <> ''),
    subject TEXT NOT NULL CHECK (subject <> ''),
    scope TEXT NOT NULL CHECK (json_valid(scope)),
    resource TEXT NOT NULL CHECK (json_valid(resource)),
    cnf TEXT NOT NULL CHECK (json_valid(cnf)),
    auth_time INTEGER,
    acr TEXT,
    amr TEXT NOT NULL CHECK (json_valid(amr)),
    sid TEXT,
    claims TEXT CHECK (json_valid(claims)),
    rotated_at INTEGER,
    successor_hash BLOB CHECK (length(successor_hash) = 32),
    sealed_successor BLOB,
    CHECK (expires_at > issued_at),
    CHECK (sweep_at = min(expires_at, family_expires_at)),
    CHECK (rotated_at IS NOT NULL OR successor_hash IS NULL)
) STRICT;
CREATE INDEX {prefix}refresh_family_idx ON {prefix}refresh_tokens (family_id);
CREATE INDEX {prefix}refresh_sweep_idx ON {prefix}refresh_tokens (sweep_at);

CREATE TABLE {prefix}pushed_authorization_requests (
    request_uri_hash BLOB PRIMARY KEY CHECK (length(request_uri_hash) = 32),
    client_id TEXT NOT NULL CHECK (client_id <> ''),
    params TEXT NOT NULL CHECK (json_valid(params)),
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    CHECK (expires_at > issued_at)
) STRICT;
CREATE INDEX {prefix}par_expires_idx ON {prefix}pushed_authorization_requests (expires_at);

CREATE TABLE {prefix}dpop_nonces (
    nonce_hash BLOB PRIMARY KEY CHECK (length(nonce_hash) = 32),
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    CHECK (expires_at > issued_at)
) STRICT;
CREATE INDEX {prefix}nonces_expires_idx ON {prefix}dpop_nonces (expires_at);

CREATE TABLE {prefix}jti_replays (
    namespace TEXT NOT NULL,
    key_hash BLOB NOT NULL CHECK (length(key_hash) = 32),
    expires_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (namespace, key_hash),
    CHECK (expires_at > recorded_at)
) STRICT;
CREATE INDEX {prefix}replays_expires_idx ON {prefix}jti_replays (expires_at);

CREATE TABLE {prefix}device_codes (
    device_code_hash BLOB PRIMARY KEY CHECK (length(device_code_hash) = 32),
    user_code_hash BLOB NOT NULL UNIQUE CHECK (length(user_code_hash) = 32),
    client_id TEXT NOT NULL CHECK (client_id <> ''),
    scope TEXT NOT NULL CHECK (json_valid(scope)),
    resource TEXT NOT NULL CHECK (json_valid(resource)),
    cnf TEXT NOT NULL CHECK (json_valid(cnf)),
    interval_seconds INTEGER NOT NULL CHECK (interval_seconds > 0 AND interval_seconds <= 4294967295),
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'redeemed')),
    approval TEXT CHECK (json_valid(approval)),
    last_polled_at INTEGER,
    last_poll_slowed INTEGER NOT NULL DEFAULT 0 CHECK (last_poll_slowed IN (0, 1)),
    CHECK (expires_at > issued_at),
    CHECK ((approval IS NOT NULL) = (status IN ('approved', 'redeemed')))
) STRICT;
CREATE INDEX {prefix}device_expires_idx ON {prefix}device_codes (expires_at);

CREATE TABLE {prefix}consent_grants (
    token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
    binding_hash BLOB NOT NULL CHECK (length(binding_hash) = 32),
    subject TEXT NOT NULL CHECK (subject <> ''),
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    consumed_at INTEGER,
    CHECK (expires_at > issued_at)
) STRICT;
CREATE INDEX {prefix}consent_expires_idx ON {prefix}consent_grants (expires_at);

CREATE TABLE {prefix}logout_sessions (
    sid TEXT NOT NULL CHECK (sid <> ''),
    client_id TEXT NOT NULL CHECK (client_id <> ''),
    subject TEXT NOT NULL CHECK (subject <> ''),
    backchannel_logout_uri TEXT NOT NULL CHECK (backchannel_logout_uri <> ''),
    session_required INTEGER NOT NULL CHECK (session_required IN (0, 1)),
    recorded_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (sid, client_id),
    CHECK (expires_at > recorded_at)
) STRICT;
CREATE INDEX {prefix}logout_subject_idx ON {prefix}logout_sessions (subject);
CREATE INDEX {prefix}logout_expires_idx ON {prefix}logout_sessions (expires_at);

CREATE TABLE {prefix}client_id_metadata (
    client_id TEXT PRIMARY KEY CHECK (client_id <> ''),
    document TEXT NOT NULL CHECK (json_valid(document)),
    etag TEXT,
    fetched_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    CHECK (expires_at > fetched_at)
) STRICT;
CREATE INDEX {prefix}cimd_expires_idx ON {prefix}client_id_metadata (expires_at);
