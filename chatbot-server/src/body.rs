//! Bodies: reading requests within the limit, building JSON / SSE / static responses.

use std::convert::Infallible;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;
use futures::stream::BoxStream;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full, StreamBody};
use hyper::body::Frame;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::Value;

use crate::error::ApiError;

/// The body of every response: a boxed body that never fails.
pub type ResponseBody = UnsyncBoxBody<Bytes, Infallible>;
pub(crate) type Body = ResponseBody;
pub(crate) type Resp = Response<Body>;

/// The error of any request body the service accepts.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// A request body of any type, boxed once so the handlers are not generic.
pub(crate) type RequestBody = UnsyncBoxBody<Bytes, BoxError>;

/// Box any request body (hyper's, axum's, a test's).
pub(crate) fn request_body<B>(body: B) -> RequestBody
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    body.map_err(Into::into).boxed_unsync()
}

/// How much of an oversized body is read and thrown away before answering 413, so the client
/// sees the answer instead of a connection reset.
const DRAIN_LIMIT: usize = 1024 * 1024;

pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

pub(crate) fn response(status: StatusCode, content_type: &'static str, bytes: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(full(bytes));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

pub(crate) fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Resp {
    match serde_json::to_vec(value) {
        Ok(v) => response(status, "application/json", v),
        Err(e) => {
            tracing::error!(error = %e, "could not serialise a response");
            error(&ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error"))
        }
    }
}

pub(crate) fn error(e: &ApiError) -> Resp {
    let mut r = response(e.status, "application/json", e.body_json().to_string());
    let h = r.headers_mut();
    if let Some(s) = e.retry_after {
        h.insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    if let Some(allow) = &e.allow
        && let Ok(v) = HeaderValue::from_str(allow)
    {
        h.insert(header::ALLOW, v);
    }
    if e.status == StatusCode::UNAUTHORIZED {
        h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}

pub(crate) fn empty(status: StatusCode) -> Resp {
    let mut r = Response::new(full(Bytes::new()));
    *r.status_mut() = status;
    r
}

/// A server-sent-events response from a stream of ready-made event frames.
pub(crate) fn sse(stream: BoxStream<'static, Bytes>) -> Resp {
    let body = StreamBody::new(stream.map(|b| Ok::<_, Infallible>(Frame::data(b))));
    let mut r = Response::new(body.boxed_unsync());
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

/// One SSE event.
pub(crate) fn sse_event(event: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

/// The request must be JSON (or say nothing about its type): 415 otherwise.
pub(crate) fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else { return Ok(()) };
    let ct = ct.to_str().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if ct == "application/json" || (ct.starts_with("application/") && ct.ends_with("+json")) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("expected Content-Type: application/json, got {ct:?}"),
        ))
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the request body is larger than {limit} bytes"),
    )
}

/// Read the whole body, at most `limit` bytes (413 above it).
pub(crate) async fn read(body: RequestBody, headers: &HeaderMap, limit: usize) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut body = body;
    if declared.is_some_and(|n| n > limit as u64) {
        drain(&mut body).await;
        return Err(too_large(limit));
    }
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::malformed(format!("could not read the request body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                drain(&mut body).await;
                return Err(too_large(limit));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

async fn drain(body: &mut RequestBody) {
    let run = async {
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(d) = frame.into_data() {
                seen += d.len();
                if seen > DRAIN_LIMIT {
                    break;
                }
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), run).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_responses_carry_their_headers() {
        let e = ApiError::from(chatbot_core::Error::RateLimited { retry_after: Duration::from_secs(7) });
        let r = error(&e);
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "7");
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
        let r = error(&ApiError::from(chatbot_core::Error::Unauthorized("x".into())));
        assert_eq!(r.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }

    #[test]
    fn json_content_types() {
        let mut h = HeaderMap::new();
        assert!(require_json(&h).is_ok());
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
        assert!(require_json(&h).is_ok());
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/merge-patch+json"));
        assert!(require_json(&h).is_ok());
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert_eq!(require_json(&h).map_err(|e| e.status), Err(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
}
