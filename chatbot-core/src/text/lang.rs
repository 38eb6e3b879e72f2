//! Languages: detection (`whatlang`), Snowball stemming (`rust-stemmers`) and stopwords (the
//! Snowball lists NLTK ships, from the `stop-words` crate; English's is the project's own list) for every language the three agree on.
//!
//! Detection answers `None` when a text is too short or the detector is unsure: callers fall
//! back to English (documents) or analyse in English as well (queries), never guess.

use std::collections::HashSet;
use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};

/// A language with a Snowball stemmer and a stopword list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lang {
    Arabic,
    Danish,
    Dutch,
    English,
    Finnish,
    French,
    German,
    Greek,
    Hungarian,
    Italian,
    Norwegian,
    Portuguese,
    Romanian,
    Russian,
    Spanish,
    Swedish,
    Tamil,
    Turkish,
}

impl Lang {
    /// Every supported language.
    pub const ALL: [Lang; 18] = [
        Lang::Arabic,
        Lang::Danish,
        Lang::Dutch,
        Lang::English,
        Lang::Finnish,
        Lang::French,
        Lang::German,
        Lang::Greek,
        Lang::Hungarian,
        Lang::Italian,
        Lang::Norwegian,
        Lang::Portuguese,
        Lang::Romanian,
        Lang::Russian,
        Lang::Spanish,
        Lang::Swedish,
        Lang::Tamil,
        Lang::Turkish,
    ];

    /// The ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Arabic => "ar",
            Lang::Danish => "da",
            Lang::Dutch => "nl",
            Lang::English => "en",
            Lang::Finnish => "fi",
            Lang::French => "fr",
            Lang::German => "de",
            Lang::Greek => "el",
            Lang::Hungarian => "hu",
            Lang::Italian => "it",
            Lang::Norwegian => "no",
            Lang::Portuguese => "pt",
            Lang::Romanian => "ro",
            Lang::Russian => "ru",
            Lang::Spanish => "es",
            Lang::Swedish => "sv",
            Lang::Tamil => "ta",
            Lang::Turkish => "tr",
        }
    }

    /// The language of an ISO 639-1 code (`"de"`), if supported.
    #[cfg(test)]
    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code().eq_ignore_ascii_case(code.trim()))
    }

    fn from_whatlang(l: whatlang::Lang) -> Option<Lang> {
        use whatlang::Lang as W;
        Some(match l {
            W::Ara => Lang::Arabic,
            W::Dan => Lang::Danish,
            W::Nld => Lang::Dutch,
            W::Eng => Lang::English,
            W::Fin => Lang::Finnish,
            W::Fra => Lang::French,
            W::Deu => Lang::German,
            W::Ell => Lang::Greek,
            W::Hun => Lang::Hungarian,
            W::Ita => Lang::Italian,
            W::Nob => Lang::Norwegian,
            W::Por => Lang::Portuguese,
            W::Ron => Lang::Romanian,
            W::Rus => Lang::Russian,
            W::Spa => Lang::Spanish,
            W::Swe => Lang::Swedish,
            W::Tam => Lang::Tamil,
            W::Tur => Lang::Turkish,
            _ => return None,
        })
    }

    fn index(self) -> usize {
        self as usize
    }

    fn algorithm(self) -> Algorithm {
        match self {
            Lang::Arabic => Algorithm::Arabic,
            Lang::Danish => Algorithm::Danish,
            Lang::Dutch => Algorithm::Dutch,
            Lang::English => Algorithm::English,
            Lang::Finnish => Algorithm::Finnish,
            Lang::French => Algorithm::French,
            Lang::German => Algorithm::German,
            Lang::Greek => Algorithm::Greek,
            Lang::Hungarian => Algorithm::Hungarian,
            Lang::Italian => Algorithm::Italian,
            Lang::Norwegian => Algorithm::Norwegian,
            Lang::Portuguese => Algorithm::Portuguese,
            Lang::Romanian => Algorithm::Romanian,
            Lang::Russian => Algorithm::Russian,
            Lang::Spanish => Algorithm::Spanish,
            Lang::Swedish => Algorithm::Swedish,
            Lang::Tamil => Algorithm::Tamil,
            Lang::Turkish => Algorithm::Turkish,
        }
    }

    /// The word's Snowball stem in this language (`w` lower-case). Words longer than
    /// [`MAX_STEM_CHARS`] are returned as they are (no natural word is that long, and the
    /// stemmers' cost grows with the length).
    pub fn stem(self, w: &str) -> String {
        if w.len() > MAX_STEM_CHARS * 4 || w.chars().count() > MAX_STEM_CHARS {
            return w.to_string();
        }
        STEMMERS[self.index()].stem(w).into_owned()
    }

    #[cfg(test)]
    pub(crate) fn stopword_count(self) -> usize {
        STOPWORDS[self.index()].len()
    }

    /// Whether `w` (lower-case) is a stopword of this language.
    pub fn is_stopword(self, w: &str) -> bool {
        STOPWORDS[self.index()].contains(w)
    }
}

