//! The typed error: errors as data (`{"error": {...}}`) and failures of the
//! call itself (the C ABI's last error) both become an [`Error`].
use serde_json::Value;
use std::fmt;

/// The error family, from the thousands of the numeric code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// 1xxx: the request itself (bad JSON, missing fields, bad arguments).
    Request,
    /// 2xxx: tokens (malformed, forged, wrong kind or scope, ack reused).
    Token,
    /// 3xxx: workflow definitions.
    Workflow,
    /// 4xxx: run state.
    RunState,
    /// 5xxx: storage and internal (including a closed engine).
    Storage,
    /// A code outside the known families.
    Unknown,
}

/// Whether and when to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    NotRetryable,
    RetryableImmediate,
    RetryableAfterMs(u64),
}

/// An error reported by tokenrail.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    /// The code's spelling, e.g. `"ACK_ALREADY_USED"`.
    pub code: String,
    /// The numeric code, e.g. `2008`.
    pub numeric_code: i64,
    pub message: String,
    pub retry: Retry,
    /// Structured details (JSON pointer of the bad field, recorded response...).
    pub details: Option<Value>,
    /// The raw response text when the error came as a response.
    pub response: Option<String>,
}

impl Error {
    /// The family of [`Error::numeric_code`].
    pub fn family(&self) -> Family {
        match self.numeric_code / 1000 {
            1 => Family::Request,
            2 => Family::Token,
            3 => Family::Workflow,
            4 => Family::RunState,
            5 => Family::Storage,
            _ => Family::Unknown,
        }
    }

    /// Whether this is the error with that code spelling.
    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }

    pub(crate) fn new(code: &str, numeric_code: i64, message: impl Into<String>) -> Error {
        Error {
            code: code.to_owned(),
            numeric_code,
            message: message.into(),
            retry: Retry::NotRetryable,
            details: None,
            response: None,
        }
    }

    /// From the inner object of `{"error": {...}}`.
    pub(crate) fn from_error_object(error: &Value, response: Option<String>) -> Error {
        let retry = match error.pointer("/retry/kind").and_then(Value::as_str) {
            Some("retryable_immediate") => Retry::RetryableImmediate,
            Some("retryable_after_ms") => {
                Retry::RetryableAfterMs(error.pointer("/retry/afterMs").and_then(Value::as_u64).unwrap_or(0))
            }
            _ => Retry::NotRetryable,
        };
        Error {
            code: error.get("code").and_then(Value::as_str).unwrap_or("INTERNAL").to_owned(),
            numeric_code: error.get("numericCode").and_then(Value::as_i64).unwrap_or(5010),
            message: error.get("message").and_then(Value::as_str).unwrap_or("").to_owned(),
            retry,
            details: error.get("details").cloned(),
            response,
        }
    }

    /// From a whole error document `{"error": {...}}` given as text.
    pub(crate) fn from_error_text(text: &str, is_response: bool) -> Error {
        match serde_json::from_str::<Value>(text) {
            Ok(doc) if doc.get("error").is_some() => {
                Error::from_error_object(&doc["error"], is_response.then(|| text.to_owned()))
            }
            _ => Error::new("INTERNAL", 5010, format!("unreadable error: {text}")),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.numeric_code, self.message)
    }
}

impl std::error::Error for Error {}
