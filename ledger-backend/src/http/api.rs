//! One table of endpoints from which both the router and the OpenAPI document are built, so the document
//! can never list a route that does not exist or miss one that does. Each resource module contributes
//! its `endpoints()`: the handler and what the document says about it.

use super::AppState;
use axum::http::Method;
use axum::routing::MethodRouter;
use serde_json::Value;

/// What an endpoint answers with on success.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// One object of this component.
    Object(u16, &'static str),
    /// One object of this component: 200 when done, 202 when the processor accepted the operation and will
    /// confirm it later (the object says what is pending).
    ObjectOrAccepted(&'static str),
    /// The list envelope of this component.
    List(&'static str),
    /// A small fixed object described inline (health checks).
    Inline(u16, fn() -> Value),
    /// A CSV file (`text/csv`), 200.
    Csv,
}

/// A query parameter: (name, description).
pub type QueryParam = (&'static str, &'static str);

pub struct Endpoint {
    pub method: Method,
    /// Relative to where the module is mounted, in axum's syntax (`/charges/{id}`).
    pub path: &'static str,
    pub operation_id: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    /// Money-moving POSTs require an `Idempotency-Key`: set from core's list (`v1_endpoints`), never by hand.
    pub idempotency_key: bool,
    pub query: &'static [QueryParam],
    /// The JSON Schema of the body, if it takes one, and whether the body is required.
    pub request: Option<(fn() -> Value, bool)>,
    pub answer: Answer,
    pub handler: MethodRouter<AppState>,
}

/// The query parameters of every cursor-paginated list.
pub const PAGINATION: [QueryParam; 3] = [
    ("limit", "1 to 100 objects per page (default 10)"),
    ("starting_after", "An object id: the page of objects older than it"),
    ("ending_before", "An object id: the page of objects newer than it"),
];

impl Endpoint {
    /// An endpoint with no body, no query and no Idempotency-Key; the builders below add those.
    pub fn new(
        method: Method,
        path: &'static str,
        operation_id: &'static str,
        summary: &'static str,
        answer: Answer,
        handler: MethodRouter<AppState>,
    ) -> Self {
        Endpoint {
            method,
            path,
            operation_id,
            summary,
            tag: "",
            idempotency_key: false,
            query: &[],
            request: None,
            answer,
            handler,
        }
    }

    pub fn tag(mut self, tag: &'static str) -> Self {
        self.tag = tag;
        self
    }

    pub fn body(mut self, schema: fn() -> Value) -> Self {
        self.request = Some((schema, true));
        self
    }

    pub fn optional_body(mut self, schema: fn() -> Value) -> Self {
        self.request = Some((schema, false));
        self
    }

    pub fn query(mut self, query: &'static [QueryParam]) -> Self {
        self.query = query;
        self
    }
}

/// Mounts every endpoint (axum merges the methods of one path into one route).
pub fn router(endpoints: Vec<Endpoint>) -> axum::Router<AppState> {
    endpoints.into_iter().fold(axum::Router::new(), |router, endpoint| router.route(endpoint.path, endpoint.handler))
}
