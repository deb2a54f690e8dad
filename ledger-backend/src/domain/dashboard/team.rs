//! A merchant's team: its members and their roles, invitations (a link with a random token, kept as its
//! SHA-256, good for seven days and once), role changes and removals; the business profile whose completion
//! opens live mode. Every change writes an audit row naming the user who made it.

use super::Role;
use super::accounts::{self, AccountError};
use super::passwords;
use super::sessions::{self, SessionToken, random_text};
use crate::domain::journal::{self, AuditEntry};
use crate::domain::merchants;
use crate::domain::tenancy::{self, Scope};
use crate::ids::new_id;
use paygate_core::Mode;
use paygate_core::id::{InvitationId, InvitationKind, MerchantId, UserId, UserKind};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

/// How long an invitation link works.
pub const INVITATION_DAYS: i32 = 7;

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("a team keeps at least one owner")]
    LastOwner,
    #[error("no such member or invitation")]
    NotFound,
    #[error("this invitation is unknown, used or expired")]
    InvitationInvalid,
    #[error("{0}")]
    Profile(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub joined: i64,
}

/// The team of the scope's merchant, owners first.
pub async fn members(pool: &PgPool, scope: Scope) -> Result<Vec<Member>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.user_id, u.email, m.role, extract(epoch FROM m.created_at)::bigint AS joined
         FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.merchant_id = $1 ORDER BY m.role <> 'owner', m.created_at",
    )
    .bind(scope.merchant_id)
    .fetch_all(pool)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Invitation {
    pub id: String,
    pub email: String,
    pub role: String,
    pub expires: i64,
}

/// Invitations not yet accepted, revoked or expired.
pub async fn invitations(pool: &PgPool, scope: Scope) -> Result<Vec<Invitation>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, email, role, extract(epoch FROM expires_at)::bigint AS expires FROM invitations
         WHERE merchant_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now() ORDER BY id",
    )
    .bind(scope.merchant_id)
    .fetch_all(pool)
    .await
}

fn audit<'a>(
    action: &'a str,
    object_type: &'a str,
    object_id: &'a str,
    actor: &'a str,
    data: serde_json::Value,
) -> AuditEntry<'a> {
    AuditEntry { actor, action, object_type, object_id, request_id: None, data }
}

/// Invites `email` as `role` (never owner); returns the invitation's token, for the link shown this once.
pub async fn invite(pool: &PgPool, scope: Scope, email: &str, role: Role) -> Result<String, TeamError> {
    let email = accounts::normalize_email(email)?;
    if role == Role::Owner {
        return Err(TeamError::Profile("invite developers and analysts; a team's owner is who signed up".into()));
    }
    let token = random_text();
    let id = new_id::<InvitationKind>();
    let actor = crate::domain::actor::current();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO invitations (id, merchant_id, email, role, token_hash, invited_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(days => $7))",
    )
    .bind(id.to_string())
    .bind(scope.merchant_id)
    .bind(&email)
    .bind(role.as_str())
    .bind(Sha256::digest(token.as_bytes()).to_vec())
    .bind(&actor)
    .bind(INVITATION_DAYS)
    .execute(&mut *tx)
    .await?;
    let data = json!({ "email": email, "role": role.as_str() });
    journal::audit(&mut tx, scope, audit("team.invited", "invitation", &id.to_string(), &actor, data)).await?;
    tx.commit().await?;
    Ok(token)
}

pub async fn revoke_invitation(pool: &PgPool, scope: Scope, id: InvitationId) -> Result<(), TeamError> {
    let actor = crate::domain::actor::current();
    let mut tx = pool.begin().await?;
    let revoked = sqlx::query(
        "UPDATE invitations SET revoked_at = now() WHERE id = $1 AND merchant_id = $2 AND accepted_at IS NULL
           AND revoked_at IS NULL",
    )
    .bind(id.to_string())
    .bind(scope.merchant_id)
    .execute(&mut *tx)
    .await?;
    if revoked.rows_affected() == 0 {
        return Err(TeamError::NotFound);
    }
    journal::audit(&mut tx, scope, audit("team.invitation_revoked", "invitation", &id.to_string(), &actor, json!({})))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// What an invitation link shows before it is accepted.
#[derive(Debug, Clone)]
pub struct Invited {
    pub merchant_name: String,
    pub email: String,
    pub role: Role,
    /// Whether the address has an account already (then its password joins it to the team).
    pub has_account: bool,
}

type InvitationRow = (String, String, String, String, String);

async fn find_invitation(pool: &PgPool, token: &str) -> Result<Option<InvitationRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, merchant_id, merchant_name, email, role FROM dashboard_invitation($1)")
        .bind(Sha256::digest(token.as_bytes()).to_vec())
        .fetch_optional(pool)
        .await
}

