//! The team and the business: members with their roles, invitations (a link shown once, to send by any means),
//! role changes and removals, the business profile and live mode; and the page an invitation link opens.

use super::chrome::{Chrome, Nav, Plain, when};
use super::i18n::Lang;
use super::pages::{PageError, render};
use super::session::{self, Act, PRE_SESSION_COOKIE, PreSessionForm, Signed};
use crate::domain::dashboard::accounts::{self, AccountError};
use crate::domain::dashboard::sessions;
use crate::domain::dashboard::sessions::random_text;
use crate::domain::dashboard::team::{self, TeamError};
use crate::domain::dashboard::{Permission, Role};
use crate::http::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use paygate_core::id::{InvitationId, UserId};

pub struct MemberRow {
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub joined: String,
    pub is_me: bool,
}

pub struct InvitationRow {
    pub id: String,
    pub email: String,
    pub role: String,
    pub expires: String,
}

/// A team the user belongs to, for the switch between them.
pub struct TeamLink {
    pub merchant_id: String,
    pub name: String,
    pub role: &'static str,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "dashboard/team.html")]
struct TeamPage {
    chrome: Chrome,
    teams: Vec<TeamLink>,
    members: Vec<MemberRow>,
    invitations: Vec<InvitationRow>,
    can_manage: bool,
    invitation_link: Option<String>,
    profile_name: String,
    profile_country: String,
    profile_website: String,
    live_enabled: bool,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Default)]
struct Shown {
    invitation_link: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

async fn team_page(state: &AppState, signed: &Signed, status: StatusCode, shown: Shown) -> Response {
    let scope = signed.session.scope();
    let loaded = signed
        .act(async {
            let members = team::members(&state.pool, scope).await?;
            let invitations = team::invitations(&state.pool, scope).await?;
            let profile = team::profile(&state.pool, scope).await?;
            let teams = accounts::memberships(&state.pool, signed.session.user_id).await?;
            Ok::<_, sqlx::Error>((members, invitations, profile, teams))
        })
        .await;
    let (members, invitations, profile, teams) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => return PageError::internal(error).page(signed.lang),
    };
    let me = signed.session.user_id.to_string();
    let current = signed.session.merchant_id;
    let page = TeamPage {
        chrome: Chrome::new(signed, Nav::Team),
        teams: teams
            .iter()
            .map(|t| TeamLink {
                merchant_id: t.merchant_id.to_string(),
                name: t.merchant_name.clone(),
                role: t.role.as_str(),
                current: t.merchant_id == current,
            })
            .collect(),
        members: members
            .iter()
            .map(|m| MemberRow {
                is_me: m.user_id == me,
                user_id: m.user_id.clone(),
                email: m.email.clone(),
                role: m.role.clone(),
                joined: when(m.joined),
            })
            .collect(),
        invitations: invitations
            .iter()
            .map(|i| InvitationRow {
                id: i.id.clone(),
                email: i.email.clone(),
                role: i.role.clone(),
                expires: when(i.expires),
            })
            .collect(),
        can_manage: signed.session.role.allows(Permission::ManageAccount),
        invitation_link: shown.invitation_link,
        profile_name: profile.name,
        profile_country: profile.country.unwrap_or_default(),
        profile_website: profile.website.unwrap_or_default(),
        live_enabled: profile.live_enabled,
        notice: shown.notice,
        error: shown.error,
    };
    render(status, &page)
}

pub async fn page(State(state): State<AppState>, signed: Signed) -> Response {
    team_page(&state, &signed, StatusCode::OK, Shown::default()).await
}

