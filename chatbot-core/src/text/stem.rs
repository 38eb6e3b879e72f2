//! The extractive answerer's and the guards' light English stemmer: Porter's step 1 plus the
//! common derivational suffixes, light enough to keep stems readable. Lexical search uses
//! Snowball's stemmers (`text::lang`); this one stays because the answerer relies on its wider
//! conflations ("payment" -> "pay" answers "which payment methods?" from "you can pay with").

/// A light English stemmer (Porter step 1 plus the common derivational suffixes). Only ASCII
/// words are stemmed; others are returned as they are.
pub(crate) fn stem(word: &str) -> String {
    if !word.is_ascii() || word.len() <= 3 {
        return word.to_string();
    }
    let mut w = word.to_string();
    // Step 1a: plurals.
    if w.ends_with("sses") {
        w.truncate(w.len() - 2);
    } else if w.ends_with("ies") && w.len() > 4 {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w.truncate(w.len() - 1);
    }
    // Step 1b: -ed / -ing / -eed.
    let mut stripped = false;
    if w.ends_with("eed") {
        if w.len() > 5 {
            w.truncate(w.len() - 1);
        }
    } else {
        for suf in ["ing", "ed"] {
            if w.ends_with(suf) && has_vowel(&w[..w.len() - suf.len()]) && w.len() - suf.len() >= 3 {
                w.truncate(w.len() - suf.len());
                stripped = true;
                break;
            }
        }
    }
    if stripped {
        if w.ends_with("at") || w.ends_with("bl") || w.ends_with("iz") {
            w.push('e');
        } else if ends_double_consonant(&w) && !w.ends_with('l') && !w.ends_with('s') && !w.ends_with('z') {
            w.truncate(w.len() - 1);
        }
    }
    // Step 1c: y -> i is skipped (keeps stems readable); map trailing 'y' after consonant to 'i'
    // only for matching with the plural rule above ("libraries" -> "library").
    // Derivational suffixes (Porter steps 2-4, simplified).
    const SUFFIXES: [(&str, &str); 24] = [
        ("ational", "ate"),
        ("ization", "ize"),
        ("fulness", "ful"),
        ("iveness", "ive"),
        ("ousness", "ous"),
        ("isation", "ize"),
        ("tional", "tion"),
        ("biliti", "ble"),
        ("ations", "ate"),
        ("ation", "ate"),
        ("alism", "al"),
        ("ement", ""),
        ("ment", ""),
        ("ness", ""),
        ("ably", "able"),
        ("ibly", "ible"),
        ("ally", "al"),
        ("ator", "ate"),
        ("ities", "ity"),
        ("ously", "ous"),
        ("ently", "ent"),
        ("ise", "ize"),
        ("ly", ""),
        ("er", ""),
    ];
    for (suf, rep) in SUFFIXES {
        if w.ends_with(suf) {
            let base = &w[..w.len() - suf.len()];
            if base.len() >= 3 && has_vowel(base) {
                let mut s = base.to_string();
                s.push_str(rep);
                w = s;
            }
            break;
        }
    }
    if w.ends_with('e') && w.len() > 4 {
        w.truncate(w.len() - 1);
    }
    w
}

fn has_vowel(s: &str) -> bool {
    s.bytes().any(|b| matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y'))
}

fn ends_double_consonant(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2
        && b[b.len() - 1] == b[b.len() - 2]
        && !matches!(b[b.len() - 1], b'a' | b'e' | b'i' | b'o' | b'u')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_inflections_together() {
        assert_eq!(stem("connections"), stem("connection"));
        assert_eq!(stem("running"), stem("runs"));
        assert_eq!(stem("libraries"), stem("library"));
        assert_eq!(stem("configured"), stem("configure"));
        assert_eq!(stem("shipping"), stem("ship"));
    }

    #[test]
    fn non_ascii_and_short_words_stay_as_they_are() {
        for w in ["", "a", "its", "straße", "kẞ", "ωmega", "i̇stanbul"] {
            assert_eq!(stem(w), w);
        }
    }
}
