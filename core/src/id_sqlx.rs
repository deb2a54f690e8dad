//! Typed ids and modes stored in PostgreSQL as the text they are on the wire (feature `sqlx`, enabled by the
//! backend only: the SDK and the edge never link it). Binding a `ChargeId` writes `ch_…`; reading a column
//! into a `ChargeId` parses it, and a stored value that is not an id of that kind is a decode error, loud,
//! never a wrong id.

use crate::api_key::Mode;
use crate::id::{Id, IdKind};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef, Postgres};
use sqlx::{Decode, Encode, Type};

impl<K: IdKind> Type<Postgres> for Id<K> {
    fn type_info() -> PgTypeInfo {
        <&str as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <&str as Type<Postgres>>::compatible(ty)
    }
}

impl<K: IdKind> Encode<'_, Postgres> for Id<K> {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<Postgres>>::encode_by_ref(&self.to_string().as_str(), buf)
    }
}

impl<'r, K: IdKind> Decode<'r, Postgres> for Id<K> {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Postgres>>::decode(value)?;
        Ok(Id::parse(text)?)
    }
}

impl Type<Postgres> for Mode {
    fn type_info() -> PgTypeInfo {
        <&str as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <&str as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for Mode {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<Postgres>>::encode_by_ref(&self.as_str(), buf)
    }
}

impl<'r> Decode<'r, Postgres> for Mode {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Postgres>>::decode(value)?;
        Mode::parse(text).ok_or_else(|| format!("stored mode {text:?} is neither test nor live").into())
    }
}
