//! Documents as sections: the heading path (outermost first) and the text under it. HTML gets
//! its headings from the page's `h1`-`h6` (recorded while the text is written), Markdown from
//! its ATX and setext headings (pulldown-cmark), PDFs from their outline (bookmarks) where the
//! titles can be found in the text.
//!
//! The sections of a text are consecutive slices of it: joined they hold every word of it.

use serde::{Deserialize, Serialize};

/// A part of a document under one heading.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// The heading path, outermost first; empty for text before the first heading (and for
    /// documents without headings).
    pub headings: Vec<String>,
    /// The section's text, its own heading line included (as the document's text has it).
    pub text: String,
}

impl Section {
    /// A whole text as one section without headings.
    pub fn whole(text: &str) -> Vec<Section> {
        let t = text.trim();
        if t.is_empty() { Vec::new() } else { vec![Section { headings: Vec::new(), text: t.to_string() }] }
    }
}

/// A heading that begins at byte `start` of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeadingMark {
    pub(crate) start: usize,
    /// 1 (outermost) to 6 for HTML and Markdown; the outline depth for PDFs.
    pub(crate) level: u8,
    pub(crate) text: String,
}

/// Longest heading kept in a path (characters).
const MAX_HEADING_CHARS: usize = 200;
/// Deepest heading path kept (deeper headings count as the deepest level).
const MAX_DEPTH: usize = 16;

/// A heading's text as a path element: whitespace collapsed, control characters dropped,
/// permalink marks (`¶`, `§`, `#`, `🔗`) trimmed from the end, at most 200 characters.
pub(crate) fn clean_heading(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len().min(MAX_HEADING_CHARS * 4));
    let mut n = 0;
    for word in raw.split_whitespace() {
        if n >= MAX_HEADING_CHARS {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
            n += 1;
        }
        for c in word.chars().filter(|c| !c.is_control()) {
            if n >= MAX_HEADING_CHARS {
                break;
            }
            out.push(c);
            n += 1;
        }
    }
    let trimmed = out.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '¶' | '§' | '#' | '🔗'));
    trimmed.to_string()
}

/// Cut `text` at the heading marks (in order; marks out of order, past the end or inside a
/// character are ignored) into sections, each with the path of the headings above it.
pub(crate) fn split_at_headings(text: &str, marks: &[HeadingMark]) -> Vec<Section> {
    if marks.is_empty() {
        return Section::whole(text);
    }
    let mut out = Vec::with_capacity(marks.len() + 1);
    let mut stack: Vec<(u8, &str)> = Vec::new();
    let mut from = 0usize;
    let mut push = |path: &[(u8, &str)], slice: &str| {
        let t = slice.trim();
        if !t.is_empty() {
            out.push(Section {
                headings: path.iter().map(|(_, h)| (*h).to_string()).collect(),
                text: t.into(),
            });
        }
    };
    for m in marks {
        if m.start < from || m.start > text.len() || !text.is_char_boundary(m.start) || m.text.is_empty() {
            continue;
        }
        push(&stack, &text[from..m.start]);
        while stack.last().is_some_and(|(l, _)| *l >= m.level) {
            stack.pop();
        }
        if stack.len() >= MAX_DEPTH {
            stack.pop();
        }
        stack.push((m.level, m.text.as_str()));
        from = m.start;
    }
    push(&stack, &text[from..]);
    out
}

/// The sections of a Markdown text: its ATX (`# x`) and setext (`x` over `===`/`---`) headings
/// at the start of a line, as pulldown-cmark reads them (so `#` lines in code blocks are not
/// headings).
pub fn markdown_sections(text: &str) -> Vec<Section> {
    use pulldown_cmark::{Event, Parser, Tag, TagEnd};
    let mut marks = Vec::new();
    let mut current: Option<(usize, u8, String)> = None;
    for (ev, range) in Parser::new(text).into_offset_iter() {
        match ev {
            Event::Start(Tag::Heading { level, .. }) => {
                let at_line_start = range.start == 0 || text[..range.start].ends_with('\n');
                current = at_line_start.then(|| (range.start, level as u8, String::new()));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((start, level, raw)) = current.take() {
                    marks.push(HeadingMark { start, level, text: clean_heading(&raw) });
                }
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, _, raw)) = current.as_mut() {
                    raw.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some((_, _, raw)) = current.as_mut() {
                    raw.push(' ');
                }
            }
            _ => {}
        }
    }
    split_at_headings(text, &marks)
}

/// The sections of a text given a document outline (`(depth, title)` in reading order, as a
/// PDF's bookmarks give it): each title is looked for, after the previous one found, as a line
/// of its own (optionally after a section number such as `2.1`), so a printed table of contents
/// (`Title ..... 12`) is not taken for the heading. Titles not found are left out; without any,
/// the text is one section.
pub fn outline_sections(text: &str, outline: &[(u8, String)]) -> Vec<Section> {
    if outline.is_empty() {
        return Section::whole(text);
    }
    let lines = heading_lines(text);
    let mut marks = Vec::new();
    let mut cursor = 0usize;
    for (level, title) in outline {
        let title = clean_heading(title);
        let Some(starts) = lines.get(title.as_str()) else { continue };
        // The first such line at or after the cursor (starts are in ascending order).
        let Some(&start) = starts.get(starts.partition_point(|&s| s < cursor)) else { continue };
        marks.push(HeadingMark { start, level: (*level).max(1), text: title });
        cursor = start + 1;
    }
    split_at_headings(text, &marks)
}

