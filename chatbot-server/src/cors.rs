//! CORS per company. The allow-list lives in the company's widget settings, which the handler
//! reads anyway, so the decision is made in the handler (no second lookup per request) and
//! applied here. `Access-Control-Allow-Credentials` is never sent: keys travel in the
//! `Authorization` header, not in cookies, so a wildcard can never meet credentials.

use hyper::header::{self, HeaderValue};
use hyper::{HeaderMap, StatusCode};

use crate::body::{Resp, empty};

/// What the handler decided about the request's `Origin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Cors {
    /// No `Access-Control-Allow-Origin` (no Origin, or an origin the company did not allow).
    #[default]
    Deny,
    /// Echo the request's origin (it is in the company's list, or the list is empty).
    Echo,
    /// `*`: public, credential-free assets (the widget script).
    Any,
}

pub(crate) const ALLOW_HEADERS: &str = "authorization, content-type, accept, last-event-id, x-visitor-token";
pub(crate) const EXPOSE_HEADERS: &str = "retry-after, content-type";

pub(crate) fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).filter(|o| !o.is_empty())
}

/// Add the CORS headers the decision calls for.
pub(crate) fn apply(resp: &mut Resp, cors: Cors, origin: Option<&str>) {
    let h = resp.headers_mut();
    match (cors, origin) {
        (Cors::Echo, Some(o)) => {
            let Ok(v) = HeaderValue::from_str(o) else { return };
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
            // `Vary: Origin` is added to every response by the app.
        }
        (Cors::Any, _) => {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        }
        _ => return,
    }
    h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSE_HEADERS));
}

/// The answer to a preflight of a known path.
pub(crate) fn preflight(allowed: &[&str], cors: Cors, origin: Option<&str>) -> Resp {
    let mut r = empty(StatusCode::NO_CONTENT);
    let methods = allowed.iter().copied().chain(std::iter::once("OPTIONS")).collect::<Vec<_>>().join(", ");
    apply(&mut r, cors, origin);
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&methods) {
        h.insert(header::ALLOW, v.clone());
        if h.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOW_HEADERS));
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        }
    }
    h.append(
        header::VARY,
        HeaderValue::from_static("Access-Control-Request-Method, Access-Control-Request-Headers"),
    );
    r
}
