//! Processor accounts (`pa_…`): a merchant's account at a processor, per mode: the connector, sealed
//! credentials, settings, and whether routing may use it. Credentials are sealed with
//! `PAYGATE_SECRETS_KEYS` (the account and its owner as associated data, so a sealed value copied to
//! another row does not open), shown never again after creation, and never logged. Every test-mode
//! merchant has a sandbox account, made with the merchant.

use crate::domain::page::Page;
use crate::domain::tenancy::Scope;
use crate::ids::new_id;
use crate::processors::{Connector, Credentials};
use paygate_core::Mode;
use paygate_core::id::{MerchantId, ProcessorAccountId, ProcessorAccountKind};
use paygate_core::processor::ConnectorKind;
use paygate_core::sealed::{self, DataKeys, Sealed};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

/// Names are for people: short.
pub const DISPLAY_NAME_CHARS_MAX: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("no such processor account")]
    NotFound,
    #[error("{1}")]
    Invalid(&'static str, String),
    #[error("the credentials could not be sealed or opened: {0}")]
    Sealing(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub const COLUMNS: &str =
    "id, merchant_id, mode, connector, display_name, credentials_hint, settings, enabled, problem,
    extract(epoch FROM problem_at)::bigint AS problem_at, extract(epoch FROM created_at)::bigint AS created,
    (SELECT jsonb_build_object(
        'pulled_until', floor(extract(epoch FROM p.pulled_until))::bigint,
        'last_pulled_at', floor(extract(epoch FROM p.last_pulled_at))::bigint,
        'next_pull_at', floor(extract(epoch FROM p.due_at))::bigint,
        'failures', p.failures, 'last_error', p.last_error)
     FROM settlement_pulls p WHERE p.processor_account_id = processor_accounts.id) AS settlement_pull";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRecord {
    pub id: ProcessorAccountId,
    pub merchant_id: MerchantId,
    pub mode: Mode,
    #[sqlx(try_from = "String")]
    pub connector: ConnectorName,
    pub display_name: String,
    pub credentials_hint: Option<String>,
    pub settings: Value,
    pub enabled: bool,
    pub problem: Option<String>,
    pub problem_at: Option<i64>,
    pub created: i64,
    /// Where the scheduled pull of its settlement reports stands (`settlement::pull`); `None` before the first.
    #[sqlx(json(nullable))]
    pub settlement_pull: Option<PullState>,
}

/// The pull state as the account's answer shows it (Unix seconds).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PullState {
    pub pulled_until: i64,
    pub last_pulled_at: Option<i64>,
    pub next_pull_at: i64,
    pub failures: i32,
    pub last_error: Option<String>,
}

/// A stored connector name, decoded loudly: a name this build does not know is a decode error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectorName(pub ConnectorKind);

impl TryFrom<String> for ConnectorName {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        ConnectorKind::parse(&text).map(ConnectorName).ok_or_else(|| format!("unknown connector {text:?}"))
    }
}

/// What credentials are sealed for: the account and its owner.
fn context(id: ProcessorAccountId, scope: Scope) -> String {
    format!("processor_credentials:{id}:{}:{}", scope.merchant_id, scope.mode.as_str())
}

fn seal(
    keys: &DataKeys,
    credentials: &Credentials,
    id: ProcessorAccountId,
    scope: Scope,
) -> Result<Value, AccountError> {
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|e| AccountError::Sealing(e.to_string()))?;
    let plain = serde_json::to_vec(credentials).expect("credentials always serialize");
    let sealed =
        sealed::seal(keys, &plain, &context(id, scope), nonce).map_err(|e| AccountError::Sealing(e.to_string()))?;
    Ok(serde_json::to_value(sealed).expect("a sealed value always serializes"))
}

fn open(
    keys: &DataKeys,
    sealed_value: Value,
    id: ProcessorAccountId,
    scope: Scope,
) -> Result<Credentials, AccountError> {
    let sealed: Sealed = serde_json::from_value(sealed_value).map_err(|e| AccountError::Sealing(e.to_string()))?;
    let plain = sealed::open(keys, &sealed, &context(id, scope)).map_err(|e| AccountError::Sealing(e.to_string()))?;
    serde_json::from_slice(&plain).map_err(|e| AccountError::Sealing(e.to_string()))
}

