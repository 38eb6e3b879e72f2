//! The route table: the single list the router, the metrics labels and the OpenAPI test use.

use hyper::Method;

/// Every route the server answers, as `(method, path template)`. `OPTIONS` (CORS preflight) is
/// answered for each path too. `docs/openapi.yaml` must describe exactly these (a test checks).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/widget.js"),
    ("GET", "/demo"),
    ("GET", "/api/widget-settings/{companyId}"),
    ("POST", "/api/widget-settings/{companyId}"),
    ("POST", "/api/partner-chat/{companyId}"),
    ("POST", "/api/chatbot/session"),
    ("POST", "/api/chatbot/chat"),
    ("POST", "/api/chatbot/session/internal"),
    ("POST", "/api/chatbot/chat/internal"),
    ("GET", "/api/companies/{companyId}/leads"),
    ("PATCH", "/api/companies/{companyId}/leads/{leadId}"),
    ("GET", "/api/companies/{companyId}/conversations"),
    ("DELETE", "/api/companies/{companyId}/conversations/{sessionId}"),
];

/// Outcome of routing one request.
pub(crate) enum Match<'a> {
    /// A route: its template and the path parameters in order.
    Route {
        template: &'static str,
        params: Vec<&'a str>,
    },
    /// The path exists, the method does not (405); the methods that do.
    MethodNotAllowed {
        template: &'static str,
        allowed: Vec<&'static str>,
    },
    /// A CORS preflight (`OPTIONS`) of a known path.
    Preflight {
        template: &'static str,
        params: Vec<&'a str>,
        allowed: Vec<&'static str>,
    },
    NotFound,
}

/// Match `path` against one template; `{name}` matches one non-empty segment.
fn match_template<'a>(template: &str, path: &'a str) -> Option<Vec<&'a str>> {
    let mut params = Vec::new();
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) => {
                if ts.starts_with('{') {
                    if ps.is_empty() {
                        return None;
                    }
                    params.push(ps);
                } else if ts != ps {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

pub(crate) fn find<'a>(method: &Method, path: &'a str) -> Match<'a> {
    let mut allowed = Vec::new();
    let mut first: Option<(&'static str, Vec<&'a str>)> = None;
    for (m, template) in ROUTES {
        if let Some(params) = match_template(template, path) {
            if *m == method.as_str() {
                return Match::Route { template, params };
            }
            allowed.push(*m);
            if first.is_none() {
                first = Some((template, params));
            }
        }
    }
    match first {
        None => Match::NotFound,
        Some((template, params)) if method == Method::OPTIONS => {
            Match::Preflight { template, params, allowed }
        }
        Some((template, _)) => Match::MethodNotAllowed { template, allowed },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_templates_and_methods() {
        match find(&Method::GET, "/api/widget-settings/123") {
            Match::Route { template, params } => {
                assert_eq!(template, "/api/widget-settings/{companyId}");
                assert_eq!(params, vec!["123"]);
            }
            _ => panic!("expected a route"),
        }
        assert!(matches!(find(&Method::GET, "/api/widget-settings/"), Match::NotFound));
        assert!(matches!(find(&Method::GET, "/api/widget-settings/1/2"), Match::NotFound));
        match find(&Method::PUT, "/api/widget-settings/1") {
            Match::MethodNotAllowed { allowed, .. } => assert_eq!(allowed, vec!["GET", "POST"]),
            _ => panic!("expected 405"),
        }
        match find(&Method::OPTIONS, "/api/chatbot/chat") {
            Match::Preflight { allowed, .. } => assert_eq!(allowed, vec!["POST"]),
            _ => panic!("expected a preflight"),
        }
        assert!(matches!(find(&Method::OPTIONS, "/nope"), Match::NotFound));
        match find(&Method::DELETE, "/api/companies/a/conversations/s1") {
            Match::Route { params, .. } => assert_eq!(params, vec!["a", "s1"]),
            _ => panic!("expected a route"),
        }
    }

    #[test]
    fn every_template_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in ROUTES {
            assert!(seen.insert(*r), "duplicate route {r:?}");
        }
    }
}
