//! Webhook endpoints: where a merchant wants its events, which ones, and the secret they are signed with.
//! Every query is scoped by merchant and mode. The secret is shown once, at creation and at rotation; a
//! rotation keeps the previous secret signing too until its expiry, so the receiver can switch over.

use super::url_guard::{self, UrlError};
use crate::domain::page::Page;
use crate::domain::tenancy::Scope;
use crate::ids::new_id;
use paygate_core::Mode;
use paygate_core::id::MerchantId;
use paygate_core::id::{WebhookEndpointId, WebhookEndpointKind};
use paygate_core::sealed::{self, DataKeys, SealError};
use paygate_core::signature::webhook::{SECRET_BYTES, WebhookSecret};
use serde_json::Value;
use sqlx::PgPool;

/// Every event type, with when it is sent: what endpoints may subscribe to ('*' is all of them), what the
/// docs site lists, and what `journal::emit` accepts (a type missing here fails every test that emits it).
pub const EVENT_TYPES: &[(&str, &str)] = &[
    ("charge.requires_action", "The issuer wants 3-D Secure: the shopper must authenticate (`next_action`)"),
    ("charge.authorized", "The card was authorized; capture it (or void it) before it expires"),
    ("charge.captured", "The charge was captured, in full or in part: the money is on its way to your balance"),
    ("charge.failed", "The charge failed: declined, authentication failed or abandoned (`failure_code` says why)"),
    ("charge.voided", "The authorization was released before capture"),
    ("charge.expired", "The authorization lapsed before it was captured"),
    ("charge.capture_failed", "The processor refused a capture; the charge stays authorized"),
    ("charge.dispute_opened", "The cardholder disputed the charge at their bank"),
    (
        "charge.refunded",
        "A refund of the charge was made: `amount_refunded`, the running total, includes it (`refund.succeeded` says when the processor confirms it)",
    ),
    ("charge.refund_reverted", "A refund the processor later refused was reverted: the amount is yours again"),
    ("refund.created", "A refund was made; `status` says whether the processor has confirmed it yet"),
    ("refund.succeeded", "The processor confirmed the refund"),
    ("refund.failed", "The processor refused the refund (`failure_code` says why); nothing was refunded"),
    ("reconciliation.exception_opened", "A settlement report disagrees with the ledger: someone should look"),
    ("payout.paid", "A payout reached your bank account"),
    ("payout.failed", "A payout was returned; its amount is back in your balance"),
    ("webhook_endpoint.disabled", "An endpoint was disabled after failing for days"),
    // Sent only to the endpoint being tested, whatever it subscribes to (`deliveries::send_test`).
    ("webhook_endpoint.test", "A test event you asked for, sent to that endpoint only"),
];

