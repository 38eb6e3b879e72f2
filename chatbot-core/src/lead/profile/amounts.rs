//! Budgets: the amounts a visitor states as what they can spend, with the range they give
//! ("between 300 and 400k", "from 250k to 300k"), the side ("max", "up to", "höchstens",
//! "jusqu'à" for the top; "from", "at least", "minimaal", "à partir de" for the bottom) and the
//! currency written beside them. A plain amount is a budget only with a cue word next to it
//! ("budget", "afford", "around 450k euros"): a price the visitor asks about is not theirs.

use super::lex::{Kind, Tok, tokens};

/// What a message says about the visitor's budget (whole currency units).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Budget {
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// ISO 4217 code of the currency written with the amount (`EUR`, `USD`, `GBP`, `CHF`).
    pub currency: Option<&'static str>,
}

impl Budget {
    pub fn is_empty(&self) -> bool {
        self.min.is_none() && self.max.is_none()
    }
}

/// Which side of the budget a cue word puts an amount on, and how sure it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cue {
    Max,
    Min,
    /// "budget", "afford", "spend": the amount is the visitor's (the top of it).
    Budget,
    /// "around", "ca.", "environ": only with a currency or multiplier, never in a question.
    About,
    /// "from", "ab", "à partir de": the bottom, but never in a question ("do you have teapots
    /// from 20 euros?" asks about the shop's prices).
    From,
}

const MAX_CUES: &[&str] = &[
    "max",
    "maximum",
    "maximal",
    "maximaal",
    "maximale",
    "höchstens",
    "hoogstens",
    "up to",
    "upto",
    "at most",
    "tot",
    "bis",
    "bis zu",
    "jusqu'à",
    "jusqu’à",
    "au plus",
    "au maximum",
    "no more than",
    "not more than",
    "less than",
    "under",
    "below",
    "onder",
    "minder dan",
    "niet meer dan",
    "unter",
    "nicht mehr als",
    "weniger als",
    "moins de",
    "pas plus de",
    "tops",
    "plafond",
];
const MIN_CUES: &[&str] = &[
    "from",
    "at least",
    "minimum",
    "min",
    "minimaal",
    "minstens",
    "ten minste",
    "tenminste",
    "mindestens",
    "ab",
    "vanaf",
    "au moins",
    "à partir de",
    "a partir de",
    "more than",
    "meer dan",
    "mehr als",
    "plus de",
    "starting at",
    "starting from",
];
const BUDGET_CUES: &[&str] = &[
    "budget",
    "budgets",
    "budget is",
    "afford",
    "spend",
    "spending",
    "price range",
    "prijsklasse",
    "preisklasse",
    "kaufpreis",
    "koopsom",
    "budgetten",
    "budgetrahmen",
    "enveloppe",
];
const ABOUT_CUES: &[&str] = &[
    "around",
    "about",
    "approximately",
    "approx",
    "roughly",
    "ca",
    "circa",
    "ongeveer",
    "rond",
    "rond de",
    "zo'n",
    "environ",
    "autour de",
    "etwa",
    "ungefähr",
    "rund",
    "in the region of",
];

fn cue_of(phrase: &str) -> Option<Cue> {
    if MAX_CUES.contains(&phrase) {
        Some(Cue::Max)
    } else if matches!(
        phrase,
        "from" | "vanaf" | "ab" | "à partir de" | "a partir de" | "starting at" | "starting from"
    ) {
        Some(Cue::From)
    } else if MIN_CUES.contains(&phrase) {
        Some(Cue::Min)
    } else if BUDGET_CUES.contains(&phrase) {
        Some(Cue::Budget)
    } else if ABOUT_CUES.contains(&phrase) {
        Some(Cue::About)
    } else {
        None
    }
}

/// Month names (en, nl, de, fr), lower-cased: a number beside one is a date.
pub(super) const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "januari",
    "februari",
    "maart",
    "mei",
    "juni",
    "juli",
    "augustus",
    "oktober",
    "januar",
    "februar",
    "märz",
    "mai",
    "dezember",
    "janvier",
    "février",
    "mars",
    "avril",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
    "jänner",
    "okt",
    "dez",
    "mrt",
    "mär",
];

