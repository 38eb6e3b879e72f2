//! The one JSON error shape, `{"error":{"code","message","field"?}}`, and the mapping of core
//! error kinds to HTTP statuses.

use std::time::Duration;

use chatbot_core::Error;
use hyper::StatusCode;
use serde_json::json;

/// An error answer.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub retry_after: Option<u64>,
    /// For 405: the methods the path has.
    pub allow: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), field: None, retry_after: None, allow: None }
    }

    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed", message)
    }

    /// 400 for input that cannot be read at all, naming where (a path parameter, a query
    /// parameter).
    pub fn malformed_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::malformed(message);
        e.field = Some(field.into());
        e
    }

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let field = field.into();
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("invalid {field}: {}", reason.into()),
        );
        e.field = Some(field);
        e
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn body_json(&self) -> serde_json::Value {
        let mut inner = json!({ "code": self.code, "message": self.message });
        if let (Some(f), Some(obj)) = (&self.field, inner.as_object_mut()) {
            obj.insert("field".into(), json!(f));
        }
        json!({ "error": inner })
    }
}

/// `Retry-After` of a 503 for an unreachable database.
const STORE_RETRY_AFTER_SECS: u64 = 2;

fn retry_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let code = e.code();
        let msg = e.to_string();
        match e {
            Error::Invalid { field, reason } => Self::invalid(field, reason),
            Error::Malformed(_) => Self::new(StatusCode::BAD_REQUEST, code, msg),
            Error::NotFound { .. } => Self::new(StatusCode::NOT_FOUND, code, msg),
            Error::Unauthorized(_) => Self::new(StatusCode::UNAUTHORIZED, code, msg),
            Error::Forbidden(_) | Error::OriginNotAllowed(_) => Self::new(StatusCode::FORBIDDEN, code, msg),
            Error::RateLimited { retry_after } => {
                let mut a = Self::new(StatusCode::TOO_MANY_REQUESTS, code, msg);
                a.retry_after = Some(retry_secs(retry_after).max(1));
                a
            }
            Error::Conflict(_) => Self::new(StatusCode::CONFLICT, code, msg),
            Error::Upstream { ref service, retryable, retry_after, .. } => {
                tracing::warn!(error = %msg, "upstream failure reached the client");
                let status =
                    if retryable { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::BAD_GATEWAY };
                let mut a = Self::new(status, code, format!("{service} is unavailable; try again later"));
                a.retry_after = retry_after.map(|d| retry_secs(d).max(1)).or(retryable.then_some(5));
                a
            }
            Error::EmbedderMismatch(_) => {
                tracing::error!(error = %msg, "embedder mismatch");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    code,
                    "the knowledge index does not match the configured embedder; an operator must re-index",
                )
            }
            // The database is down, restarting or out of connections: the client may retry;
            // the pool's acquire timeout bounds how long the request waited.
            ref e if e.is_store_unavailable() => {
                tracing::warn!(error = %msg, "database unavailable");
                let mut a = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    code,
                    "the database is unavailable; try again shortly",
                );
                a.retry_after = Some(STORE_RETRY_AFTER_SECS);
                a
            }
            Error::Cancelled => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, code, "the server is shutting down")
            }
            // Storage, configuration, I/O, internal, and kinds added later.
            _ => {
                // Never leak internals: the details go to the log only.
                tracing::error!(error = %msg, "internal error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let cases: Vec<(Error, u16)> = vec![
            (Error::invalid("primary_color", "bad"), 422),
            (Error::Malformed("x".into()), 400),
            (Error::not_found("company 9"), 404),
            (Error::Unauthorized("x".into()), 401),
            (Error::Forbidden("x".into()), 403),
            (Error::OriginNotAllowed("x".into()), 403),
            (Error::RateLimited { retry_after: Duration::from_millis(1500) }, 429),
            (Error::Conflict("x".into()), 409),
            (Error::upstream("openai", "down", false), 502),
            (Error::upstream("openai", "down", true), 503),
            (Error::EmbedderMismatch("x".into()), 503),
            (Error::Storage("secret dsn".into()), 500),
            (Error::from(sqlx::Error::PoolTimedOut), 503),
        ];
        for (e, s) in cases {
            assert_eq!(ApiError::from(e).status.as_u16(), s);
        }
        let a = ApiError::from(Error::RateLimited { retry_after: Duration::from_millis(1500) });
        assert_eq!(a.retry_after, Some(2));
        let a = ApiError::from(Error::invalid("primary_color", "bad"));
        assert_eq!(a.body_json()["error"]["field"], "primary_color");
        let a = ApiError::from(Error::from(sqlx::Error::PoolTimedOut));
        assert_eq!((a.code, a.retry_after), ("storage_unavailable", Some(STORE_RETRY_AFTER_SECS)));
        let a = ApiError::from(Error::Storage("postgres://user:pw@host".into()));
        assert!(!a.body_json().to_string().contains("pw@host"));
    }
}
