//! Text extraction: HTML to clean main text (feature `html`), PDFs (feature `pdf`), Markdown
//! and plain text as they are.
//!
//! Everything here is synchronous and works on owned data; the pipeline runs the heavy parts on
//! the bounded extraction pool (`pool`: one job per core).

#[cfg(feature = "html")]
mod html;
#[cfg(feature = "pdf")]
mod pdf;
pub(crate) mod pool;
mod sections;

#[cfg(feature = "html")]
#[cfg_attr(docsrs, doc(cfg(feature = "html")))]
pub use self::html::{HtmlPage, html_to_text, resolve};
#[cfg(all(feature = "pdf", feature = "fuzzing"))]
pub(crate) use self::pdf::lopdf_text;
#[cfg(feature = "pdf")]
#[cfg_attr(docsrs, doc(cfg(feature = "pdf")))]
pub use self::pdf::{
    pdf_outline, pdf_to_sections, pdf_to_sections_blocking, pdf_to_text, pdf_to_text_blocking,
};
pub use self::sections::{Section, markdown_sections, outline_sections};

/// Why an HTML document is skipped by a build without the `html` feature.
pub(crate) const HTML_NOT_BUILT: &str =
    "HTML support is not compiled in (build chatbot-core with the `html` feature)";
/// Why a PDF is skipped by a build without the `pdf` feature.
pub(crate) const PDF_NOT_BUILT: &str =
    "PDF support is not compiled in (build chatbot-core with the `pdf` feature)";

/// How a document's text is structured (chooses the splitter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextFormat {
    /// Markdown, or Markdown-flavoured text produced from HTML.
    Markdown,
    /// Plain text (PDFs, .txt).
    Plain,
}

/// Decode bytes as text: UTF-8 (BOM stripped), else Windows-1252/Latin-1 byte by byte.
pub fn decode_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Title of a Markdown document: its first `# ` heading.
pub fn markdown_title(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("# ").map(|t| t.trim().to_string()))
        .filter(|t| !t.is_empty())
}

/// Normalise extracted PDF text: drop control characters, collapse runs of blank lines and
/// spaces (pdf-extract emits many), keep paragraph breaks.
pub fn tidy_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0usize;
    for line in text.lines() {
        let l = line.split_whitespace().collect::<Vec<_>>().join(" ");
        let l: String = l.chars().filter(|c| !c.is_control()).collect();
        if l.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(&l);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_collapses_blank_runs() {
        assert_eq!(tidy_text("a  b\n\n\n\nc\nd\u{c}"), "a b\n\nc\nd");
    }
}