fn check_name(name: &str) -> Result<(), AccountError> {
    let ok = paygate_core::text::single_line(name, DISPLAY_NAME_CHARS_MAX).is_ok() && !name.trim().is_empty();
    if ok {
        Ok(())
    } else {
        Err(AccountError::Invalid(
            "display_name",
            format!("display_name must be 1 to {DISPLAY_NAME_CHARS_MAX} characters on one line"),
        ))
    }
}

/// A new account of a merchant-created connector, with its credentials (checked for the mode).
pub struct NewAccount {
    pub display_name: String,
    pub credentials: Credentials,
    pub settings: Option<Value>,
}

/// What the processor charges under the merchant's contract (`settings.fees`: `basis_points` of each capture
/// plus `fixed` minor units, as our own pricing computes it), and how far a reported fee may stray from it
/// (`tolerance`, minor units) before reconciliation calls it a `fee_variance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedFees {
    pub pricing: paygate_core::ledger::Pricing,
    pub tolerance: i64,
}

impl ExpectedFees {
    /// The account's expected fees, if its settings name them.
    pub fn from_settings(settings: &Value) -> Result<Option<ExpectedFees>, AccountError> {
        let Some(fees) = settings.get("fees") else { return Ok(None) };
        let Value::Object(fields) = fees else {
            return Err(AccountError::Invalid("settings.fees", "settings.fees must be an object".into()));
        };
        let mut numbers = [0i64; 3];
        for (name, value) in fields {
            let (slot, max) = match name.as_str() {
                "basis_points" => (0, i64::from(paygate_core::ledger::BASIS_POINTS_MAX)),
                "fixed" => (1, paygate_core::money::AMOUNT_MINOR_MAX),
                "tolerance" => (2, paygate_core::money::AMOUNT_MINOR_MAX),
                _ => {
                    return Err(AccountError::Invalid(
                        "settings.fees",
                        format!("settings.fees takes basis_points, fixed and tolerance, not {name}"),
                    ));
                }
            };
            numbers[slot] = value.as_i64().filter(|n| (0..=max).contains(n)).ok_or_else(|| {
                AccountError::Invalid(
                    "settings.fees",
                    format!("settings.fees.{name} must be an integer from 0 to {max}"),
                )
            })?;
        }
        let fixed = paygate_core::money::Amount::new(numbers[1])
            .map_err(|e| AccountError::Invalid("settings.fees", format!("settings.fees.fixed: {e}")))?;
        let pricing = paygate_core::ledger::Pricing::new(numbers[0] as u16, fixed)
            .map_err(|e| AccountError::Invalid("settings.fees", format!("settings.fees.basis_points: {e}")))?;
        Ok(Some(ExpectedFees { pricing, tolerance: numbers[2] }))
    }
}

/// How many days Stripe's scheduled report waits after the data is available (`settings.report_delay_days`,
/// 0 to 30): Stripe fills a row's `automatic_payout_id` only once the payout is made, so a day reported before
/// its payout would settle without ever being paid out. The default covers Stripe's standard payout schedule
/// (two business days, over a weekend).
pub const STRIPE_REPORT_DELAY_DAYS: i64 = 4;

pub fn report_delay_days(settings: &Value) -> Result<i64, AccountError> {
    match settings.get("report_delay_days") {
        None => Ok(STRIPE_REPORT_DELAY_DAYS),
        Some(value) => value.as_i64().filter(|d| (0..=30).contains(d)).ok_or_else(|| {
            AccountError::Invalid(
                "settings.report_delay_days",
                "settings.report_delay_days must be an integer from 0 to 30".into(),
            )
        }),
    }
}

/// Checks a connector's settings, naming the field at fault: Checkout.com takes `mada` (the account is on a
/// Saudi acquirer's Mada setup, so domestic Mada payments go to it), Stripe `report_delay_days`, every one
/// `fees`.
pub fn check_settings(connector: ConnectorKind, settings: &Value) -> Result<(), AccountError> {
    let Value::Object(fields) = settings else {
        return Err(AccountError::Invalid("settings", "settings must be an object".into()));
    };
    for (name, value) in fields {
        match (connector, name.as_str()) {
            (ConnectorKind::Checkout, "mada") if value.is_boolean() => {}
            (ConnectorKind::Checkout, "mada") => {
                return Err(AccountError::Invalid("settings.mada", "settings.mada must be true or false".into()));
            }
            (_, "fees") => {
                ExpectedFees::from_settings(settings)?;
            }
            (ConnectorKind::Stripe, "report_delay_days") => {
                report_delay_days(settings)?;
            }
            _ => {
                return Err(AccountError::Invalid(
                    "settings",
                    format!("{} accounts have no setting {name}", connector.as_str()),
                ));
            }
        }
    }
    Ok(())
}

