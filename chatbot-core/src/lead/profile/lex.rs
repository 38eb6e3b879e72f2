//! The small tokenizer of the profile rules: words, numbers (with their thousands groups,
//! decimals and multipliers such as `k` or `Mio`), symbols; and the split into sentences.
//!
//! Hand-written rather than a crate: the job is the number forms visitors type in four
//! languages ("450.000", "350 000 €", "1,2 Mio", "400k", "1,5k"), which no tokenizer crate
//! reads. Every offset is found and used in the same string, so any Unicode is safe.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Word,
    Num,
    Sym,
}

#[derive(Debug, Clone)]
pub(super) struct Tok {
    pub kind: Kind,
    /// Lower-cased text (words), the character (symbols), the digits as written (numbers).
    pub lower: String,
    /// The value of a number, multiplier applied.
    pub value: f64,
    /// Whether a multiplier (`k`, `Mio`, `duizend` ...) was applied.
    pub mult: bool,
    /// Whether the number had a decimal part.
    pub decimal: bool,
    /// The multiplier applied (1 without one).
    pub factor: f64,
}

impl Tok {
    pub fn is_sym(&self, c: &str) -> bool {
        self.kind == Kind::Sym && self.lower == c
    }
}

/// Multipliers written after a number, lower-cased.
fn multiplier(word: &str) -> Option<f64> {
    Some(match word {
        "k" | "thousand" | "grand" | "duizend" | "tausend" | "mille" | "tsd" => 1e3,
        "ton" => 1e5,
        "m" | "mln" | "mil" | "mio" | "million" | "millions" | "miljoen" | "millionen" | "mrd" => {
            if word == "mrd" { 1e9 } else { 1e6 }
        }
        _ => return None,
    })
}

/// The byte ranges of phone-number-like digit runs (8 or more digits with separators, starting
/// with `+`, `(` or `0`, or 9 or more digits without decimal marks): they are never amounts.
fn phone_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || ((c == b'+' || c == b'(') && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let start = i;
            let mut j = i + 1;
            let mut last_digit = i;
            while j < b.len() && (b[j].is_ascii_digit() || b" -./()".contains(&b[j])) {
                if b[j].is_ascii_digit() {
                    last_digit = j;
                }
                j += 1;
            }
            let run = &text[start..=last_digit];
            let digits = run.bytes().filter(u8::is_ascii_digit).count();
            let first = run.as_bytes()[0];
            let marks = run.contains(['.', ',']);
            if digits >= 8 && (b"+(0".contains(&first) || (!marks && digits >= 9)) {
                out.push((start, last_digit + 1));
            }
            i = last_digit + 1;
        } else {
            i += 1;
        }
    }
    out
}

const GROUP_SEPS: [char; 6] = ['.', ',', '\'', ' ', '\u{a0}', '\u{202f}'];

/// Tokenize one sentence.
pub(super) fn tokens(text: &str) -> Vec<Tok> {
    let phones = phone_ranges(text);
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |k: usize| chars.get(k).map(|&(_, c)| c);
    let mut out: Vec<Tok> = Vec::new();
    let mut next_phone = 0;
    let mut k = 0;
    while k < chars.len() {
        let (pos, c) = chars[k];
        if c.is_whitespace() {
            k += 1;
            continue;
        }
        // The phone ranges are in order: skip the ones behind, look at the next (linear).
        while phones.get(next_phone).is_some_and(|&(_, e)| e <= pos) {
            next_phone += 1;
        }
        if let Some(&(_, end)) = phones.get(next_phone).filter(|(s, _)| *s <= pos) {
            while k < chars.len() && chars[k].0 < end {
                k += 1;
            }
            out.push(Tok {
                kind: Kind::Word,
                lower: "<phone>".into(),
                value: 0.0,
                mult: false,
                decimal: false,
                factor: 1.0,
            });
            continue;
        }
        if c.is_ascii_digit() {
            let (tok, next) = number(&chars, k);
            out.push(tok);
            k = next;
            // A multiplier right after the number (glued or after one space).
            let mut m = k;
            if at(m) == Some(' ') {
                m += 1;
            }
            if at(m).is_some_and(char::is_alphabetic) {
                let mut e = m;
                while at(e).is_some_and(char::is_alphabetic) {
                    e += 1;
                }
                let w: String = chars[m..e].iter().map(|&(_, c)| c).collect::<String>().to_lowercase();
                // "m" alone is metres more often than millions: only glued and before a currency.
                let ok_m = w != "m" || (m == k && at(e).is_some_and(|c| "€$£".contains(c)));
                if let Some(f) = multiplier(&w).filter(|_| ok_m) {
                    let last = out.len() - 1;
                    // "1.250 Mio", "1,5 mln": one mark before millions is a decimal mark.
                    let raw = &out[last].lower;
                    if f >= 1e6
                        && !out[last].decimal
                        && raw.matches(['.', ',']).count() == 1
                        && let Ok(v) = raw.replace(',', ".").parse::<f64>()
                    {
                        out[last].value = v;
                    }
                    out[last].value *= f;
                    out[last].mult = true;
                    out[last].factor = f;
                    k = if at(e) == Some('.') && matches!(w.as_str(), "mio" | "mln" | "tsd") {
                        e + 1
                    } else {
                        e
                    };
                }
            }
            continue;
        }
        if c.is_alphanumeric() {
            let mut e = k;
            while let Some(c) = at(e) {
                let apostrophe = (c == '\'' || c == '’') && at(e + 1).is_some_and(char::is_alphabetic);
                if c.is_alphanumeric() || apostrophe {
                    e += 1;
                } else {
                    break;
                }
            }
            let w: String = chars[k..e].iter().map(|&(_, c)| c).collect();
            out.push(Tok {
                kind: Kind::Word,
                lower: w.to_lowercase(),
                value: 0.0,
                mult: false,
                decimal: false,
                factor: 1.0,
            });
            k = e;
            continue;
        }
        out.push(Tok {
            kind: Kind::Sym,
            lower: c.to_string(),
            value: 0.0,
            mult: false,
            decimal: false,
            factor: 1.0,
        });
        k += 1;
    }
    out
}