/// Whether `name` is an event type of the catalogue.
pub fn is_event_type(name: &str) -> bool {
    EVENT_TYPES.iter().any(|(known, _)| *known == name)
}
/// How long the previous secret keeps signing after a rotation, unless asked otherwise.
pub const ROTATION_OVERLAP_SECONDS_DEFAULT: i64 = 24 * 60 * 60;
pub const ROTATION_OVERLAP_SECONDS_MAX: i64 = 7 * 24 * 60 * 60;

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("{0}")]
    Url(#[from] UrlError),
    #[error("unknown event type {0}")]
    UnknownEvent(String),
    #[error("enabled_events holds 1 to {ENABLED_EVENTS_MAX} event types, or [\"*\"]")]
    EventCount,
    #[error("description is at most {DESCRIPTION_CHARS_MAX} printable characters")]
    Description,
    #[error("no such webhook endpoint")]
    NotFound,
    #[error("the signing secret could not be sealed: {0}")]
    Sealing(SealError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

const COLUMNS: &str = "id, mode, url, description, enabled_events, enabled, disabled_reason,
    previous_secret_expires_at IS NOT NULL AND previous_secret_expires_at > now() AS rotating,
    extract(epoch FROM created_at)::bigint AS created";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointRecord {
    pub id: String,
    pub mode: String,
    pub url: String,
    pub description: Option<String>,
    pub enabled_events: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub rotating: bool,
    pub created: i64,
}

/// The longest description an endpoint may have.
pub const DESCRIPTION_CHARS_MAX: usize = 500;

/// A description: at most `DESCRIPTION_CHARS_MAX` characters, none of them control characters (NUL included).
pub fn check_description(description: Option<&str>) -> Result<(), EndpointError> {
    match description {
        Some(d) if d.chars().count() > DESCRIPTION_CHARS_MAX || d.chars().any(char::is_control) => {
            Err(EndpointError::Description)
        }
        _ => Ok(()),
    }
}

/// At most this many subscribed types (there are fewer types than this; the database holds the same limit).
pub const ENABLED_EVENTS_MAX: usize = 64;

/// Checks subscribed event types: 1 to 64 known ones, or exactly `["*"]`.
pub fn check_events(events: &[String]) -> Result<(), EndpointError> {
    if events.is_empty() || events.len() > ENABLED_EVENTS_MAX {
        return Err(EndpointError::EventCount);
    }
    if events.len() == 1 && events[0] == "*" {
        return Ok(());
    }
    match events.iter().find(|e| !is_event_type(e)) {
        Some(unknown) => Err(EndpointError::UnknownEvent(unknown.clone())),
        None => Ok(()),
    }
}

fn new_secret() -> WebhookSecret {
    let mut random = [0u8; SECRET_BYTES];
    getrandom::fill(&mut random).expect("the operating system's CSPRNG is available");
    WebhookSecret::from_random(random)
}

/// What a secret is sealed for: the endpoint and its owner, so a sealed secret copied to another row does
/// not open.
pub fn secret_context(endpoint_id: &str, scope: Scope) -> String {
    format!("webhook_secret:{endpoint_id}:{}:{}", scope.merchant_id, scope.mode.as_str())
}

fn seal_secret(keys: &DataKeys, secret: &str, endpoint_id: &str, scope: Scope) -> Result<Value, EndpointError> {
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|_| EndpointError::Sealing(SealError::Random))?;
    let sealed = sealed::seal(keys, secret.as_bytes(), &secret_context(endpoint_id, scope), nonce)
        .map_err(EndpointError::Sealing)?;
    Ok(serde_json::to_value(sealed).expect("a sealed value always serializes"))
}

/// Creates an endpoint; returns it with its secret (`whsec_…`), which is never shown again.
pub async fn create(
    pool: &PgPool,
    keys: &DataKeys,
    scope: Scope,
    url: &str,
    events: &[String],
    description: Option<&str>,
) -> Result<(EndpointRecord, String), EndpointError> {
    url_guard::check_configured(url, scope.mode)?;
    check_events(events)?;
    check_description(description)?;
    let id = new_id::<WebhookEndpointKind>();
    let secret = new_secret().expose();
    let sealed = seal_secret(keys, &secret, &id.to_string(), scope)?;
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, merchant_id, mode, url, description, enabled_events, secret_sealed)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(url)
    .bind(description)
    .bind(events)
    .bind(sealed)
    .execute(&mut *tx)
    .await?;
    audit(&mut tx, scope, "webhook_endpoint.created", id, serde_json::json!({ "url": url, "enabled_events": events }))
        .await?;
    tx.commit().await?;
    Ok((get(pool, scope, id).await?, secret))
}

/// The audit row of a change to endpoint `id`, naming the actor (the secret itself is never in it).
async fn audit(
    conn: &mut sqlx::PgConnection,
    scope: Scope,
    action: &str,
    id: WebhookEndpointId,
    data: Value,
) -> Result<(), sqlx::Error> {
    let actor = crate::domain::actor::current();
    let object_id = id.to_string();
    let entry = crate::domain::journal::AuditEntry {
        actor: &actor,
        action,
        object_type: "webhook_endpoint",
        object_id: &object_id,
        request_id: None,
        data,
    };
    crate::domain::journal::audit(conn, scope, entry).await
}

