//! The static assets: the widget script and the demo page.
//!
//! The script's bytes are chosen and named at build time (`build.rs`: `assets/widget.min.js`
//! when it exists, else `assets/widget.js`; [`WIDGET_HASH`] is its content hash). `/widget.js`
//! carries a strong `ETag` (the hash) and is revalidated after five minutes (a matching
//! `If-None-Match` gets 304 without the body); `/widget.{hash}.js` is the same bytes under a
//! name that changes with them, cacheable for a year. An unknown hash is 404, never another
//! version's bytes under that name.

use hyper::StatusCode;
use hyper::header::{self, HeaderMap, HeaderValue};

use crate::body::{self, Resp};
use crate::error::ApiError;

/// The served widget script.
pub(crate) const WIDGET_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/widget.js"));
/// The content hash of the served widget script (20 hex digits of its SHA-256).
pub const WIDGET_HASH: &str = env!("CHATBOT_WIDGET_HASH");
/// Which file of `chatbot-server/assets/` is served (`widget.min.js` or `widget.js`).
pub const WIDGET_SOURCE: &str = env!("CHATBOT_WIDGET_SOURCE");
/// The strong `ETag` of the script.
const WIDGET_ETAG: &str = concat!("\"", env!("CHATBOT_WIDGET_HASH"), "\"");
const JS: &str = "text/javascript; charset=utf-8";
const REVALIDATE: &str = "public, max-age=300";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub(crate) const DEMO_HTML: &str = include_str!("../assets/demo.html");
/// The demo page's Content-Security-Policy: scripts only from this server (the page has no
/// inline script), requests only to it; inline styles are allowed because the widget styles
/// its elements with `style` attributes; the company's logo may come from any https URL.
pub(crate) const DEMO_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
    img-src 'self' https: data:; style-src 'self' 'unsafe-inline'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// The path of the script under its content hash (`/widget.<hash>.js`), cacheable for a year.
pub fn widget_hashed_path() -> String {
    format!("/widget.{WIDGET_HASH}.js")
}

/// `GET /widget.js`.
pub(crate) fn widget(request: &HeaderMap) -> Resp {
    respond(request, REVALIDATE)
}

/// `GET /widget.{hash}.js`: 404 unless `hash` is the served script's.
pub(crate) fn widget_hashed(request: &HeaderMap, hash: &str) -> Result<Resp, ApiError> {
    if hash == WIDGET_HASH {
        Ok(respond(request, IMMUTABLE))
    } else {
        Err(ApiError::not_found(format!(
            "no widget script with hash {hash:?}; the current one is {}",
            widget_hashed_path()
        )))
    }
}

/// `GET /` and `GET /demo`.
pub(crate) fn demo() -> Resp {
    let mut r = body::response(StatusCode::OK, "text/html; charset=utf-8", DEMO_HTML);
    r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DEMO_CSP));
    r
}

fn respond(request: &HeaderMap, cache: &'static str) -> Resp {
    let mut r = if not_modified(request) {
        body::empty(StatusCode::NOT_MODIFIED)
    } else {
        body::response(StatusCode::OK, JS, WIDGET_JS)
    };
    let h = r.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_static(WIDGET_ETAG));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}

/// Whether the request's `If-None-Match` names the script's tag (or `*`). `If-None-Match`
/// compares weakly (RFC 9110 13.1.2): `W/"x"` matches `"x"`.
fn not_modified(request: &HeaderMap) -> bool {
    request.get_all(header::IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).any(|list| {
        list.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == WIDGET_ETAG)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(inm: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_str(inm).unwrap());
        h
    }

    #[test]
    fn etag_comparison() {
        assert_eq!(WIDGET_HASH.len(), 20);
        assert!(WIDGET_HASH.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(not_modified(&with(WIDGET_ETAG)));
        assert!(not_modified(&with(&format!("\"old\", W/{WIDGET_ETAG}"))));
        assert!(not_modified(&with("*")));
        assert!(!not_modified(&with("\"old\"")));
        assert!(!not_modified(&with(WIDGET_HASH)), "an unquoted tag is not the tag");
        assert!(!not_modified(&HeaderMap::new()));
    }
}
