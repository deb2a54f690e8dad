//! The webhook delivery worker: claims due deliveries with `FOR UPDATE SKIP LOCKED` (so any number of
//! workers share them and none sends the same attempt as another), at most `PER_ENDPOINT_MAX` per endpoint
//! per claim (so one slow receiver cannot hold up the others), signs each per Standard Webhooks with the
//! endpoint's secret (and the previous one during a rotation), sends it with a 15 s timeout and no
//! redirects, records the attempt, and reschedules or finishes the delivery (`domain::webhooks::deliveries`).
//!
//! A claim is a lease (`locked_until`): a worker killed mid-delivery leaves leased rows that become due
//! again when the lease ends, so nothing is lost; the receiver may then see that event twice, with the
//! same `webhook-id`, which is what Standard Webhooks receivers deduplicate on.

use crate::domain::events::EventRecord;
use crate::domain::tenancy::Scope;
use crate::domain::webhooks::deliveries::{self, DISABLE_AFTER};
use crate::domain::webhooks::endpoints;
use crate::domain::webhooks::url_guard::PublicOnly;
use futures::StreamExt;
use paygate_core::Mode;
use paygate_core::id::MerchantId;
use paygate_core::sealed::{self, DataKeys, Sealed};
use paygate_core::signature::webhook::{
    HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, WebhookSecret, signature_header,
};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const TIMEOUT: Duration = Duration::from_secs(15);
/// Longer than `TIMEOUT` plus writing the outcome: a live lease is never taken over.
pub const LEASE: Duration = Duration::from_secs(60);
pub const BATCH_MAX: i64 = 200;
/// In flight per endpoint per worker.
pub const PER_ENDPOINT_MAX: i64 = 8;
/// How long an idle worker waits for a wake-up (`deliveries::DUE_CHANNEL`) before looking anyway: retries
/// come due by the clock, not by a notification, and a notification sent while the listening connection
/// was down is lost. New deliveries wake the worker at once.
pub const IDLE_POLL: Duration = Duration::from_secs(1);
const EXCERPT_CHARS_MAX: usize = 500;

/// The HTTP clients: test mode may reach anything (local receivers); live mode only public https hosts.
#[derive(Clone)]
pub struct Senders {
    test: reqwest::Client,
    live: reqwest::Client,
    /// How long a claim is held (`LEASE`; shorter only in tests of a dying worker).
    pub lease: Duration,
    /// The keys endpoints' signing secrets are sealed under (`PAYGATE_SECRETS_KEYS`).
    keys: DataKeys,
}

impl Senders {
    pub fn new(timeout: Duration, keys: DataKeys) -> Self {
        let base = || {
            reqwest::Client::builder()
                .timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent("Paygate-Webhooks/1")
                .pool_max_idle_per_host(PER_ENDPOINT_MAX as usize)
        };
        Senders {
            test: base().build().expect("a plain HTTP client always builds"),
            live: base()
                .https_only(true)
                .dns_resolver(Arc::new(PublicOnly))
                .build()
                .expect("an https client with our resolver always builds"),
            lease: LEASE.max(timeout + Duration::from_secs(5)),
            keys,
        }
    }

    fn for_mode(&self, mode: Mode) -> &reqwest::Client {
        if mode.is_live() { &self.live } else { &self.test }
    }
}

/// A claimed delivery with everything needed to send it.
struct Claimed {
    id: String,
    endpoint_id: String,
    scope: Scope,
    attempts: i32,
    /// `None` when the endpoint was deleted or disabled since.
    target: Option<Target>,
    /// `None` when the event is gone.
    event: Option<EventRecord>,
}

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    id: String,
    event_id: String,
    endpoint_id: String,
    merchant_id: MerchantId,
    mode: Mode,
    attempts: i32,
}

#[derive(Clone, sqlx::FromRow)]
struct Target {
    id: String,
    url: String,
    secret_sealed: Option<sqlx::types::Json<Sealed>>,
    previous_sealed: Option<sqlx::types::Json<Sealed>>,
    /// Only until start-up has sealed an endpoint written before secrets were sealed.
    secret: Option<String>,
    previous_secret: Option<String>,
}