pub async fn create(
    pool: &PgPool,
    keys: &DataKeys,
    scope: Scope,
    new: NewAccount,
) -> Result<AccountRecord, AccountError> {
    check_name(&new.display_name)?;
    new.credentials.check(scope.mode).map_err(|(field, reason)| AccountError::Invalid(field, reason))?;
    let settings = new.settings.unwrap_or_else(|| Value::Object(Default::default()));
    check_settings(new.credentials.connector(), &settings)?;
    let id = new_id::<ProcessorAccountKind>();
    let sealed = seal(keys, &new.credentials, id, scope)?;
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO processor_accounts (id, merchant_id, mode, connector, display_name, credentials_sealed, credentials_hint,
                                         settings)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(new.credentials.connector().as_str())
    .bind(new.display_name.trim())
    .bind(sealed)
    .bind(new.credentials.hint())
    .bind(&settings)
    .execute(&mut *tx)
    .await?;
    let data = serde_json::json!({ "connector": new.credentials.connector().as_str(), "credentials_hint": new.credentials.hint() });
    audit(&mut tx, scope, "processor_account.create", id, data).await?;
    tx.commit().await?;
    get(pool, scope, id).await
}

/// The audit row of a change to an account: what changed, never the credentials (their hint at most).
async fn audit(
    conn: &mut PgConnection,
    scope: Scope,
    action: &str,
    id: ProcessorAccountId,
    data: Value,
) -> Result<(), sqlx::Error> {
    let entry = crate::domain::journal::AuditEntry {
        actor: &crate::domain::actor::current(),
        action,
        object_type: "processor_account",
        object_id: &id.to_string(),
        request_id: None,
        data,
    };
    crate::domain::journal::audit(conn, scope, entry).await
}

