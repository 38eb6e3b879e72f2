//! The route table, listed once: the [`Route`] enum with each route's method and path template.
//! The dispatcher matches it exhaustively, the metrics label requests with its templates, and the
//! OpenAPI test compares [`Route::ALL`] with `docs/openapi.yaml`.

use hyper::Method;

use crate::error::ApiError;

/// Writes the enum, [`Route::ALL`], [`Route::method`] and [`Route::template`] from one list, so
/// a route cannot be added to one of them and forgotten in another.
macro_rules! routes {
    ($( $(#[doc = $doc:literal])* $name:ident => $method:ident $path:literal, )+) => {
        /// Every route the server answers. `OPTIONS` (CORS preflight) is answered for each path
        /// too. `docs/openapi.yaml` describes exactly these (a test checks).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Route {
            $( $(#[doc = $doc])* $name, )+
        }

        impl Route {
            /// Every route, in matching order.
            pub const ALL: &'static [Route] = &[$(Route::$name,)+];

            /// The route's HTTP method.
            pub fn method(self) -> Method {
                match self {
                    $(Route::$name => Method::$method,)+
                }
            }

            /// The route's path template (`/api/widget-settings/{companyId}`).
            pub const fn template(self) -> &'static str {
                match self {
                    $(Route::$name => $path,)+
                }
            }
        }
    };
}

routes! {
    /// Liveness.
    Healthz => GET "/healthz",
    /// Readiness (the database answers).
    Readyz => GET "/readyz",
    /// Prometheus metrics.
    Metrics => GET "/metrics",
    /// The demo page (as `/demo`).
    Root => GET "/",
    /// The widget script (strong `ETag`, revalidated after five minutes).
    WidgetJs => GET "/widget.js",
    /// The widget script under its content hash (cacheable for a year).
    WidgetJsHashed => GET "/widget.{hash}.js",
    /// A demo page embedding the widget.
    Demo => GET "/demo",
    /// A company's public widget settings.
    GetWidgetSettings => GET "/api/widget-settings/{companyId}",
    /// Partial update of a company's widget settings (secret key or owner token).
    UpdateWidgetSettings => POST "/api/widget-settings/{companyId}",
    /// Exchange the secret key or a one-time code for a settings-only owner token.
    OwnerToken => POST "/api/widget-settings/{companyId}/owner-token",
    /// The seed's partner chat (no key; the company must be active).
    PartnerChat => POST "/api/partner-chat/{companyId}",
    /// A partner visitor's own conversation (`X-Visitor-Token`).
    PartnerHistory => GET "/api/partner-chat/{companyId}/history",
    /// A partner visitor rates a reply of its own conversation (`X-Visitor-Token`).
    PartnerFeedback => POST "/api/partner-chat/{companyId}/feedback",
    /// Open or resume a session (publishable key).
    Session => POST "/api/chatbot/session",
    /// One chat turn in a session (publishable key).
    Chat => POST "/api/chatbot/chat",
    /// Rate a reply of a session's conversation (publishable key).
    SessionFeedback => POST "/api/chatbot/feedback",
    /// Open a session for the dashboard (operator token).
    SessionInternal => POST "/api/chatbot/session/internal",
    /// A chat turn for the dashboard (operator token).
    ChatInternal => POST "/api/chatbot/chat/internal",
    /// A company's own fields and client type (secret key or operator token).
    GetCompany => GET "/api/companies/{companyId}",
    /// Change a company's own fields and client type (secret key or operator token).
    UpdateCompany => PATCH "/api/companies/{companyId}",
    /// A company's leads (secret key or operator token).
    ListLeads => GET "/api/companies/{companyId}/leads",
    /// Move a lead along its statuses.
    UpdateLead => PATCH "/api/companies/{companyId}/leads/{leadId}",
    /// A company's conversations.
    ListConversations => GET "/api/companies/{companyId}/conversations",
    /// Delete one conversation.
    DeleteConversation => DELETE "/api/companies/{companyId}/conversations/{sessionId}",
    /// A company's reply ratings (secret key or operator token).
    ListFeedback => GET "/api/companies/{companyId}/feedback",
    /// The questions the bot handled badly, grouped by meaning (secret key or operator token).
    Gaps => GET "/api/companies/{companyId}/gaps",
    /// Change a company's AI configuration (operator token only).
    UpdateAiConfig => PATCH "/api/companies/{companyId}/ai-config",
    /// A company's curated answers (secret key or operator token).
    ListAnswers => GET "/api/companies/{companyId}/answers",
    /// Add a curated answer.
    CreateAnswer => POST "/api/companies/{companyId}/answers",
    /// Change a curated answer.
    UpdateAnswer => PATCH "/api/companies/{companyId}/answers/{answerId}",
    /// Remove a curated answer.
    DeleteAnswer => DELETE "/api/companies/{companyId}/answers/{answerId}",
}

impl Route {
    /// The names of the template's parameters, in order (`["companyId", "leadId"]`).
    pub fn param_names(self) -> impl Iterator<Item = &'static str> {
        self.template().split('/').filter_map(|s| Some(split_param(s)?.1))
    }
}

/// Outcome of routing one request.
#[derive(Debug)]
pub(crate) enum Match<'a> {
    /// A route and its path parameters, in order, still percent-encoded.
    Route {
        route: Route,
        raw: Vec<&'a str>,
    },
    /// The path exists, the method does not (405); the methods that do.
    MethodNotAllowed {
        route: Route,
        allowed: Vec<&'static str>,
    },
    /// A CORS preflight (`OPTIONS`) of a known path.
    Preflight {
        route: Route,
        raw: Vec<&'a str>,
        allowed: Vec<&'static str>,
    },
    NotFound,
}

