-- The trust center's registry. One DDL for SQLite and PostgreSQL: TEXT ids (UUIDs), TEXT
-- timestamps in RFC 3339 UTC with a fixed width (so they sort as text), BIGINT counters.
-- No backend-specific types, so the same queries run on both.

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    webhook_url TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    org_id TEXT REFERENCES organisations(id),
    label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE products (
    id TEXT PRIMARY KEY,
    maker_id TEXT NOT NULL REFERENCES organisations(id),
    model TEXT NOT NULL,
    hardware_version TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (maker_id, model, hardware_version)
);

CREATE TABLE firmware (
    id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL REFERENCES products(id),
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    size BIGINT NOT NULL,
    support_end TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX firmware_product ON firmware (product_id, version);

CREATE TABLE assessments (
    id TEXT PRIMARY KEY,
    firmware_id TEXT NOT NULL REFERENCES firmware(id),
    submitted_by TEXT NOT NULL REFERENCES organisations(id),
    report TEXT NOT NULL,
    report_sha256 TEXT NOT NULL,
    profile TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    generated_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX assessments_firmware ON assessments (firmware_id);

CREATE TABLE components (
    firmware_id TEXT NOT NULL REFERENCES firmware(id),
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    purl TEXT,
    cpe TEXT,
    PRIMARY KEY (firmware_id, name, version)
);

CREATE TABLE certificates (
    id TEXT PRIMARY KEY,
    assessment_id TEXT NOT NULL REFERENCES assessments(id),
    firmware_id TEXT NOT NULL REFERENCES firmware(id),
    profile TEXT NOT NULL,
    level BIGINT NOT NULL,
    verified BIGINT NOT NULL,
    declared BIGINT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    support_end TEXT,
    issued_by TEXT NOT NULL REFERENCES organisations(id),
    issued_at TEXT NOT NULL,
    key_id TEXT NOT NULL,
    envelope TEXT NOT NULL,
    row_version BIGINT NOT NULL
);
CREATE INDEX certificates_firmware ON certificates (firmware_id, status);

CREATE TABLE certificate_history (
    certificate_id TEXT NOT NULL REFERENCES certificates(id),
    seq BIGINT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    PRIMARY KEY (certificate_id, seq)
);

CREATE TABLE advisories (
    id TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    modified TEXT NOT NULL,
    loaded_at TEXT NOT NULL
);

CREATE TABLE recheck_runs (
    id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    advisories BIGINT NOT NULL,
    firmware BIGINT NOT NULL,
    new_matches BIGINT NOT NULL,
    dropped BIGINT NOT NULL,
    suspended BIGINT NOT NULL,
    expired BIGINT NOT NULL
);

-- One row per (firmware, advisory, component) a re-check found. A match that no longer applies
-- keeps its row with `dropped_at` set, so "what changed" can be answered later.
CREATE TABLE matches (
    firmware_id TEXT NOT NULL REFERENCES firmware(id),
    advisory_id TEXT NOT NULL,
    component TEXT NOT NULL,
    version TEXT NOT NULL,
    severity TEXT NOT NULL,
    score TEXT,
    fixed TEXT,
    first_run TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    dropped_run TEXT,
    dropped_at TEXT,
    PRIMARY KEY (firmware_id, advisory_id, component)
);
CREATE INDEX matches_first_run ON matches (first_run);
CREATE INDEX matches_dropped_run ON matches (dropped_run);

-- VEX statements of makers: keyed on vulnerability, component and firmware, never on the id alone.
CREATE TABLE vex (
    firmware_id TEXT NOT NULL REFERENCES firmware(id),
    advisory_id TEXT NOT NULL,
    component TEXT NOT NULL,
    status TEXT NOT NULL,
    justification TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (firmware_id, advisory_id, component)
);

-- Webhook notices written in the same transaction as the change they announce, delivered later.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt TEXT NOT NULL,
    delivered_at TEXT,
    last_error TEXT
);
CREATE INDEX outbox_pending ON outbox (delivered_at, next_attempt);

-- The audit log: append-only, each row chained to the previous one by SHA-256.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    before_state TEXT NOT NULL,
    after_state TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

-- One row, updated first in every writing transaction: on PostgreSQL the row lock serialises
-- appends to the chain across instances; on SQLite the write lock does.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
INSERT INTO meta (key, value) VALUES ('generation', '0');

-- Firmware images uploaded for the trust center to assess; `worker` processes take them.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    image_path TEXT NOT NULL,
    image_sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    profile TEXT NOT NULL,
    support_end TEXT,
    submitted_by TEXT NOT NULL REFERENCES organisations(id),
    submitter_role TEXT NOT NULL,
    maker_id TEXT NOT NULL REFERENCES organisations(id),
    attempts BIGINT NOT NULL,
    lease_until TEXT,
    worker TEXT,
    assessment_id TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX jobs_state ON jobs (state, created_at);

-- Public halves of every signing key any instance used; retired keys stay for verification.
CREATE TABLE signing_keys (
    keyid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    created_at TEXT NOT NULL,
    retired_at TEXT
);
