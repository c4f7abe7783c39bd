-- Web sign-in sessions. The cookie holds a random session id; only its SHA-256 is stored. A
-- session acts as the token it was opened with and dies with it: lookups join `tokens` and
-- require `revoked_at IS NULL`, so revoking the token ends every session opened with it.
CREATE TABLE web_sessions (
    id_hash TEXT PRIMARY KEY,
    token_id TEXT NOT NULL REFERENCES tokens(id),
    -- Per-session anti-CSRF secret, echoed in a hidden field of every form.
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX web_sessions_token ON web_sessions (token_id);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);