/// A template segment with a parameter: (text before it, its name, text after it); `None` for
/// a literal segment. `{companyId}` is `("", "companyId", "")`, `widget.{hash}.js` is
/// `("widget.", "hash", ".js")`.
fn split_param(segment: &str) -> Option<(&str, &str, &str)> {
    let (before, rest) = segment.split_once('{')?;
    let (name, after) = rest.split_once('}')?;
    Some((before, name, after))
}

/// Match `path` against one template; `{name}` matches the non-empty rest of one segment
/// between the template's text around it (split on `/` before decoding, so an encoded `%2F`
/// stays inside its parameter).
fn match_template<'a>(template: &str, path: &'a str) -> Option<Vec<&'a str>> {
    let mut params = Vec::new();
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) => match split_param(ts) {
                Some((before, _, after)) => {
                    let value = ps.strip_prefix(before)?.strip_suffix(after)?;
                    if value.is_empty() {
                        return None;
                    }
                    params.push(value);
                }
                None if ts != ps => return None,
                None => {}
            },
            _ => return None,
        }
    }
}

/// Route a request: the one place a (method, path) becomes a [`Route`].
pub(crate) fn find<'a>(method: &Method, path: &'a str) -> Match<'a> {
    let mut allowed = Vec::new();
    let mut first: Option<(Route, Vec<&'a str>)> = None;
    for &route in Route::ALL {
        if let Some(raw) = match_template(route.template(), path) {
            let m = route.method();
            if m == method {
                return Match::Route { route, raw };
            }
            allowed.push(method_str(&m));
            if first.is_none() {
                first = Some((route, raw));
            }
        }
    }
    match first {
        None => Match::NotFound,
        Some((route, raw)) if method == Method::OPTIONS => Match::Preflight { route, raw, allowed },
        Some((route, _)) => Match::MethodNotAllowed { route, allowed },
    }
}

fn method_str(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::HEAD => "HEAD",
        _ => "OTHER",
    }
}

/// The method as a metrics label (a fixed set, so a client cannot grow the label space).
pub(crate) fn method_label(m: &Method) -> &'static str {
    method_str(m)
}

/// Percent-decode each path parameter (400 naming the parameter for a bad escape or bytes that
/// are not UTF-8).
pub(crate) fn decode_params(route: Route, raw: &[&str]) -> Result<Vec<String>, ApiError> {
    route
        .param_names()
        .zip(raw)
        .map(|(name, value)| {
            percent_decode(value, false)
                .map_err(|e| ApiError::malformed_field(name, format!("invalid path parameter {name}: {e}")))
        })
        .collect()
}

/// Why a percent-encoded text could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// `%` not followed by two hex digits.
    BadEscape,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::BadEscape => "a % must be followed by two hex digits",
            Self::NotUtf8 => "the decoded bytes are not UTF-8",
        })
    }
}

