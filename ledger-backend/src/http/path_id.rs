//! `PathId<K>`: the id in a route's path, parsed into a typed id where it enters. A segment that is not a
//! well-formed id of the route's kind (a NUL, invalid UTF-8, another kind's prefix, any garbage) names no
//! object, so the answer is the same 404 an unknown id gets: nothing reaches the database but ids.

use super::ApiError;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use paygate_core::ErrorCode;
use paygate_core::id::{Id, IdKind};

pub struct PathId<K>(pub Id<K>);

impl<S: Send + Sync, K: IdKind + Send> FromRequestParts<S> for PathId<K> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let not_found = || ApiError::Code(ErrorCode::ResourceNotFound);
        // Every route with an id has exactly one path parameter; percent-decoding is done by axum, and a
        // segment that does not decode to UTF-8 is refused here as not found.
        let params = RawPathParams::from_request_parts(parts, state).await.map_err(|_| not_found())?;
        let (_, value) = params.iter().next().ok_or_else(not_found)?;
        Id::<K>::parse(value).map(PathId).map_err(|_| not_found())
    }
}
