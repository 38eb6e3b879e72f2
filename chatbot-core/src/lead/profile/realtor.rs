//! The realtor's fields read from words: intent (buy, rent, sell), property type, bedrooms,
//! size, financing; and the listing question ("is the house on Main St still 450k?"), whose
//! sentence says nothing about the visitor's own search.

use std::sync::LazyLock;

use regex::Regex;

use super::lex::{Kind, Tok};
use super::timeline::count;
use crate::text::built_in_regex;

/// A question about one listed property: a definite or demonstrative article before a property
/// word ("the bungalow", "das Reihenhaus", "l'appartement"), or "listed" / "for sale", in a
/// sentence that asks.
pub(super) fn is_listing_question(sentence: &str, toks: &[Tok]) -> bool {
    const ARTICLES: &[&str] = &[
        "the", "this", "that", "het", "dat", "dit", "deze", "die", "das", "der", "dem", "dieses", "diese",
        "la", "le", "cette", "ce", "cet",
    ];
    if !sentence.contains('?') {
        return false;
    }
    let lower = sentence.to_lowercase();
    if ["you listed", "for sale", "te koop", "zu verkaufen", "à vendre", "asking price", "vraagprijs"]
        .iter()
        .any(|p| lower.contains(p))
    {
        return true;
    }
    toks.iter().enumerate().any(|(i, t)| {
        let elided = t.lower.strip_prefix("l'").or_else(|| t.lower.strip_prefix("l’"));
        if let Some(rest) = elided {
            return property_word("", rest).is_some();
        }
        ARTICLES.contains(&t.lower.as_str())
            && (1..=2).any(|d| {
                toks.get(i + d).is_some_and(|w| w.kind == Kind::Word && property_word("", &w.lower).is_some())
            })
    })
}

/// buy, rent or sell, when the words name exactly one of them.
pub(super) fn intent(toks: &[Tok]) -> Option<&'static str> {
    let mut found: Vec<&'static str> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if t.kind != Kind::Word {
            continue;
        }
        let prev = i.checked_sub(1).map(|k| toks[k].lower.as_str()).unwrap_or("");
        let next = toks.get(i + 1).map(|t| t.lower.as_str()).unwrap_or("");
        let w = t.lower.as_str();
        let hit = if w.starts_with("buy")
            || w.starts_with("purchas")
            || w.starts_with("koop") && w != "koopje"
            || w.starts_with("aankoop")
            || w.starts_with("kauf")
            || w.starts_with("erwerb")
            || (w.starts_with("achet") && !w.starts_with("acheté"))
            || matches!(w, "kopen" | "achat" | "acquérir" | "acquisition")
        {
            "buy"
        } else if (w.starts_with("rent") && !w.starts_with("rente") && next != "out")
            || w.starts_with("huur")
            || w == "huren"
            || w.starts_with("miet")
            || matches!(w, "lease" | "louer" | "loue" | "louons" | "louez")
            || (w == "location" && matches!(prev, "une" | "en" | "la"))
        {
            "rent"
        } else if w.starts_with("sell")
            || w.starts_with("verkoop")
            || w.starts_with("verkop")
            || w.starts_with("verkauf")
            || matches!(w, "vendre" | "vends" | "vendons" | "vendez" | "vente")
        {
            "sell"
        } else {
            continue;
        };
        if !found.contains(&hit) {
            found.push(hit);
        }
    }
    if found.is_empty() && SELL_PHRASES.iter().any(|p| joined_has(toks, p)) {
        return Some("sell");
    }
    (found.len() == 1).then(|| found[0])
}

/// Phrases of a seller that name no "sell" word.
const SELL_PHRASES: &[&str] = &[
    "on the market",
    "valuation",
    "value my",
    "te koop zetten",
    "in de verkoop",
    "mettre en vente",
    "estimation de mon",
];

/// Whether the words, joined by spaces, contain `phrase`.
fn joined_has(toks: &[Tok], phrase: &str) -> bool {
    let words: Vec<&str> = toks.iter().filter(|t| t.kind == Kind::Word).map(|t| t.lower.as_str()).collect();
    format!(" {} ", words.join(" ")).contains(&format!(" {phrase} "))
}