/// Makes the merchant's sandbox account (test mode) if it has none; answers its id.
pub async fn ensure_sandbox(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
) -> Result<ProcessorAccountId, sqlx::Error> {
    let id = new_id::<ProcessorAccountKind>();
    sqlx::query(
        "INSERT INTO processor_accounts (id, merchant_id, mode, connector, display_name)
         VALUES ($1, $2, 'test', 'sandbox', 'Sandbox') ON CONFLICT (merchant_id) WHERE connector = 'sandbox' DO NOTHING",
    )
    .bind(id)
    .bind(merchant_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar("SELECT id FROM processor_accounts WHERE merchant_id = $1 AND connector = 'sandbox'")
        .bind(merchant_id)
        .fetch_one(conn)
        .await
}

/// At start-up: a sandbox account for every merchant made before accounts existed, and their charges (all
/// the sandbox's then) pointed at it. Only those merchants' charges are touched: once every merchant has its
/// account (from the first start on), this is one cheap query. Returns how many charges it filled in.
pub async fn backfill(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let merchants: Vec<MerchantId> = sqlx::query_scalar(
        "SELECT m.id FROM merchants m
         WHERE NOT EXISTS (SELECT 1 FROM processor_accounts a WHERE a.merchant_id = m.id AND a.connector = 'sandbox')",
    )
    .fetch_all(pool)
    .await?;
    if merchants.is_empty() {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    for merchant in &merchants {
        ensure_sandbox(&mut tx, *merchant).await?;
    }
    let ids: Vec<String> = merchants.iter().map(ToString::to_string).collect();
    let filled = sqlx::query(
        "UPDATE charges c SET processor_account_id = a.id FROM processor_accounts a
         WHERE c.merchant_id = ANY($1) AND c.mode = 'test' AND c.processor_account_id IS NULL
           AND a.merchant_id = c.merchant_id AND a.connector = 'sandbox'",
    )
    .bind(&ids)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "UPDATE charge_attempts t SET processor_account_id = c.processor_account_id FROM charges c
         WHERE c.merchant_id = ANY($1) AND c.id = t.charge_id AND t.processor_account_id IS NULL
           AND c.processor_account_id IS NOT NULL",
    )
    .bind(&ids)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(filled)
}

/// Whose account `id` is, and of which connector: the one question asked before any scope is known (a
/// processor's webhook, an operator's report), answered by `processor_account_scope` alone.
pub async fn owner(pool: &PgPool, id: ProcessorAccountId) -> Result<Option<(Scope, ConnectorKind)>, sqlx::Error> {
    let row: Option<(MerchantId, Mode, String)> =
        sqlx::query_as("SELECT merchant_id, mode, connector FROM processor_account_scope($1)")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(row.and_then(|(merchant_id, mode, connector)| {
        ConnectorKind::parse(&connector).map(|kind| (Scope { merchant_id, mode }, kind))
    }))
}

pub async fn get(pool: &PgPool, scope: Scope, id: ProcessorAccountId) -> Result<AccountRecord, AccountError> {
    crate::domain::scoped::find(pool, scope, "processor_accounts", COLUMNS, id).await?.ok_or(AccountError::NotFound)
}

/// Every account of the scope (a merchant has a handful), oldest first: routing reads them all.
pub async fn all(conn: &mut PgConnection, scope: Scope) -> Result<Vec<AccountRecord>, sqlx::Error> {
    let select = format!("SELECT {COLUMNS} FROM processor_accounts WHERE merchant_id = $1 AND mode = $2 ORDER BY id");
    sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(scope.merchant_id).bind(scope.mode).fetch_all(conn).await
}

pub async fn list(pool: &PgPool, scope: Scope, page: &Page) -> Result<(Vec<AccountRecord>, bool), AccountError> {
    let (cursor, tail) = page.sql("id", 3);
    let select =
        format!("SELECT {COLUMNS} FROM processor_accounts WHERE merchant_id = $1 AND mode = $2 {cursor} {tail}");
    let query = sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(scope.merchant_id).bind(scope.mode);
    let rows = page.bind(query).fetch_all(pool).await?;
    Ok(page.finish(rows))
}

/// A partial update; `None` leaves a field as it is. New credentials must be the same connector's and the
/// mode's, and clear the account's recorded problem.
#[derive(Debug, Default)]
pub struct Changes {
    pub display_name: Option<String>,
    pub credentials: Option<Credentials>,
    pub enabled: Option<bool>,
    pub settings: Option<Value>,
}

pub async fn update(
    pool: &PgPool,
    keys: &DataKeys,
    scope: Scope,
    id: ProcessorAccountId,
    changes: Changes,
) -> Result<AccountRecord, AccountError> {
    let current = get(pool, scope, id).await?;
    if let Some(name) = &changes.display_name {
        check_name(name)?;
    }
    if let Some(settings) = &changes.settings {
        check_settings(current.connector.0, settings)?;
    }
    let sealed = match &changes.credentials {
        Some(credentials) => {
            if credentials.connector() != current.connector.0 {
                return Err(AccountError::Invalid(
                    "credentials",
                    format!("credentials must be for the account's connector, {}", current.connector.0.as_str()),
                ));
            }
            credentials.check(scope.mode).map_err(|(field, reason)| AccountError::Invalid(field, reason))?;
            Some((seal(keys, credentials, id, scope)?, credentials.hint()))
        }
        None => None,
    };
    let (sealed, hint) = sealed.unzip();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE processor_accounts SET
             display_name = coalesce($4, display_name),
             credentials_sealed = coalesce($5, credentials_sealed),
             credentials_hint = coalesce($6, credentials_hint),
             problem = CASE WHEN $5 IS NULL THEN problem END,
             problem_at = CASE WHEN $5 IS NULL THEN problem_at END,
             enabled = coalesce($7, enabled),
             settings = coalesce($8, settings),
             updated_at = now()
         WHERE id = $1 AND merchant_id = $2 AND mode = $3",
    )
    .bind(id)
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(changes.display_name.as_deref().map(str::trim))
    .bind(sealed)
    .bind(&hint)
    .bind(changes.enabled)
    .bind(&changes.settings)
    .execute(&mut *tx)
    .await?;
    let data = serde_json::json!({
        "display_name": changes.display_name, "enabled": changes.enabled, "credentials_hint": hint,
        "settings": changes.settings,
    });
    audit(&mut tx, scope, "processor_account.update", id, data).await?;
    tx.commit().await?;
    get(pool, scope, id).await
}

/// The processor said the account is not set up for what we asked; its owner sees why on the account.
pub async fn record_problem(conn: &mut PgConnection, id: ProcessorAccountId, problem: &str) -> Result<(), sqlx::Error> {
    let problem: String = problem.chars().take(500).collect();
    sqlx::query("UPDATE processor_accounts SET problem = $2, problem_at = now() WHERE id = $1")
        .bind(id)
        .bind(problem)
        .execute(conn)
        .await?;
    Ok(())
}

