-- Mada, the way Saudi rules require (SAMA: domestic e-commerce card payments go over the national network).
-- A merchant's country decides whether a Mada card is a Mada transaction; a charge made on Mada rails is
-- marked, because Mada has no separate authorization, no partial capture and no void.
ALTER TABLE merchants ADD COLUMN country text CHECK (country ~ '^[A-Z]{2}$');
ALTER TABLE charges ADD COLUMN mada boolean NOT NULL DEFAULT false;
