//! Liveness, readiness, request ids and the problem shape of requests no route takes.

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_answers_and_ready_reports_the_migrated_schema() {
    let app = spawn_app().await;
    assert_eq!(app.get_json("/health", 200).await["status"], "ok");
    let ready = app.get_json("/ready", 200).await;
    assert_eq!(ready["status"], "ready");
    let version: i64 =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations").fetch_one(&app.pool).await.unwrap();
    assert_eq!(ready["schema_version"], version);
    let merchants: i64 = sqlx::query_scalar("SELECT count(*) FROM merchants").fetch_one(&app.pool).await.unwrap();
    assert_eq!(merchants, 0, "the merchants table exists and starts empty");
}

#[tokio::test]
async fn ready_fails_with_a_503_problem_when_the_schema_is_behind() {
    let app = spawn_app().await;
    sqlx::query("DELETE FROM _sqlx_migrations").execute(&app.pool).await.unwrap();
    let problem = app.get_json("/ready", 503).await;
    assert_eq!(problem["code"], "service_unavailable");
}

#[tokio::test]
async fn unknown_routes_and_methods_get_problem_answers_with_the_request_id() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/nope")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let request_id = response.headers()["request-id"].to_str().unwrap().to_owned();
    assert!(request_id.starts_with("req_"), "{request_id}");
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "route_not_found");
    assert_eq!(problem["status"], 404);
    assert_eq!(problem["request_id"], request_id.as_str());

    let response = app.client.post(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "method_not_allowed");
}

#[tokio::test]
async fn a_well_formed_incoming_request_id_is_kept_and_a_malformed_one_replaced() {
    let app = spawn_app().await;
    let edge_id = "req_01jd0000000000000000000000";
    let response = app.client.get(app.url("/health")).header("request-id", edge_id).send().await.unwrap();
    assert_eq!(response.headers()["request-id"], edge_id);
    // Anything that is not one of our ids (log injection, overlong values) is replaced.
    let response = app.client.get(app.url("/health")).header("request-id", "x\" level=error").send().await.unwrap();
    assert!(response.headers()["request-id"].to_str().unwrap().starts_with("req_"));
}
