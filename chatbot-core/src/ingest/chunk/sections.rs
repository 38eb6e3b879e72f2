//! Chunking that keeps to sections: a chunk never spans two sections, except small consecutive
//! sections under one parent, merged up to the chunk size (the chunk's path is then the path
//! they share); a section longer than a chunk is split by the format's splitter, every piece
//! keeping the section's path.

use super::{Chunker, Inner};
use crate::ingest::extract::{Section, TextFormat};

/// A chunk and the heading path of the section(s) it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionChunk {
    /// Outermost first; empty for text before any heading.
    pub headings: Vec<String>,
    pub text: String,
}

/// How many leading path elements `a` and `b` share.
fn common_len(a: &[String], b: &[String]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Whether a section is only its heading (one line, or a setext heading's two).
fn heading_only(s: &Section) -> bool {
    let mut lines = s.text.trim().lines().skip(1).filter(|l| !l.trim().is_empty());
    match lines.next() {
        None => true,
        Some(l) => {
            let l = l.trim();
            lines.next().is_none() && (l.chars().all(|c| c == '=') || l.chars().all(|c| c == '-'))
        }
    }
}

/// The heading path of merged sections: the path they share, not counting a section that is
/// only the heading of the one after it (`## Install` right before `### Linux`: everything in
/// the chunk is under Linux).
fn group_path(members: &[&Section]) -> Vec<String> {
    let with_body: Vec<&Section> = members
        .iter()
        .enumerate()
        .filter(|(k, s)| {
            let introduces_next = members
                .get(k + 1)
                .is_some_and(|n| n.headings.len() > s.headings.len() && n.headings.starts_with(&s.headings));
            !(introduces_next && !s.headings.is_empty() && heading_only(s))
        })
        .map(|(_, s)| *s)
        .collect();
    let counted = if with_body.is_empty() { members.to_vec() } else { with_body };
    let first = &counted[0].headings;
    let shared = counted.iter().map(|s| common_len(first, &s.headings)).min().unwrap_or(0);
    first[..shared].to_vec()
}

impl Chunker {
    /// Whether `text` fits in one chunk (characters or cl100k tokens). Both count at most one
    /// per byte, so a text no longer in bytes than the chunk size is not counted.
    fn fits(&self, text: &str) -> bool {
        let size = self.settings.size();
        text.len() <= size
            || match &self.inner {
                Inner::Chars { .. } => text.chars().count() <= size,
                Inner::Tokens { .. } => {
                    tiktoken_rs::cl100k_base_singleton().encode_ordinary(text).len() <= size
                }
            }
    }

    /// Split a document given as sections (see [`Section`]) into chunks that carry their
    /// heading paths, in order. Nothing is dropped but whitespace.
    pub fn split_sections(&self, sections: &[Section], format: TextFormat) -> Vec<SectionChunk> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < sections.len() {
            let first = &sections[i];
            i += 1;
            if first.text.trim().is_empty() {
                continue;
            }
            if !self.fits(&first.text) {
                out.extend(
                    self.split(&first.text, format)
                        .into_iter()
                        .map(|text| SectionChunk { headings: first.headings.clone(), text }),
                );
                continue;
            }
            // Merge the following sections under the same parent while the chunk fits.
            let parent = &first.headings[..first.headings.len().saturating_sub(1)];
            let mut text = first.text.trim().to_string();
            let mut members = vec![first];
            while let Some(next) = sections.get(i) {
                if !next.headings.starts_with(parent) {
                    break;
                }
                let t = next.text.trim();
                if !t.is_empty() {
                    let candidate = format!("{text}\n\n{t}");
                    if !self.fits(&candidate) {
                        break;
                    }
                    text = candidate;
                }
                members.push(next);
                i += 1;
            }
            out.push(SectionChunk { headings: group_path(&members), text });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::chunk::{ChunkSettings, Sizing};

    fn sec(path: &[&str], text: &str) -> Section {
        Section { headings: path.iter().map(|s| (*s).to_string()).collect(), text: text.into() }
    }

    fn chunker(size: usize, sizing: Sizing) -> Chunker {
        Chunker::new(ChunkSettings::new(sizing, size, 0).unwrap()).unwrap()
    }

    #[test]
    fn small_siblings_merge_to_their_parent_long_sections_split() {
        let long = "word ".repeat(100);
        let s = vec![
            sec(&["T"], "# T\n\nintro"),
            sec(&["T", "A"], "## A\n\nshort a"),
            sec(&["T", "A", "x"], "### x\n\nshort x"),
            sec(&["T", "B"], &format!("## B\n\n{long}")),
            sec(&["T", "B", "y"], "### y\n\ny text"),
            sec(&["T", "C"], "## C\n\nc text"),
            sec(&["U"], "# U\n\nu text"),
        ];
        let c = chunker(120, Sizing::Characters);
        let chunks = c.split_sections(&s, TextFormat::Markdown);
        let paths: Vec<String> = chunks.iter().map(|c| c.headings.join(">")).collect();
        // [T] + [T,A] + [T,A,x] fit together (path T); B is long (split, all pieces T>B);
        // [T,B,y] may not take [T,C] (another parent) ... it stands alone; C and U differ too.
        assert_eq!(paths[0], "T");
        assert!(chunks[0].text.contains("short a") && chunks[0].text.contains("short x"));
        let b: Vec<&SectionChunk> = chunks.iter().filter(|c| c.headings.join(">") == "T>B").collect();
        assert!(b.len() >= 4, "{chunks:?}");
        assert!(chunks.iter().all(|c| c.text.chars().count() <= 120));
        assert!(paths.ends_with(&["T>B>y".to_string(), "T>C".to_string(), "U".to_string()]), "{paths:?}");
    }

    #[test]
    fn headings_without_text_do_not_widen_the_path() {
        let s = vec![
            sec(&["T"], "# T"),
            sec(&["T", "A"], "A\n===="),
            sec(&["T", "A", "x"], "### x\n\nthe body of x"),
            sec(&["T", "B"], "## B\n\nthe body of b"),
        ];
        let c = chunker(40, Sizing::Characters);
        let chunks = c.split_sections(&s, TextFormat::Markdown);
        let paths: Vec<String> = chunks.iter().map(|c| c.headings.join(">")).collect();
        assert_eq!(paths, ["T>A>x", "T>B"], "{chunks:?}");
        assert!(chunks[0].text.starts_with("# T\n\nA\n====\n\n### x"));
        // Two sections with text share only their parent.
        let c = chunker(200, Sizing::Characters);
        let chunks = c.split_sections(&s, TextFormat::Markdown);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].headings, ["T"]);
    }

    #[test]
    fn token_sizing_merges_by_tokens() {
        let s = vec![sec(&[], "alpha beta"), sec(&["H"], "# H\n\ngamma delta")];
        let c = chunker(64, Sizing::Tokens);
        let chunks = c.split_sections(&s, TextFormat::Markdown);
        assert_eq!(chunks.len(), 1);
        assert!(chunks[0].headings.is_empty());
        let c = chunker(4, Sizing::Tokens);
        assert!(c.split_sections(&s, TextFormat::Markdown).len() >= 2);
    }
}