pub async fn get(pool: &PgPool, scope: Scope, id: WebhookEndpointId) -> Result<EndpointRecord, EndpointError> {
    crate::domain::scoped::find(pool, scope, "webhook_endpoints", COLUMNS, id).await?.ok_or(EndpointError::NotFound)
}

/// A page of the merchant's endpoints in this mode, newest first, and whether more exist.
pub async fn list(pool: &PgPool, scope: Scope, page: &Page) -> Result<(Vec<EndpointRecord>, bool), EndpointError> {
    let (cursor, tail) = page.sql("id", 3);
    let select =
        format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE merchant_id = $1 AND mode = $2 {cursor} {tail}");
    let query = sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(scope.merchant_id).bind(scope.mode);
    let rows = page.bind(query).fetch_all(pool).await?;
    Ok(page.finish(rows))
}

/// A partial update; `None` leaves a field as it is. Re-enabling clears the disabled reason and the
/// failure streak.
#[derive(Debug, Default)]
pub struct Changes {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

pub async fn update(
    pool: &PgPool,
    scope: Scope,
    id: WebhookEndpointId,
    changes: Changes,
) -> Result<EndpointRecord, EndpointError> {
    if let Some(url) = &changes.url {
        url_guard::check_configured(url, scope.mode)?;
    }
    if let Some(events) = &changes.events {
        check_events(events)?;
    }
    if let Some(description) = &changes.description {
        check_description(description.as_deref())?;
    }
    let mut tx = pool.begin().await?;
    let updated = sqlx::query(
        "UPDATE webhook_endpoints SET
             url = coalesce($4, url),
             enabled_events = coalesce($5, enabled_events),
             description = CASE WHEN $6 THEN $7 ELSE description END,
             enabled = coalesce($8, enabled),
             disabled_reason = CASE WHEN $8 IS NULL THEN disabled_reason WHEN $8 THEN NULL ELSE 'merchant' END,
             failing_since = CASE WHEN $8 THEN NULL ELSE failing_since END,
             updated_at = now()
         WHERE id = $1 AND merchant_id = $2 AND mode = $3",
    )
    .bind(id)
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(&changes.url)
    .bind(&changes.events)
    .bind(changes.description.is_some())
    .bind(changes.description.flatten())
    .bind(changes.enabled)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(EndpointError::NotFound);
    }
    let data = serde_json::json!({ "url": changes.url, "enabled_events": changes.events, "enabled": changes.enabled });
    audit(&mut tx, scope, "webhook_endpoint.updated", id, data).await?;
    tx.commit().await?;
    get(pool, scope, id).await
}

/// Deletes the endpoint and its pending deliveries with their attempts so far (delivered history stays with the
/// events).
pub async fn delete(pool: &PgPool, scope: Scope, id: WebhookEndpointId) -> Result<EndpointRecord, EndpointError> {
    let endpoint = get(pool, scope, id).await?;
    let mut tx = pool.begin().await?;
    sqlx::query(
        "WITH gone AS (
             DELETE FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending' AND merchant_id = $2
             RETURNING id)
         DELETE FROM webhook_attempts WHERE merchant_id = $2 AND delivery_id IN (SELECT id FROM gone)",
    )
    .bind(id)
    .bind(scope.merchant_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2 AND mode = $3")
        .bind(id)
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .execute(&mut *tx)
        .await?;
    audit(&mut tx, scope, "webhook_endpoint.deleted", id, serde_json::json!({ "url": endpoint.url })).await?;
    tx.commit().await?;
    Ok(endpoint)
}