/// Claims and delivers one batch; returns how many deliveries it attempted. Three queries per batch
/// (claim, endpoints, events), then one statement per delivery for its outcome.
pub async fn run_once(pool: &PgPool, senders: &Senders) -> Result<usize, sqlx::Error> {
    let rows: Vec<ClaimedRow> = sqlx::query_as(
        "WITH candidates AS (
             SELECT id FROM (
                 SELECT id, next_attempt_at,
                        row_number() OVER (PARTITION BY endpoint_id ORDER BY next_attempt_at) AS rank
                 FROM webhook_deliveries
                 WHERE (status = 'pending' AND next_attempt_at <= now())
                    OR (status = 'delivering' AND locked_until < now())
             ) ranked
             WHERE rank <= $2 ORDER BY next_attempt_at LIMIT $1
         ), due AS (
             SELECT d.id FROM webhook_deliveries d JOIN candidates c ON c.id = d.id
             WHERE (d.status = 'pending' AND d.next_attempt_at <= now())
                OR (d.status = 'delivering' AND d.locked_until < now())
             FOR UPDATE OF d SKIP LOCKED
         )
         UPDATE webhook_deliveries d
         SET status = 'delivering', attempts = d.attempts + 1, updated_at = now(),
             locked_until = now() + make_interval(secs => $3)
         FROM due WHERE d.id = due.id
         RETURNING d.id, d.event_id, d.endpoint_id, d.merchant_id, d.mode, d.attempts",
    )
    .bind(BATCH_MAX)
    .bind(PER_ENDPOINT_MAX)
    .bind(senders.lease.as_secs_f64())
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let endpoint_ids: Vec<&str> = rows.iter().map(|r| r.endpoint_id.as_str()).collect();
    let targets: Vec<Target> = sqlx::query_as(
        "SELECT id, url, secret_sealed, secret,
                CASE WHEN previous_secret_expires_at > now() THEN previous_secret_sealed END AS previous_sealed,
                CASE WHEN previous_secret_expires_at > now() THEN previous_secret END AS previous_secret
         FROM webhook_endpoints WHERE id = ANY($1) AND enabled",
    )
    .bind(&endpoint_ids)
    .fetch_all(pool)
    .await?;
    let event_ids: Vec<&str> = rows.iter().map(|r| r.event_id.as_str()).collect();
    let events: Vec<EventRecord> = sqlx::query_as(
        "SELECT id, type, mode, data, extract(epoch FROM created_at)::bigint AS created FROM events WHERE id = ANY($1)",
    )
    .bind(&event_ids)
    .fetch_all(pool)
    .await?;
    let claimed: Vec<Claimed> = rows
        .into_iter()
        .map(|r| Claimed {
            target: targets.iter().find(|t| t.id == r.endpoint_id).cloned(),
            event: events.iter().find(|e| e.id == r.event_id && e.mode == r.mode.as_str()).cloned(),
            id: r.id,
            endpoint_id: r.endpoint_id,
            scope: Scope { merchant_id: r.merchant_id, mode: r.mode },
            attempts: r.attempts,
        })
        .collect();
    let count = claimed.len();
    let results: Vec<Result<(), sqlx::Error>> =
        futures::stream::iter(claimed).map(|c| deliver(pool, senders, c)).buffer_unordered(64).collect().await;
    results.into_iter().collect::<Result<(), _>>()?;
    Ok(count)
}

/// The endpoint's signing secrets, opened: the current one, and the previous one during a rotation.
fn signing_secrets(target: &Target, scope: Scope, keys: &DataKeys) -> Vec<WebhookSecret> {
    let context = crate::domain::webhooks::endpoints::secret_context(&target.id, scope);
    let open = |sealed: &Option<sqlx::types::Json<Sealed>>, plain: &Option<String>| -> Option<WebhookSecret> {
        let text = match sealed {
            Some(sealed) => match sealed::open(keys, sealed, &context) {
                Ok(bytes) => String::from_utf8(bytes).ok()?,
                Err(error) => {
                    tracing::error!(endpoint_id = %target.id, %error, "a webhook signing secret does not open");
                    return None;
                }
            },
            None => plain.clone()?,
        };
        WebhookSecret::parse(&text).ok()
    };
    [open(&target.secret_sealed, &target.secret), open(&target.previous_sealed, &target.previous_secret)]
        .into_iter()
        .flatten()
        .collect()
}

