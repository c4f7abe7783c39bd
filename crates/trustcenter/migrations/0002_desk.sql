-- The disclosure desk: vulnerability reports against a maker (and optionally one of its products
-- or firmware releases), each maker's disclosure policy, and the anonymous-report rate limit.
-- Same conventions as 0001: TEXT ids and fixed-width RFC 3339 UTC stamps, BIGINT counters.

CREATE TABLE disclosure_policies (
    org_id TEXT PRIMARY KEY REFERENCES organisations(id),
    ack_days BIGINT NOT NULL,
    update_days BIGINT NOT NULL,
    fix_days BIGINT NOT NULL,
    disclose_days BIGINT NOT NULL,
    -- `maker` (set by the maker), or `assessment:ID` (read from the policy document assessed).
    source TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE vuln_reports (
    id TEXT PRIMARY KEY,
    -- Shown to the reporter and quoted in mail: VR-YYYY-NNNNNN-style, unique.
    tracking TEXT NOT NULL UNIQUE,
    -- SHA-256 of the follow-up secret; the secret itself is shown once.
    secret_hash TEXT NOT NULL UNIQUE,
    maker_id TEXT NOT NULL REFERENCES organisations(id),
    product_id TEXT REFERENCES products(id),
    firmware_id TEXT REFERENCES firmware(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    affected_versions TEXT NOT NULL,
    cvss_vector TEXT,
    -- Tenths (9.8 → 98), so both databases compare it as an integer.
    cvss_score10 BIGINT,
    contact TEXT,
    reporter_org TEXT,
    reporter_token TEXT,
    state TEXT NOT NULL,
    valid BIGINT,
    fixed_version TEXT,
    duplicate_of TEXT,
    -- The policy in force when the report arrived: deadlines never move under the reporter.
    ack_days BIGINT NOT NULL,
    update_days BIGINT NOT NULL,
    fix_days BIGINT NOT NULL,
    disclose_days BIGINT NOT NULL,
    received_at TEXT NOT NULL,
    acknowledged_at TEXT,
    triaged_at TEXT,
    fixed_at TEXT,
    disclosed_at TEXT,
    closed_at TEXT,
    -- The maker's last word to the reporter (a transition or a message): the update clock.
    last_update_at TEXT NOT NULL,
    row_version BIGINT NOT NULL
);
CREATE INDEX vuln_reports_maker ON vuln_reports (maker_id, state, received_at);

CREATE TABLE vuln_report_events (
    report_id TEXT NOT NULL REFERENCES vuln_reports(id),
    seq BIGINT NOT NULL,
    at TEXT NOT NULL,
    -- reporter | maker | admin | system
    author TEXT NOT NULL,
    -- transition | message
    kind TEXT NOT NULL,
    state TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (report_id, seq)
);

CREATE TABLE vuln_report_attachments (
    report_id TEXT NOT NULL REFERENCES vuln_reports(id),
    n BIGINT NOT NULL,
    name TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (report_id, n)
);

-- Fixed-window counters: one row per (bucket, window); old windows are swept.
CREATE TABLE rate_windows (
    bucket TEXT NOT NULL,
    window_start TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
