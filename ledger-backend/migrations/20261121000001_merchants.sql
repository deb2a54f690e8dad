-- Merchants own everything else: every later table carries merchant_id and mode, and every query is
-- scoped by both (DESIGN.md invariant 6). Ids are the typed text ids of paygate-core (`acct_…`), which
-- sort by creation time, so a text primary key keeps inserts append-mostly.
CREATE TABLE merchants (
    id          text PRIMARY KEY CHECK (id ~ '^acct_[0-9a-z]{26}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);
