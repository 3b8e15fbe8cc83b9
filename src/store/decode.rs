//! How columns stored as integers and text read into keel's types: the conversions the rows of
//! the store name in `#[sqlx(try_from = "…")]`, so each is written once.

use std::str::FromStr;

use serde::de::DeserializeOwned;
use sqlx::any::{Any, AnyTypeInfo, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::{Decode, Type};

use crate::domain::{Priority, Source, Status};

/// A 0/1 column (`BIGINT` on both backends) read as a `bool`: anything but 0 is true.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub(crate) struct Flag(i64);

impl From<Flag> for bool {
    fn from(flag: Flag) -> bool {
        flag.0 != 0
    }
}

/// JSON stored as text; text that does not parse makes the row unreadable.
pub(crate) struct JsonText<T>(pub T);

/// JSON stored as text; text that does not parse reads as `T::default()` (an empty list, null).
pub(crate) struct JsonOrDefault<T>(pub T);

/// These read the column as text, as a `String` does.
macro_rules! text_column {
    ($($wrapper:ident),+) => {
        $(
            impl<T> Type<Any> for $wrapper<T> {
                fn type_info() -> AnyTypeInfo {
                    <String as Type<Any>>::type_info()
                }

                fn compatible(ty: &AnyTypeInfo) -> bool {
                    <String as Type<Any>>::compatible(ty)
                }
            }
        )+
    };
}

text_column!(JsonText, JsonOrDefault, Word);

impl<'r, T: DeserializeOwned> Decode<'r, Any> for JsonText<T> {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<'r, Any>>::decode(value)?;
        Ok(JsonText(serde_json::from_str(text)?))
    }
}

impl<'r, T: DeserializeOwned + Default> Decode<'r, Any> for JsonOrDefault<T> {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<'r, Any>>::decode(value)?;
        Ok(JsonOrDefault(serde_json::from_str(text).unwrap_or_default()))
    }
}

impl From<JsonOrDefault<Vec<String>>> for Vec<String> {
    fn from(json: JsonOrDefault<Vec<String>>) -> Vec<String> {
        json.0
    }
}

impl From<JsonOrDefault<serde_json::Value>> for serde_json::Value {
    fn from(json: JsonOrDefault<serde_json::Value>) -> serde_json::Value {
        json.0
    }
}

/// A word column ([`Status`], [`Priority`], [`Source`]); a word this version does not know makes
/// the row unreadable. Parsed here rather than in a `TryFrom`, whose error sqlx 0.9's `FromRow`
/// reports as "unprintable error", without the word.
pub(crate) struct Word<T>(T);

impl<'r, T: FromStr> Decode<'r, Any> for Word<T> {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<'r, Any>>::decode(value)?;
        text.parse()
            .map(Word)
            .map_err(|_| format!("unknown word {text:?}").into())
    }
}

macro_rules! word {
    ($($ty:ty),+) => {
        $(
            impl From<Word<$ty>> for $ty {
                fn from(word: Word<$ty>) -> $ty {
                    word.0
                }
            }
        )+
    };
}

word!(Status, Priority, Source);
