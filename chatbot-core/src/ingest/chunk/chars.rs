//! [`CharChunks`]: the one-pass character splitter for plain text (~30x text-splitter's
//! `TextSplitter<Characters>` and ~18x LangChain's `RecursiveCharacterTextSplitter` in release,
//! bench/ingest/README.md). It works on bytes but only ever cuts at character boundaries.

/// Whether `b` starts a UTF-8 character (is not a continuation byte).
#[inline]
fn is_char_start(b: u8) -> bool {
    (b as i8) >= -0x40
}

/// ASCII whitespace, as `char::is_whitespace` sees it below U+0080.
#[inline]
fn is_ascii_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C)
}

/// How many characters start in `s` (bytes that are not UTF-8 continuation bytes). Counted in
/// blocks of 64 with a byte-wide sum, which the compiler turns into SIMD compares and adds.
fn count_char_starts(s: &[u8]) -> usize {
    let mut blocks = s.chunks_exact(64);
    let mut n = 0;
    for block in &mut blocks {
        n += usize::from(block.iter().fold(0u8, |acc, &b| acc + u8::from(is_char_start(b))));
    }
    n + blocks.remainder().iter().filter(|&&b| is_char_start(b)).count()
}

/// Byte index `n` characters after `from` (or the end). `from` is a character boundary.
fn advance_chars(b: &[u8], from: usize, n: usize) -> usize {
    let len = b.len();
    let guess = from.saturating_add(n).min(len);
    // Pure ASCII (the common case): one byte per character.
    if b[from..guess].is_ascii() {
        return guess;
    }
    // `left` characters take at least `left` bytes, so each slice can be counted whole.
    let (mut i, mut left) = (from, n);
    while left > 0 && i < len {
        let end = i.saturating_add(left).min(len);
        left -= count_char_starts(&b[i..end]);
        i = end;
    }
    // `i` may sit inside the last counted character: move to its end.
    while i < len && !is_char_start(b[i]) {
        i += 1;
    }
    i
}

/// Byte index `n` characters before `to`, but not before `floor` (both character boundaries).
fn retreat_chars(b: &[u8], to: usize, n: usize, floor: usize) -> usize {
    if let Some(back) = to.checked_sub(n).filter(|&x| x >= floor)
        && b[back..to].is_ascii()
    {
        return back;
    }
    let (mut i, mut left) = (to, n);
    while left > 0 && i > floor {
        let begin = i.saturating_sub(left).max(floor);
        left -= count_char_starts(&b[begin..i]);
        i = begin;
    }
    // `i` may sit inside the character counted last: move to its start, which follows.
    while i < to && !is_char_start(b[i]) {
        i += 1;
    }
    i
}

/// The first non-whitespace byte at or after `i` (a character boundary), or the end.
fn skip_space(text: &str, mut i: usize) -> usize {
    let b = text.as_bytes();
    while let Some(&c) = b.get(i) {
        if is_ascii_space(c) {
            i += 1;
        } else if c.is_ascii() {
            break;
        } else {
            // Non-ASCII: Unicode whitespace (NBSP, ideographic space, ...) counts too.
            let rest = &text[i..];
            let skip = rest.len() - rest.trim_start().len();
            if skip == 0 {
                break;
            }
            i += skip;
        }
    }
    i
}

/// Where to cut a chunk that may end anywhere in `(lo, hi]` (byte indices; `hi < text.len()`,
/// so the byte at `hi` is the first one after a full window and cutting there fills it
/// exactly). Prefers, rightmost first within `(half, hi]`: a paragraph break, a line break, a
/// sentence end (`. `, `? `, `! `), a space or tab; then any (Unicode) whitespace in
/// `(lo, hi]`. The cut is the index of a whitespace character (the chunk ends before it).
/// `None` when the range has no whitespace at all (one word fills it).
fn find_cut(text: &str, lo: usize, half: usize, hi: usize) -> Option<usize> {
    // Include the character at `hi` (it may be a multi-byte space such as U+00A0).
    let last = text[hi..].chars().next().map_or(hi, |c| hi + c.len_utf8());
    // Search slices start on a character boundary; the bytes skipped are continuation bytes,
    // which are never whitespace.
    let from = |i: usize| (i..last).find(|&i| text.is_char_boundary(i)).unwrap_or(last);
    let first = from(half.max(lo) + 1);
    let region = &text[first..last];
    // Line breaks, rightmost first (memrchr); stop at the first paragraph break.
    let mut line = None;
    let mut rest = region;
    while let Some(i) = rest.rfind('\n') {
        if i > 0 && rest.as_bytes()[i - 1] == b'\n' {
            return Some(first + i - 1);
        }
        line.get_or_insert(first + i);
        rest = &rest[..i];
    }
    if line.is_some() {
        return line;
    }
    let r = region.as_bytes();
    if let Some(i) = (1..r.len()).rev().find(|&i| r[i] == b' ' && matches!(r[i - 1], b'.' | b'?' | b'!')) {
        return Some(first + i);
    }
    if let Some(i) = region.rfind([' ', '\t', '\r']) {
        return Some(first + i);
    }
    // Any whitespace after `lo` (a chunk shorter than half the window beats a cut word).
    let first = from(lo + 1);
    text[first..last].rfind(char::is_whitespace).map(|i| first + i)
}

