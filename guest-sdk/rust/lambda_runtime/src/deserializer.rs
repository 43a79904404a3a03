//! The event as the handler's payload type, with lambda_runtime's error.

use std::fmt;

use serde::de::DeserializeOwned;

use crate::{Context, Diagnostic, LambdaEvent};

const FAILED: &str = "failed to deserialize the incoming data into the function's payload type";

/// An event that does not fit the payload type; says where (the JSON path)
/// and why. Its type name is the errorType a handler's caller sees.
#[derive(Debug)]
pub(crate) struct DeserializeError {
    inner: serde_path_to_error::Error<serde_json::Error>,
}

impl fmt::Display for DeserializeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.inner.path().to_string();
        if path == "." {
            writeln!(f, "{FAILED}: {}", self.inner)
        } else {
            writeln!(f, "{FAILED}: [{path}] {}", self.inner)
        }
    }
}

impl std::error::Error for DeserializeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.inner)
    }
}

impl From<DeserializeError> for Diagnostic {
    fn from(error: DeserializeError) -> Self {
        Diagnostic {
            error_type: crate::diagnostic::type_name_of_val(&error),
            error_message: error.to_string(),
        }
    }
}

pub(crate) fn deserialize<T: DeserializeOwned>(
    body: &[u8],
    context: Context,
) -> Result<LambdaEvent<T>, DeserializeError> {
    let mut decoder = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut decoder)
        .map(|payload| LambdaEvent::new(payload, context))
        .map_err(|inner| DeserializeError { inner })
}