async fn deliver(pool: &PgPool, senders: &Senders, claimed: Claimed) -> Result<(), sqlx::Error> {
    let scope = claimed.scope;
    let Some(target) = &claimed.target else {
        return finish(pool, &claimed, None, Outcome::Abandon("the endpoint is disabled or deleted")).await;
    };
    let url = &target.url;
    let Some(event) = &claimed.event else {
        return finish(pool, &claimed, None, Outcome::Abandon("the event is gone")).await;
    };
    let body = crate::wire::to_value(&crate::wire::Event::from(event)).to_string();
    let secrets = signing_secrets(target, scope, &senders.keys);
    if secrets.is_empty() {
        // Not sendable unsigned; an operator restores the key (the error is logged) and redelivers.
        return finish(pool, &claimed, None, Outcome::Abandon("the endpoint's signing secret does not open")).await;
    }
    let timestamp = crate::ids::unix_seconds_now();
    let signature = signature_header(&secrets.iter().collect::<Vec<_>>(), &event.id, timestamp, body.as_bytes());
    let started = Instant::now();
    let sent = senders
        .for_mode(scope.mode)
        .post(url)
        .header(HEADER_ID, &event.id)
        .header(HEADER_TIMESTAMP, timestamp.to_string())
        .header(HEADER_SIGNATURE, signature)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    let latency_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
    let attempt = match sent {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after =
                deliveries::parse_retry_after(response.headers().get("retry-after").and_then(|v| v.to_str().ok()));
            let text = response.text().await.unwrap_or_default();
            Attempt { status: Some(status), latency_ms, error: None, excerpt: Some(excerpt(&text)), retry_after }
        }
        Err(error) => {
            let kind = if error.is_timeout() {
                "timed out"
            } else if error.is_connect() {
                "could not connect"
            } else {
                "failed"
            };
            let error = Some(format!("{kind}: {}", root_cause(&error)));
            Attempt { status: None, latency_ms, error, excerpt: None, retry_after: None }
        }
    };
    let outcome = match attempt.status {
        Some(200..=299) => Outcome::Delivered,
        // Gone: the receiver asks us to stop, now.
        Some(410) => Outcome::Gone,
        // Everything else, 3xx included (we never follow a redirect), is a failure to retry.
        _ => Outcome::Failed { retry_after: attempt.retry_after },
    };
    let gone = matches!(outcome, Outcome::Gone);
    finish(pool, &claimed, Some(&attempt), outcome).await?;
    if gone {
        endpoints::disable(pool, scope, &claimed.endpoint_id, "gone").await?;
    }
    Ok(())
}