/// Read a number starting at `chars[k]` (an ASCII digit): thousands groups ("450.000",
/// "350 000", "2,500") and a decimal part ("1,2", "1.5", "79,90").
fn number(chars: &[(usize, char)], k: usize) -> (Tok, usize) {
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    let digit = |i: usize| at(i).is_some_and(|c| c.is_ascii_digit());
    let mut e = k;
    while digit(e) {
        e += 1;
    }
    let mut int: String = chars[k..e].iter().map(|&(_, c)| c).collect();
    let first_len = e - k;
    let mut frac = String::new();
    let mut groups = 0;
    let mut group_sep = None;
    while let Some(sep) = at(e).filter(|c| GROUP_SEPS.contains(c)) {
        let three = (1..=3).all(|d| digit(e + d)) && !digit(e + 4);
        let same_sep = group_sep.is_none_or(|s| s == sep);
        if three && same_sep && first_len <= 3 {
            int.extend(chars[e + 1..e + 4].iter().map(|&(_, c)| c));
            groups += 1;
            group_sep = Some(sep);
            e += 4;
            continue;
        }
        if (sep == '.' || sep == ',') && Some(sep) != group_sep && digit(e + 1) {
            let mut f = e + 1;
            while digit(f) {
                f += 1;
            }
            if f - e - 1 <= 2 || groups > 0 {
                frac = chars[e + 1..f].iter().map(|&(_, c)| c).collect();
                e = f;
            }
        }
        break;
    }
    let mut value = int.parse::<f64>().unwrap_or(0.0);
    if !frac.is_empty() {
        value += format!("0.{frac}").parse::<f64>().unwrap_or(0.0);
    }
    let tok = Tok {
        kind: Kind::Num,
        lower: chars[k..e].iter().map(|&(_, c)| c).collect(),
        value,
        mult: false,
        decimal: !frac.is_empty(),
        factor: 1.0,
    };
    (tok, e)
}

/// Words after which a full stop does not end the sentence.
const ABBREVIATIONS: &[&str] =
    &["ca", "approx", "max", "min", "nr", "no", "bzw", "incl", "excl", "vs", "st", "mio", "mln", "tsd"];

/// Split a message into sentences (after `?`, `!`, `;`, a line break, or a full stop followed by
/// a space that does not end a number or a known abbreviation). Each piece keeps its `?`.
pub(super) fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev_word_start = 0;
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let next = it.peek().map(|&(_, n)| n);
        let cut = match c {
            '?' | '!' | ';' | '\n' => true,
            '.' => {
                let word = &text[prev_word_start..i];
                let ends_number = word.chars().last().is_some_and(|c| c.is_ascii_digit());
                let abbreviation = ABBREVIATIONS.contains(&word.to_lowercase().as_str());
                next.is_none_or(char::is_whitespace) && !ends_number && !abbreviation
            }
            _ => false,
        };
        if !c.is_alphanumeric() {
            prev_word_start = i + c.len_utf8();
        }
        if cut {
            let end = i + c.len_utf8();
            if !text[start..end].trim().is_empty() {
                out.push(&text[start..end]);
            }
            start = end;
        }
    }
    if !text[start..].trim().is_empty() {
        out.push(&text[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nums(s: &str) -> Vec<f64> {
        tokens(s).into_iter().filter(|t| t.kind == Kind::Num).map(|t| t.value).collect()
    }

    #[test]
    fn number_forms() {
        assert_eq!(nums("450.000 euro"), [450_000.0]);
        assert_eq!(nums("350 000 €"), [350_000.0]);
        assert_eq!(nums("$2,500"), [2_500.0]);
        assert_eq!(nums("1,2 Mio"), [1_200_000.0]);
        assert_eq!(nums("1.5k"), [1_500.0]);
        assert_eq!(nums("400k€"), [400_000.0]);
        assert_eq!(nums("79,90 €"), [79.9]);
        assert_eq!(nums("1,234,567.50"), [1_234_567.5]);
        assert_eq!(nums("400 Tausend Euro"), [400_000.0]);
        assert_eq!(nums("80 m2"), [80.0]);
        assert_eq!(nums("3 ton"), [300_000.0]);
        assert_eq!(nums("call 06 12 34 56 78"), Vec::<f64>::new());
        assert_eq!(nums("+31 6 12345678 or 020 555 1234"), Vec::<f64>::new());
        assert_eq!(nums("250.000 - 300.000"), [250_000.0, 300_000.0]);
    }

    #[test]
    fn sentence_split() {
        assert_eq!(
            sentences("Is it 5k? Budget ca. 5.000 €. Thanks"),
            ["Is it 5k?", " Budget ca. 5.000 €.", " Thanks"]
        );
        assert_eq!(sentences("am 5. Mai"), ["am 5. Mai"]);
        assert!(sentences("").is_empty());
    }
}