/// Longest word (in characters) that is stemmed.
pub const MAX_STEM_CHARS: usize = 64;

static STEMMERS: LazyLock<Vec<Stemmer>> =
    LazyLock::new(|| Lang::ALL.iter().map(|l| Stemmer::create(l.algorithm())).collect());

static STOPWORDS: LazyLock<Vec<HashSet<&'static str>>> = LazyLock::new(|| {
    Lang::ALL
        .iter()
        .map(|l| {
            // English: the project's own list, the one the answerer and the guards use.
            let words = match l {
                Lang::English => super::stopwords::STOPWORDS,
                _ => stop_words::lookup(l.code()).unwrap_or_default(),
            };
            words.iter().copied().collect::<HashSet<&'static str>>()
        })
        .collect()
});

/// Fewer letters than this and whatlang is not asked (its trigrams need a few words).
pub const MIN_DETECT_LETTERS: usize = 10;
/// Characters of a text the detector reads (a chunk's language shows in its first kilobyte).
const DETECT_PREFIX_CHARS: usize = 1_000;

/// whatlang restricted to the supported languages: a text is not confused with a close language
/// nothing here could analyse (Dutch with Afrikaans, English with Norwegian on short text), and
/// scoring 18 languages instead of 69 is faster.
static DETECTOR: LazyLock<whatlang::Detector> = LazyLock::new(|| {
    use whatlang::Lang as W;
    whatlang::Detector::with_allowlist(vec![
        W::Ara,
        W::Dan,
        W::Nld,
        W::Eng,
        W::Fin,
        W::Fra,
        W::Deu,
        W::Ell,
        W::Hun,
        W::Ita,
        W::Nob,
        W::Por,
        W::Ron,
        W::Rus,
        W::Spa,
        W::Swe,
        W::Tam,
        W::Tur,
    ])
});

fn prefix(text: &str) -> &str {
    match text.char_indices().nth(DETECT_PREFIX_CHARS) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// whatlang's guess for a text and its confidence, when the text has enough letters.
fn whatlang_guess(text: &str) -> Option<(Lang, f64)> {
    if text.chars().filter(|c| c.is_alphabetic()).take(MIN_DETECT_LETTERS).count() < MIN_DETECT_LETTERS {
        return None;
    }
    let info = DETECTOR.detect(text)?;
    Some((Lang::from_whatlang(info.lang())?, info.confidence()))
}

/// A text's language needs this score (see [`detect`]) ...
const MESSAGE_MIN_SCORE: f64 = 2.0;
/// ... and this lead over the next language.
const MESSAGE_MIN_MARGIN: f64 = 1.0;

/// The language of a text (a chunk, a page, a visitor's message), `None` when unsure. A message
/// is often too short for trigram statistics alone ("Livrez-vous en France ?" is French with whatlang's confidence
/// 0.35; "What are your opening hours?" comes out Dutch at 0.05), so the function words count
/// as well: each language scores one point per word of the message on its stopword list, and
/// whatlang's guess 1 + 2 x its confidence; the best language needs [`MESSAGE_MIN_SCORE`] and a
/// lead of [`MESSAGE_MIN_MARGIN`].
pub fn detect(text: &str) -> Option<Lang> {
    let text = prefix(text);
    let mut score = [0.0f64; Lang::ALL.len()];
    for w in super::lower_words(text, &['\'']) {
        let w = w.trim_matches('\'');
        for l in Lang::ALL {
            if l.is_stopword(w) {
                score[l.index()] += 1.0;
            }
        }
    }
    if let Some((l, confidence)) = whatlang_guess(text) {
        score[l.index()] += 1.0 + 2.0 * confidence;
    }
    let mut ranked: Vec<(Lang, f64)> = Lang::ALL.iter().map(|&l| (l, score[l.index()])).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let &(best, top) = ranked.first()?;
    let second = ranked.get(1).map_or(0.0, |r| r.1);
    (top >= MESSAGE_MIN_SCORE && top - second >= MESSAGE_MIN_MARGIN).then_some(best)
}