fn excerpt(text: &str) -> String {
    text.chars().take(EXCERPT_CHARS_MAX).collect()
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

struct Attempt {
    status: Option<u16>,
    latency_ms: i32,
    error: Option<String>,
    excerpt: Option<String>,
    retry_after: Option<Duration>,
}

enum Outcome {
    Delivered,
    Gone,
    Failed {
        retry_after: Option<Duration>,
    },
    /// Not sent and never will be.
    Abandon(&'static str),
}

/// Records the attempt and writes the outcome in one statement (one round trip, one commit), only if the
/// lease is still ours (same attempt number, still delivering). A failure that extends a streak older than
/// `DISABLE_AFTER` disables the endpoint.
async fn finish(
    pool: &PgPool,
    claimed: &Claimed,
    attempt: Option<&Attempt>,
    outcome: Outcome,
) -> Result<(), sqlx::Error> {
    let (status, next_delay) = match &outcome {
        Outcome::Delivered => ("succeeded", None),
        Outcome::Gone => ("failed", None),
        Outcome::Abandon(why) => {
            tracing::info!(delivery = %claimed.id, why, "webhook delivery abandoned");
            ("failed", None)
        }
        Outcome::Failed { retry_after } => {
            let jitter = {
                let mut byte = [0u8; 1];
                let _ = getrandom::fill(&mut byte);
                f64::from(byte[0]) / 127.5 - 1.0
            };
            match deliveries::next_delay(claimed.attempts.max(0) as u32, jitter, *retry_after) {
                Some(delay) => ("pending", Some(delay.as_secs_f64())),
                None => ("failed", None),
            }
        }
    };
    // success clears the endpoint's failure streak; a failure starts it (or keeps its start).
    let streak = match outcome {
        Outcome::Delivered => "clear",
        Outcome::Failed { .. } => "fail",
        _ => "keep",
    };
    let failing_for: Option<Option<f64>> = sqlx::query_scalar(
        "WITH attempt AS (
             INSERT INTO webhook_attempts (delivery_id, attempt, status_code, latency_ms, error, response_excerpt,
                                           merchant_id, mode)
             SELECT $1, $2, $5, $6, $7, $8, $11, $12 WHERE $9
             ON CONFLICT (delivery_id, attempt, merchant_id) DO NOTHING
         ), delivery AS (
             UPDATE webhook_deliveries SET status = $3, locked_until = NULL, updated_at = now(),
                    next_attempt_at = CASE WHEN $4::float8 IS NULL THEN next_attempt_at ELSE now() + make_interval(secs => $4) END,
                    last_status_code = coalesce($5, last_status_code), last_error = $7
             WHERE id = $1 AND status = 'delivering' AND attempts = $2
             RETURNING endpoint_id
         ), streak AS (
             -- Written only when it changes: endpoint rows are shared by all of an endpoint's deliveries,
             -- and an update per delivery would make them queue on the row lock.
             UPDATE webhook_endpoints w SET failing_since = CASE WHEN $10 = 'clear' THEN NULL ELSE now() END
             FROM delivery WHERE w.id = delivery.endpoint_id
               AND (($10 = 'clear' AND w.failing_since IS NOT NULL) OR ($10 = 'fail' AND w.failing_since IS NULL))
         )
         SELECT extract(epoch FROM now() - w.failing_since)::float8
         FROM webhook_endpoints w JOIN delivery ON w.id = delivery.endpoint_id",
    )
    .bind(&claimed.id)
    .bind(claimed.attempts)
    .bind(status)
    .bind(next_delay)
    .bind(attempt.and_then(|a| a.status).map(i32::from))
    .bind(attempt.map(|a| a.latency_ms).unwrap_or(0))
    .bind(attempt.and_then(|a| a.error.clone()))
    .bind(attempt.and_then(|a| a.excerpt.clone()))
    .bind(attempt.is_some())
    .bind(streak)
    .bind(claimed.scope.merchant_id)
    .bind(claimed.scope.mode)
    .fetch_optional(pool)
    .await?;
    if streak == "fail" && failing_for.flatten().is_some_and(|seconds| seconds >= DISABLE_AFTER.as_secs_f64()) {
        endpoints::disable(pool, claimed.scope, &claimed.endpoint_id, "failing").await?;
    }
    Ok(())
}

/// Delivers until `shutdown`: claims while there is work; when there is none, waits for a wake-up or
/// `IDLE_POLL`, whichever comes first.
pub async fn run(pool: PgPool, senders: Senders, shutdown: impl Future<Output = ()>) {
    run_polling_every(pool, senders, IDLE_POLL, shutdown).await
}

/// `run`, looking without a wake-up every `idle_poll` (tests make it long, to show the wake-up works alone).
pub async fn run_polling_every(
    pool: PgPool,
    senders: Senders,
    idle_poll: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let wake = Arc::new(tokio::sync::Notify::new());
    // The listener is a task of its own: a `recv` is never cancelled halfway through reading its connection.
    let listening = tokio::spawn(listen(pool.clone(), wake.clone(), IDLE_POLL));
    tokio::pin!(shutdown);
    loop {
        let idle = match run_once(&pool, &senders).await {
            Ok(0) => true,
            Ok(_) => false,
            Err(error) => {
                tracing::error!(%error, "webhook delivery run failed");
                true
            }
        };
        if idle {
            tokio::select! {
                _ = &mut shutdown => break,
                // A wake-up that came while the worker was busy is kept (one permit), so none is missed.
                _ = wake.notified() => {}
                _ = tokio::time::sleep(idle_poll) => {}
            }
        }
    }
    listening.abort();
}

/// Wakes the worker on each notification of `deliveries::DUE_CHANNEL`, listening again after a lost
/// connection (what became due meanwhile is found by the worker's next look, which the new listener
/// triggers).
async fn listen(pool: PgPool, wake: Arc<tokio::sync::Notify>, retry: Duration) {
    loop {
        match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen(deliveries::DUE_CHANNEL).await {
                Ok(()) => {
                    wake.notify_one();
                    loop {
                        match listener.recv().await {
                            Ok(_) => wake.notify_one(),
                            Err(error) => {
                                tracing::warn!(%error, "webhook wake-ups: listening connection lost");
                                break;
                            }
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "webhook wake-ups: LISTEN failed"),
            },
            Err(error) => tracing::warn!(%error, "webhook wake-ups: no connection to listen on"),
        }
        tokio::time::sleep(retry).await;
    }
}