pub async fn invited(pool: &PgPool, token: &str) -> Result<Invited, TeamError> {
    let (_, _, merchant_name, email, role) = find_invitation(pool, token).await?.ok_or(TeamError::InvitationInvalid)?;
    let has_account: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM dashboard_credentials($1))")
        .bind(&email)
        .fetch_one(pool)
        .await?;
    Ok(Invited { merchant_name, email, role: Role::parse(&role).ok_or(TeamError::InvitationInvalid)?, has_account })
}

/// Accepts the invitation of `token` with `password`: a new account for the invited address, or the password of
/// the account it has. Returns a session in the team's merchant.
pub async fn accept(pool: &PgPool, token: &str, password: String) -> Result<SessionToken, TeamError> {
    let (id, merchant, _, email, role) = find_invitation(pool, token).await?.ok_or(TeamError::InvitationInvalid)?;
    let merchant_id = MerchantId::parse(&merchant).map_err(|_| TeamError::InvitationInvalid)?;
    let existing: Option<(String, String, bool)> =
        sqlx::query_as("SELECT id, password_hash, totp_secret IS NOT NULL FROM dashboard_credentials($1)")
            .bind(&email)
            .fetch_optional(pool)
            .await?;
    // An existing account's password is checked as at sign-in (counted, throttled), and its second factor is still
    // asked for: an invitation is no way around either.
    let (user_id, new_hash, second_factor) = match existing {
        Some((user, hash, totp)) => {
            let attempt = accounts::Attempt::begin(pool, &email).await?;
            if !passwords::verify(password, Some(hash)).await {
                return Err(AccountError::WrongCredentials.into());
            }
            attempt.succeeded(pool).await?;
            (UserId::parse(&user).map_err(|_| TeamError::InvitationInvalid)?, None, totp)
        }
        None => {
            passwords::acceptable(&password).map_err(AccountError::from)?;
            (new_id::<UserKind>(), Some(passwords::hash(password).await), false)
        }
    };
    let scope = Scope { merchant_id, mode: Mode::Test };
    tenancy::scope(scope, async {
        let mut tx = pool.begin().await?;
        // Once: the invitation is claimed by the row lock of its update, so two tabs cannot both use it.
        let claimed = sqlx::query(
            "UPDATE invitations SET accepted_at = now() WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL
               AND expires_at > now()",
        )
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            return Err(TeamError::InvitationInvalid);
        }
        if let Some(hash) = &new_hash {
            accounts::insert_user(&mut tx, user_id, &email, hash).await?;
        }
        let member_role = Role::parse(&role).ok_or(TeamError::InvitationInvalid)?;
        accounts::add_member(&mut tx, merchant_id, user_id, member_role).await?;
        let data = json!({ "email": email, "role": role });
        journal::audit(&mut tx, scope, audit("team.joined", "user", &user_id.to_string(), &user_id.to_string(), data))
            .await?;
        tx.commit().await?;
        Ok::<_, TeamError>(())
    })
    .await?;
    Ok(sessions::open(pool, user_id, merchant_id, !second_factor).await?)
}

