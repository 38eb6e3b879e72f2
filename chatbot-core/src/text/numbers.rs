//! Number words, one table for every reader of counts written as words: the lead profile's
//! timelines ("within two weeks") and the grounding check's facts ("three days").

/// Cardinal number words from two up (English, German, Dutch, French, Spanish).
const NUMBER_WORDS: &[(&str, u32)] = &[
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("fifteen", 15),
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("hundred", 100),
    ("zwei", 2),
    ("drei", 3),
    ("vier", 4),
    ("fünf", 5),
    ("sechs", 6),
    ("sieben", 7),
    ("acht", 8),
    ("neun", 9),
    ("zehn", 10),
    ("zwölf", 12),
    ("zwanzig", 20),
    ("dreißig", 30),
    ("vierzig", 40),
    ("fünfzig", 50),
    ("hundert", 100),
    ("twee", 2),
    ("drie", 3),
    ("vijf", 5),
    ("zes", 6),
    ("zeven", 7),
    ("negen", 9),
    ("tien", 10),
    ("twaalf", 12),
    ("twintig", 20),
    ("dertig", 30),
    ("veertig", 40),
    ("vijftig", 50),
    ("honderd", 100),
    ("deux", 2),
    ("trois", 3),
    ("quatre", 4),
    ("cinq", 5),
    ("sept", 7),
    ("huit", 8),
    ("neuf", 9),
    ("dix", 10),
    ("douze", 12),
    ("vingt", 20),
    ("trente", 30),
    ("quarante", 40),
    ("cinquante", 50),
    ("cent", 100),
    ("dos", 2),
    ("tres", 3),
    ("cuatro", 4),
    ("cinco", 5),
    ("seis", 6),
    ("siete", 7),
    ("ocho", 8),
    ("diez", 10),
    ("doce", 12),
    ("veinte", 20),
    ("treinta", 30),
    ("cuarenta", 40),
    ("cincuenta", 50),
];

/// Words for "one" in those languages. They double as articles and pronouns ("one of our mugs",
/// "ein Tisch", "un café"), so each reader decides whether they count.
pub(crate) const ONE_WORDS: &[&str] =
    &["one", "ein", "eine", "eins", "einem", "einer", "een", "één", "un", "une", "uno", "una"];

/// The value of a lower-case cardinal number word from two up ("twelve" -> 12, "zwölf" -> 12).
pub(crate) fn number_word(word: &str) -> Option<u32> {
    NUMBER_WORDS.iter().find(|(w, _)| *w == word).map(|&(_, n)| n)
}

/// Every number word, [`ONE_WORDS`] included, as a regex alternation ("one|ein|...|two|...").
pub(crate) fn number_words_pattern() -> String {
    let words = ONE_WORDS.iter().copied().chain(NUMBER_WORDS.iter().map(|(w, _)| *w));
    words.map(regex::escape).collect::<Vec<_>>().join("|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lower_case_and_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for w in NUMBER_WORDS.iter().map(|(w, _)| *w).chain(ONE_WORDS.iter().copied()) {
            assert_eq!(w, w.to_lowercase(), "{w}");
            assert!(seen.insert(w), "{w} twice");
        }
        assert_eq!(number_word("zwölf"), Some(12));
        assert_eq!(number_word("one"), None, "the words for one are apart");
    }
}
