//! Calling our Durable Objects: each exposes a few operations as `POST https://<object>/<operation>` with a
//! JSON body, on the object of a given name (a key hash, a token, a bucket...).

use worker::{Env, Method, Request, RequestInit, Response, Result, Stub};

/// The object named `name` of namespace `binding`.
pub fn object(env: &Env, binding: &str, name: &str) -> Result<Stub> {
    env.durable_object(binding)?.get_by_name(name)
}

/// Asks `stub` for `operation` (a path, `/take`) with the JSON `body`.
pub async fn post(stub: &Stub, operation: &str, body: String) -> Result<Response> {
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    stub.fetch_with_request(Request::new_with_init(&format!("https://object{operation}"), &init)?).await
}