/// Words after a number that make it something other than money: areas, rooms, people,
/// durations, times, ordinals.
const UNITS: &[&str] = &[
    "m2",
    "m²",
    "m",
    "qm",
    "sqm",
    "sq",
    "square",
    "vierkante",
    "quadratmeter",
    "mètres",
    "metres",
    "meters",
    "meter",
    "bed",
    "beds",
    "bedroom",
    "bedrooms",
    "br",
    "bdr",
    "slaapkamer",
    "slaapkamers",
    "kamer",
    "kamers",
    "zimmer",
    "zimmern",
    "schlafzimmer",
    "chambre",
    "chambres",
    "pièce",
    "pièces",
    "room",
    "rooms",
    "person",
    "persons",
    "people",
    "personen",
    "personnes",
    "employees",
    "employee",
    "staff",
    "mitarbeiter",
    "mitarbeitern",
    "mitarbeitende",
    "medewerkers",
    "werknemers",
    "salariés",
    "employés",
    "collaborateurs",
    "köpfig",
    "köpfiges",
    "köpfigen",
    "man",
    "mensen",
    "fte",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "dag",
    "dagen",
    "weken",
    "maand",
    "maanden",
    "jaar",
    "jaren",
    "tag",
    "tage",
    "tagen",
    "woche",
    "wochen",
    "monat",
    "monate",
    "monaten",
    "jahr",
    "jahre",
    "jahren",
    "jour",
    "jours",
    "semaine",
    "semaines",
    "mois",
    "ans",
    "année",
    "années",
    "h",
    "hr",
    "hrs",
    "hour",
    "hours",
    "uur",
    "uhr",
    "heure",
    "heures",
    "minutes",
    "minuten",
    "stunden",
    "stunde",
    "std",
    "uren",
    "am",
    "pm",
    "st",
    "nd",
    "rd",
    "th",
    "e",
    "er",
    "ème",
    "stuks",
    "pieces",
    "items",
    "stück",
    "x",
    "kg",
    "km",
    "cm",
    "mm",
    "l",
    "ml",
    "g",
    "gb",
    "mb",
    "tb",
    "kw",
    "kwh",
    "units",
];

fn currency_word(t: &Tok) -> Option<&'static str> {
    match t.lower.as_str() {
        "€" | "eur" | "euro" | "euros" | "eu" => Some("EUR"),
        "$" | "usd" | "dollar" | "dollars" | "us$" => Some("USD"),
        "£" | "gbp" | "pound" | "pounds" | "quid" => Some("GBP"),
        "chf" | "franken" | "sfr" => Some("CHF"),
        _ => None,
    }
}

/// A year: four digits from 1900 to 2100 with no currency or multiplier.
fn is_year(toks: &[Tok], i: usize) -> bool {
    let t = &toks[i];
    let year =
        !t.mult && !t.decimal && (1900.0..=2100.0).contains(&t.value) && !t.lower.contains(['.', ',', ' ']);
    year && currency_near(toks, i).is_none()
}

/// A number with a unit, a month, a colon or a `#` beside it.
fn not_money_beside(toks: &[Tok], i: usize) -> bool {
    let t = &toks[i];
    let mut n = i + 1;
    if toks.get(n).is_some_and(|t| t.is_sym("-") || t.is_sym(".")) {
        n += 1;
    }
    if let Some(next) = toks.get(n)
        && next.kind == Kind::Word
        && (UNITS.contains(&next.lower.as_str()) || MONTHS.contains(&next.lower.as_str()))
    {
        return true;
    }
    if toks.get(i + 1).is_some_and(|t| t.is_sym(":") || t.is_sym("%")) && !t.mult {
        return true;
    }
    if i > 0 {
        let prev = &toks[i - 1];
        if prev.is_sym("#") || (prev.kind == Kind::Word && MONTHS.contains(&prev.lower.as_str())) {
            return true;
        }
    }
    false
}

/// The currency written right before or after the number at `i`.
fn currency_near(toks: &[Tok], i: usize) -> Option<&'static str> {
    let before = i.checked_sub(1).and_then(|j| toks.get(j)).and_then(currency_word);
    before.or_else(|| toks.get(i + 1).and_then(currency_word))
}

