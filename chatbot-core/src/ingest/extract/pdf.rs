//! PDF text through pdf-extract under `catch_unwind` with a timeout, lopdf's own extraction as
//! the fallback.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use super::tidy_text;
use crate::error::{Error, Result};

/// Extract a PDF's text, synchronously. Panics inside pdf-extract are caught and reported as
/// errors; when pdf-extract fails the fallback extractor (lopdf's own text extraction) is tried.
///
/// # Errors
/// [`Error::Invalid`] (field `pdf`) when neither extractor yields text.
pub fn pdf_to_text_blocking(bytes: &[u8]) -> Result<String> {
    let primary = catch_unwind(AssertUnwindSafe(|| pdf_extract::extract_text_from_mem(bytes)));
    let primary_err = match primary {
        Ok(Ok(text)) => {
            let t = tidy_text(&text);
            if !t.is_empty() {
                return Ok(t);
            }
            "no text (figure-only or scanned PDF?)".to_string()
        }
        Ok(Err(e)) => format!("pdf-extract: {e}"),
        Err(p) => format!("pdf-extract panicked: {}", panic_message(&p)),
    };
    match catch_unwind(AssertUnwindSafe(|| lopdf_text(bytes))) {
        Ok(Ok(t)) if !t.is_empty() => Ok(t),
        Ok(Ok(_)) => Err(Error::invalid("pdf", primary_err)),
        Ok(Err(e)) => Err(Error::invalid("pdf", format!("{primary_err}; fallback: {e}"))),
        Err(p) => {
            Err(Error::invalid("pdf", format!("{primary_err}; fallback panicked: {}", panic_message(&p))))
        }
    }
}

pub(crate) fn lopdf_text(bytes: &[u8]) -> std::result::Result<String, String> {
    let doc = lopdf::Document::load_mem(bytes).map_err(|e| e.to_string())?;
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let mut out = String::new();
    for p in pages {
        // Pages that fail are skipped; the rest still count.
        if let Ok(t) = doc.extract_text(&[p]) {
            out.push_str(&t);
            out.push('\n');
        }
    }
    Ok(tidy_text(&out))
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Extract a PDF's text on the blocking pool with a timeout. A PDF that panics, fails or hangs
/// is reported as an error (a hung extraction thread is left to finish on its own).
///
/// # Errors
/// [`Error::Invalid`] (field `pdf`) for unreadable PDFs and timeouts.
pub async fn pdf_to_text(bytes: Vec<u8>, timeout: Duration) -> Result<String> {
    let task = tokio::task::spawn_blocking(move || pdf_to_text_blocking(&bytes));
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(Error::invalid("pdf", format!("extraction task failed: {e}"))),
        Err(_) => Err(Error::invalid("pdf", format!("extraction timed out after {}s", timeout.as_secs()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_pdf_is_an_error_not_a_panic() {
        let e = pdf_to_text_blocking(b"%PDF-1.4 this is not a pdf").unwrap_err();
        assert_eq!(e.field(), Some("pdf"));
    }
}
