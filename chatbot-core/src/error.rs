//! The one error type of the core. Front ends map its kinds to HTTP statuses and exit codes.

use std::time::Duration;

/// Result alias used throughout the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors a caller can act on. `is_retryable` tells whether trying again can help.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field of the input is invalid; `field` names it, `reason` says why.
    #[error("invalid {field}: {reason}")]
    Invalid { field: String, reason: String },
    /// The input could not be parsed at all (malformed JSON, bad CLI syntax).
    #[error("malformed input: {0}")]
    Malformed(String),
    /// Something that should exist does not (or is not visible to this tenant).
    #[error("{what} not found")]
    NotFound { what: String },
    /// Missing, unknown, revoked or wrong-kind credential.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed (inactive company, key of another company).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The request's `Origin` is not on the company's allow-list (owner mode is offered only on
    /// the company's allowed origins, as CORS allows them).
    #[error("origin not allowed: {0}")]
    OriginNotAllowed(String),
    /// The caller sends too much; try again after `retry_after`.
    #[error("rate limited: retry after {}s", retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    /// A conflicting state (duplicate id, invalid status transition).
    #[error("conflict: {0}")]
    Conflict(String),
    /// An outside service (OpenAI, Pinecone, a crawled site) failed.
    #[error("{service} failed: {message}")]
    Upstream { service: String, message: String, retryable: bool, retry_after: Option<Duration> },
    /// The embedder in use does not match what the index was built with.
    #[error("embedder mismatch: {0}")]
    EmbedderMismatch(String),
    /// Database failure described by the store.
    #[error("storage: {0}")]
    Storage(String),
    /// A database call failed; the driver's error is kept as the source.
    #[error("storage: {0}")]
    Database(#[source] sqlx::Error),
    /// Configuration is missing or wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// Work was cancelled (Ctrl-C, shutdown).
    #[error("cancelled")]
    Cancelled,
    /// File system or other I/O failure.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// A bug or an impossible state; never caused by input alone.
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), reason: reason.into() }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    /// Shorthand for a non-retryable [`Error::Upstream`].
    pub fn upstream(service: impl Into<String>, message: impl Into<String>, retryable: bool) -> Self {
        Self::Upstream { service: service.into(), message: message.into(), retryable, retry_after: None }
    }

    /// Whether retrying the same call later can succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Upstream { retryable, .. } => *retryable,
            Self::RateLimited { .. } => true,
            Self::Storage(_) | Self::Database(_) | Self::Io(_) => true,
            _ => false,
        }
    }

    /// Whether the database cannot be reached right now (down, restarting, refusing
    /// connections, or no pooled connection free within the acquire timeout), as opposed to a
    /// statement that failed. Front ends answer these as "unavailable, try again" (HTTP 503).
    pub fn is_store_unavailable(&self) -> bool {
        let Self::Database(e) = self else { return false };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            // SQLSTATE class 08 (connection exception), 57P01..57P05 (the server is shutting
            // down, crashed, not yet accepting connections, idle-session timeout), 53300 (too
            // many connections): the server, not the statement.
            sqlx::Error::Database(db) => {
                db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "53300")
            }
            _ => false,
        }
    }

    /// A stable machine-readable code, used in the HTTP error body and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { .. } => "invalid_field",
            Self::Malformed(_) => "malformed",
            Self::NotFound { .. } => "not_found",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::OriginNotAllowed(_) => "origin_not_allowed",
            Self::RateLimited { .. } => "rate_limited",
            Self::Conflict(_) => "conflict",
            Self::Upstream { .. } => "upstream_error",
            Self::EmbedderMismatch(_) => "embedder_mismatch",
            Self::Database(_) if self.is_store_unavailable() => "storage_unavailable",
            Self::Storage(_) | Self::Database(_) => "storage_error",
            Self::Config(_) => "config_error",
            Self::Cancelled => "cancelled",
            Self::Io(_) => "io_error",
            Self::Internal(_) => "internal",
        }
    }

    /// The field an [`Error::Invalid`] names.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Self::not_found("row"),
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict(db.message().to_string()),
            _ => Self::Database(e),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Self::Storage(format!("migration failed: {e}"))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Self::Malformed(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_database_is_told_apart_from_a_failed_statement() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        for e in [sqlx::Error::PoolTimedOut, sqlx::Error::PoolClosed, sqlx::Error::Io(refused)] {
            let e = Error::from(e);
            assert!(e.is_store_unavailable(), "{e}");
            assert_eq!(e.code(), "storage_unavailable");
            assert!(e.is_retryable());
        }
        for e in [Error::from(sqlx::Error::ColumnNotFound("x".into())), Error::Storage("x".into())] {
            assert!(!e.is_store_unavailable(), "{e}");
            assert_eq!(e.code(), "storage_error");
        }
        assert!(!Error::from(sqlx::Error::RowNotFound).is_store_unavailable());
    }
}