/// Longest line taken for a heading (bytes).
const MAX_HEADING_LINE: usize = 400;

/// Every short line of `text` by what it reads (trimmed), and again without a leading section
/// number (`2.1 Options` also as `Options`, `Chapter 3 Usage` as `Usage`): where such lines
/// start, in order. One pass, so an outline of any length is matched in linear time.
fn heading_lines(text: &str) -> std::collections::HashMap<&str, Vec<usize>> {
    let mut index: std::collections::HashMap<&str, Vec<usize>> = std::collections::HashMap::new();
    let mut start = 0usize;
    for line in text.split_inclusive('\n') {
        let at = start;
        start += line.len();
        let l = line.trim();
        if l.is_empty() || l.len() > MAX_HEADING_LINE {
            continue;
        }
        index.entry(l).or_default().push(at);
        let bare = without_number(l);
        if bare != l && !bare.is_empty() {
            index.entry(bare).or_default().push(at);
        }
    }
    index
}

/// A heading line without its leading section number (`1.2.`, `3`, `Chapter 4`).
fn without_number(l: &str) -> &str {
    let rest = if l.starts_with(|c: char| c.is_ascii_digit()) {
        l.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.')
    } else if let Some(r) = l.strip_prefix("Chapter ") {
        r.trim_start_matches(|c: char| c.is_ascii_alphanumeric())
    } else {
        return l;
    };
    if rest.starts_with(char::is_whitespace) { rest.trim_start() } else { l }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(s: &[Section]) -> Vec<String> {
        s.iter().map(|s| s.headings.join(" > ")).collect()
    }

    #[test]
    fn markdown_atx_and_setext_nest() {
        let md = "intro\n\n# Guide\n\ntext\n\nInstall\n-------\n\nsteps\n\n```\n# not a heading\n```\n\n### Deep #\n\nx\n\n## Use\n\ny\n\n# Other\n\nz";
        let s = markdown_sections(md);
        assert_eq!(
            paths(&s),
            ["", "Guide", "Guide > Install", "Guide > Install > Deep", "Guide > Use", "Other"],
            "{s:?}"
        );
        assert!(s[2].text.contains("# not a heading"), "code stays in its section");
        let words: Vec<&str> = md.split_whitespace().collect();
        let joined: Vec<String> = s.iter().map(|s| s.text.clone()).collect();
        assert_eq!(joined.join(" ").split_whitespace().collect::<Vec<_>>(), words, "nothing lost");
    }

    #[test]
    fn heading_cleanup() {
        assert_eq!(
            clean_heading("  3.1. Using  Python\n as a Calculator¶ "),
            "3.1. Using Python as a Calculator"
        );
        assert_eq!(clean_heading("a\u{0}b 🔗"), "ab");
        assert_eq!(clean_heading(&"é".repeat(500)).chars().count(), 200);
    }

    #[test]
    fn outline_titles_found_as_lines_not_in_the_contents_list() {
        let text = "Contents\n1 Introduction 3\n2 Usage 5\n1 Introduction\nWelcome.\n2 Usage\nRun it.\n2.1 Options\nFlags.";
        let outline = vec![
            (1, "Introduction".to_string()),
            (1, "Usage".to_string()),
            (2, "Options".to_string()),
            (1, "Missing".to_string()),
        ];
        let s = outline_sections(text, &outline);
        assert_eq!(paths(&s), ["", "Introduction", "Usage", "Usage > Options"], "{s:?}");
        assert!(s[0].text.contains("2 Usage 5"));
        assert_eq!(s[1].text, "1 Introduction\nWelcome.");
    }

    #[test]
    fn a_long_outline_that_matches_nothing_leaves_one_section() {
        let text = "line of body text\n".repeat(200_000);
        let outline: Vec<(u8, String)> = (0..10_000).map(|i| (1, format!("Missing {i}"))).collect();
        let s = outline_sections(&text, &outline);
        assert_eq!(s.len(), 1);
        assert_eq!(without_number("2.1 Options"), "Options");
        assert_eq!(without_number("Chapter IV  Usage"), "Usage");
        assert_eq!(without_number("2021年"), "2021年");
        assert_eq!(without_number("3.5"), "3.5");
    }

    #[test]
    fn marks_out_of_order_are_ignored() {
        let text = "aé b c";
        let marks = [
            HeadingMark { start: 4, level: 1, text: "B".into() },
            HeadingMark { start: 2, level: 1, text: "inside é".into() },
            HeadingMark { start: 99, level: 1, text: "past".into() },
        ];
        let s = split_at_headings(text, &marks);
        assert_eq!(paths(&s), ["", "B"]);
    }
}
