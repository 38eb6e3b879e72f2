//! The text rules of the public API as regular expressions, each one the exact `pattern` that
//! `docs/openapi.yaml` publishes for its field (a test compares them). The validators use these
//! same expressions, so what the document accepts and what the server accepts cannot drift.
//! The syntax is the common subset of the `regex` crate and ECMA-262 (no look-around).

use std::sync::LazyLock;

use regex::Regex;

/// `#RRGGBB` (the widget colours).
pub const COLOR: &str = "^#[0-9a-fA-F]{6}$";

/// Holds at least one character that is not white space (Unicode `White_Space`, as `str::trim`):
/// names, messages and texts that must not be blank. The white space is spelled out rather than
/// written `\S`: engines disagree on `\s` (ECMAScript's lacks U+0085 and has U+FEFF; Python's
/// adds U+001C-U+001F), and a schema tester must read the pattern exactly as the server does.
pub const NOT_BLANK: &str = r"[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";

/// No control character (Unicode category Cc, as `char::is_control`): visitor ids.
pub const NO_CONTROL: &str = r"^[^\x00-\x1F\x7F-\x9F]*$";

/// No control character but tab, line feed and carriage return: free text a visitor writes
/// (a feedback comment).
pub const TEXT_NO_CONTROL: &str = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$";

/// A relative report window (`7d`, `24h`, `30m`: one to seven digits and a unit); the other form
/// is an RFC 3339 date or date-time. `turns::parse_since` reads exactly this shape.
pub const SINCE_RELATIVE: &str = "^[0-9]{1,7}[dhm]$";

/// A partner-chat visitor token as the server issues it: `vt_` and 43 base64url characters
/// (256 random bits); [`crate::auth`] checks the same shape.
pub const VISITOR_TOKEN: &str = "^vt_[A-Za-z0-9_-]{43}$";

/// A host: a lower- or upper-case DNS name whose last label starts with a letter (so it can
/// never be read as an IPv4 number), or a dotted-decimal IPv4 address.
macro_rules! host {
    ($letters:literal) => {
        concat!(
            "(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?:\\.(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}",
            "|(?:[",
            $letters,
            "0-9]+(?:-[",
            $letters,
            "0-9]+)*\\.)*[",
            $letters,
            "][",
            $letters,
            "0-9]*(?:-[",
            $letters,
            "0-9]+)*)"
        )
    };
}

/// Ports 10000 to 65535 (the five-digit ones a port can have).
macro_rules! port5 {
    () => {
        "[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]"
    };
}

/// An origin as browsers send it, or `*`: `http(s)://host[:port]` in its serialized form (a
/// lower-case host, no default port, no leading zero), with an optional trailing `/`. IPv6
/// hosts are not accepted.
pub const ORIGIN: &str = concat!(
    "^(?:\\*|http://",
    host!("a-z"),
    "(?::(?:[1-9]|[1-79][0-9]|8[1-9]|[1-9][0-9]{2,3}|",
    port5!(),
    "))?/?|https://",
    host!("a-z"),
    "(?::(?:[1-9]|[1-9][0-9]|[1-35-9][0-9]{2}|4[0-35-9][0-9]|44[0-24-9]|[1-9][0-9]{3}|",
    port5!(),
    "))?/?)$"
);

/// An absolute `http(s)` URL: a host as in [`ORIGIN`] (any letter case), an optional port, then
/// an optional path, query or fragment of printable ASCII (no spaces). The company logo.
pub const HTTP_URL: &str =
    concat!("^https?://", host!("a-zA-Z"), "(?::(?:[1-9][0-9]{0,3}|", port5!(), "))?(?:[/?#][!-~]*)?$");

