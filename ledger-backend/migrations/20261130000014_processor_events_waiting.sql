-- A processor event that could not be applied when it came (its payment not yet ours to know, or the state it
-- speaks of not reached yet: a `captured` before its `authorized`) is applied again once an event about the same
-- payment is applied. For that the event's reading is kept: our typed reading of it (the change it reports and
-- the payment, charge and attempt it names), never the processor's raw body.
ALTER TABLE processor_events ADD COLUMN reading jsonb;

-- `applying`: claimed by a delivery (or by a later event bringing it back) and being applied now. Until this
-- migration a new event was stored as `deferred` while it was applied, which a concurrent event about the same
-- payment could not tell from one waiting to be applied again.
ALTER TABLE processor_events DROP CONSTRAINT processor_events_outcome_check;
ALTER TABLE processor_events ADD CONSTRAINT processor_events_outcome_check
    CHECK (outcome IN ('applying', 'applied', 'ignored', 'unmatched', 'deferred'));

-- The events waiting on a payment, found when another event about it is applied.
CREATE INDEX processor_events_waiting ON processor_events (processor_account_id, payment_reference)
    WHERE outcome IN ('unmatched', 'deferred');
-- The merchant's list of an account's events, newest first.
CREATE INDEX processor_events_account ON processor_events (processor_account_id, id);
