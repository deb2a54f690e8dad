-- A charge may be paid with Apple Pay: a device card opened from a wallet token in the edge vault.
ALTER TABLE charges DROP CONSTRAINT charges_payment_method_check;
ALTER TABLE charges ADD CONSTRAINT charges_payment_method_check CHECK (payment_method IN ('card', 'apple_pay'));
