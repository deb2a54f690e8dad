-- What the recovery job needs to finish a capture, void, expiry or refund whose answer was lost
-- (a timeout, a 5xx, or this process dying while the processor was being asked).
--
-- An expiry is a void at the processor but a different lifecycle outcome (`expired`, not `voided`),
-- so its claim marker says which one it was; otherwise recovery could not tell them apart.
ALTER TABLE charges DROP CONSTRAINT charges_pending_operation_check;
ALTER TABLE charges ADD CONSTRAINT charges_pending_operation_check
    CHECK (pending_operation IN ('capture', 'void', 'expire'));
CREATE INDEX charges_claimed ON charges (id) WHERE pending_operation IS NOT NULL;

-- A refund attempt names its refund, so a pending refund finds the attempt to settle.
ALTER TABLE charge_attempts ADD COLUMN refund_id text COLLATE "C";
CREATE INDEX charge_attempts_refund ON charge_attempts (refund_id) WHERE refund_id IS NOT NULL;
CREATE INDEX refunds_pending ON refunds (id) WHERE status = 'pending';
