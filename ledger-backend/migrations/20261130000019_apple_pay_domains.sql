-- The web domains a merchant registered for Apple Pay: the edge asks Apple for a merchant session only for these
-- (the domain each shop page runs on, which must serve Apple's domain-association file).
CREATE TABLE apple_pay_domains (
    id           text COLLATE "C" NOT NULL PRIMARY KEY CHECK (id ~ '^apd_[0-9a-z]{26}$'),
    merchant_id  text NOT NULL REFERENCES merchants (id),
    mode         text NOT NULL CHECK (mode IN ('test', 'live')),
    -- Lower case, a plain host name (checked by the API: core's `text::host_name`).
    domain_name  text NOT NULL CHECK (length(domain_name) BETWEEN 3 AND 253 AND domain_name = lower(domain_name)),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (merchant_id, mode, domain_name)
);
CREATE INDEX apple_pay_domains_merchant ON apple_pay_domains (merchant_id, mode, id);
ALTER TABLE apple_pay_domains ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON apple_pay_domains USING (merchant_id = paygate_merchant() AND mode = paygate_mode());
GRANT SELECT, INSERT, DELETE ON apple_pay_domains TO paygate_api, paygate_jobs;