fn property_word(prev: &str, w: &str) -> Option<&'static str> {
    Some(match w {
        "studio" | "studios" | "studioappartement" | "einzimmerwohnung" => "studio",
        "villa" | "villas" => "villa",
        "plot" | "plots" | "kavel" | "bouwkavel" | "bouwgrond" | "grundstück" | "baugrundstück"
        | "bauland" | "terrain" | "terrains" => "land",
        "land" if matches!(prev, "of" | "some" | "building" | "farm" | "agricultural") => "land",
        "commercial" | "office" | "offices" | "warehouse" | "retail" | "bedrijfspand" | "kantoor"
        | "kantoorpand" | "kantoorruimte" | "bedrijfsruimte" | "winkelpand" | "winkelruimte" | "gewerbe"
        | "gewerbeobjekt" | "gewerbefläche" | "gewerbeimmobilie" | "büro" | "büros" | "büroräume"
        | "bürofläche" | "ladenlokal" | "lagerhalle" | "bureaux" | "bureau" | "locaux" | "entrepôt"
        | "commerce" => "commercial",
        "house" | "houses" | "townhouse" | "bungalow" | "cottage" | "detached" | "huis" | "huizen"
        | "woonhuis" | "eengezinswoning" | "tussenwoning" | "hoekwoning" | "vrijstaand" | "vrijstaande"
        | "rijtjeshuis" | "huurhuis" | "koophuis" | "haus" | "häuser" | "einfamilienhaus" | "reihenhaus"
        | "doppelhaushälfte" | "maison" | "maisons" | "pavillon" => "house",
        "home" if matches!(prev, "family" | "detached") => "house",
        "apartment" | "apartments" | "flat" | "flats" | "condo" | "penthouse" | "appartement"
        | "appartementen" | "bovenwoning" | "benedenwoning" | "appart" => "apartment",
        w if w.ends_with("wohnung")
            || w.ends_with("wohnungen")
            || w.ends_with("appartement")
            || w.ends_with("appartementen")
            || w.starts_with("kamerappartement") =>
        {
            "apartment"
        }
        _ => return None,
    })
}

/// The property type named, when the words name one ("a studio apartment" is a studio, "a
/// villa, a detached house" a villa; "our flat ... a house" names two and gives none).
pub(super) fn property_type(toks: &[Tok]) -> Option<&'static str> {
    let mut found: Vec<&'static str> = Vec::new();
    for (i, t) in toks.iter().enumerate().filter(|(_, t)| t.kind == Kind::Word) {
        let prev = i.checked_sub(1).map(|k| toks[k].lower.as_str()).unwrap_or("");
        let next = toks.get(i + 1).map(|t| t.lower.as_str()).unwrap_or("");
        // "office hours", "kantoortijden": the agency's office, not a property.
        if matches!(next, "hours" | "opening" | "times") {
            continue;
        }
        if let Some(p) = property_word(prev, &t.lower)
            && !found.contains(&p)
        {
            found.push(p);
        }
    }
    match found.as_slice() {
        [one] => Some(one),
        [a, b] if found.contains(&"apartment") && (a == &"studio" || b == &"studio") => Some("studio"),
        [a, b] if found.contains(&"house") && (a == &"villa" || b == &"villa") => Some("villa"),
        _ => None,
    }
}

/// Whether the number at `i` ends a range ("2-3", "60 bis 80", "entre 60 et 80").
fn ranged(toks: &[Tok], i: usize) -> bool {
    i >= 2
        && toks[i - 2].kind == Kind::Num
        && matches!(
            toks[i - 1].lower.as_str(),
            "-" | "–"
                | "to"
                | "tot"
                | "bis"
                | "à"
                | "and"
                | "en"
                | "und"
                | "et"
                | "or"
                | "of"
                | "oder"
                | "ou"
        )
}

fn is_bedroom_word(w: &str) -> bool {
    matches!(
        w,
        "bed"
            | "beds"
            | "bedroom"
            | "bedrooms"
            | "bedroomed"
            | "br"
            | "bdr"
            | "bd"
            | "slaapkamer"
            | "slaapkamers"
            | "kamer"
            | "kamers"
            | "zimmer"
            | "zimmern"
            | "schlafzimmer"
            | "chambre"
            | "chambres"
            | "pièce"
            | "pièces"
            | "room"
            | "rooms"
    ) || w.starts_with("kamerappartement")
        || w.starts_with("kamerwoning")
}

