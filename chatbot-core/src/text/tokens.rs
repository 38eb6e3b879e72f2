//! Splitting text into words.

/// The lower-cased words of `text`: maximal runs of alphanumeric characters and of the `inner`
/// characters (e.g. `'` to keep "don't" whole, `-` for "e-mail"). Each word is lower-cased on its
/// own, after splitting, so lower-casing never moves a boundary.
pub(crate) fn lower_words<'a>(text: &'a str, inner: &'a [char]) -> impl Iterator<Item = String> + 'a {
    text.split(move |c: char| !(c.is_alphanumeric() || inner.contains(&c)))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// A message as the pattern checks read it: lower-cased, typographic apostrophes and backticks as
/// `'`, runs of white space as one space.
pub(crate) fn normalize_message(message: &str) -> String {
    let lower = message.to_lowercase().replace(['’', '`'], "'");
    lower.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The word without a plural ending (`-ies`, `-s`). Not a stemmer: an allowed topic such as
/// "mugs" should match "mug" without widening to every word sharing a stem.
pub(crate) fn strip_plural(w: &str) -> &str {
    w.strip_suffix("ies").or_else(|| w.strip_suffix('s')).unwrap_or(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_everything_but_letters_digits_and_inner() {
        let w: Vec<String> = lower_words("Don't e-mail ÅSA, call 06-123!", &['\'']).collect();
        assert_eq!(w, ["don't", "e", "mail", "åsa", "call", "06", "123"]);
        let w: Vec<String> = lower_words("e-mail", &['-']).collect();
        assert_eq!(w, ["e-mail"]);
        assert_eq!(normalize_message("  Ignore   ALL’s\n`rules`"), "ignore all's 'rules'");
        assert_eq!(strip_plural("deliveries"), "deliver");
        assert_eq!(strip_plural("mugs"), "mug");
    }
}
