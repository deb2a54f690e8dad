-- The double-entry ledger (DESIGN.md §4). The rules that produce entries are paygate_core::ledger; the
-- database enforces, as a second line:
--   * every journal transaction balances per currency (a deferred constraint trigger checks the sum
--     at commit, so the lines of one transaction may be inserted in any order);
--   * an entry's currency is its account's currency (composite foreign key);
--   * transactions and entries are immutable (UPDATE, DELETE and TRUNCATE raise).
-- There are no balance columns to update: a balance is the sum of an account's entries, so concurrent
-- charges only ever insert rows and one busy merchant creates no hot row.

-- Accounts belong to one (merchant, mode, currency); `kind` is paygate_core::ledger::AccountKind.
CREATE TABLE ledger_accounts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    merchant_id  text NOT NULL REFERENCES merchants (id),
    mode         text NOT NULL CHECK (mode IN ('test', 'live')),
    currency     text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    kind         text NOT NULL CHECK (kind IN ('authorization_receivable', 'authorization_payable',
                     'processor_receivable', 'merchant_pending', 'merchant_available', 'fee_revenue',
                     'processor_fees', 'cash')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ledger_accounts_identity UNIQUE (merchant_id, mode, currency, kind),
    -- Target of the entries' composite foreign key that pins an entry's currency to its account's.
    CONSTRAINT ledger_accounts_id_currency UNIQUE (id, currency)
);

-- Partitioned by id range (= time), like charges; see 20261121000003_charges.sql.
CREATE TABLE ledger_transactions (
    id           text COLLATE "C" NOT NULL CHECK (id ~ '^ltx_[0-9a-z]{26}$'),
    merchant_id  text NOT NULL,
    mode         text NOT NULL CHECK (mode IN ('test', 'live')),
    kind         text NOT NULL CHECK (kind IN ('authorization', 'capture', 'release', 'refund',
                     'refund_reversal', 'settlement')),
    charge_id    text COLLATE "C",
    refund_id    text COLLATE "C",
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
) PARTITION BY RANGE (id);
CREATE TABLE ledger_transactions_default PARTITION OF ledger_transactions DEFAULT;
CREATE INDEX ledger_transactions_merchant ON ledger_transactions (merchant_id, mode, id);
CREATE INDEX ledger_transactions_charge ON ledger_transactions (charge_id) WHERE charge_id IS NOT NULL;

-- Debits are positive, credits negative; zero lines are never written.
CREATE TABLE ledger_entries (
    transaction_id  text COLLATE "C" NOT NULL,
    line            smallint NOT NULL CHECK (line >= 0),
    account_id      bigint NOT NULL,
    currency        text NOT NULL,
    amount          bigint NOT NULL CHECK (amount <> 0 AND abs(amount) <= 999999999999),
    PRIMARY KEY (transaction_id, line),
    FOREIGN KEY (transaction_id) REFERENCES ledger_transactions (id),
    FOREIGN KEY (account_id, currency) REFERENCES ledger_accounts (id, currency)
) PARTITION BY RANGE (transaction_id);
CREATE TABLE ledger_entries_default PARTITION OF ledger_entries DEFAULT;
-- Balances: sum(amount) by account, answered from the index alone.
CREATE INDEX ledger_entries_account ON ledger_entries (account_id) INCLUDE (amount);

CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced text;
BEGIN
    SELECT currency INTO unbalanced
    FROM ledger_entries
    WHERE transaction_id = NEW.transaction_id
    GROUP BY currency
    HAVING sum(amount) <> 0
    LIMIT 1;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'ledger transaction % does not balance in %', NEW.transaction_id, unbalanced
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transaction_balanced';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER ledger_transaction_balanced
    AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();

-- Shared by every append-only table.
CREATE FUNCTION reject_modification() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER ledger_transactions_immutable BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION reject_modification();
CREATE TRIGGER ledger_entries_immutable BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION reject_modification();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