/// Owners left in the team, with the team's rows locked (a change that would leave none is refused).
async fn owners_locked(conn: &mut PgConnection, scope: Scope) -> Result<i64, sqlx::Error> {
    let roles: Vec<String> = sqlx::query_scalar("SELECT role FROM memberships WHERE merchant_id = $1 FOR UPDATE")
        .bind(scope.merchant_id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(roles.iter().filter(|r| *r == "owner").count() as i64)
}

pub async fn set_role(pool: &PgPool, scope: Scope, user: UserId, role: Role) -> Result<(), TeamError> {
    let actor = crate::domain::actor::current();
    let mut tx = pool.begin().await?;
    let owners = owners_locked(&mut tx, scope).await?;
    let current: Option<String> =
        sqlx::query_scalar("SELECT role FROM memberships WHERE merchant_id = $1 AND user_id = $2")
            .bind(scope.merchant_id)
            .bind(user.to_string())
            .fetch_optional(&mut *tx)
            .await?;
    let current = current.ok_or(TeamError::NotFound)?;
    if current == "owner" && role != Role::Owner && owners <= 1 {
        return Err(TeamError::LastOwner);
    }
    sqlx::query("UPDATE memberships SET role = $3 WHERE merchant_id = $1 AND user_id = $2")
        .bind(scope.merchant_id)
        .bind(user.to_string())
        .bind(role.as_str())
        .execute(&mut *tx)
        .await?;
    let data = json!({ "from": current, "to": role.as_str() });
    journal::audit(&mut tx, scope, audit("team.role_changed", "user", &user.to_string(), &actor, data)).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes `user` from the team: their sessions in this merchant stop at their next request.
pub async fn remove(pool: &PgPool, scope: Scope, user: UserId) -> Result<(), TeamError> {
    let actor = crate::domain::actor::current();
    let mut tx = pool.begin().await?;
    let owners = owners_locked(&mut tx, scope).await?;
    let role: Option<String> =
        sqlx::query_scalar("DELETE FROM memberships WHERE merchant_id = $1 AND user_id = $2 RETURNING role")
            .bind(scope.merchant_id)
            .bind(user.to_string())
            .fetch_optional(&mut *tx)
            .await?;
    match role.as_deref() {
        None => return Err(TeamError::NotFound),
        Some("owner") if owners <= 1 => return Err(TeamError::LastOwner),
        Some(_) => {}
    }
    // What they set in motion goes with them: their pending invitations.
    sqlx::query(
        "UPDATE invitations SET revoked_at = now() WHERE merchant_id = $1 AND invited_by = $2
           AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(scope.merchant_id)
    .bind(user.to_string())
    .execute(&mut *tx)
    .await?;
    journal::audit(&mut tx, scope, audit("team.removed", "user", &user.to_string(), &actor, json!({ "role": role })))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The merchant's business profile.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Profile {
    pub name: String,
    pub country: Option<String>,
    pub website: Option<String>,
    pub live_enabled: bool,
}

pub async fn profile(pool: &PgPool, scope: Scope) -> Result<Profile, sqlx::Error> {
    sqlx::query_as(
        "SELECT name, country, website, live_enabled_at IS NOT NULL AS live_enabled FROM merchants WHERE id = $1",
    )
    .bind(scope.merchant_id)
    .fetch_one(pool)
    .await
}

/// Sets the profile (the country decides local rules such as Mada's routing); audited.
pub async fn update_profile(
    pool: &PgPool,
    scope: Scope,
    name: &str,
    country: &str,
    website: &str,
) -> Result<(), TeamError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > merchants::NAME_CHARS_MAX {
        return Err(TeamError::Profile(format!(
            "the business name must be 1 to {} characters",
            merchants::NAME_CHARS_MAX
        )));
    }
    let country = country.trim().to_uppercase();
    if !merchants::valid_country(&country) {
        return Err(TeamError::Profile("the country is a two-letter ISO 3166 code, such as SA or DE".into()));
    }
    let website = website.trim();
    let valid_website = website.len() <= 2048
        && url::Url::parse(website).is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some());
    if !valid_website {
        return Err(TeamError::Profile("the website is an address such as https://shop.example".into()));
    }
    let actor = crate::domain::actor::current();
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE merchants SET name = $2, country = $3, website = $4 WHERE id = $1")
        .bind(scope.merchant_id)
        .bind(name)
        .bind(&country)
        .bind(website)
        .execute(&mut *tx)
        .await?;
    let data = json!({ "name": name, "country": country, "website": website });
    journal::audit(
        &mut tx,
        scope,
        audit("merchant.profile_updated", "merchant", &scope.merchant_id.to_string(), &actor, data),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Opens live mode, once the profile is complete; audited.
pub async fn enable_live(pool: &PgPool, scope: Scope) -> Result<(), TeamError> {
    let profile = profile(pool, scope).await?;
    if profile.country.is_none() || profile.website.is_none() {
        return Err(TeamError::Profile("complete the business profile (country and website) first".into()));
    }
    let actor = crate::domain::actor::current();
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE merchants SET live_enabled_at = coalesce(live_enabled_at, now()) WHERE id = $1")
        .bind(scope.merchant_id)
        .execute(&mut *tx)
        .await?;
    journal::audit(
        &mut tx,
        scope,
        audit("merchant.live_enabled", "merchant", &scope.merchant_id.to_string(), &actor, json!({})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
