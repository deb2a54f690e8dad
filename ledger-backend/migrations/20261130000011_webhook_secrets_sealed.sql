-- Webhook signing secrets at rest are sealed (core::sealed: AES-256-GCM under PAYGATE_SECRETS_KEYS, a key
-- that is never in the database), bound to the endpoint and its owner. Signing needs the secret itself, so
-- it cannot be hashed like an API key; sealed, a copy of the database alone signs nothing.
-- Rows written before this migration hold the plaintext until the backend seals them at start-up
-- (`endpoints::seal_plaintext_secrets`); a later migration drops the plaintext columns.
ALTER TABLE webhook_endpoints ADD COLUMN secret_sealed jsonb;
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret_sealed jsonb;
ALTER TABLE webhook_endpoints ALTER COLUMN secret DROP NOT NULL;
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_has_secret
    CHECK (secret_sealed IS NOT NULL OR secret IS NOT NULL);