/// Plain text sized by characters, in one pass over the bytes (text-splitter's semantic
/// search costs ~30x more here, see bench/ingest/README.md). Each chunk holds at most `size`
/// characters and ends at the last paragraph break, else line break, else sentence end, else
/// space in the second half of its window (any whitespace before giving up; a word longer
/// than `size` is cut). The next chunk begins at the first word that starts within the last
/// `overlap` characters of the previous one, so consecutive chunks share a whole-word
/// suffix/prefix of at most `overlap` characters. Chunks are trimmed and never empty.
pub(crate) struct CharChunks<'a> {
    text: &'a str,
    size: usize,
    overlap: usize,
    /// Where the next chunk begins (whitespace there is skipped).
    start: usize,
    /// The first non-whitespace byte after the previous cut: the next chunk must go past it
    /// (or there is nothing left).
    min_end: usize,
    /// The previous cut fell inside a word longer than `size`.
    prev_mid_word: bool,
}

impl<'a> CharChunks<'a> {
    pub(crate) fn new(text: &'a str, size: usize, overlap: usize) -> Self {
        Self { text, size: size.max(1), overlap, start: 0, min_end: 0, prev_mid_word: false }
    }
}

impl<'a> Iterator for CharChunks<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let text = self.text;
        let b = text.as_bytes();
        let len = b.len();
        loop {
            let start = skip_space(text, self.start);
            if start >= len || self.min_end >= len {
                self.start = len;
                return None;
            }
            let window_end = advance_chars(b, start, self.size);
            if window_end >= len {
                self.start = len;
                return Some(text[start..].trim_end());
            }
            let lo = start.max(self.min_end);
            let half = start + (window_end - start) / 2;
            let (cut, mid_word) = match find_cut(text, lo, half, window_end) {
                Some(cut) => (cut, false),
                // The overlap left no room before a long word: start at the cut instead.
                None if start < self.min_end && !self.prev_mid_word => {
                    self.start = self.min_end;
                    continue;
                }
                None => (window_end, true),
            };
            // Next start: `overlap` characters back, moved forward to a word.
            let mut next = cut;
            if self.overlap > 0 {
                let mut floor = start + 1;
                while !text.is_char_boundary(floor) {
                    floor += 1;
                }
                let back = retreat_chars(b, cut, self.overlap, floor);
                next = if mid_word || is_ascii_space(b[back - 1]) {
                    // Cutting a long word, or `back` already begins a word.
                    back
                } else {
                    b[back..cut].iter().position(|&c| is_ascii_space(c)).map_or(cut, |i| back + i)
                };
            }
            self.start = next;
            self.min_end = skip_space(text, cut);
            self.prev_mid_word = mid_word;
            let chunk = text[start..cut].trim_end();
            if !chunk.is_empty() {
                return Some(chunk);
            }
        }
    }
}

