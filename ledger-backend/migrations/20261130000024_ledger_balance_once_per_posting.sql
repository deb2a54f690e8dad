-- The balance check ran once per ledger entry: its GROUP BY over the posting's lines was repeated for each of
-- them (2 to 5 per posting, 7 per created and captured charge). It now runs once per ledger transaction, at
-- commit. That is only as strong as before if a posting's entries cannot arrive after its check ran, so entries
-- may only be written in the database transaction that wrote their ledger transaction (checked once per
-- statement, not per row).

-- Which database transaction wrote each ledger transaction. Rows from before this migration keep NULL, so no
-- entry can ever be added to them; the default applies to new rows only (no table rewrite).
ALTER TABLE ledger_transactions ADD COLUMN written_by xid8;
ALTER TABLE ledger_transactions ALTER COLUMN written_by SET DEFAULT pg_current_xact_id();

-- One primary-key lookup per distinct ledger transaction of the statement (one, for every posting we write): a
-- join of the transition table with ledger_transactions would be planned once, generically, and could scan
-- every ledger transaction of a merchant for each posting, as the benchmark saw for one hot merchant.
CREATE FUNCTION ledger_entries_check_written_with_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    written text;
BEGIN
    FOR written IN SELECT DISTINCT transaction_id FROM new_entries LOOP
        IF NOT EXISTS (SELECT 1 FROM ledger_transactions WHERE id = written AND written_by = pg_current_xact_id()) THEN
            RAISE EXCEPTION 'ledger entries of % must be written with it, in the database transaction that wrote it',
                written USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_written_with_transaction';
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$;

CREATE TRIGGER ledger_entries_written_with_transaction
    AFTER INSERT ON ledger_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_check_written_with_transaction();

-- The same check as before, per ledger transaction instead of per entry; the same name in its error.
DROP TRIGGER ledger_transaction_balanced ON ledger_entries;
DROP FUNCTION ledger_check_balanced();

CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced text;
BEGIN
    SELECT currency INTO unbalanced
    FROM ledger_entries
    WHERE transaction_id = NEW.id
    GROUP BY currency
    HAVING sum(amount) <> 0
    LIMIT 1;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'ledger transaction % does not balance in %', NEW.id, unbalanced
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transaction_balanced';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER ledger_transaction_balanced
    AFTER INSERT ON ledger_transactions
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();
