//! The one error type. Every handler returns it; [`crate::http`] turns it into the contract's
//! envelope in exactly one place.

use serde_json::{json, Value};

/// One problem with one input field, shown in the envelope's `errors[]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub message: String,
    /// Where the problem is: a body path (`owner.name`), a query parameter or a header.
    pub field: String,
    pub code: &'static str,
    pub context: Value,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            field: field.into(),
            code,
            context: json!({}),
        }
    }
    pub fn with_context(mut self, context: Value) -> Self {
        self.context = context;
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("missing scopes: {0:?}")]
    MissingScopes(Vec<String>),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("payload too large (limit {0} bytes)")]
    PayloadTooLarge(usize),
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Too many requests; the seconds until the caller may try again (`Retry-After`).
    #[error("rate limited (retry after {0} s)")]
    RateLimited(u64),
    /// A dependency (DynamoDB, SQS) is throttling, timing out or failing, after the SDK's own
    /// retries: the caller may try again in the given seconds (`Retry-After`). The source goes
    /// to the log only.
    #[error("unavailable (retry after {0} s)")]
    Unavailable(u64, #[source] Box<dyn std::error::Error + Send + Sync>),
    /// Anything the caller cannot fix. The source goes to the log, never to the client. Its
    /// text is not repeated here: print the chain with [`crate::http::ErrorChain`].
    #[error("unexpected")]
    Unexpected(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn validation(
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Error::Validation(vec![FieldError::new(field, code, message)])
    }

    pub fn unexpected(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Unexpected(Box::new(e))
    }

    pub fn unexpected_msg(msg: impl Into<String>) -> Self {
        Error::Unexpected(msg.into().into())
    }

    pub fn status(&self) -> u16 {
        match self {
            Error::Validation(_) => 400,
            Error::Unauthorized(_) => 401,
            Error::MissingScopes(_) | Error::Forbidden(_) => 403,
            Error::NotFound(_) => 404,
            Error::MethodNotAllowed => 405,
            Error::Conflict(_) => 409,
            Error::PayloadTooLarge(_) => 413,
            Error::UnsupportedMediaType(_) => 415,
            Error::RateLimited(_) => 429,
            Error::Unexpected(_) => 500,
            Error::Unavailable(..) => 503,
        }
    }

    pub fn category(&self) -> &'static str {
        match self {
            Error::Validation(_) => "VALIDATION_ERROR",
            Error::Unauthorized(_) => "UNAUTHORIZED",
            Error::MissingScopes(_) => "MISSING_SCOPES",
            Error::Forbidden(_) => "FORBIDDEN",
            Error::NotFound(_) => "NOT_FOUND",
            Error::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Error::Conflict(_) => "CONFLICT",
            Error::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            Error::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            Error::RateLimited(_) => "RATE_LIMITS",
            Error::Unexpected(_) => "INTERNAL_ERROR",
            Error::Unavailable(..) => "SERVICE_UNAVAILABLE",
        }
    }

    /// The one entry of `errors[]` of every error but a validation one: its message, where the
    /// problem is (`in`), its code and its context.
    fn entry(&self) -> (String, &'static str, &'static str, Value) {
        let code = self.category();
        match self {
            Error::Validation(_) => ("Invalid input".into(), "body", code, json!({})),
            Error::Unauthorized(m) => (
                m.clone(),
                "authorization",
                "INVALID_AUTHENTICATION",
                json!({}),
            ),
            Error::MissingScopes(scopes) => (
                format!("This call requires the scope(s): {}", scopes.join(", ")),
                "authorization",
                code,
                json!({"requiredScopes": scopes}),
            ),
            Error::Forbidden(m) => (m.clone(), "account", code, json!({})),
            Error::NotFound(what) => (format!("{what} not found"), "path", code, json!({})),
            Error::Conflict(m) => (m.clone(), "body", code, json!({})),
            Error::PayloadTooLarge(limit) => (
                format!("The request body is larger than {limit} bytes"),
                "body",
                code,
                json!({"maxBytes": limit}),
            ),
            Error::UnsupportedMediaType(got) => (
                "The request body must be sent as content-type: application/json".into(),
                "content-type",
                code,
                json!({"received": got}),
            ),
            Error::MethodNotAllowed => (
                "Method not allowed on this path".into(),
                "method",
                code,
                json!({}),
            ),
            Error::RateLimited(after) => (
                "Too many messages from this sender; try again later".into(),
                "request",
                code,
                json!({"retryAfterSeconds": after}),
            ),
            Error::Unexpected(_) => (
                "An internal error occurred".into(),
                "server",
                code,
                json!({}),
            ),
            Error::Unavailable(after, _) => (
                "The service is busy or a dependency is unavailable; try again later".into(),
                "server",
                code,
                json!({"retryAfterSeconds": after}),
            ),
        }
    }

    /// The contract's error envelope. 5xx bodies say nothing about the cause.
    pub fn envelope(&self, correlation_id: &str) -> Value {
        let (message, errors): (String, Vec<Value>) = match self {
            Error::Validation(list) => (
                list.first()
                    .map(|f| format!("Invalid input: {}", f.message))
                    .unwrap_or_else(|| "Invalid input".into()),
                list.iter()
                    .map(|f| {
                        json!({"message": f.message, "in": f.field, "code": f.code, "context": f.context})
                    })
                    .collect(),
            ),
            _ => {
                let (message, at, code, context) = self.entry();
                let one = json!({"message": message, "in": at, "code": code, "context": context});
                (message, vec![one])
            }
        };
        json!({
            "status": "error",
            "message": message,
            "correlationId": correlation_id,
            "category": self.category(),
            "errors": errors,
        })
    }
}

