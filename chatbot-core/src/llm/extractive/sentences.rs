//! Passages split into sentences, and the sentence text rules of an answer.

use std::sync::Arc;

use super::Sentence;
use super::terms::{concepts_of, terms};

/// Split a passage into sentences and analyse those with content words.
pub(super) fn analyse(text: &str) -> Vec<Arc<Sentence>> {
    let mut out = Vec::new();
    for (si, s) in split_sentences(text).into_iter().enumerate() {
        let t = terms(&s);
        if t.is_empty() {
            continue;
        }
        let words = s.split_whitespace().count();
        let fragment = words < 6 && !s.ends_with(['.', '!', '?', ':', ')']);
        out.push(Arc::new(Sentence { position: si, text: s, concepts: concepts_of(&t), terms: t, fragment }));
    }
    out
}

pub(super) fn normalized(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Cut at a word boundary so the result has at most `max` characters (an ellipsis included).
pub(super) fn truncate_words(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let limit = max.saturating_sub(1);
    let cut: String = s.chars().take(limit).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(i) if i > limit / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches(|c: char| c.is_whitespace() || c == ',' || c == ';'))
}

/// Words that end a sentence-like token but not a sentence.
const ABBREVIATIONS: &[&str] = &[
    "e.g", "i.e", "etc", "mr", "mrs", "ms", "dr", "prof", "st", "no", "nr", "vs", "approx", "incl", "excl",
    "ca", "cf", "fig", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "mon", "tue", "wed", "thu", "fri", "sat", "sun", "inc", "ltd", "co", "corp", "dept", "tel", "min", "max",
];

/// Split text into sentences: at `.`, `!`, `?` followed by white space and a capital, digit or
/// quote (not after an abbreviation or a single letter), and at line breaks. List markers and
/// markdown heading signs are dropped.
pub(crate) fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim().trim_start_matches(['#', '-', '*', '•', '>', '|']).trim();
        if line.is_empty() {
            continue;
        }
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        let mut start = 0usize;
        for (k, &(i, c)) in chars.iter().enumerate() {
            // A mark already taken into the previous sentence (`!.` ends at the `.`).
            if !matches!(c, '.' | '!' | '?') || i < start {
                continue;
            }
            // Include closing quotes/brackets right after the punctuation.
            let mut end_k = k;
            while let Some(&(_, n)) = chars.get(end_k + 1) {
                if matches!(n, '"' | '\'' | ')' | '”' | '’' | '.' | '!' | '?') {
                    end_k += 1;
                } else {
                    break;
                }
            }
            let Some(&(_, ws)) = chars.get(end_k + 1) else { continue };
            if !ws.is_whitespace() {
                continue;
            }
            let next = chars[end_k + 1..].iter().map(|&(_, c)| c).find(|c| !c.is_whitespace());
            let Some(next) = next else { continue };
            if !(next.is_uppercase() || next.is_ascii_digit() || matches!(next, '"' | '\'' | '“' | '(' | '['))
            {
                continue;
            }
            if c == '.' {
                let word: String = line[start..i]
                    .rsplit(|ch: char| ch.is_whitespace() || ch == '(')
                    .next()
                    .unwrap_or_default()
                    .to_lowercase();
                let alpha = word.chars().filter(|ch| ch.is_alphabetic()).count();
                if ABBREVIATIONS.contains(&word.as_str()) || (alpha == 1 && word.chars().count() <= 2) {
                    continue;
                }
            }
            let end = chars.get(end_k + 1).map_or(line.len(), |&(j, _)| j);
            if end <= start {
                continue;
            }
            let s = line[start..end].trim();
            if !s.is_empty() {
                out.push(s.to_string());
            }
            start = end;
        }
        let rest = line[start..].trim();
        if !rest.is_empty() {
            out.push(rest.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by `hostile_text::extractive_answers_are_never_empty`: the `.` of `!.` was looked at
    /// again after the sentence ended past it (a slice with its start after its end).
    #[test]
    fn punctuation_runs_end_one_sentence() {
        assert_eq!(split_sentences("!. 0"), ["!.", "0"]);
        assert_eq!(split_sentences("Really?!. Yes. 3 more."), ["Really?!.", "Yes.", "3 more."]);
    }

    #[test]
    fn splits_sentences_without_breaking_numbers_emails_or_abbreviations() {
        let s = split_sentences(
            "Shipping costs 4.95 euros. E-mail support@demo-shop.example with your order number. \
             We stock e.g. Mugs and teapots. Call Dr. Jansen at 9:00! Is it free? Yes.\n\
             ## Returns\n- Free returns in the Netherlands",
        );
        assert_eq!(
            s,
            vec![
                "Shipping costs 4.95 euros.",
                "E-mail support@demo-shop.example with your order number.",
                "We stock e.g. Mugs and teapots.",
                "Call Dr. Jansen at 9:00!",
                "Is it free?",
                "Yes.",
                "Returns",
                "Free returns in the Netherlands",
            ]
        );
    }
}