/// Runs an owner's change; answers the team page with what happened.
async fn owner_change<F, Fut>(state: &AppState, signed: &Signed, work: F) -> Response
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Shown, TeamError>>,
{
    if !signed.session.role.allows(Permission::ManageAccount) {
        return PageError::NotAllowed.page(signed.lang);
    }
    match signed.act(work()).await {
        Ok(Shown { invitation_link: None, notice: None, error: None }) => {
            Redirect::to("/dashboard/team").into_response()
        }
        Ok(shown) => team_page(state, signed, StatusCode::OK, shown).await,
        Err(TeamError::NotFound) => PageError::NotFound.page(signed.lang),
        Err(TeamError::Database(error)) => PageError::internal(error).page(signed.lang),
        Err(TeamError::Account(AccountError::Database(error))) => PageError::internal(error).page(signed.lang),
        Err(error) => {
            let shown = Shown { error: Some(error.to_string()), ..Shown::default() };
            team_page(state, signed, StatusCode::BAD_REQUEST, shown).await
        }
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct InviteForm {
    email: String,
    role: String,
}

pub async fn invite(State(state): State<AppState>, act: Act<InviteForm>) -> Response {
    let signed = &act.signed;
    let scope = signed.session.scope();
    let role = Role::parse(&act.form.role).unwrap_or(Role::Analyst);
    let base = state.processors.public_url.trim_end_matches('/').to_owned();
    owner_change(&state, signed, || async {
        let token = team::invite(&state.pool, scope, &act.form.email, role).await?;
        Ok(Shown { invitation_link: Some(format!("{base}/dashboard/join?token={token}")), ..Shown::default() })
    })
    .await
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct IdForm {
    id: String,
    role: String,
}

pub async fn revoke_invitation(State(state): State<AppState>, act: Act<IdForm>) -> Response {
    let scope = act.signed.session.scope();
    let id = InvitationId::parse(&act.form.id).ok();
    owner_change(&state, &act.signed, || async {
        team::revoke_invitation(&state.pool, scope, id.ok_or(TeamError::NotFound)?).await?;
        Ok(Shown::default())
    })
    .await
}

pub async fn set_role(State(state): State<AppState>, act: Act<IdForm>) -> Response {
    let scope = act.signed.session.scope();
    let user = UserId::parse(&act.form.id).ok();
    let role = Role::parse(&act.form.role);
    owner_change(&state, &act.signed, || async {
        let role = role.ok_or_else(|| TeamError::Profile("the role is owner, developer or analyst".into()))?;
        team::set_role(&state.pool, scope, user.ok_or(TeamError::NotFound)?, role).await?;
        Ok(Shown::default())
    })
    .await
}

pub async fn remove(State(state): State<AppState>, act: Act<IdForm>) -> Response {
    let scope = act.signed.session.scope();
    let user = UserId::parse(&act.form.id).ok();
    owner_change(&state, &act.signed, || async {
        team::remove(&state.pool, scope, user.ok_or(TeamError::NotFound)?).await?;
        Ok(Shown::default())
    })
    .await
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ProfileForm {
    name: String,
    country: String,
    website: String,
}

pub async fn update_profile(State(state): State<AppState>, act: Act<ProfileForm>) -> Response {
    let scope = act.signed.session.scope();
    let done = act.signed.lang.labels().done.to_owned();
    owner_change(&state, &act.signed, || async {
        team::update_profile(&state.pool, scope, &act.form.name, &act.form.country, &act.form.website).await?;
        Ok(Shown { notice: Some(done), ..Shown::default() })
    })
    .await
}

pub async fn enable_live(State(state): State<AppState>, act: Act<Vec<(String, String)>>) -> Response {
    let scope = act.signed.session.scope();
    let done = act.signed.lang.labels().live_opened.to_owned();
    owner_change(&state, &act.signed, || async {
        team::enable_live(&state.pool, scope).await?;
        Ok(Shown { notice: Some(done), ..Shown::default() })
    })
    .await
}

#[derive(Template)]
#[template(path = "dashboard/join.html")]
struct JoinPage {
    plain: Plain,
    csrf: String,
    token: String,
    merchant_name: String,
    email: String,
    role: String,
    has_account: bool,
    error: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct JoinQuery {
    token: String,
}

async fn join_page(state: &AppState, lang: Lang, token: &str, status: StatusCode, error: Option<String>) -> Response {
    let invited = match team::invited(&state.pool, token).await {
        Ok(invited) => invited,
        Err(TeamError::Database(error)) => return PageError::internal(error).page(lang),
        Err(_) => return PageError::NotFound.page(lang),
    };
    let csrf = random_text();
    let page = JoinPage {
        plain: Plain::new(lang),
        csrf: csrf.clone(),
        token: token.to_owned(),
        merchant_name: invited.merchant_name,
        email: invited.email,
        role: invited.role.as_str().to_owned(),
        has_account: invited.has_account,
        error,
    };
    let mut response = render(status, &page);
    response.headers_mut().append(header::SET_COOKIE, session::pre_session_cookie(&csrf));
    response
}

pub async fn join(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<JoinQuery>) -> Response {
    join_page(&state, Lang::from_request(&headers), &query.token, StatusCode::OK, None).await
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct JoinForm {
    token: String,
    password: String,
}

pub async fn accept(State(state): State<AppState>, posted: PreSessionForm<JoinForm>) -> Response {
    let PreSessionForm { form, lang, .. } = posted;
    match team::accept(&state.pool, &form.token, form.password).await {
        Ok(token) => {
            let mut response = Redirect::to("/dashboard/overview").into_response();
            response.headers_mut().append(header::SET_COOKIE, session::session_cookie(&token));
            response.headers_mut().append(header::SET_COOKIE, session::expired_cookie(PRE_SESSION_COOKIE));
            response
        }
        Err(TeamError::InvitationInvalid) => PageError::NotFound.page(lang),
        Err(TeamError::Database(error)) | Err(TeamError::Account(AccountError::Database(error))) => {
            PageError::internal(error).page(lang)
        }
        Err(error) => join_page(&state, lang, &form.token, StatusCode::BAD_REQUEST, Some(error.to_string())).await,
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct SwitchForm {
    merchant: String,
}

/// Looks at another team the user belongs to (in test mode); any other merchant is simply not found.
pub async fn switch(State(state): State<AppState>, act: Act<SwitchForm>) -> Response {
    let signed = &act.signed;
    let Ok(merchant) = paygate_core::id::MerchantId::parse(&act.form.merchant) else {
        return PageError::NotFound.page(signed.lang);
    };
    let session = &signed.session;
    match sessions::set(&state.pool, &session.token, merchant, paygate_core::Mode::Test, true).await {
        Ok(true) => Redirect::to("/dashboard/overview").into_response(),
        Ok(false) => PageError::NotFound.page(signed.lang),
        Err(error) => PageError::internal(error).page(signed.lang),
    }
}