/// Compiled once. The patterns are constants proven by the tests below; library code may not
/// panic, so a broken one (impossible once they pass) would match nothing and refuse the field.
fn compiled(pattern: &'static str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

static ORIGIN_RE: LazyLock<Option<Regex>> = LazyLock::new(|| compiled(ORIGIN));
static HTTP_URL_RE: LazyLock<Option<Regex>> = LazyLock::new(|| compiled(HTTP_URL));

pub(super) fn is_origin(s: &str) -> bool {
    ORIGIN_RE.as_ref().is_some_and(|r| r.is_match(s))
}

pub(super) fn is_http_url(s: &str) -> bool {
    HTTP_URL_RE.as_ref().is_some_and(|r| r.is_match(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        for p in [COLOR, NOT_BLANK, NO_CONTROL, ORIGIN, HTTP_URL, VISITOR_TOKEN, SINCE_RELATIVE] {
            Regex::new(p).unwrap();
        }
    }

    #[test]
    fn visitor_token_is_the_shape_auth_checks() {
        let re = Regex::new(VISITOR_TOKEN).unwrap();
        let issued = crate::auth::generate_visitor_token();
        let mut samples = vec![
            issued.clone(),
            String::new(),
            "vt_".into(),
            format!("{issued}x"),
            issued.replace("vt_", "VT_"),
            format!("vt_{}", "a".repeat(42)),
            format!("vt_{}+", "a".repeat(42)),
            format!("vt_{}é", "a".repeat(41)),
        ];
        samples.push(format!("vt_{}", "-_".repeat(21) + "Z"));
        for s in samples {
            assert_eq!(re.is_match(&s), crate::auth::is_visitor_token_shaped(&s), "{s:?}");
        }
        assert!(re.is_match(&issued));
    }

    #[test]
    fn not_blank_and_no_control_are_the_rust_predicates() {
        let not_blank = Regex::new(NOT_BLANK).unwrap();
        let no_control = Regex::new(NO_CONTROL).unwrap();
        for c in (0..=0x10FFFF_u32).filter_map(char::from_u32) {
            let s = c.to_string();
            assert_eq!(not_blank.is_match(&s), !s.trim().is_empty(), "{c:?}");
            assert_eq!(no_control.is_match(&s), !c.is_control(), "{c:?}");
        }
    }

    #[test]
    fn origins() {
        for ok in [
            "*",
            "https://shop.example",
            "https://shop.example/",
            "http://localhost:3000",
            "http://127.0.0.1:8080",
            "https://a-b.c-d.example:8443",
            "http://x.example:443",
            "https://x.example:80",
            "http://x.example:65535",
        ] {
            assert!(is_origin(ok), "{ok}");
        }
        for bad in [
            "",
            "**",
            "shop.example",
            "https://shop.example/a",
            "https://Shop.example",
            "http://x.example:80",
            "https://x.example:443",
            "https://a-b.c-d.example:443",
            "http://x.example:0",
            "http://x.example:080",
            "http://x.example:65536",
            "http://1.2.3",
            "http://256.1.1.1",
            "http://a.999",
            "http://xn--a.example",
            "http://[::1]:3000",
            "https://shop.example//",
            "https://shop.example?",
            "ftp://shop.example",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
    }

    #[test]
    fn urls() {
        for ok in
            ["https://cdn.Example/logo.png?v=1#x", "http://10.0.0.1:8080/a", "https://a.b", "http://a.b?"]
        {
            assert!(is_http_url(ok), "{ok}");
        }
        for bad in
            ["", "https://", "https://a b.example", "https://a.9", "https://a.example/x y", "ftp://a.b"]
        {
            assert!(!is_http_url(bad), "{bad}");
        }
    }

    /// Whatever the patterns accept, the URL parser accepts too, and an origin is its own
    /// serialization (what the browser sends in `Origin`).
    #[test]
    fn what_the_patterns_accept_parses() {
        for o in ["https://a-b.example:8443/", "http://127.0.0.1:3000", "http://localhost"] {
            let u = url::Url::parse(o).unwrap();
            assert_eq!(u.origin().ascii_serialization(), o.trim_end_matches('/'));
        }
    }
}
