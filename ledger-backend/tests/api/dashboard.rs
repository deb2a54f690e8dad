//! The merchant dashboard as the edge forwards it (signed as the edge, the browser's cookies and form along):
//! sign-up and its keys shown once, sessions (fixation, sign-out, sign-out everywhere), CSRF, login throttling
//! with one answer for unknown addresses and wrong passwords, roles, the security headers on every page, inert
//! metadata, the same audit as the API, and another merchant's ids answered as not found on every route.

use crate::helpers::{TestApp, spawn_app};
use paygate_core::signature::edge::SignedRequest;
use paygate_ledger::ids::{new_id, unix_seconds_now};
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeMap;

/// A browser talking to the dashboard through the edge: its cookie jar, and its answers.
struct Browser<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
    /// `Sec-Fetch-Site` as a browser would send it (`same-origin` unless a test plays a foreign page).
    site: &'static str,
}

struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The value of the hidden input `name` of the page's first form that has one.
    fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start =
            self.body.find(&marker).unwrap_or_else(|| panic!("no {name} field in {}", self.body)) + marker.len();
        self.body[start..].split('"').next().unwrap().to_owned()
    }
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Browser<'a> {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { app, http, cookies: BTreeMap::new(), site: "same-origin" }
    }

    async fn send(&mut self, method: Method, path: &str, form: &[(&str, &str)]) -> Page {
        let body = if form.is_empty() { String::new() } else { serde_urlencoded::to_string(form).unwrap() };
        let request_id = new_id::<paygate_core::id::RequestKind>().to_string();
        let signed = SignedRequest {
            timestamp: unix_seconds_now(),
            method: method.as_str(),
            path,
            body: body.as_bytes(),
            merchant_id: "",
            mode: "",
            request_id: &request_id,
            key_id: "",
        };
        let signature = signed.sign(&[&self.app.edge_secret]).unwrap();
        let mut request = self.http.request(method.clone(), self.app.url(path)).body(body.clone());
        for (name, value) in signed.headers(signature) {
            request = request.header(name, value);
        }
        if !body.is_empty() {
            request = request.header("content-type", "application/x-www-form-urlencoded");
        }
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
            request = request.header("cookie", jar.join("; "));
        }
        request = request.header("sec-fetch-site", self.site);
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        let headers = answer.headers().clone();
        for cookie in headers.get_all("set-cookie") {
            let cookie = cookie.to_str().unwrap();
            let (pair, attributes) = cookie.split_once(';').unwrap_or((cookie, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Page { status, headers, body: answer.text().await.unwrap() }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, &[]).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, form).await
    }

    /// Signs up a business; returns the welcome page (with the test keys).
    async fn sign_up(&mut self, email: &str, business: &str) -> Page {
        let form = self.get("/dashboard/sign-up").await;
        let csrf = form.field("csrf");
        let page = self
            .post(
                "/dashboard/sign-up",
                &[("csrf", &csrf), ("business_name", business), ("email", email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(page.status, 201, "{}", page.body);
        page
    }

    async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/dashboard/sign-in").await;
        let csrf = form.field("csrf");
        self.post("/dashboard/sign-in", &[("csrf", &csrf), ("email", email), ("password", password)]).await
    }

    /// The session's CSRF token, from any signed-in page.
    async fn csrf(&mut self) -> String {
        let page = self.get("/dashboard/keys").await;
        assert_eq!(page.status, 200, "{}", page.body);
        page.field("csrf")
    }

    fn session(&self) -> Option<String> {
        self.cookies.get("__Host-pg_session").cloned()
    }
}

const PASSWORD: &str = "correct horse battery staple";

fn email() -> String {
    format!("owner-{}@example.com", paygate_core::hex::encode(&crate::helpers::random_bytes()[..6]))
}

/// The merchant a signed-up user owns.
async fn merchant_of(app: &TestApp, email: &str) -> String {
    sqlx::query_scalar("SELECT m.merchant_id FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = $1")
        .bind(email)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// A captured-or-authorized test charge of `merchant` through the API, with `metadata`.
async fn charge(app: &TestApp, merchant: &str, number: &str, capture: bool, metadata: serde_json::Value) -> String {
    let token = app.vault.tokenize(number, merchant, "test");
    let body = json!({ "amount": 2_500, "currency": "EUR", "source": token, "capture": capture, "metadata": metadata });
    let charge = app.client(merchant, "test").expect(201, Method::POST, "/v1/charges", &body).await;
    charge["id"].as_str().unwrap().to_owned()
}

/// The id of the user with `email`.
async fn user_id(app: &TestApp, email: &str) -> String {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1").bind(email).fetch_one(&app.pool).await.unwrap()
}

/// A reconciliation exception of `merchant`: its sandbox account's report holds a row of a type nobody knows.
/// Returns the sandbox account and the exception.
async fn reconciliation_exception(app: &TestApp, merchant: &str) -> (String, String) {
    let sandbox: String =
        sqlx::query_scalar("SELECT id FROM processor_accounts WHERE merchant_id = $1 AND connector = 'sandbox'")
            .bind(merchant)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let report = format!(
        "{}\nsr_9,2026-11-01 00:00:00,climate_order,,,,EUR,-1,0,-1,\n",
        paygate_core::settlement::sandbox::COLUMNS.join(",")
    );
    let upload = json!({ "account": sandbox, "content": report });
    app.client(merchant, "test").expect(201, Method::POST, "/v1/settlement_reports", &upload).await;
    let exception = sqlx::query_scalar("SELECT id FROM reconciliation_exceptions WHERE merchant_id = $1")
        .bind(merchant)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    (sandbox, exception)
}

#[tokio::test]
async fn sign_up_shows_the_test_keys_once_and_they_work_at_the_api() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let owner = email();
    let welcome = browser.sign_up(&owner, "Acme <Shop>").await;
    assert!(welcome.body.contains("Acme &#60;Shop&#62;") || welcome.body.contains("Acme &lt;Shop&gt;"), "escaped");
    let secret = welcome.body.split("id=\"secret-key\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let publishable =
        welcome.body.split("id=\"publishable-key\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert!(secret.starts_with("sk_test_") && publishable.starts_with("pk_test_"), "{secret} {publishable}");
    // The edge would find the merchant by the key: the key works.
    let identity =
        paygate_ledger::domain::api_keys::lookup(&app.pool, &app.pepper.hash(&secret)).await.unwrap().unwrap();
    assert_eq!(identity.merchant_id, merchant_of(&app, &owner).await);
    // Never again: no page shows either key after that answer.
    let merchant = merchant_of(&app, &owner).await;
    let id = charge(&app, &merchant, "4242424242424242", false, json!({})).await;
    for path in ["/dashboard/overview", "/dashboard/keys", "/dashboard/charges", &format!("/dashboard/charges/{id}")] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(!page.body.contains(&secret) && !page.body.contains(&publishable), "{path} shows a key");
    }
    let keys = browser.get("/dashboard/keys").await;
    assert_eq!(keys.body.matches("data-key-id=").count(), 2, "{}", keys.body);
    // The key's use shows on the list: the secret key was looked up above, the publishable one never.
    assert_eq!(keys.body.matches(">Never</time>").count(), 1, "last used: {}", keys.body);
    // The same address cannot sign up twice.
    let mut other = Browser::new(&app);
    let form = other.get("/dashboard/sign-up").await;
    let csrf = form.field("csrf");
    let again = other
        .post(
            "/dashboard/sign-up",
            &[("csrf", &csrf), ("business_name", "B"), ("email", &owner), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert_eq!(other.session(), None);
}

#[tokio::test]
async fn every_page_carries_the_csp_and_security_headers_and_is_never_cached() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let owner = email();
    let welcome = browser.sign_up(&owner, "Shop").await;
    let secret = welcome.body.split("id=\"secret-key\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let merchant = merchant_of(&app, &owner).await;
    let charge_id = charge(&app, &merchant, "4242424242424242", true, json!({})).await;
    // Every page the router has, from its own table (an id route with an object of this merchant, or with an
    // unknown id: its not-found page is a page too).
    let mut paths: Vec<String> = Vec::new();
    for route in paygate_ledger::http::dashboard::routes() {
        if !route.methods.contains(&"GET") || route.path.starts_with("/assets/") {
            continue;
        }
        let path = match route.path {
            "/" => "/dashboard".to_owned(),
            "/charges/{id}" => format!("/dashboard/charges/{charge_id}"),
            "/join" => "/dashboard/join?token=unknown".to_owned(),
            path => format!("/dashboard{}", path.replace("{id}", "we_00000000000000000000000000")),
        };
        paths.push(path);
    }
    paths.push("/dashboard/nothing-here".to_owned());
    assert!(paths.len() >= 18, "{paths:?}");
    for path in &paths {
        let page = browser.get(path).await;
        let header = |name: &str| page.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let csp = header("content-security-policy");
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{path}: {csp}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("cache-control"), "no-store", "{path}");
        assert!(!page.body.contains(&secret), "{path} shows the secret key after its one showing");
        if page.status == 303 {
            continue;
        }
        let html = header("content-type").starts_with("text/html");
        assert!(html || path.ends_with(".csv"), "{path}: {}", header("content-type"));
        if html {
            assert!(!page.body.contains("<script>") && !page.body.contains("style="), "{path}: inline script or style");
            // The one script is htmx, by its SRI.
            assert!(
                page.body
                    .contains("integrity=\"sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg\""),
                "{path}"
            );
        }
    }
    let htmx = browser.get("/dashboard/assets/htmx-2.0.11.min.js").await;
    assert_eq!(htmx.status, 200);
    assert!(htmx.headers["content-type"].to_str().unwrap().starts_with("text/javascript"));
}

#[tokio::test]
async fn a_state_changing_request_without_the_csrf_token_or_from_another_site_changes_nothing() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let owner = email();
    browser.sign_up(&owner, "Shop").await;
    let merchant = merchant_of(&app, &owner).await;
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM api_keys WHERE merchant_id = $1")
            .bind(&merchant)
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    let before = count().await;
    let csrf = browser.csrf().await;
    assert_eq!(browser.post("/dashboard/keys", &[("kind", "secret")]).await.status, 403, "no token");
    assert_eq!(
        browser
            .post("/dashboard/keys", &[("kind", "secret"), ("csrf", "forged-forged-forged-forged-forged-00")])
            .await
            .status,
        403
    );
    browser.site = "cross-site";
    assert_eq!(
        browser.post("/dashboard/keys", &[("kind", "secret"), ("csrf", &csrf)]).await.status,
        403,
        "another site"
    );
    assert_eq!(count().await, before, "nothing was created");
    browser.site = "same-origin";
    let created = browser.post("/dashboard/keys", &[("kind", "secret"), ("csrf", &csrf)]).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(created.body.contains("id=\"new-key\">sk_test_"));
    assert_eq!(count().await, before + 1);
    // Signing in needs the page's own token too (no signing a victim in to someone else's account).
    let mut victim = Browser::new(&app);
    let page = victim.post("/dashboard/sign-in", &[("email", &owner), ("password", PASSWORD)]).await;
    assert_eq!(page.status, 403);
    assert_eq!(victim.session(), None);
}

#[tokio::test]
async fn sign_in_replaces_any_session_and_sign_out_ends_it_or_every_one() {
    let app = spawn_app().await;
    let owner = email();
    let mut first = Browser::new(&app);
    first.sign_up(&owner, "Shop").await;
    let planted = first.session().unwrap();
    // Session fixation: a browser arriving with a session cookie gets a new one, and the old one is over.
    let mut second = Browser::new(&app);
    second.cookies.insert("__Host-pg_session".into(), planted.clone());
    let signed_in = second.sign_in(&owner, PASSWORD).await;
    assert_eq!((signed_in.status, signed_in.location()), (303, "/dashboard/overview"), "{}", signed_in.body);
    let fresh = second.session().unwrap();
    assert_ne!(fresh, planted);
    assert_eq!(first.get("/dashboard/overview").await.location(), "/dashboard/sign-in", "the planted session is over");
    // A third sign-in; then sign-out ends only its own session.
    let mut third = Browser::new(&app);
    assert_eq!(third.sign_in(&owner, PASSWORD).await.status, 303);
    let csrf = third.csrf().await;
    let out = third.post("/dashboard/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!((out.status, out.location()), (303, "/dashboard/sign-in"));
    assert_eq!(third.session(), None);
    assert_eq!(second.get("/dashboard/overview").await.status, 200, "another browser's session goes on");
    // Replaying the signed-out cookie gets nothing.
    let mut replay = Browser::new(&app);
    let mut fourth = Browser::new(&app);
    fourth.sign_in(&owner, PASSWORD).await;
    replay.cookies = fourth.cookies.clone();
    let csrf = fourth.csrf().await;
    fourth.post("/dashboard/sign-out", &[("csrf", &csrf), ("everywhere", "on")]).await;
    assert_eq!(replay.get("/dashboard/overview").await.location(), "/dashboard/sign-in");
    assert_eq!(second.get("/dashboard/overview").await.location(), "/dashboard/sign-in", "everywhere");
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM dashboard_sessions s JOIN users u ON u.id = s.user_id WHERE u.email = $1 AND s.revoked_at IS NULL",
    )
    .bind(&owner)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(live, 0);
    // The database keeps only the tokens' hashes.
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM dashboard_sessions WHERE encode(token_hash, 'escape') LIKE '%' || $1 || '%'",
    )
    .bind(&fresh)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_address_get_one_answer_and_guessing_is_throttled() {
    let app = spawn_app().await;
    let owner = email();
    Browser::new(&app).sign_up(&owner, "Shop").await;
    let mut browser = Browser::new(&app);
    let wrong = browser.sign_in(&owner, "not the password at all").await;
    let unknown = browser.sign_in("nobody-here@example.com", "not the password at all").await;
    assert_eq!((wrong.status, unknown.status), (401, 401));
    let message =
        |page: &Page| page.body.split("role=\"alert\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert_eq!(message(&wrong), message(&unknown));
    for address in [owner.as_str(), "nobody-here@example.com"] {
        for _ in 0..4 {
            browser.sign_in(address, "still not the password").await;
        }
        let refused = browser.sign_in(address, "still not the password").await;
        assert_eq!(refused.status, 429, "{address}");
    }
    // Throttled means throttled: even the right password waits.
    assert_eq!(browser.sign_in(&owner, PASSWORD).await.status, 429);
    assert_eq!(browser.session(), None);
}

#[tokio::test]
async fn a_capture_and_a_refund_from_the_dashboard_are_the_apis_with_the_user_in_the_audit_log() {
    let app = spawn_app().await;
    let owner = email();
    let mut browser = Browser::new(&app);
    browser.sign_up(&owner, "Shop").await;
    let merchant = merchant_of(&app, &owner).await;
    let id = charge(&app, &merchant, "4242424242424242", false, json!({ "order": "<script>alert(1)</script>" })).await;
    let page = browser.get(&format!("/dashboard/charges/{id}")).await;
    assert!(!page.body.contains("<script>alert(1)</script>"), "metadata renders inert");
    assert!(page.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;") || page.body.contains("&lt;script&gt;"));
    let csrf = page.field("csrf");
    let captured =
        browser.post(&format!("/dashboard/charges/{id}/capture"), &[("csrf", &csrf), ("amount", "10.00")]).await;
    assert_eq!(
        (captured.status, captured.location()),
        (303, format!("/dashboard/charges/{id}?done=1").as_str()),
        "{}",
        captured.body
    );
    let key = browser.get(&format!("/dashboard/charges/{id}")).await.field("key");
    let refund = [("csrf", csrf.as_str()), ("amount", "4.00"), ("key", key.as_str())];
    assert_eq!(browser.post(&format!("/dashboard/charges/{id}/refund"), &refund).await.status, 303);
    // The same form again (a double click): the same refund, not a second one.
    assert_eq!(browser.post(&format!("/dashboard/charges/{id}/refund"), &refund).await.status, 303);
    let charge = app
        .client(&merchant, "test")
        .expect(200, Method::GET, &format!("/v1/charges/{id}"), &serde_json::Value::Null)
        .await;
    assert_eq!((&charge["amount_captured"], &charge["amount_refunded"]), (&json!(1_000), &json!(400)), "{charge}");
    let user = user_id(&app, &owner).await;
    let actors: Vec<(String, String)> = sqlx::query_as("SELECT action, actor FROM audit_log WHERE merchant_id = $1 AND action IN ('charge.captured', 'refund.created') ORDER BY id")
        .bind(&merchant)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(actors, [("charge.captured".to_owned(), user.clone()), ("refund.created".to_owned(), user.clone())]);
    // The audit log page shows the charge's history, the user named.
    let audit = browser.get(&format!("/dashboard/audit?object={id}")).await;
    assert_eq!(audit.status, 200);
    assert!(audit.body.contains("charge.captured") && audit.body.contains(&user), "{}", audit.body);
    assert!(!audit.body.contains("refund.created"), "only the charge's own rows");
    // The page shows the refund, the ledger lines and the timeline.
    let page = browser.get(&format!("/dashboard/charges/{id}")).await;
    assert!(page.body.contains("4.00 EUR") && page.body.contains("id=\"ledger\""), "{}", page.body);
    for kind in ["processor", "event", "ledger", "audit"] {
        assert!(page.body.contains(&format!("data-kind=\"{kind}\"")), "timeline has {kind}");
    }
    // Found by last 4 and by metadata value; not by another number.
    assert!(browser.get("/dashboard/charges?q=4242").await.body.contains(&id));
    assert!(browser.get("/dashboard/charges?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E").await.body.contains(&id));
    assert!(!browser.get("/dashboard/charges?q=1111").await.body.contains(&id));
    let csv = browser.get("/dashboard/charges.csv?q=4242").await;
    assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(csv.body.lines().nth(1).unwrap().starts_with(&id), "{}", csv.body);
}

#[tokio::test]
async fn an_analyst_sees_but_cannot_refund_capture_or_touch_keys() {
    let app = spawn_app().await;
    let owner = email();
    Browser::new(&app).sign_up(&owner, "Shop").await;
    let merchant = merchant_of(&app, &owner).await;
    // An analyst of the same team (invitations come later; the membership is what counts).
    let analyst = email();
    let user = new_id::<paygate_core::id::UserKind>().to_string();
    let hash = paygate_ledger::domain::dashboard::passwords::hash(PASSWORD.to_owned()).await;
    sqlx::query("SELECT dashboard_user_create($1, $2, $3)")
        .bind(&user)
        .bind(&analyst)
        .bind(hash)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO memberships (merchant_id, user_id, role) VALUES ($1, $2, 'analyst')")
        .bind(&merchant)
        .bind(&user)
        .execute(&app.pool)
        .await
        .unwrap();
    let id = charge(&app, &merchant, "4242424242424242", true, json!({})).await;
    let mut browser = Browser::new(&app);
    assert_eq!(browser.sign_in(&analyst, PASSWORD).await.status, 303);
    let page = browser.get(&format!("/dashboard/charges/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("/refund\""), "no refund form for an analyst");
    let csrf = page.field("csrf");
    let refund = browser
        .post(
            &format!("/dashboard/charges/{id}/refund"),
            &[("csrf", &csrf), ("amount", "1.00"), ("key", "abcdefghijklmnopqrstuvwxyz")],
        )
        .await;
    assert_eq!(refund.status, 403);
    assert_eq!(browser.post("/dashboard/keys", &[("csrf", &csrf), ("kind", "secret")]).await.status, 403);
    let refunds: i64 = sqlx::query_scalar("SELECT count(*) FROM refunds WHERE charge_id = $1")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(refunds, 0);
}

#[tokio::test]
async fn another_merchants_ids_are_not_found_on_every_dashboard_route() {
    let app = spawn_app().await;
    let (mine, theirs) = (email(), email());
    let mut browser = Browser::new(&app);
    browser.sign_up(&mine, "Mine").await;
    Browser::new(&app).sign_up(&theirs, "Theirs").await;
    let other = merchant_of(&app, &theirs).await;
    let their_charge = charge(&app, &other, "4242424242424242", false, json!({})).await;
    let their_key: String = sqlx::query_scalar("SELECT id FROM api_keys WHERE merchant_id = $1 LIMIT 1")
        .bind(&other)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let their_endpoint = app
        .client(&other, "test")
        .expect(
            201,
            Method::POST,
            "/v1/webhook_endpoints",
            &json!({ "url": "http://127.0.0.1:9/hooks", "enabled_events": ["*"] }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // An event of theirs delivered to their endpoint.
    let their_event = charge(&app, &other, "4242424242424242", true, json!({})).await;
    let their_event: String =
        sqlx::query_scalar("SELECT id FROM events WHERE object_id = $1 AND type = 'charge.captured'")
            .bind(&their_event)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    // A reconciliation exception of theirs.
    let (sandbox, their_exception) = reconciliation_exception(&app, &other).await;
    let their_domain = app
        .signed(Method::POST, "/v1/apple_pay/domains", r#"{"domain_name":"theirs.example.com"}"#, &other, "test")
        .header("idempotency-key", "their-domain")
        .send()
        .await
        .unwrap();
    assert_eq!(their_domain.status().as_u16(), 201);
    let their_domain: String = sqlx::query_scalar("SELECT id FROM apple_pay_domains WHERE merchant_id = $1")
        .bind(&other)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let mut their_browser = Browser::new(&app);
    assert_eq!(their_browser.sign_in(&theirs, PASSWORD).await.status, 303);
    let their_csrf = their_browser.csrf().await;
    their_browser
        .post("/dashboard/charges/views", &[("csrf", &their_csrf), ("name", "Failed"), ("query", "status=failed")])
        .await;
    let their_view: String = sqlx::query_scalar("SELECT id FROM saved_views WHERE merchant_id = $1")
        .bind(&other)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let csrf = browser.csrf().await;
    let key = "abcdefghijklmnopqrstuvwxyz";
    let we = |action: &str| format!("/dashboard/webhooks/{their_endpoint}{action}");
    let rx = |action: &str| format!("/dashboard/reconciliation/exceptions/{their_exception}{action}");
    type Case<'a> = (Method, String, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        (Method::GET, we(""), vec![]),
        (Method::POST, we(""), vec![("csrf", &csrf), ("url", "http://127.0.0.1:9/mine"), ("events", "*")]),
        (Method::POST, we("/enable"), vec![("csrf", &csrf)]),
        (Method::POST, we("/disable"), vec![("csrf", &csrf)]),
        (Method::POST, we("/rotate"), vec![("csrf", &csrf)]),
        (Method::POST, we("/delete"), vec![("csrf", &csrf)]),
        (Method::POST, we("/test"), vec![("csrf", &csrf)]),
        (Method::POST, we("/redeliver"), vec![("csrf", &csrf), ("event", &their_event)]),
        (Method::POST, rx("/acknowledge"), vec![("csrf", &csrf)]),
        (Method::POST, format!("/dashboard/processors/{sandbox}/enable"), vec![("csrf", &csrf)]),
        (Method::POST, format!("/dashboard/processors/{sandbox}/disable"), vec![("csrf", &csrf)]),
        (Method::POST, format!("/dashboard/apple-pay/{their_domain}/remove"), vec![("csrf", &csrf)]),
        (Method::POST, format!("/dashboard/charges/views/{their_view}/delete"), vec![("csrf", &csrf)]),
        (Method::POST, rx("/resolve"), vec![("csrf", &csrf), ("note", "mine now")]),
        (Method::GET, format!("/dashboard/charges/{their_charge}"), vec![]),
        (Method::POST, format!("/dashboard/charges/{their_charge}/capture"), vec![("csrf", &csrf)]),
        (Method::POST, format!("/dashboard/charges/{their_charge}/void"), vec![("csrf", &csrf)]),
        (Method::POST, format!("/dashboard/charges/{their_charge}/refund"), vec![("csrf", &csrf), ("key", key)]),
        (Method::POST, format!("/dashboard/keys/{their_key}/revoke"), vec![("csrf", &csrf)]),
        (Method::POST, format!("/dashboard/keys/{their_key}/roll"), vec![("csrf", &csrf)]),
    ];
    // Every dashboard route with an object's id is in the matrix (a new one fails here until it is).
    let covered: Vec<(String, String)> = cases
        .iter()
        .map(|(method, path, _)| {
            let path = path
                .replace(&their_charge, "{id}")
                .replace(&their_key, "{id}")
                .replace(&their_endpoint, "{id}")
                .replace(&their_exception, "{id}")
                .replace(&sandbox, "{id}")
                .replace(&their_domain, "{id}")
                .replace(&their_view, "{id}");
            (method.to_string(), path)
        })
        .collect();
    for route in paygate_ledger::http::dashboard::routes().iter().filter(|r| r.path.contains("{id}")) {
        for method in route.methods {
            let path = format!("/dashboard{}", route.path);
            assert!(covered.contains(&(method.to_string(), path.clone())), "{method} {path} is not in the matrix");
        }
    }
    for (method, path, form) in cases {
        let page = browser.send(method.clone(), &path, &form).await;
        assert_eq!(page.status, 404, "{method} {path}: {}", page.body);
    }
    assert!(!browser.get("/dashboard/charges").await.body.contains(&their_charge));
    assert!(
        !browser.get(&format!("/dashboard/charges?q={their_charge}")).await.body.contains("/dashboard/charges/ch_")
    );
    let untouched: (String, Option<String>) = sqlx::query_as(
        "SELECT c.status, (SELECT revoked_at::text FROM api_keys WHERE id = $2) FROM charges c WHERE c.id = $1",
    )
    .bind(&their_charge)
    .bind(&their_key)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(untouched, ("authorized".to_owned(), None));
    let endpoint: (bool, i64) = sqlx::query_as(
        "SELECT enabled, (SELECT count(*) FROM events WHERE object_id = $1)
         FROM webhook_endpoints WHERE id = $1 AND previous_secret_expires_at IS NULL",
    )
    .bind(&their_endpoint)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(endpoint.0, "their endpoint is still enabled and not rotated");
    assert_eq!(endpoint.1, 0, "no test event was sent to it");
    let state: String = sqlx::query_scalar("SELECT state FROM reconciliation_exceptions WHERE id = $1")
        .bind(&their_exception)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(state, "open");
    let theirs_kept: (bool, i64) = sqlx::query_as(
        "SELECT (SELECT enabled FROM processor_accounts WHERE id = $1), (SELECT count(*) FROM apple_pay_domains WHERE id = $2)",
    )
    .bind(&sandbox)
    .bind(&their_domain)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(theirs_kept, (true, 1), "their account still enabled, their domain still there");
}

#[tokio::test]
async fn revoking_a_key_in_the_dashboard_makes_the_api_refuse_it() {
    let app = spawn_app().await;
    let owner = email();
    let mut browser = Browser::new(&app);
    let welcome = browser.sign_up(&owner, "Shop").await;
    let secret = welcome.body.split("id=\"secret-key\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let hash = app.pepper.hash(&secret);
    assert!(paygate_ledger::domain::api_keys::lookup(&app.pool, &hash).await.unwrap().is_some());
    let keys = browser.get("/dashboard/keys").await;
    let key_id = keys
        .body
        .split("data-key-id=\"")
        .skip(1)
        .find(|row| row.contains("sk_test_"))
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let csrf = keys.field("csrf");
    let revoked = browser.post(&format!("/dashboard/keys/{key_id}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    assert!(
        paygate_ledger::domain::api_keys::lookup(&app.pool, &hash).await.unwrap().is_none(),
        "the edge's lookup finds nothing"
    );
    assert!(browser.get("/dashboard/keys").await.body.contains("status failed"));
    // Audited with the user who did it; a second revoke changes nothing and writes nothing.
    browser.post(&format!("/dashboard/keys/{key_id}/revoke"), &[("csrf", &csrf)]).await;
    let user = user_id(&app, &owner).await;
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT action, actor FROM audit_log WHERE object_id = $1 ORDER BY id")
            .bind(&key_id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(rows, [("api_key.created".to_owned(), user.clone()), ("api_key.revoked".to_owned(), user)]);
}

#[tokio::test]
async fn the_operators_cli_adds_a_team_member_who_signs_in_with_the_role_given() {
    let app = spawn_app().await;
    let merchant = crate::helpers::insert_merchant(&app.pool).await;
    let member = email();
    let cli = |args: &[&str], password: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_paygate-ledger"))
            .args(args)
            .env("DATABASE_URL", app.database_url())
            .env("RUST_LOG", "error")
            .env("MEMBER_PASSWORD", password)
            .output()
            .unwrap()
    };
    let args = [
        "create-user",
        "--merchant",
        &merchant,
        "--email",
        &member,
        "--password-env",
        "MEMBER_PASSWORD",
        "--role",
        "developer",
    ];
    let created = cli(&args, PASSWORD);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    assert!(String::from_utf8_lossy(&created.stdout).starts_with("usr_"));
    // The same address again, or a short password: refused, saying why.
    let again = cli(&args, PASSWORD);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let short = cli(
        &["create-user", "--merchant", &merchant, "--email", "x@example.com", "--password-env", "MEMBER_PASSWORD"],
        "short",
    );
    assert!(!short.status.success() && String::from_utf8_lossy(&short.stderr).contains("at least 10"));
    let mut browser = Browser::new(&app);
    assert_eq!(browser.sign_in(&member, PASSWORD).await.status, 303);
    // A developer manages keys but does not move money.
    let csrf = browser.csrf().await;
    assert_eq!(browser.post("/dashboard/keys", &[("csrf", &csrf), ("kind", "publishable")]).await.status, 201);
    let id = charge(&app, &merchant, "4242424242424242", false, json!({})).await;
    let capture = browser.post(&format!("/dashboard/charges/{id}/capture"), &[("csrf", &csrf)]).await;
    assert_eq!(capture.status, 403);
}

#[tokio::test]
async fn webhook_endpoints_are_made_and_worked_from_the_dashboard_with_the_secret_shown_once() {
    let app = spawn_app().await;
    let owner = email();
    let mut browser = Browser::new(&app);
    browser.sign_up(&owner, "Shop").await;
    let merchant = merchant_of(&app, &owner).await;
    let csrf = browser.csrf().await;
    // A bad URL is refused, saying why; nothing is made.
    let refused = browser.post("/dashboard/webhooks", &[("csrf", &csrf), ("url", "ftp://x"), ("events", "*")]).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("notice error"));
    let form = [
        ("csrf", csrf.as_str()),
        ("url", "http://127.0.0.1:9/hooks"),
        ("events", "charge.captured"),
        ("events", "refund.created"),
    ];
    let created = browser.post("/dashboard/webhooks", &form).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let secret = created.body.split("id=\"new-secret\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let endpoint: String = sqlx::query_scalar("SELECT id FROM webhook_endpoints WHERE merchant_id = $1")
        .bind(&merchant)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let page = browser.get(&format!("/dashboard/webhooks/{endpoint}")).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(&secret), "never shown again");
    assert!(page.body.contains("value=\"charge.captured\" checked"), "its events are ticked");
    // A test event reaches this endpoint only, as a delivery in its log.
    let tested = browser.post(&format!("/dashboard/webhooks/{endpoint}/test"), &[("csrf", &csrf)]).await;
    assert_eq!(tested.status, 200, "{}", tested.body);
    let log = browser.get(&format!("/dashboard/webhooks/{endpoint}")).await;
    assert!(log.body.contains("webhook_endpoint.test"), "{}", log.body);
    // A captured charge's event, its delivery spent; redelivered, it is due again now.
    let id = charge(&app, &merchant, "4242424242424242", true, json!({})).await;
    let event: String = sqlx::query_scalar("SELECT id FROM events WHERE object_id = $1 AND type = 'charge.captured'")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE webhook_deliveries SET status = 'failed', attempts = 8 WHERE event_id = $1")
        .bind(&event)
        .execute(&app.pool)
        .await
        .unwrap();
    let path = format!("/dashboard/webhooks/{endpoint}/redeliver");
    let again = browser.post(&path, &[("csrf", &csrf), ("event", &event)]).await;
    assert_eq!(again.status, 200, "{}", again.body);
    let status: String = sqlx::query_scalar("SELECT status FROM webhook_deliveries WHERE event_id = $1")
        .bind(&event)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "pending", "due again now");
    // Edited, disabled, rotated (the new secret shown once), deleted.
    let edit = [("csrf", csrf.as_str()), ("url", "http://127.0.0.1:9/v2"), ("events", "*")];
    let edited = browser.post(&format!("/dashboard/webhooks/{endpoint}"), &edit).await;
    assert_eq!(edited.status, 303, "{}", edited.body);
    assert_eq!(browser.post(&format!("/dashboard/webhooks/{endpoint}/disable"), &[("csrf", &csrf)]).await.status, 303);
    let row: (String, Vec<String>, bool) =
        sqlx::query_as("SELECT url, enabled_events, enabled FROM webhook_endpoints WHERE id = $1")
            .bind(&endpoint)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(row, ("http://127.0.0.1:9/v2".to_owned(), vec!["*".to_owned()], false));
    let rotated = browser.post(&format!("/dashboard/webhooks/{endpoint}/rotate"), &[("csrf", &csrf)]).await;
    assert_eq!(rotated.status, 200);
    let new_secret = rotated.body.split("id=\"new-secret\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    assert_eq!(browser.post(&format!("/dashboard/webhooks/{endpoint}/delete"), &[("csrf", &csrf)]).await.status, 303);
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log WHERE object_id = $1 ORDER BY id")
        .bind(&endpoint)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let expected = ["webhook_endpoint.created", "webhook_endpoint.updated", "webhook_endpoint.updated"];
    assert_eq!(actions[..3], expected, "{actions:?}");
    assert_eq!(actions[3..], ["webhook_endpoint.secret_rotated", "webhook_endpoint.deleted"], "{actions:?}");
    assert_eq!(browser.get(&format!("/dashboard/webhooks/{endpoint}")).await.status, 404);
    // The refunds and balance pages show what happened, per currency.
    let balance = browser.get("/dashboard/balance").await;
    assert_eq!(balance.status, 200);
    assert!(balance.body.contains("EUR"), "{}", balance.body);
    assert_eq!(browser.get("/dashboard/refunds").await.status, 200);
}

#[tokio::test]
async fn a_reconciliation_exception_is_acknowledged_then_resolved_with_a_note_by_the_user() {
    let app = spawn_app().await;
    let owner = email();
    let mut browser = Browser::new(&app);
    browser.sign_up(&owner, "Shop").await;
    let merchant = merchant_of(&app, &owner).await;
    reconciliation_exception(&app, &merchant).await;
    let page = browser.get("/dashboard/reconciliation?state=open").await;
    assert_eq!(page.status, 200);
    let id = page.body.split("data-exception-id=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert!(page.body.contains("unknown_row_type"), "{}", page.body);
    let csrf = page.field("csrf");
    let path = |action: &str| format!("/dashboard/reconciliation/exceptions/{id}/{action}");
    assert_eq!(browser.post(&path("acknowledge"), &[("csrf", &csrf), ("note", "looking")]).await.status, 303);
    // Resolving needs a note saying why; a correction that does not read is named.
    assert_eq!(browser.post(&path("resolve"), &[("csrf", &csrf), ("note", "")]).await.status, 400);
    let bad = [("csrf", csrf.as_str()), ("note", "fixed"), ("amount", "1.5.0"), ("currency", "EUR")];
    let refused = browser.post(&path("resolve"), &bad).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("amount"), "{}", refused.body);
    assert_eq!(
        browser.post(&path("resolve"), &[("csrf", &csrf), ("note", "a climate contribution")]).await.status,
        303
    );
    let user = user_id(&app, &owner).await;
    let row: (String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT state, note, resolved_by FROM reconciliation_exceptions WHERE id = $1")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(row, ("resolved".to_owned(), Some("a climate contribution".to_owned()), Some(user)));
    // Resolved is done: a second resolve is refused, nothing booked twice.
    assert_eq!(browser.post(&path("resolve"), &[("csrf", &csrf), ("note", "again")]).await.status, 400);
}

#[tokio::test]
async fn an_invitation_adds_a_member_once_and_removal_ends_their_access_at_once() {
    let app = spawn_app().await;
    let owner = email();
    let mut browser = Browser::new(&app);
    browser.sign_up(&owner, "Shop").await;
    let csrf = browser.csrf().await;
    let invited = email();
    let page =
        browser.post("/dashboard/team/invite", &[("csrf", &csrf), ("email", &invited), ("role", "analyst")]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let link = page.body.split("id=\"invitation-link\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let path = &link[link.find("/dashboard/join").unwrap()..];
    assert!(!browser.get("/dashboard/team").await.body.contains(path), "the link is shown once");
    // The invited person sets a password and is in, as an analyst.
    let mut member = Browser::new(&app);
    let join = member.get(path).await;
    assert_eq!(join.status, 200, "{}", join.body);
    let (csrf_join, token) = (join.field("csrf"), join.field("token"));
    let short = member.post("/dashboard/join", &[("csrf", &csrf_join), ("token", &token), ("password", "short")]).await;
    assert_eq!(short.status, 400);
    let csrf_join = short.field("csrf");
    let joined =
        member.post("/dashboard/join", &[("csrf", &csrf_join), ("token", &token), ("password", PASSWORD)]).await;
    assert_eq!((joined.status, joined.location()), (303, "/dashboard/overview"), "{}", joined.body);
    let team = member.get("/dashboard/team").await;
    assert!(team.body.contains(&owner) && team.body.contains(&invited));
    assert!(!team.body.contains("/dashboard/team/invite\""), "an analyst cannot invite");
    let member_csrf = member.csrf().await;
    let refused = member.post("/dashboard/team/invite", &[("csrf", &member_csrf), ("email", "x@example.com")]).await;
    assert_eq!(refused.status, 403);
    // Once: the link is spent.
    assert_eq!(Browser::new(&app).get(path).await.status, 404);
    // The last owner stays an owner; the analyst, removed, is out at their next request.
    let owner_id = user_id(&app, &owner).await;
    let demote = browser.post("/dashboard/team/role", &[("csrf", &csrf), ("id", &owner_id), ("role", "analyst")]).await;
    assert_eq!(demote.status, 400, "{}", demote.body);
    let member_id = user_id(&app, &invited).await;
    // An owner's invitation outlives nothing of the member's: promote the analyst, let them invite, remove them.
    assert_eq!(
        browser.post("/dashboard/team/role", &[("csrf", &csrf), ("id", &member_id), ("role", "owner")]).await.status,
        303
    );
    let member_csrf = member.csrf().await;
    let invited_by_member = member
        .post(
            "/dashboard/team/invite",
            &[("csrf", &member_csrf), ("email", "later@example.com"), ("role", "developer")],
        )
        .await;
    assert_eq!(invited_by_member.status, 200);
    assert_eq!(browser.post("/dashboard/team/remove", &[("csrf", &csrf), ("id", &member_id)]).await.status, 303);
    assert_eq!(member.get("/dashboard/overview").await.location(), "/dashboard/sign-in");
    let pending: bool =
        sqlx::query_scalar("SELECT revoked_at IS NULL FROM invitations WHERE email = 'later@example.com'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(!pending, "the removed member's invitation is revoked with them");
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE action LIKE 'team.%' ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(actions, ["team.invited", "team.joined", "team.role_changed", "team.invited", "team.removed"]);
}

#[tokio::test]
async fn another_merchants_members_and_invitations_are_not_found_from_the_team_page() {
    let app = spawn_app().await;
    let (mine, theirs) = (email(), email());
    let mut browser = Browser::new(&app);
    browser.sign_up(&mine, "Mine").await;
    let mut other = Browser::new(&app);
    other.sign_up(&theirs, "Theirs").await;
    let other_csrf = other.csrf().await;
    other
        .post(
            "/dashboard/team/invite",
            &[("csrf", &other_csrf), ("email", "someone@example.com"), ("role", "developer")],
        )
        .await;
    let their_user = user_id(&app, &theirs).await;
    let their_invitation: String = sqlx::query_scalar("SELECT id FROM invitations WHERE email = 'someone@example.com'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let csrf = browser.csrf().await;
    for (path, id) in [
        ("/dashboard/team/role", &their_user),
        ("/dashboard/team/remove", &their_user),
        ("/dashboard/team/invitations/revoke", &their_invitation),
    ] {
        let page = browser.post(path, &[("csrf", &csrf), ("id", id), ("role", "analyst")]).await;
        assert_eq!(page.status, 404, "{path}: {}", page.body);
    }
    let untouched: (String, bool) = sqlx::query_as(
        "SELECT (SELECT role FROM memberships WHERE user_id = $1), (SELECT revoked_at IS NULL FROM invitations WHERE id = $2)",
    )
    .bind(&their_user)
    .bind(&their_invitation)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(untouched, ("owner".to_owned(), true));
    assert!(!browser.get("/dashboard/team").await.body.contains(&theirs), "nobody else's people");
}

#[tokio::test]
async fn the_owner_completes_the_profile_opens_live_mode_and_makes_a_live_key() {
    let app = spawn_app().await;
    let owner = email();
    let mut browser = Browser::new(&app);
    browser.sign_up(&owner, "Shop").await;
    let merchant = merchant_of(&app, &owner).await;
    let csrf = browser.csrf().await;
    // Live is closed until the profile is complete.
    assert_eq!(browser.post("/dashboard/mode", &[("csrf", &csrf), ("mode", "live")]).await.status, 403);
    assert_eq!(browser.post("/dashboard/settings/live", &[("csrf", &csrf)]).await.status, 400);
    let bad = browser
        .post(
            "/dashboard/settings/profile",
            &[("csrf", &csrf), ("name", "Dune"), ("country", "Saudi"), ("website", "https://dune.example")],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("two-letter"), "{}", bad.body);
    let saved = browser
        .post(
            "/dashboard/settings/profile",
            &[("csrf", &csrf), ("name", "Dune Coffee"), ("country", "sa"), ("website", "https://dune.example")],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let country: Option<String> = sqlx::query_scalar("SELECT country FROM merchants WHERE id = $1")
        .bind(&merchant)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(country.as_deref(), Some("SA"), "the country Mada routing reads");
    assert_eq!(browser.post("/dashboard/settings/live", &[("csrf", &csrf)]).await.status, 200);
    let switched = browser.post("/dashboard/mode", &[("csrf", &csrf), ("mode", "live")]).await;
    assert_eq!(switched.status, 303);
    let keys = browser.get("/dashboard/keys").await;
    assert!(!keys.body.contains("test-banner"), "live data, no test banner");
    assert!(keys.body.contains("No keys in this mode"), "live has none of the test keys");
    let created = browser.post("/dashboard/keys", &[("csrf", &csrf), ("kind", "secret")]).await;
    assert!(created.body.contains("id=\"new-key\">sk_live_"), "{}", created.body);
}

#[tokio::test]
async fn a_second_factor_is_asked_at_sign_in_and_each_code_works_once() {
    let app = spawn_app().await;
    let owner = email();
    let mut browser = Browser::new(&app);
    browser.sign_up(&owner, "Shop").await;
    let setup = browser.get("/dashboard/security").await;
    let key = setup.body.split("id=\"setup-key\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let app_of = |key: &str| {
        let secret = totp_rs::Secret::try_from_base32(key).unwrap().as_ref().to_vec();
        totp_rs::Builder::new().with_secret(secret).build().unwrap()
    };
    let authenticator = app_of(&key);
    let now = unix_seconds_now() as u64;
    let code = |at: u64| authenticator.generate(at).to_string();
    let csrf = setup.field("csrf");
    let wrong = browser.post("/dashboard/security/enable", &[("csrf", &csrf), ("key", &key), ("code", "000000")]).await;
    assert_eq!(wrong.status, 400);
    let on = browser.post("/dashboard/security/enable", &[("csrf", &csrf), ("key", &key), ("code", &code(now))]).await;
    assert_eq!(on.status, 200, "{}", on.body);
    let stored: Vec<u8> = sqlx::query_scalar("SELECT totp_secret FROM users WHERE email = $1")
        .bind(&owner)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&stored).contains(&key), "the secret is sealed at rest");
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'user.two_step_enabled'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(audited, 1);
    // Sign in again: the password alone opens only the code page.
    let mut again = Browser::new(&app);
    let signed_in = again.sign_in(&owner, PASSWORD).await;
    assert_eq!(signed_in.location(), "/dashboard/sign-in/code");
    assert_eq!(again.get("/dashboard/overview").await.location(), "/dashboard/sign-in/code");
    let page = again.get("/dashboard/sign-in/code").await;
    let csrf = page.field("csrf");
    // The code used to turn it on is spent; a wrong one is refused; the next one opens the session.
    assert_eq!(again.post("/dashboard/sign-in/code", &[("csrf", &csrf), ("code", &code(now))]).await.status, 401);
    assert_eq!(again.post("/dashboard/sign-in/code", &[("csrf", &csrf), ("code", "123456")]).await.status, 401);
    let verified = again.post("/dashboard/sign-in/code", &[("csrf", &csrf), ("code", &code(now + 30))]).await;
    assert_eq!((verified.status, verified.location()), (303, "/dashboard/overview"), "{}", verified.body);
    assert_eq!(again.get("/dashboard/overview").await.status, 200);
    // Without a session's token, or from another site, the code page changes nothing.
    let mut third = Browser::new(&app);
    third.sign_in(&owner, PASSWORD).await;
    assert_eq!(third.post("/dashboard/sign-in/code", &[("code", &code(now + 60))]).await.status, 403);
}

#[tokio::test]
async fn processor_accounts_routing_and_apple_pay_domains_are_managed_with_the_apis_rules() {
    let app = spawn_app().await;
    let owner = email();
    let mut browser = Browser::new(&app);
    browser.sign_up(&owner, "Shop").await;
    let merchant = merchant_of(&app, &owner).await;
    let csrf = browser.csrf().await;
    // A Stripe account: the key is sealed, never shown again; a bad one is refused naming why.
    let bad =
        [("csrf", csrf.as_str()), ("connector", "stripe"), ("display_name", "Stripe"), ("secret_key", "sk_live_nope")];
    let refused = browser.post("/dashboard/processors", &bad).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let secret_key = "sk_test_51dashboardaccount0001";
    let form =
        [("csrf", csrf.as_str()), ("connector", "stripe"), ("display_name", "Stripe EU"), ("secret_key", secret_key)];
    assert_eq!(browser.post("/dashboard/processors", &form).await.status, 303);
    let page = browser.get("/dashboard/processors").await;
    assert!(page.body.contains("Stripe EU") && !page.body.contains(secret_key), "{}", page.body);
    let stripe: String =
        sqlx::query_scalar("SELECT id FROM processor_accounts WHERE merchant_id = $1 AND connector = 'stripe'")
            .bind(&merchant)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(page.body.contains(&format!("/v1/processor_events/stripe/{stripe}")), "the webhook URL to register");
    // Routing: JSON as the API takes it; a bad target is named; a good table replaces the old.
    let refused = browser
        .post("/dashboard/routing", &[("csrf", &csrf), ("table", r#"{"default": "pa_00000000000000000000000000"}"#)])
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("default"), "{}", refused.body);
    let malformed =
        browser.post("/dashboard/routing", &[("csrf", &csrf), ("table", r#"{"rules": [{"account": 7}]}"#)]).await;
    assert_eq!(malformed.status, 400);
    assert!(malformed.body.contains("rules[0].account"), "{}", malformed.body);
    let table = format!(
        r#"{{"rules": [{{"conditions": {{"currencies": ["USD"]}}, "account": "{stripe}"}}], "default": "{stripe}"}}"#
    );
    assert_eq!(browser.post("/dashboard/routing", &[("csrf", &csrf), ("table", &table)]).await.status, 200);
    let routing = app.client(&merchant, "test").expect(200, Method::GET, "/v1/routing", &serde_json::Value::Null).await;
    assert_eq!(routing["default"], stripe.as_str(), "{routing}");
    // Disabled from the dashboard: the API's rules apply (a disabled account is refused as a routing target).
    assert_eq!(browser.post(&format!("/dashboard/processors/{stripe}/disable"), &[("csrf", &csrf)]).await.status, 303);
    let enabled: bool = sqlx::query_scalar("SELECT enabled FROM processor_accounts WHERE id = $1")
        .bind(&stripe)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!enabled);
    // Apple Pay domains.
    let refused =
        browser.post("/dashboard/apple-pay", &[("csrf", &csrf), ("domain_name", "https://shop.example.com/x")]).await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        browser.post("/dashboard/apple-pay", &[("csrf", &csrf), ("domain_name", "Shop.Example.com")]).await.status,
        303
    );
    let page = browser.get("/dashboard/apple-pay").await;
    assert!(page.body.contains(">shop.example.com</td>"), "stored in lower case: {}", page.body);
    let domain: String = sqlx::query_scalar("SELECT id FROM apple_pay_domains WHERE merchant_id = $1")
        .bind(&merchant)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(browser.post(&format!("/dashboard/apple-pay/{domain}/remove"), &[("csrf", &csrf)]).await.status, 303);
    assert!(!browser.get("/dashboard/apple-pay").await.body.contains(">shop.example.com</td>"));
}

#[tokio::test]
async fn a_saved_view_brings_back_its_filter_and_belongs_to_its_user() {
    let app = spawn_app().await;
    let owner = email();
    let mut browser = Browser::new(&app);
    browser.sign_up(&owner, "Shop").await;
    let merchant = merchant_of(&app, &owner).await;
    let declined = charge(&app, &merchant, "4000000000000002", true, json!({})).await;
    let captured = charge(&app, &merchant, "4242424242424242", true, json!({})).await;
    let csrf = browser.csrf().await;
    let saved = browser
        .post(
            "/dashboard/charges/views",
            &[("csrf", &csrf), ("name", "Declines"), ("query", "status=failed&currency=eur")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let list = browser.get("/dashboard/charges").await;
    let href = list
        .body
        .split("<a href=\"/dashboard/charges?")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&");
    let view = browser.get(&format!("/dashboard/charges?{href}")).await;
    assert!(view.body.contains(&declined) && !view.body.contains(&captured), "{href}");
    // A filter the list would refuse is not saved.
    let bad =
        browser.post("/dashboard/charges/views", &[("csrf", &csrf), ("name", "Bad"), ("query", "status=won")]).await;
    assert_eq!(bad.status, 404);
    // Another member of the team does not see or delete it.
    let member = email();
    let args = ["create-user", "--merchant", &merchant, "--email", &member, "--password-env", "P", "--role", "analyst"];
    let created = std::process::Command::new(env!("CARGO_BIN_EXE_paygate-ledger"))
        .args(args)
        .env("DATABASE_URL", app.database_url())
        .env("RUST_LOG", "error")
        .env("P", PASSWORD)
        .output()
        .unwrap();
    assert!(created.status.success());
    let mut colleague = Browser::new(&app);
    colleague.sign_in(&member, PASSWORD).await;
    assert!(!colleague.get("/dashboard/charges").await.body.contains("Declines"));
    let view_id: String = sqlx::query_scalar("SELECT id FROM saved_views WHERE merchant_id = $1")
        .bind(&merchant)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let colleague_csrf = colleague.csrf().await;
    let path = format!("/dashboard/charges/views/{view_id}/delete");
    assert_eq!(colleague.post(&path, &[("csrf", &colleague_csrf)]).await.status, 404);
    assert_eq!(browser.post(&path, &[("csrf", &csrf)]).await.status, 303);
    assert!(!browser.get("/dashboard/charges").await.body.contains("Declines"));
}

#[tokio::test]
async fn a_session_ends_after_an_idle_hour_or_twelve_hours_in_all() {
    let app = spawn_app().await;
    let owner = email();
    let mut idle = Browser::new(&app);
    idle.sign_up(&owner, "Shop").await;
    let mut old = Browser::new(&app);
    old.sign_in(&owner, PASSWORD).await;
    let hash = |browser: &Browser| {
        use sha2::Digest;
        sha2::Sha256::digest(browser.session().unwrap().as_bytes()).to_vec()
    };
    sqlx::query("UPDATE dashboard_sessions SET last_seen_at = now() - interval '61 minutes' WHERE token_hash = $1")
        .bind(hash(&idle))
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE dashboard_sessions SET created_at = now() - interval '12 hours 1 minute' WHERE token_hash = $1",
    )
    .bind(hash(&old))
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(idle.get("/dashboard/overview").await.location(), "/dashboard/sign-in", "idle too long");
    assert_eq!(old.get("/dashboard/overview").await.location(), "/dashboard/sign-in", "too old, though used");
    // Use keeps a session alive: one seen 59 minutes ago still works, and is seen now.
    let mut active = Browser::new(&app);
    active.sign_in(&owner, PASSWORD).await;
    sqlx::query("UPDATE dashboard_sessions SET last_seen_at = now() - interval '59 minutes' WHERE token_hash = $1")
        .bind(hash(&active))
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(active.get("/dashboard/overview").await.status, 200);
    let seen: bool = sqlx::query_scalar(
        "SELECT last_seen_at > now() - interval '1 minute' FROM dashboard_sessions WHERE token_hash = $1",
    )
    .bind(hash(&active))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(seen);
}

#[tokio::test]
async fn guesses_in_parallel_are_throttled_as_one_after_another_would_be() {
    let app = spawn_app().await;
    let owner = email();
    Browser::new(&app).sign_up(&owner, "Shop").await;
    // Ten wrong passwords at once: the attempt is counted before the hash is checked, so at most five are tried.
    let mut browsers: Vec<Browser> = (0..10).map(|_| Browser::new(&app)).collect();
    let mut forms = Vec::new();
    for browser in &mut browsers {
        forms.push(browser.get("/dashboard/sign-in").await.field("csrf"));
    }
    let answers = futures::future::join_all(browsers.iter_mut().zip(&forms).map(|(browser, csrf)| {
        let owner = owner.clone();
        async move {
            browser
                .post("/dashboard/sign-in", &[("csrf", csrf), ("email", &owner), ("password", "a wrong guess!")])
                .await
                .status
        }
    }))
    .await;
    let tried = answers.iter().filter(|s| **s == 401).count();
    assert_eq!(tried, 5, "{answers:?}");
    assert_eq!(answers.iter().filter(|s| **s == 429).count(), 5, "{answers:?}");
}

#[tokio::test]
async fn joining_with_an_existing_account_asks_its_password_and_its_second_factor() {
    let app = spawn_app().await;
    let (owner, other_owner) = (email(), email());
    let mut browser = Browser::new(&app);
    browser.sign_up(&owner, "Shop").await;
    // The invited person already has an account (their own shop), with two-step sign-in on.
    let mut invited = Browser::new(&app);
    invited.sign_up(&other_owner, "Their shop").await;
    let setup = invited.get("/dashboard/security").await;
    let key = setup.body.split("id=\"setup-key\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let secret = totp_rs::Secret::try_from_base32(&key).unwrap().as_ref().to_vec();
    let authenticator = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    let now = unix_seconds_now() as u64;
    let code = |at: u64| authenticator.generate(at).to_string();
    let invited_csrf = setup.field("csrf");
    assert_eq!(
        invited
            .post("/dashboard/security/enable", &[("csrf", &invited_csrf), ("key", &key), ("code", &code(now))])
            .await
            .status,
        200
    );
    // A second enable, with a key of the session's choosing, is refused while one is on.
    let again = invited
        .post("/dashboard/security/enable", &[("csrf", &invited_csrf), ("key", &key), ("code", &code(now + 30))])
        .await;
    assert_eq!(again.status, 400, "{}", again.body);
    let csrf = browser.csrf().await;
    let page = browser
        .post("/dashboard/team/invite", &[("csrf", &csrf), ("email", &other_owner), ("role", "developer")])
        .await;
    let link = page.body.split("id=\"invitation-link\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let path = &link[link.find("/dashboard/join").unwrap()..];
    let mut joiner = Browser::new(&app);
    let join = joiner.get(path).await;
    assert!(join.body.contains("current-password"), "an existing account signs in with its password");
    let (mut join_csrf, token) = (join.field("csrf"), join.field("token"));
    // Wrong passwords count as failed sign-ins: five, then the address waits, invitation or not.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let answer = joiner
            .post("/dashboard/join", &[("csrf", &join_csrf), ("token", &token), ("password", "not the one!")])
            .await;
        statuses.push(answer.status);
        if answer.status == 400 {
            join_csrf = answer.field("csrf");
        }
    }
    assert_eq!(statuses[..5], [400; 5], "{statuses:?}");
    assert_ne!(statuses[5], 303, "{statuses:?}");
    let waited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = $1")
            .bind(&other_owner)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(waited, 1, "not joined by guessing");
    sqlx::query("DELETE FROM sign_in_failures").execute(&app.pool).await.unwrap();
    let join = joiner.get(path).await;
    let (join_csrf, token) = (join.field("csrf"), join.field("token"));
    let joined =
        joiner.post("/dashboard/join", &[("csrf", &join_csrf), ("token", &token), ("password", PASSWORD)]).await;
    assert_eq!(joined.status, 303, "{}", joined.body);
    // In, but the second factor is still owed.
    assert_eq!(joiner.get("/dashboard/overview").await.location(), "/dashboard/sign-in/code");
    let pending = joiner.session().unwrap();
    let code_page = joiner.get("/dashboard/sign-in/code").await;
    let verified =
        joiner.post("/dashboard/sign-in/code", &[("csrf", &code_page.field("csrf")), ("code", &code(now + 30))]).await;
    assert_eq!(verified.status, 303, "{}", verified.body);
    assert_ne!(joiner.session().unwrap(), pending, "a new session once the second factor is given");
    assert_eq!(joiner.get("/dashboard/overview").await.status, 200);
    let mut replay = Browser::new(&app);
    replay.cookies.insert("__Host-pg_session".into(), pending);
    assert_eq!(replay.get("/dashboard/overview").await.location(), "/dashboard/sign-in", "the pending token is over");
    // Two teams now: the team page switches between them, and only between them.
    let team = joiner.get("/dashboard/team").await;
    assert!(team.body.contains("id=\"teams\"") && team.body.contains("Their shop"), "{}", team.body);
    let their_shop: String =
        sqlx::query_scalar("SELECT id FROM merchants WHERE name = 'Their shop'").fetch_one(&app.pool).await.unwrap();
    let joiner_csrf = team.field("csrf");
    let switched = joiner.post("/dashboard/team/switch", &[("csrf", &joiner_csrf), ("merchant", &their_shop)]).await;
    assert_eq!(switched.status, 303);
    assert!(joiner.get("/dashboard/overview").await.body.contains("Their shop"));
    let stranger = crate::helpers::insert_merchant(&app.pool).await;
    let refused = joiner.post("/dashboard/team/switch", &[("csrf", &joiner_csrf), ("merchant", &stranger)]).await;
    assert_eq!(refused.status, 404);
}

#[tokio::test]
async fn bad_filters_and_long_descriptions_are_refused_never_a_500() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_up(&email(), "Shop").await;
    for query in ["brand=%00", "processor=%00x", "method=x%0Ay", "q=%00", "amount_min=1e9", "created_from=0000-01-01"] {
        let page = browser.get(&format!("/dashboard/charges?{query}")).await;
        assert_eq!(page.status, 400, "{query}: {}", page.body);
        let csv = browser.get(&format!("/dashboard/charges.csv?{query}")).await;
        assert_eq!(csv.status, 400, "csv {query}");
    }
    // Not even UTF-8: read lossily, so no status it could name.
    assert_eq!(browser.get("/dashboard/charges?status=%FF").await.status, 400);
    let csrf = browser.csrf().await;
    let long = "d".repeat(501);
    let form =
        [("csrf", csrf.as_str()), ("url", "http://127.0.0.1:9/hooks"), ("events", "*"), ("description", long.as_str())];
    let refused = browser.post("/dashboard/webhooks", &form).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let query = format!("q={}", "x".repeat(450));
    let saved = browser.post("/dashboard/charges/views", &[("csrf", &csrf), ("name", "Long"), ("query", &query)]).await;
    assert_ne!(saved.status, 500);
}