/// A new secret; the current one keeps signing as "previous" for `overlap_seconds`. Returns the new secret.
pub async fn rotate_secret(
    pool: &PgPool,
    keys: &DataKeys,
    scope: Scope,
    id: WebhookEndpointId,
    overlap_seconds: i64,
) -> Result<(EndpointRecord, String), EndpointError> {
    let secret = new_secret().expose();
    let sealed = seal_secret(keys, &secret, &id.to_string(), scope)?;
    let mut tx = pool.begin().await?;
    let rotated = sqlx::query(
        "UPDATE webhook_endpoints
         SET previous_secret = secret, previous_secret_sealed = secret_sealed, secret = NULL, secret_sealed = $4,
             previous_secret_expires_at = now() + make_interval(secs => $5), updated_at = now()
         WHERE id = $1 AND merchant_id = $2 AND mode = $3",
    )
    .bind(id)
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(sealed)
    .bind(overlap_seconds as f64)
    .execute(&mut *tx)
    .await?;
    if rotated.rows_affected() == 0 {
        return Err(EndpointError::NotFound);
    }
    audit(
        &mut tx,
        scope,
        "webhook_endpoint.secret_rotated",
        id,
        serde_json::json!({ "overlap_seconds": overlap_seconds }),
    )
    .await?;
    tx.commit().await?;
    Ok((get(pool, scope, id).await?, secret))
}

/// Disables the endpoint and tells the merchant with a `webhook_endpoint.disabled` event (delivered to its
/// other endpoints), in one transaction; a second caller finds it disabled and does nothing.
pub async fn disable(pool: &PgPool, scope: Scope, endpoint_id: &str, reason: &str) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let disabled = sqlx::query(
        "UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, updated_at = now()
         WHERE id = $1 AND enabled AND merchant_id = $3",
    )
    .bind(endpoint_id)
    .bind(reason)
    .bind(scope.merchant_id)
    .execute(&mut *tx)
    .await?;
    if disabled.rows_affected() == 1 {
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'failed', updated_at = now()
             WHERE endpoint_id = $1 AND status = 'pending' AND merchant_id = $2",
        )
        .bind(endpoint_id)
        .bind(scope.merchant_id)
        .execute(&mut *tx)
        .await?;
        let object = serde_json::json!({ "id": endpoint_id, "object": "webhook_endpoint", "enabled": false, "disabled_reason": reason });
        crate::domain::journal::emit(&mut tx, scope, "webhook_endpoint.disabled", endpoint_id, object).await?;
        tracing::warn!(endpoint = endpoint_id, reason, "webhook endpoint disabled");
    }
    tx.commit().await
}

/// Seals the plaintext secrets of endpoints written before secrets were sealed at rest, and clears the
/// plaintext; run by `migrate` and by `serve` at start-up, as the schema owner (it works across merchants).
/// Returns how many endpoints it sealed.
pub async fn seal_plaintext_secrets(pool: &PgPool, keys: &DataKeys) -> Result<usize, EndpointError> {
    type Row = (String, MerchantId, Mode, Option<String>, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, merchant_id, mode, secret, previous_secret FROM webhook_endpoints
         WHERE secret IS NOT NULL OR previous_secret IS NOT NULL",
    )
    .fetch_all(pool)
    .await?;
    for (id, merchant_id, mode, secret, previous) in &rows {
        let scope = Scope { merchant_id: *merchant_id, mode: *mode };
        let seal = |text: &Option<String>| text.as_deref().map(|t| seal_secret(keys, t, id, scope)).transpose();
        let (secret, previous) = (seal(secret)?, seal(previous)?);
        sqlx::query(
            "UPDATE webhook_endpoints
             SET secret_sealed = coalesce($2, secret_sealed), secret = NULL,
                 previous_secret_sealed = coalesce($3, previous_secret_sealed), previous_secret = NULL
             WHERE id = $1",
        )
        .bind(id)
        .bind(secret)
        .bind(previous)
        .execute(pool)
        .await?;
    }
    Ok(rows.len())
}
