//! The analysis behind lexical search: a chunk's tokens in its own language, a query's tokens
//! in its language and in English.
//!
//! Words are [`lower_words`] (Unicode-safe: each word is lower-cased after splitting). Scripts
//! written without spaces (Han, Hiragana, Katakana) come out of the splitter as whole phrases;
//! they are indexed as overlapping character bigrams, as Lucene's CJK analyzer does: a query and
//! a chunk share bigrams wherever they share a word, with no dictionary or segmenter to ship.
//! Other scripts without a stemmer here (Hebrew, Hangul, Devanagari...) are indexed as
//! lower-cased words.

use super::lang::{self, Lang};
use super::tokens::lower_words;

/// Whether `c` belongs to a script written without spaces between words.
fn unspaced(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF     // Hiragana, Katakana
        | 0x31F0..=0x31FF   // Katakana phonetic extensions
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified ideographs
        | 0xF900..=0xFAFF   // CJK compatibility ideographs
        | 0xFF66..=0xFF9F   // half-width Katakana
        | 0x20000..=0x2FA1F // CJK extensions B-F, compatibility supplement
    )
}

/// Push the tokens of one lower-cased word: character bigrams for runs of unspaced scripts (a
/// lone character as itself), and `other(segment)` for the rest of the word.
fn word_tokens(word: &str, out: &mut Vec<String>, mut other: impl FnMut(&str, &mut Vec<String>)) {
    if !word.chars().any(unspaced) {
        other(word, out);
        return;
    }
    let mut rest = word;
    while let Some(c) = rest.chars().next() {
        let is_cjk = unspaced(c);
        let end = rest.char_indices().find(|&(_, ch)| unspaced(ch) != is_cjk).map_or(rest.len(), |(i, _)| i);
        let (segment, tail) = rest.split_at(end);
        if is_cjk {
            let chars: Vec<char> = segment.chars().collect();
            if chars.len() == 1 {
                out.push(segment.to_string());
            }
            out.extend(chars.windows(2).map(|p| p.iter().collect::<String>()));
        } else {
            other(segment, out);
        }
        rest = tail;
    }
}

/// The tokens of `text` analysed in `lang`: stopwords dropped, the rest stemmed.
pub(crate) fn analyse(text: &str, lang: Lang) -> Vec<String> {
    let mut out = Vec::new();
    for w in lower_words(text, &[]) {
        word_tokens(&w, &mut out, |seg, out| {
            if !lang.is_stopword(seg) {
                out.push(lang.stem(seg));
            }
        });
    }
    out
}

/// The tokens a chunk is indexed under for lexical search: analysed in the chunk's detected
/// language, English when the text is too short or its language unsure or unsupported.
pub(crate) fn index_tokens(text: &str) -> Vec<String> {
    analyse(text, lang::detect(text).unwrap_or(Lang::English))
}

/// The tokens of a search query. A query is short and may be written in another language than
/// the chunks: it is analysed in English (the documents' fallback, and where names and shared
/// words keep their English stems) and, when detected, in its own language; a word either
/// language calls a stopword is dropped. Each token once (BM25's query side counts terms, not
/// repeats).
pub(crate) fn query_tokens(text: &str) -> Vec<String> {
    let detected = query_language(text);
    let mut out: Vec<String> = Vec::new();
    for w in lower_words(text, &[]) {
        query_word_tokens(&w, detected, &mut out);
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|t| seen.insert(t.clone()));
    out
}

/// The language a query is analysed in besides English ([`query_tokens`]): the detected one,
/// `None` for English or when unsure.
pub(crate) fn query_language(text: &str) -> Option<Lang> {
    lang::detect(text).filter(|l| *l != Lang::English)
}

/// Push the query tokens of one lower-cased word of a text whose language is `detected`
/// ([`query_language`]): what [`query_tokens`] makes of it, repeats included.
pub(crate) fn query_word_tokens(word: &str, detected: Option<Lang>, out: &mut Vec<String>) {
    word_tokens(word, out, |seg, out| {
        if Lang::English.is_stopword(seg) || detected.is_some_and(|l| l.is_stopword(seg)) {
            return;
        }
        out.push(Lang::English.stem(seg));
        if let Some(l) = detected {
            out.push(l.stem(seg));
        }
    });
}