/// Decode `%XX` escapes (and `+` as a space in query strings, as HTML forms encode them).
pub(crate) fn percent_decode(s: &str, plus_is_space: bool) -> Result<String, DecodeError> {
    let escaped = s.contains('%') || (plus_is_space && s.contains('+'));
    if !escaped {
        return Ok(s.to_owned());
    }
    let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16)).ok_or(DecodeError::BadEscape);
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.as_bytes().iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'%' => {
                let hi = hex(bytes.next())?;
                let lo = hex(bytes.next())?;
                // Two hex digits: at most 0xFF.
                out.push(u8::try_from(hi * 16 + lo).map_err(|_| DecodeError::BadEscape)?);
            }
            b'+' if plus_is_space => out.push(b' '),
            _ => out.push(b),
        }
    }
    String::from_utf8(out).map_err(|_| DecodeError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(m: Match<'_>) -> (Route, Vec<&str>) {
        match m {
            Match::Route { route, raw } => (route, raw),
            other => panic!("expected a route, got {other:?}"),
        }
    }

    #[test]
    fn matches_templates_and_methods() {
        let (r, params) = route(find(&Method::GET, "/api/widget-settings/123"));
        assert_eq!(r.template(), "/api/widget-settings/{companyId}");
        assert_eq!(params, vec!["123"]);
        assert!(matches!(find(&Method::GET, "/api/widget-settings/"), Match::NotFound));
        assert!(matches!(find(&Method::GET, "/api/widget-settings/1/2"), Match::NotFound));
        match find(&Method::PUT, "/api/widget-settings/1") {
            Match::MethodNotAllowed { allowed, .. } => assert_eq!(allowed, vec!["GET", "POST"]),
            other => panic!("expected 405, got {other:?}"),
        }
        match find(&Method::OPTIONS, "/api/chatbot/chat") {
            Match::Preflight { allowed, .. } => assert_eq!(allowed, vec!["POST"]),
            other => panic!("expected a preflight, got {other:?}"),
        }
        assert!(matches!(find(&Method::OPTIONS, "/nope"), Match::NotFound));
        let (r, params) = route(find(&Method::DELETE, "/api/companies/a/conversations/s1"));
        assert_eq!((r, params), (Route::DeleteConversation, vec!["a", "s1"]));
        // an encoded slash stays inside its segment
        let (r, params) = route(find(&Method::DELETE, "/api/companies/a/conversations/pc_x%2Fy"));
        assert_eq!((r, params), (Route::DeleteConversation, vec!["a", "pc_x%2Fy"]));
    }

    #[test]
    fn every_route_is_unique_and_reachable() {
        let mut seen = std::collections::HashSet::new();
        for &r in Route::ALL {
            assert!(seen.insert((r.method(), r.template())), "duplicate route {r:?}");
            let path = r.template().replace("{companyId}", "c1").replace("{leadId}", "l1");
            let path = path.replace("{sessionId}", "s1").replace("{hash}", "0123abcd");
            assert_eq!(route(find(&r.method(), &path)).0, r);
        }
        assert_eq!(Route::UpdateLead.param_names().collect::<Vec<_>>(), ["companyId", "leadId"]);
    }

    #[test]
    fn a_parameter_inside_a_segment() {
        assert_eq!(route(find(&Method::GET, "/widget.js")).0, Route::WidgetJs);
        let (r, params) = route(find(&Method::GET, "/widget.0a1b2c.js"));
        assert_eq!((r, params), (Route::WidgetJsHashed, vec!["0a1b2c"]));
        assert_eq!(Route::WidgetJsHashed.param_names().collect::<Vec<_>>(), ["hash"]);
        for no in ["/widget..js", "/widget.abc", "/widgetabc.js", "/widget.a.js/x", "/x/widget.a.js"] {
            assert!(matches!(find(&Method::GET, no), Match::NotFound), "{no}");
        }
        assert_eq!(route(find(&Method::GET, "/")).0, Route::Root);
        let (r, params) = route(find(&Method::POST, "/api/widget-settings/c1/owner-token"));
        assert_eq!((r, params), (Route::OwnerToken, vec!["c1"]));
    }

    #[test]
    fn parameters_are_percent_decoded() {
        let raw = ["acme", "pc_jane%20doe%2F%C3%BC"];
        let got = decode_params(Route::DeleteConversation, &raw).unwrap();
        assert_eq!(got, ["acme", "pc_jane doe/ü"]);
        // `+` is a literal in a path, a space in a query
        assert_eq!(percent_decode("a+b", false).unwrap(), "a+b");
        assert_eq!(percent_decode("a+b", true).unwrap(), "a b");
        for (bad, why) in [("%zz", DecodeError::BadEscape), ("%4", DecodeError::BadEscape)] {
            assert_eq!(percent_decode(bad, false), Err(why));
        }
        assert_eq!(percent_decode("%ff", false), Err(DecodeError::NotUtf8));
        let e = decode_params(Route::DeleteConversation, &["acme", "%ff"]).unwrap_err();
        assert_eq!((e.status.as_u16(), e.field.as_deref()), (400, Some("sessionId")));
        let e = decode_params(Route::DeleteConversation, &["a%g1", "s"]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("companyId"));
    }
}