/// The credentials of account `id` (in `scope`), opened; `None` for the sandbox, which has none.
pub async fn credentials(
    conn: &mut PgConnection,
    keys: &DataKeys,
    scope: Scope,
    id: ProcessorAccountId,
) -> Result<Option<Credentials>, AccountError> {
    let sealed: Option<Option<Value>> = sqlx::query_scalar(
        "SELECT credentials_sealed FROM processor_accounts WHERE id = $1 AND merchant_id = $2 AND mode = $3",
    )
    .bind(id)
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .fetch_optional(conn)
    .await?;
    sealed.ok_or(AccountError::NotFound)?.map(|s| open(keys, s, id, scope)).transpose()
}

/// The connector of account `id` with its credentials opened, for a call to its processor. Reads across
/// scopes only by id (the jobs' pool), and checks the account belongs to `scope`.
pub async fn connector(
    conn: &mut PgConnection,
    keys: &DataKeys,
    scope: Scope,
    id: ProcessorAccountId,
) -> Result<Connector, AccountError> {
    let row: Option<(String, Option<Value>)> = sqlx::query_as(
        "SELECT connector, credentials_sealed FROM processor_accounts WHERE id = $1 AND merchant_id = $2 AND mode = $3",
    )
    .bind(id)
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .fetch_optional(conn)
    .await?;
    let (name, sealed) = row.ok_or(AccountError::NotFound)?;
    connector_from(keys, scope, id, name, sealed)
}

/// `connector`, from the account's `connector` and `credentials_sealed` columns read by the caller's own
/// statement.
pub fn connector_from(
    keys: &DataKeys,
    scope: Scope,
    id: ProcessorAccountId,
    name: String,
    sealed: Option<Value>,
) -> Result<Connector, AccountError> {
    let kind = ConnectorName::try_from(name).map_err(AccountError::Sealing)?.0;
    open_connector(keys, scope, id, kind, sealed)
}

/// The connector of account `id`, of kind `kind`, its sealed credentials (read by the caller) opened.
pub fn open_connector(
    keys: &DataKeys,
    scope: Scope,
    id: ProcessorAccountId,
    kind: ConnectorKind,
    sealed: Option<Value>,
) -> Result<Connector, AccountError> {
    let credentials = sealed.map(|s| open(keys, s, id, scope)).transpose()?;
    Connector::new(id, kind, credentials, scope.mode).map_err(AccountError::Sealing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processors::credentials::Secret;

    #[test]
    fn credentials_sealed_under_an_older_key_open_during_a_rotation_and_are_bound_to_their_account() {
        let scope = Scope { merchant_id: new_id::<paygate_core::id::MerchantKind>(), mode: Mode::Test };
        let id = new_id::<ProcessorAccountKind>();
        let credentials =
            Credentials::Stripe { secret_key: Secret::new("sk_test_51rotation000".into()), webhook_secret: None };
        let old = DataKeys::from_keys(vec![(1, [7; 32])]);
        let sealed_value = seal(&old, &credentials, id, scope).unwrap();
        assert!(!sealed_value.to_string().contains("sk_test_51rotation000"));
        // The rotation: version 2 is current, version 1 still opens what it sealed.
        let rotating = DataKeys::from_keys(vec![(2, [9; 32]), (1, [7; 32])]);
        let opened = open(&rotating, sealed_value.clone(), id, scope).unwrap();
        assert!(
            matches!(&opened, Credentials::Stripe { secret_key, .. } if secret_key.expose() == "sk_test_51rotation000")
        );
        let resealed: Sealed = serde_json::from_value(seal(&rotating, &opened, id, scope).unwrap()).unwrap();
        let sealed_old: Sealed = serde_json::from_value(sealed_value.clone()).unwrap();
        assert_ne!(resealed.key_version, sealed_old.key_version, "new seals use the newest key");
        // Once version 1 is retired, what it sealed no longer opens; nor does a value copied to another account.
        let retired = DataKeys::from_keys(vec![(2, [9; 32])]);
        assert!(open(&retired, sealed_value.clone(), id, scope).is_err());
        assert!(open(&rotating, sealed_value, new_id::<ProcessorAccountKind>(), scope).is_err());
    }
}
