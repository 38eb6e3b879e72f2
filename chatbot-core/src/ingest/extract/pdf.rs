//! PDF text through pdf-extract under `catch_unwind` with a timeout, lopdf's own extraction as
//! the fallback; the document is parsed once for the text, the fallback and the outline.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use super::sections::{Section, outline_sections};
use super::{pool, tidy_text};
use crate::error::{Error, Result};

/// Extract a PDF's text, synchronously. Panics inside pdf-extract are caught and reported as
/// errors; when pdf-extract fails the fallback extractor (lopdf's own text extraction) is tried.
///
/// # Errors
/// [`Error::Invalid`] (field `pdf`) when neither extractor yields text.
pub fn pdf_to_text_blocking(bytes: &[u8]) -> Result<String> {
    text_of(&load(bytes)?)
}

/// The document, parsed once for everything read from it (text, fallback text, outline), and
/// decrypted with the empty password when it is encrypted (as pdf-extract does).
fn load(bytes: &[u8]) -> Result<lopdf::Document> {
    match catch_unwind(AssertUnwindSafe(|| lopdf::Document::load_mem(bytes))) {
        Ok(Ok(mut doc)) => {
            if doc.is_encrypted() {
                doc.decrypt("").map_err(|e| Error::invalid("pdf", format!("encrypted: {e}")))?;
            }
            Ok(doc)
        }
        Ok(Err(e)) => Err(Error::invalid("pdf", format!("pdf-extract: {e}"))),
        Err(p) => Err(Error::invalid("pdf", format!("pdf-extract panicked: {}", panic_message(&p)))),
    }
}

fn text_of(doc: &lopdf::Document) -> Result<String> {
    let primary = catch_unwind(AssertUnwindSafe(|| {
        let mut s = String::new();
        pdf_extract::output_doc(doc, &mut pdf_extract::PlainTextOutput::new(&mut s)).map(|()| s)
    }));
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
    match catch_unwind(AssertUnwindSafe(|| lopdf_text_of(doc))) {
        Ok(t) if !t.is_empty() => Ok(t),
        Ok(_) => Err(Error::invalid("pdf", primary_err)),
        Err(p) => {
            Err(Error::invalid("pdf", format!("{primary_err}; fallback panicked: {}", panic_message(&p))))
        }
    }
}

#[cfg(feature = "fuzzing")]
pub(crate) fn lopdf_text(bytes: &[u8]) -> std::result::Result<String, String> {
    let doc = lopdf::Document::load_mem(bytes).map_err(|e| e.to_string())?;
    Ok(lopdf_text_of(&doc))
}

fn lopdf_text_of(doc: &lopdf::Document) -> String {
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let mut out = String::new();
    for p in pages {
        // Pages that fail are skipped; the rest still count.
        if let Ok(t) = doc.extract_text(&[p]) {
            out.push_str(&t);
            out.push('\n');
        }
    }
    tidy_text(&out)
}

/// Most outline entries read, and deepest nesting followed (a hostile outline can be huge).
const MAX_OUTLINE_ENTRIES: usize = 10_000;
const MAX_OUTLINE_DEPTH: u8 = 16;

/// A PDF's outline (bookmarks) as `(depth, title)` in reading order, depth 1 outermost; empty
/// when it has none or it cannot be read.
///
/// Written here rather than with lopdf's `get_outlines`/`get_toc`: those follow `/Next` and
/// `/First` without noticing cycles (a looping outline never ends) and `get_toc` merges entries
/// with the same title. This walk visits each object once and stops at fixed limits.
pub fn pdf_outline(bytes: &[u8]) -> Vec<(u8, String)> {
    let Ok(doc) = catch_unwind(AssertUnwindSafe(|| lopdf::Document::load_mem(bytes))) else {
        return Vec::new();
    };
    let Ok(doc) = doc else { return Vec::new() };
    catch_unwind(AssertUnwindSafe(|| outline_of(&doc))).unwrap_or_default()
}

fn outline_of(doc: &lopdf::Document) -> Vec<(u8, String)> {
    use lopdf::Object;
    let mut out = Vec::new();
    let Ok(catalog) = doc.catalog() else { return out };
    let Some(root) = catalog.get(b"Outlines").ok().and_then(|o| doc.dereference(o).ok()) else {
        return out;
    };
    let Ok(root) = root.1.as_dict() else { return out };
    let mut seen = std::collections::HashSet::new();
    // (the first item of a level, its depth), depth-first in reading order.
    let mut stack: Vec<(Option<&Object>, u8)> = vec![(root.get(b"First").ok(), 1)];
    while let Some((next, depth)) = stack.pop() {
        let Some(obj) = next else { continue };
        let Ok((id, Object::Dictionary(item))) = doc.dereference(obj) else { continue };
        if let Some(id) = id
            && !seen.insert(id)
        {
            continue;
        }
        if seen.len() > MAX_OUTLINE_ENTRIES || out.len() >= MAX_OUTLINE_ENTRIES {
            break;
        }
        if let Some(title) = item
            .get(b"Title")
            .ok()
            .and_then(|t| doc.dereference(t).ok())
            .and_then(|(_, t)| lopdf::decode_text_string(t).ok())
        {
            out.push((depth, title));
        }
        // The item's next sibling comes after its children.
        stack.push((item.get(b"Next").ok(), depth));
        if depth < MAX_OUTLINE_DEPTH {
            stack.push((item.get(b"First").ok(), depth + 1));
        }
    }
    out
}

/// [`pdf_to_text_blocking`] and the text's sections by the PDF's outline (one section without
/// headings when it has none, or its titles are not found in the text).
///
/// # Errors
/// As [`pdf_to_text_blocking`].
pub fn pdf_to_sections_blocking(bytes: &[u8]) -> Result<(String, Vec<Section>)> {
    let doc = load(bytes)?;
    let text = text_of(&doc)?;
    let outline = catch_unwind(AssertUnwindSafe(|| outline_of(&doc))).unwrap_or_default();
    let sections = outline_sections(&text, &outline);
    Ok((text, sections))
}

/// [`pdf_to_text`] with the sections of [`pdf_to_sections_blocking`].
///
/// # Errors
/// As [`pdf_to_text`].
pub async fn pdf_to_sections(bytes: Vec<u8>, timeout: Duration) -> Result<(String, Vec<Section>)> {
    pool::run("pdf", Some(timeout), move || pdf_to_sections_blocking(&bytes)).await?
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

/// Extract a PDF's text on the extraction pool (one job per core) with a timeout counted from
/// the start of the extraction. A PDF that panics, fails or hangs is reported as an error (a
/// hung extraction thread is left to finish on its own and its pool slot is given back).
///
/// # Errors
/// [`Error::Invalid`] (field `pdf`) for unreadable PDFs and timeouts.
pub async fn pdf_to_text(bytes: Vec<u8>, timeout: Duration) -> Result<String> {
    pool::run("pdf", Some(timeout), move || pdf_to_text_blocking(&bytes)).await?
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