/// The seconds a caller is told to wait after a dependency failed ([`Error::Unavailable`]).
pub const UNAVAILABLE_RETRY_AFTER_S: u64 = 1;

/// Error codes of DynamoDB and SQS that say "not now" rather than "never": throttling, a
/// concurrent transaction, an internal failure. The SDK retries most of them already; what is
/// left after its retries is a 503, not a 500.
const TRANSIENT_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TransactionConflictException",
    "TransactionInProgressException",
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "KMS.ThrottlingException",
];

/// Whether an SDK error is worth retrying later: a timeout, a connection that failed or was
/// cut, an unreadable response, a 5xx or a transient error code. A malformed request (a bug) or
/// a missing table is not.
pub fn is_transient<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(
    e: &aws_sdk_dynamodb::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> bool {
    use aws_sdk_dynamodb::error::SdkError;
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(se) => {
            se.raw().status().is_server_error()
                || se
                    .err()
                    .code()
                    .is_some_and(|c| TRANSIENT_CODES.contains(&c))
        }
        _ => false,
    }
}

/// Keeps the SDK error as the source so the log shows the whole chain: a transient one is
/// [`Error::Unavailable`] (503 + `Retry-After`), anything else [`Error::Unexpected`] (500).
impl<E> From<aws_sdk_dynamodb::error::SdkError<E, aws_smithy_runtime_api::http::Response>> for Error
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + Send + Sync + 'static,
{
    fn from(
        e: aws_sdk_dynamodb::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
    ) -> Self {
        if is_transient(&e) {
            Error::Unavailable(UNAVAILABLE_RETRY_AFTER_S, Box::new(e))
        } else {
            Error::Unexpected(Box::new(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let e = Error::unexpected_msg("ResourceNotFoundException: table balcao-prod");
        let body = e.envelope("c0ffee").to_string();
        assert!(!body.contains("ResourceNotFound"));
        assert!(!body.contains("balcao-prod"));
        assert_eq!(e.status(), 500);
        let e = Error::Unavailable(
            1,
            "ProvisionedThroughputExceededException: balcao-prod".into(),
        );
        let body = e.envelope("c0ffee");
        assert_eq!(e.status(), 503);
        assert_eq!(body["category"], "SERVICE_UNAVAILABLE");
        assert_eq!(body["errors"][0]["context"]["retryAfterSeconds"], 1);
        assert!(!body.to_string().contains("Provisioned") && !body.to_string().contains("prod"));
    }

    /// The log and CLI line of an unexpected error names each cause once (it used to print
    /// the source twice: in the top error's text and again as its source).
    #[test]
    fn an_unexpected_error_prints_its_chain_once() {
        let io = std::io::Error::other("table balcao not found");
        let e = Error::unexpected(io);
        assert_eq!(
            crate::http::ErrorChain(&e).to_string(),
            "unexpected: table balcao not found"
        );
    }

    #[test]
    fn missing_scopes_name_the_required_scopes() {
        let e = Error::MissingScopes(vec!["services:conversations-seller:write".into()]);
        let v = e.envelope("id-1");
        assert_eq!(v["category"], "MISSING_SCOPES");
        assert_eq!(v["correlationId"], "id-1");
        assert_eq!(
            v["errors"][0]["context"]["requiredScopes"][0],
            "services:conversations-seller:write"
        );
    }
}