/// [`CharChunks`] collected.
#[cfg(test)]
fn split_chars(text: &str, size: usize, overlap: usize) -> Vec<&str> {
    CharChunks::new(text, size, overlap).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::chunk::{ChunkSettings, Chunker};
    use crate::ingest::extract::TextFormat;

    #[test]
    fn fast_char_split_covers_text_within_size() {
        let text =
            "Alpha beta gamma. Délta épsilon ζήτα.\n\nNew paragraph here with words.\nLine two. ".repeat(200);
        for (size, overlap) in [(100, 20), (37, 0), (1000, 200), (5, 2)] {
            let chunks = split_chars(&text, size, overlap);
            assert!(chunks.iter().all(|c| c.chars().count() <= size && !c.is_empty()), "{size}/{overlap}");
            let words: usize = text.split_whitespace().count();
            let covered: std::collections::HashSet<*const u8> =
                chunks.iter().flat_map(|c| c.split_whitespace().map(str::as_ptr)).collect();
            assert!(covered.len() >= words - 1, "every word lands in a chunk ({size}/{overlap})");
        }
        assert!(split_chars("", 10, 2).is_empty());
        assert_eq!(split_chars("  short  ", 10, 2), vec!["short"]);
    }

    /// Deterministic xorshift, so the property tests need no extra crate and never flake.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    const WORDS: &[&str] = &[
        "the",
        "chunk",
        "splitter",
        "a",
        "of",
        "Überschrift",
        "naïve",
        "café",
        "日本語",
        "текст",
        "𝔘𝔫𝔦",
        "emoji🙂here",
        "x",
        "overlap",
        "boundary",
        "sentence",
        "https://example.com/a/b?c=d",
        "e.g.",
    ];
    const SEPS: &[&str] =
        &[" ", " ", " ", " ", ". ", ", ", "? ", "\n", "\n\n", "  ", "\t", "\u{a0}", " \n \n"];

    fn random_text(rng: &mut Rng, words: usize) -> String {
        let mut t = String::new();
        for _ in 0..words {
            match rng.below(60) {
                // Now and then a word longer than small chunk sizes.
                0 => t.push_str(&"long".repeat(1 + rng.below(40))),
                _ => t.push_str(WORDS[rng.below(WORDS.len())]),
            }
            t.push_str(SEPS[rng.below(SEPS.len())]);
        }
        t
    }

    fn offset(text: &str, chunk: &str) -> usize {
        let off = chunk.as_ptr() as usize - text.as_ptr() as usize;
        assert!(off + chunk.len() <= text.len(), "chunk is a slice of the text");
        off
    }

    /// The maximal run of non-whitespace characters around byte `at`, in characters.
    fn word_len_at(text: &str, at: usize) -> usize {
        let before = text[..at].chars().rev().take_while(|c| !c.is_whitespace()).count();
        let after = text[at..].chars().take_while(|c| !c.is_whitespace()).count();
        before + after
    }

    /// Checks every property of [`split_chars`] on one text; returns the overlaps in characters.
    fn check(text: &str, size: usize, overlap: usize) -> Vec<usize> {
        let chunks = split_chars(text, size, overlap);
        let ctx =
            format!("size {size}, overlap {overlap}, text {:?}", text.chars().take(80).collect::<String>());
        if text.trim().is_empty() {
            assert!(chunks.is_empty(), "{ctx}");
        }
        let mut overlaps = Vec::new();
        let mut prev: Option<(usize, usize)> = None;
        for c in &chunks {
            assert!(!c.is_empty(), "{ctx}");
            assert_eq!(c.trim(), *c, "chunks are trimmed ({ctx})");
            assert!(c.chars().count() <= size, "{} chars > {size} ({ctx})", c.chars().count());
            let (s, e) = (offset(text, c), offset(text, c) + c.len());
            // A cut inside a word only when that word alone is longer than the size.
            if let (Some(before), Some(after)) = (text[..e].chars().next_back(), text[e..].chars().next())
                && !before.is_whitespace()
                && !after.is_whitespace()
            {
                assert!(word_len_at(text, e) > size, "cut inside a short word at {e} ({ctx})");
            }
            match prev {
                None => {
                    assert!(text[..s].trim().is_empty(), "nothing before the first chunk is lost ({ctx})")
                }
                Some((ps, pe)) => {
                    assert!(
                        s > ps && e > pe,
                        "chunks advance in order: {ps}..{pe} then {s}..{e} {:?} ({ctx})",
                        &text[ps..e.max(pe)]
                    );
                    if s < pe {
                        // Overlap: a suffix of the previous chunk that begins the next one.
                        let shared = &text[s..pe];
                        assert!(text[ps..pe].ends_with(shared) && c.starts_with(shared), "{ctx}");
                        assert!(shared.chars().count() <= overlap, "overlap too long ({ctx})");
                        let at_word = text[..s].chars().next_back().is_none_or(char::is_whitespace);
                        let prev_cut_mid_word = !text[pe..].starts_with(char::is_whitespace);
                        assert!(at_word || prev_cut_mid_word, "overlap starts at a word ({ctx})");
                        overlaps.push(shared.chars().count());
                    } else {
                        assert!(text[pe..s].trim().is_empty(), "only whitespace between chunks ({ctx})");
                        overlaps.push(0);
                    }
                }
            }
            prev = Some((s, e));
        }
        if let Some((_, e)) = prev {
            assert!(text[e..].trim().is_empty(), "nothing after the last chunk is lost ({ctx})");
        }
        overlaps
    }

    #[test]
    fn char_split_properties_on_random_text() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for round in 0..150 {
            let words = 20 + rng.below(600);
            let text = random_text(&mut rng, words);
            for (size, overlap) in [(1000, 200), (100, 20), (37, 0), (50, 24), (12, 11), (5, 2), (1, 0)] {
                check(&text, size, overlap);
            }
            // Any prefix, cut at a character boundary, works too.
            let cut = text.char_indices().nth(round * 7 % text.chars().count().max(1)).map_or(0, |(i, _)| i);
            check(&text[..cut], 64, 16);
        }
    }

    #[test]
    fn char_split_keeps_overlap_near_target_on_prose() {
        let text =
            "Alpha beta gamma delta. Epsilon zeta eta theta iota kappa.\nLambda mu nu xi. ".repeat(300);
        let overlaps = check(&text, 1000, 200);
        assert!(overlaps.len() > 20);
        // Words are at most 8 characters: the overlap loses at most a word and a separator.
        assert!(overlaps.iter().all(|&o| (190..=200).contains(&o)), "{overlaps:?}");
        let overlaps = check(&text, 300, 0);
        assert!(overlaps.iter().all(|&o| o == 0));
    }

    #[test]
    fn char_split_prefers_paragraph_then_line_then_sentence_then_space() {
        let para = format!("{}\n\n{}", "w ".repeat(30).trim_end(), "v ".repeat(40));
        assert_eq!(split_chars(&para, 80, 0)[0], "w ".repeat(30).trim_end());
        let line = format!("{} end\nnext{}", "a ".repeat(30), " b".repeat(30));
        assert!(split_chars(&line, 80, 0)[0].ends_with("end"));
        let sentence = format!("{}. {}", "a ".repeat(30).trim_end(), "c ".repeat(40));
        assert!(split_chars(&sentence, 80, 0)[0].ends_with('.'));
        // The paragraph break must be in the second half of the window to win.
        let early = format!("ab\n\n{}", "x ".repeat(60));
        assert!(split_chars(&early, 80, 0)[0].chars().count() > 40);
    }

    #[test]
    fn char_split_counts_characters_not_bytes() {
        // 2, 3 and 4 bytes per character.
        for word in ["é", "日本", "𝔘𝔫𝔦"] {
            let text = format!("{word} ").repeat(500);
            let chunks = check(&text, 100, 20);
            assert!(chunks.len() > 5);
            let first = split_chars(&text, 100, 20)[0];
            assert!(first.chars().count() > 90, "{word}: {} chars", first.chars().count());
            assert!(first.len() > 100, "sized by characters, not bytes");
        }
    }

    #[test]
    fn char_split_without_spaces_cuts_at_size_and_keeps_overlap() {
        let cjk = "这是没有空格的中文文本。".repeat(100);
        let chunks = split_chars(&cjk, 100, 20);
        assert!(chunks.iter().all(|c| c.chars().count() == 100) || chunks.len() > 1);
        assert!(chunks[..chunks.len() - 1].iter().all(|c| c.chars().count() == 100));
        let overlaps = check(&cjk, 100, 20);
        assert!(overlaps.iter().all(|&o| o == 20), "{overlaps:?}");
        let ascii = "x".repeat(2500);
        let chunks = split_chars(&ascii, 1000, 200);
        assert_eq!(chunks.iter().map(|c| c.len()).collect::<Vec<_>>(), [1000, 1000, 900]);
        // A long word between short ones is cut; the short ones are not.
        let mixed = format!("short words here {} and more short words", "y".repeat(150));
        check(&mixed, 40, 10);
    }

    #[test]
    fn char_split_empty_and_blank() {
        assert!(split_chars("", 10, 2).is_empty());
        assert!(split_chars(" \n\n\t \u{a0}\u{3000}", 10, 2).is_empty());
        assert_eq!(split_chars("  short  ", 10, 2), vec!["short"]);
        assert_eq!(split_chars("exactly10!", 10, 2), vec!["exactly10!"]);
        let c = Chunker::new(ChunkSettings::default()).unwrap();
        assert!(c.split("", TextFormat::Plain).is_empty());
        assert!(c.split("   \n ", TextFormat::Plain).is_empty());
    }

    #[test]
    fn char_counting_matches_char_indices() {
        let mut rng = Rng(42);
        let text = random_text(&mut rng, 3000);
        let starts: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
        let b = text.as_bytes();
        for _ in 0..3000 {
            let k = rng.below(starts.len());
            let n = rng.below(300);
            let from = starts[k];
            assert_eq!(
                advance_chars(b, from, n),
                starts[(k + n).min(starts.len() - 1)],
                "advance {n} from {from}"
            );
            let floor = starts[rng.below(k + 1)];
            let want = starts[k.saturating_sub(n)].max(floor);
            assert_eq!(retreat_chars(b, from, n, floor), want, "retreat {n} from {from} to {floor}");
        }
        assert_eq!(count_char_starts(text.as_bytes()), text.chars().count());
    }
}