/// The nearest cue in the few words before `i` (a comma, a number or another sentence part
/// ends the search), and the cue written right after the amount ("2000 EUR max").
fn cue_before(toks: &[Tok], i: usize) -> Option<Cue> {
    // The words before the number, nearest first.
    let mut words: Vec<&str> = Vec::new();
    let mut j = i;
    while j > 0 && words.len() < 6 {
        j -= 1;
        let t = &toks[j];
        if currency_word(t).is_some() || t.is_sym(".") || t.is_sym(":") {
            continue;
        }
        if t.kind != Kind::Word {
            break;
        }
        words.push(t.lower.as_str());
    }
    for n in 1..=words.len().min(5) {
        for len in 1..=n.min(3) {
            let phrase: Vec<&str> = words[n - len..n].iter().rev().copied().collect();
            if let Some(c) = cue_of(&phrase.join(" ")) {
                // "budget rond de 380.000": a loose cue yields to a firmer one just before it.
                if c == Cue::About
                    && let Some(firmer) = firmer_cue(&words[n..])
                {
                    return Some(firmer);
                }
                // "no more than", "nicht mehr als", "pas plus de": the other side.
                let negated = words.get(n).is_some_and(|w| {
                    matches!(
                        *w,
                        "no" | "not" | "niet" | "nicht" | "pas" | "geen" | "kein" | "never" | "nooit"
                    )
                });
                return Some(match (c, negated) {
                    (Cue::Min | Cue::From, true) => Cue::Max,
                    (Cue::Max, true) => Cue::Min,
                    (c, _) => c,
                });
            }
        }
    }
    None
}

/// A "budget" cue among the next words back, for an amount whose nearest cue is loose.
fn firmer_cue(words: &[&str]) -> Option<Cue> {
    words.iter().take(2).find_map(|w| cue_of(w).filter(|c| *c == Cue::Budget))
}

fn cue_after(toks: &[Tok], i: usize) -> Option<Cue> {
    // A few words on, before a comma or another number: "2000 EUR max", "$2,500 per month at
    // most", "500 euro budget".
    let mut words: Vec<&str> = Vec::new();
    for t in toks.iter().skip(i + 1).take(6) {
        if currency_word(t).is_some() {
            continue;
        }
        if t.kind != Kind::Word {
            break;
        }
        words.push(t.lower.as_str());
    }
    for (k, w) in words.iter().enumerate() {
        let next = words.get(k + 1).copied();
        match (*w, next) {
            ("max" | "maximum" | "tops" | "maximaal" | "maximal" | "höchstens", _) => return Some(Cue::Max),
            ("at", Some("most")) | ("au", Some("plus" | "maximum")) => return Some(Cue::Max),
            ("budget", _) => return Some(Cue::Budget),
            ("minimum" | "min" | "minimaal" | "mindestens", _) | ("at", Some("least")) => {
                return Some(Cue::Min);
            }
            _ => {}
        }
    }
    None
}

/// The connector of a range ("300 - 400k", "between 300 and 400k", "van 300 tot 400"): the
/// index of the second number, when there is one.
fn range_end(toks: &[Tok], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while toks.get(j).is_some_and(|t| currency_word(t).is_some()) {
        j += 1;
    }
    let conn = toks.get(j)?;
    let and_like = matches!(conn.lower.as_str(), "and" | "en" | "und" | "et");
    let to_like =
        matches!(conn.lower.as_str(), "to" | "tot" | "bis" | "à" | "till" | "until" | "-" | "–" | "—");
    if !(and_like || to_like) {
        return None;
    }
    if and_like {
        // "between A and B" only: "2 bedrooms and 300k" is not a range.
        let lead = (1..=3).filter_map(|d| i.checked_sub(d)).map(|k| toks[k].lower.as_str());
        if !lead.into_iter().any(|w| matches!(w, "between" | "tussen" | "zwischen" | "entre")) {
            return None;
        }
    }
    let mut k = j + 1;
    while toks.get(k).is_some_and(|t| currency_word(t).is_some()) {
        k += 1;
    }
    (toks.get(k)?.kind == Kind::Num).then_some(k)
}

fn plausible(v: f64) -> bool {
    (10.0..1e11).contains(&v)
}

