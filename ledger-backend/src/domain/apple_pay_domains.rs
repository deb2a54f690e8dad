//! The web domains a merchant registered for Apple Pay. The edge asks Apple for a merchant session only for a
//! domain registered here (in the caller's mode); each one must serve Apple's domain-association file (the edge
//! serves Paygate's at `/.well-known/apple-developer-merchantid-domain-association` for the shop to host).
//! Registering a domain twice answers the first registration; removing one is audited.

use crate::domain::journal::{self, AuditEntry};
use crate::domain::page::Page;
use crate::domain::tenancy::{self, Scope};
use crate::ids::new_id;
use paygate_core::id::{ApplePayDomainId, ApplePayDomainKind};
use sqlx::PgPool;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("domain_name must be the host name the shop's pages run on, like shop.example.com")]
    Invalid,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DomainRecord {
    pub id: String,
    pub mode: paygate_core::Mode,
    pub domain_name: String,
    pub created: i64,
}

const COLUMNS: &str = "id, mode, domain_name, extract(epoch FROM created_at)::bigint AS created";

/// `domain_name` as stored: lower case, a plain host name.
pub fn normalized(domain_name: &str) -> Result<String, DomainError> {
    let lower = domain_name.to_ascii_lowercase();
    if paygate_core::text::host_name(&lower) { Ok(lower) } else { Err(DomainError::Invalid) }
}

/// Registers `domain_name`; whether it is new (an earlier registration of it is answered as it is).
pub async fn register(pool: &PgPool, scope: Scope, domain_name: &str) -> Result<(DomainRecord, bool), DomainError> {
    let domain_name = normalized(domain_name)?;
    tenancy::scope(scope, async {
        let mut tx = pool.begin().await?;
        let id = new_id::<ApplePayDomainKind>().to_string();
        let created: Option<String> = sqlx::query_scalar(
            "INSERT INTO apple_pay_domains (id, merchant_id, mode, domain_name) VALUES ($1, $2, $3, $4)
             ON CONFLICT (merchant_id, mode, domain_name) DO NOTHING RETURNING id",
        )
        .bind(&id)
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(&domain_name)
        .fetch_optional(&mut *tx)
        .await?;
        if created.is_some() {
            let entry = AuditEntry {
                actor: &crate::domain::actor::current(),
                action: "apple_pay_domain.register",
                object_type: "apple_pay_domain",
                object_id: &id,
                request_id: None,
                data: serde_json::json!({ "domain_name": domain_name }),
            };
            journal::audit(&mut tx, scope, entry).await?;
        }
        let select = format!(
            "SELECT {COLUMNS} FROM apple_pay_domains WHERE merchant_id = $1 AND mode = $2 AND domain_name = $3"
        );
        let record: DomainRecord = sqlx::query_as(sqlx::AssertSqlSafe(select))
            .bind(scope.merchant_id)
            .bind(scope.mode)
            .bind(&domain_name)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((record, created.is_some()))
    })
    .await
}

pub async fn get(pool: &PgPool, scope: Scope, id: ApplePayDomainId) -> Result<Option<DomainRecord>, sqlx::Error> {
    crate::domain::scoped::find(pool, scope, "apple_pay_domains", COLUMNS, id).await
}

/// The registered domains, newest first; only `domain_name` when given (the edge's question before it asks
/// Apple for a session).
pub async fn list(
    pool: &PgPool,
    scope: Scope,
    page: &Page,
    domain_name: Option<&str>,
) -> Result<(Vec<DomainRecord>, bool), sqlx::Error> {
    let (cursor, tail) = page.sql("id", 4);
    let select = format!(
        "SELECT {COLUMNS} FROM apple_pay_domains WHERE merchant_id = $1 AND mode = $2
           AND ($3::text IS NULL OR domain_name = $3) {cursor} {tail}"
    );
    let query = sqlx::query_as(sqlx::AssertSqlSafe(select))
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(domain_name.map(str::to_ascii_lowercase));
    let rows = page.bind(query).fetch_all(pool).await?;
    Ok(page.finish(rows))
}

/// Removes a registration; the removed one, if it existed.
pub async fn remove(pool: &PgPool, scope: Scope, id: ApplePayDomainId) -> Result<Option<DomainRecord>, sqlx::Error> {
    tenancy::scope(scope, async {
        let mut tx = pool.begin().await?;
        let select = format!(
            "DELETE FROM apple_pay_domains WHERE id = $1 AND merchant_id = $2 AND mode = $3 RETURNING {COLUMNS}"
        );
        let removed: Option<DomainRecord> = sqlx::query_as(sqlx::AssertSqlSafe(select))
            .bind(id)
            .bind(scope.merchant_id)
            .bind(scope.mode)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(record) = &removed {
            let entry = AuditEntry {
                actor: &crate::domain::actor::current(),
                action: "apple_pay_domain.remove",
                object_type: "apple_pay_domain",
                object_id: &record.id,
                request_id: None,
                data: serde_json::json!({ "domain_name": record.domain_name }),
            };
            journal::audit(&mut tx, scope, entry).await?;
        }
        tx.commit().await?;
        Ok(removed)
    })
    .await
}
