//! Field validation shared by companies, settings and AI configuration: every error names its
//! field.

use super::patterns;
use crate::error::{Error, Result};

/// `#RRGGBB`.
///
/// # Errors
/// [`Error::Invalid`] naming `field`.
pub fn validate_color(field: &str, c: &str) -> Result<()> {
    let ok = c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|ch| ch.is_ascii_hexdigit());
    if ok { Ok(()) } else { Err(Error::invalid(field, format!("must be a #RRGGBB colour, got {c:?}"))) }
}

/// Company ids: 1-255 characters of letters, digits, `-`, `_`, `.`.
///
/// # Errors
/// [`Error::Invalid`] naming `company_id`.
pub fn validate_company_id(id: &str) -> Result<()> {
    check_len("company_id", id, 1, 255)?;
    if id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        Ok(())
    } else {
        Err(Error::invalid("company_id", "may contain only letters, digits, '-', '_' and '.'"))
    }
}

pub(super) fn validate_email(field: &str, e: &str) -> Result<()> {
    check_len(field, e, 3, 255)?;
    let valid = match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        }
        None => false,
    } && !e.chars().any(char::is_whitespace);
    if valid { Ok(()) } else { Err(Error::invalid(field, format!("not an e-mail address: {e:?}"))) }
}

/// An absolute http(s) URL.
///
/// # Errors
/// [`Error::Invalid`] naming `field`.
pub fn validate_http_url(field: &str, u: &str) -> Result<()> {
    match url::Url::parse(u) {
        Ok(p) if matches!(p.scheme(), "http" | "https") && p.host().is_some() => Ok(()),
        _ => Err(Error::invalid(field, format!("must be an http(s) URL, got {u:?}"))),
    }
}

/// An absolute http(s) URL of the public API's form ([`patterns::HTTP_URL`]: a DNS name or
/// IPv4 host, printable ASCII after it), so the published pattern and this check agree.
///
/// # Errors
/// [`Error::Invalid`] naming `field`.
pub fn validate_public_http_url(field: &str, u: &str) -> Result<()> {
    if patterns::is_http_url(u) {
        validate_http_url(field, u)
    } else {
        Err(Error::invalid(
            field,
            format!("must be an http(s) URL like https://cdn.example/logo.png, got {u:?}"),
        ))
    }
}

/// An origin as browsers send it ([`patterns::ORIGIN`]: `scheme://host[:port]` with a lower-case
/// host and no default port, nothing after it but an optional `/`), or `*`.
///
/// # Errors
/// [`Error::Invalid`] naming `field`.
pub fn validate_origin(field: &str, o: &str) -> Result<()> {
    if o == "*" {
        return Ok(());
    }
    match url::Url::parse(o) {
        Ok(p)
            if patterns::is_origin(o)
                && matches!(p.scheme(), "http" | "https")
                && p.host().is_some()
                && p.path() == "/"
                && p.query().is_none()
                && p.origin().ascii_serialization() == o.trim_end_matches('/') =>
        {
            Ok(())
        }
        _ => Err(Error::invalid(field, format!("must be an origin like https://shop.example, got {o:?}"))),
    }
}

/// The suggested questions: at most four, each of 1 to 120 characters that are not all white
/// space, with no control character anywhere (a chip is one line). Checked as sent, so the
/// published schema (`maxLength`, the `NOT_BLANK` and `NO_CONTROL` patterns) says exactly what
/// is accepted; they are stored trimmed.
///
/// # Errors
/// [`Error::Invalid`] naming `field`.
pub(super) fn validate_suggested_questions(field: &str, qs: &[String]) -> Result<()> {
    use super::settings::{MAX_SUGGESTED_QUESTION_CHARS as MAX, MAX_SUGGESTED_QUESTIONS};
    if qs.len() > MAX_SUGGESTED_QUESTIONS {
        return Err(Error::invalid(
            field,
            format!("at most {MAX_SUGGESTED_QUESTIONS} questions, got {}", qs.len()),
        ));
    }
    for (i, q) in qs.iter().enumerate() {
        let n = q.chars().count();
        if q.trim().is_empty() {
            return Err(Error::invalid(field, format!("question {} must not be empty", i + 1)));
        }
        if n > MAX {
            return Err(Error::invalid(
                field,
                format!("question {} has {n} characters, at most {MAX}", i + 1),
            ));
        }
        no_control(field, q)?;
    }
    Ok(())
}

/// `auto` or one of [`super::settings::LANGUAGES`].
///
/// # Errors
/// [`Error::Invalid`] naming `field`.
pub(super) fn validate_language(field: &str, l: &str) -> Result<()> {
    if l == "auto" || super::settings::LANGUAGES.contains(&l) {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("must be auto or one of {}", super::settings::LANGUAGES.join(", ")),
        ))
    }
}

/// 0 to 40 characters (empty or blank: the widget's own text), no control character anywhere;
/// stored trimmed.
///
/// # Errors
/// [`Error::Invalid`] naming `field`.
pub(super) fn validate_launcher_label(field: &str, l: &str) -> Result<()> {
    use super::settings::MAX_LAUNCHER_LABEL_CHARS as MAX;
    let n = l.chars().count();
    if n > MAX {
        return Err(Error::invalid(field, format!("at most {MAX} characters, got {n}")));
    }
    no_control(field, l)
}

/// No control character (`char::is_control`, [`patterns::NO_CONTROL`]).
fn no_control(field: &str, v: &str) -> Result<()> {
    match v.chars().find(|c| c.is_control()) {
        Some(c) => Err(Error::invalid(
            field,
            format!("must not contain control characters (found U+{:04X})", u32::from(c)),
        )),
        None => Ok(()),
    }
}

pub(super) fn check_len(field: &str, v: &str, min: usize, max: usize) -> Result<()> {
    let n = v.chars().count();
    if n < min || v.trim().is_empty() && min > 0 {
        Err(Error::invalid(field, "must not be empty"))
    } else if n > max {
        Err(Error::invalid(field, format!("at most {max} characters, got {n}")))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert!(validate_origin("o", "https://shop.example").is_ok());
        assert!(validate_origin("o", "http://localhost:3000").is_ok());
        assert!(validate_origin("o", "https://shop.example/a").is_err());
        assert!(validate_origin("o", "shop.example").is_err());
    }
}