/// The budget one sentence states. `question` marks a sentence that asks something: there a
/// loose cue ("around 450k?") reads as a price asked about, not the visitor's budget.
pub(super) fn budget_in_sentence(sentence: &str) -> Budget {
    let toks = tokens(sentence);
    let question = sentence.contains('?');
    let mut out = Budget::default();
    let accept = |cue: Option<Cue>, marked: bool| match cue {
        Some(Cue::About) => marked && !question,
        Some(Cue::From) => !question,
        Some(_) => true,
        None => false,
    };
    let mut i = 0;
    while i < toks.len() {
        if toks[i].kind != Kind::Num || not_money_beside(&toks, i) {
            i += 1;
            continue;
        }
        if let Some(j) = range_end(&toks, i).filter(|&j| !not_money_beside(&toks, j)) {
            let (a, b) = (&toks[i], &toks[j]);
            let cur = currency_near(&toks, i).or_else(|| currency_near(&toks, j));
            let marked = cur.is_some() || a.mult || b.mult;
            // "between 2025 and 2026": years, unless a currency or multiplier says money.
            if !marked && (is_year(&toks, i) || is_year(&toks, j)) {
                i = j + 1;
                continue;
            }
            let cue = cue_before(&toks, i).or_else(|| cue_after(&toks, j));
            // A range with a currency or a multiplier is money even without a cue word.
            if accept(cue, marked) || (cue.is_none() && marked && !question) {
                let mut lo = a.value;
                let hi = b.value;
                if !a.mult && b.mult && a.value <= b.value / b.factor {
                    lo *= b.factor;
                }
                let (lo, hi) = if lo > hi { (hi, lo) } else { (lo, hi) };
                if plausible(lo) && plausible(hi) && out.is_empty() {
                    out.min = Some(lo);
                    out.max = Some(hi);
                    out.currency = out.currency.or(cur);
                }
                i = j + 1;
                continue;
            }
        }
        if is_year(&toks, i) {
            i += 1;
            continue;
        }
        let t = &toks[i];
        let cur = currency_near(&toks, i);
        let cue = cue_before(&toks, i).or_else(|| cue_after(&toks, i));
        if accept(cue, cur.is_some() || t.mult) && plausible(t.value) {
            let slot = if matches!(cue, Some(Cue::Min | Cue::From)) { &mut out.min } else { &mut out.max };
            if slot.is_none() {
                *slot = Some(t.value);
                out.currency = out.currency.or(cur);
            }
        }
        i += 1;
    }
    if let (Some(lo), Some(hi)) = (out.min, out.max)
        && lo > hi
    {
        out.min = Some(hi);
        out.max = Some(lo);
    }
    out
}

/// Read one amount as a visitor writes it ("€450k", "1,2 Mio", "350 000 €", "2,500 dollars"):
/// the first number with its multiplier and the currency written beside it.
pub fn parse_amount(text: &str) -> Option<(f64, Option<&'static str>)> {
    let toks = tokens(super::head(text));
    let i = toks.iter().position(|t| t.kind == Kind::Num)?;
    Some((toks[i].value, currency_near(&toks, i)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> (Option<f64>, Option<f64>, Option<&'static str>) {
        let b = budget_in_sentence(s);
        (b.min, b.max, b.currency)
    }

    #[test]
    fn ranges_sides_and_currencies() {
        assert_eq!(b("budget between 300 and 400k"), (Some(300_000.0), Some(400_000.0), None));
        assert_eq!(b("up to €400k"), (None, Some(400_000.0), Some("EUR")));
        assert_eq!(b("höchstens 650.000 €"), (None, Some(650_000.0), Some("EUR")));
        assert_eq!(b("à partir de 5 000 CHF par mois"), (Some(5_000.0), None, Some("CHF")));
        assert_eq!(b("$2,500 per month at most"), (None, Some(2_500.0), Some("USD")));
        assert_eq!(b("from 1500 to 2000 dollars"), (Some(1_500.0), Some(2_000.0), Some("USD")));
        assert_eq!(b("tussen 350 en 425 duizend"), (Some(350_000.0), Some(425_000.0), None));
        assert_eq!(b("Budget minimaal 300k en maximaal 350k"), (Some(300_000.0), Some(350_000.0), None));
        assert_eq!(b("around 450k euros"), (None, Some(450_000.0), Some("EUR")));
    }

    #[test]
    fn prices_asked_about_and_other_numbers_are_not_budgets() {
        for s in [
            "How much is the teapot? 59 euros?",
            "Is the house on Main Street still listed at 450k?",
            "Is it around 450k?",
            "Do you have teapots from 20 euros?",
            "at least 80 m2",
            "minimum 2 bedrooms",
            "ab 19 Uhr",
            "from 3 May",
            "within 3 months",
            "call me on +31 6 12345678",
            "my postcode is 1012 AB",
            "from 2026",
        ] {
            assert!(budget_in_sentence(s).is_empty(), "{s}");
        }
    }
}