/// The number of bedrooms (or rooms, as German, Dutch and French listings count them).
pub(super) fn bedrooms(toks: &[Tok]) -> Option<u32> {
    for (i, t) in toks.iter().enumerate() {
        // "T3", "F2": the French room count.
        if t.kind == Kind::Word {
            let mut cs = t.lower.chars();
            if matches!(cs.next(), Some('t' | 'f'))
                && let (Some(d), None) = (cs.next(), cs.next())
                && let Some(n) = d.to_digit(10).filter(|n| (1..=9).contains(n))
            {
                return Some(n);
            }
        }
        let n = match t.kind {
            Kind::Num if !t.mult && !t.decimal && t.value.fract() == 0.0 => t.value as u32,
            Kind::Word if !matches!(t.lower.as_str(), "a" | "an" | "un" | "une" | "ein" | "eine" | "een") => {
                match count(&t.lower) {
                    Some(n) => n,
                    None => continue,
                }
            }
            _ => continue,
        };
        let mut j = i + 1;
        if toks.get(j).is_some_and(|t| t.is_sym("-")) {
            j += 1;
        }
        // "2-3 bedrooms": a range is not one number.
        let ranged = ranged(toks, i);
        if (1..=20).contains(&n)
            && !ranged
            && toks.get(j).is_some_and(|w| w.kind == Kind::Word && is_bedroom_word(&w.lower))
        {
            return Some(n);
        }
    }
    None
}

/// The floor area in square metres.
pub(super) fn size_m2(toks: &[Tok]) -> Option<f64> {
    for (i, t) in toks.iter().enumerate() {
        if t.kind != Kind::Num || t.mult {
            continue;
        }
        let w = |k: usize| toks.get(k).filter(|t| t.kind == Kind::Word).map(|t| t.lower.as_str());
        let area = match (w(i + 1), w(i + 2)) {
            (
                Some(
                    "m2" | "m²" | "qm" | "sqm" | "quadratmeter" | "quadratmetern" | "vierkante" | "mètres"
                    | "metres" | "meters" | "m",
                ),
                next,
            ) => {
                // "80 m" is metres of something only with "square/carrés/vierkante" or ²/2.
                match w(i + 1) {
                    Some("m") => toks.get(i + 2).is_some_and(|t| t.is_sym("²")),
                    Some("mètres") => next == Some("carrés"),
                    Some("metres" | "meters") => false,
                    _ => true,
                }
            }
            (Some("square"), Some("metres" | "meters" | "m")) | (Some("sq"), Some("m")) => true,
            _ => false,
        };
        let ranged = ranged(toks, i);
        if area && !ranged && (5.0..=100_000.0).contains(&t.value) {
            return Some(t.value);
        }
    }
    None
}

