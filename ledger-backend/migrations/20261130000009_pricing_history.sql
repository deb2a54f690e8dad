-- Pricing has a history: a change takes effect for charges created from that moment on, so a charge
-- authorized before a price change and captured after it pays the price it was created under. Rows are
-- never updated; a change is a new row (who made it is in the audit log). Existing rows were in effect
-- from the beginning.
ALTER TABLE merchant_pricing ADD COLUMN effective_from timestamptz NOT NULL DEFAULT '-infinity';
ALTER TABLE merchant_pricing ALTER COLUMN effective_from SET DEFAULT now();
ALTER TABLE merchant_pricing DROP CONSTRAINT merchant_pricing_pkey;
ALTER TABLE merchant_pricing ADD PRIMARY KEY (merchant_id, currency, effective_from);
