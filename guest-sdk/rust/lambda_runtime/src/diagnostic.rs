//! The error a failed invocation answers with: Lambda's `errorType` and
//! `errorMessage`.

use serde::{Deserialize, Serialize};

/// A failed invocation's error. The conversions name an error by the Rust
/// type of a reference to it, as lambda_runtime does (its `type_name_of_val`
/// is given `&value`): a boxed [`crate::Error`] is `&alloc::boxed::Box<dyn
/// core::error::Error + core::marker::Send + core::marker::Sync>`, with the
/// leading `&`. Implement `From<YourError>` for a name of your own.
#[derive(Debug, Eq, PartialEq, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostic {
    /// The `errorType`.
    pub error_type: String,
    /// The `errorMessage`.
    pub error_message: String,
}

macro_rules! named_by_type {
    ($($source:ty),* $(,)?) => {
        $(
            impl From<$source> for Diagnostic {
                fn from(value: $source) -> Self {
                    Diagnostic {
                        error_type: type_name_of_val(&value),
                        error_message: value.to_string(),
                    }
                }
            }
        )*
    };
}

named_by_type!(
    crate::Error,
    Box<dyn std::error::Error>,
    std::convert::Infallible,
    String,
    &'static str,
    std::io::Error,
);

#[cfg(feature = "anyhow")]
named_by_type!(anyhow::Error);

#[cfg(feature = "eyre")]
named_by_type!(eyre::Report);

#[cfg(feature = "miette")]
named_by_type!(miette::Report);

/// The name of `T`: called with `&value`, it names the reference type
/// (`&anyhow::Error`), which is what lambda_runtime answers with.
pub(crate) fn type_name_of_val<T>(_: T) -> String {
    std::any::type_name::<T>().to_string()
}