static FINANCING: LazyLock<Vec<(Option<Regex>, &'static str)>> = LazyLock::new(|| {
    vec![
        (
            built_in_regex(concat!(
                r"(?i)\b(?:mortgage|financing|finance|loan)\s+(?:is\s+|has been\s+|already\s+)*(?:pre-?approved|approved|in place|sorted|arranged|agreed|secured)",
                r"|\b(?:pre-?approved|approved)\s+(?:for\s+a\s+)?(?:mortgage|loan)|\bmortgage in principle\b",
                r"|\b(?:hypotheek|financiering)\s+(?:is\s+)?(?:al\s+)?(?:rond|goedgekeurd|geregeld|toegezegd)",
                r"|\bfinanzierung\s+(?:steht|ist\s+(?:schon\s+|bereits\s+)?(?:gesichert|genehmigt|bewilligt|zugesagt))|\bfinanzierungszusage\b",
                r"|\b(?:kredit|darlehen)\s+(?:ist\s+)?(?:schon\s+|bereits\s+)?(?:bewilligt|genehmigt|zugesagt)",
                r"|\b(?:bank|banque)\s+(?:has\s+|heeft\s+|hat\s+|a\s+)?(?:approved|validé|accordé|approuvé|genehmigt|bewilligt|goedgekeurd)",
                r"|\b(?:prêt|pret|crédit|financement)\s+(?:immobilier\s+)?(?:est\s+)?(?:déjà\s+)?(?:accordé|validé|obtenu|bouclé)|\baccord de principe\b",
            )),
            "mortgage approved",
        ),
        (
            built_in_regex(concat!(
                r"(?i)\b(?:need|needs|needing|require|looking for)\s+(?:a\s+)?(?:mortgage|financing|loan)",
                r"|\bnog\s+geen\s+(?:hypotheek|financiering)|\bnoch\s+keine\s+(?:finanzierung|baufinanzierung)|\b(?:no|don't have a|do not have a)\s+mortgage\s+yet",
                r"|\b(?:hypotheek|financiering)\S*\s+(?:\S+\s+)?nodig\b|\bnodig\b.{0,20}\b(?:hypotheek|financiering)",
                r"|\b(?:brauchen|brauche|benötigen|benötige|suchen|suche)\s+(?:noch\s+)?(?:eine\s+)?(?:finanzierung|baufinanzierung|kredit)",
                r"|\bbesoin\s+d['’](?:un|une)\s+(?:prêt|crédit|financement)",
                r"|\b(?:faut|faudra|faudrait)\s+(?:un|une)\s+(?:prêt|crédit|financement)|\bpas encore de (?:prêt|crédit|financement)",
            )),
            "needs mortgage",
        ),
        (
            built_in_regex(concat!(
                r"(?i)\b(?:cash|contant|comptant|barzahlung|cash buyer)\b|\bbar\s+(?:zahlen|bezahlen)|\bin bar\b",
                r"|\b(?:without|zonder|ohne|sans)\s+(?:a\s+)?(?:mortgage|hypotheek|finanzierung|prêt|crédit)",
            )),
            "cash",
        ),
    ]
});

/// How the visitor pays: "mortgage approved", "needs mortgage" or "cash".
pub(super) fn financing(text: &str) -> Option<&'static str> {
    FINANCING.iter().find(|(re, _)| re.as_ref().is_some_and(|r| r.is_match(text))).map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::super::lex::tokens;
    use super::*;

    #[test]
    fn patterns_compile() {
        assert!(FINANCING.iter().all(|(r, _)| r.is_some()));
    }

    #[test]
    fn words() {
        let t = tokens;
        assert_eq!(bedrooms(&t("a 3-bedroom house")), Some(3));
        assert_eq!(bedrooms(&t("drie slaapkamers")), Some(3));
        assert_eq!(bedrooms(&t("3-Zimmer-Wohnung")), Some(3));
        assert_eq!(bedrooms(&t("appartement T3")), Some(3));
        assert_eq!(bedrooms(&t("2-3 bedrooms")), None);
        assert_eq!(size_m2(&t("80 vierkante meter")), Some(80.0));
        assert_eq!(size_m2(&t("120m²")), Some(120.0));
        assert_eq!(size_m2(&t("ca. 70 qm")), Some(70.0));
        assert_eq!(property_type(&t("eine 3-Zimmer-Wohnung")), Some("apartment"));
        assert_eq!(property_type(&t("een eengezinswoning")), Some("house"));
        assert_eq!(intent(&t("we want to sell and buy")), None);
        assert_eq!(intent(&t("studio te huur")), Some("rent"));
        assert_eq!(financing("Onze hypotheek is rond"), Some("mortgage approved"));
        assert_eq!(financing("Wir brauchen noch eine Finanzierung"), Some("needs mortgage"));
        let q = |s: &str| is_listing_question(s, &t(s));
        assert!(q("Is the house on Main Street still listed at 450k?"));
        assert!(q("Est-ce que l'appartement avenue Foch est toujours disponible ?"));
        assert!(!q("We want to buy the house."));
        assert_eq!(property_type(&t("What are your office hours?")), None);
        assert_eq!(property_type(&t("our flat, then a house")), None);
        assert_eq!(intent(&t("we are cash buyers")), Some("buy"));
    }
}
