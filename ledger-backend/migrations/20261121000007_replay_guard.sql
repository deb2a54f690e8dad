-- Replay protection for edge-signed requests (DESIGN.md §5, issue 4): a signature is fresh for ±60 s, and
-- within that window each signed request is accepted once. The middleware inserts a digest of what the
-- signature covers; a second insert of the same digest is a replay and gets 401.
--
-- UNLOGGED: no WAL for a row per request. After a crash the table is empty, so a request captured in the
-- minute before the crash could be replayed once in the minute after it; money-moving requests are still
-- protected by their Idempotency-Key. The worker deletes rows older than the signature window.
CREATE UNLOGGED TABLE seen_requests (
    digest   text PRIMARY KEY CHECK (digest ~ '^[0-9a-f]{64}$'),
    seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX seen_requests_seen_at ON seen_requests (seen_at);
