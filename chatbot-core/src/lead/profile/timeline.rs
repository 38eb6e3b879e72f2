//! When the visitor wants it: "asap", "within 3 months", "next spring", "next year", "end of
//! the year", a month ("from September", "ab Oktober"), normalised to short English; a day with
//! its month keeps the visitor's words ("per 1 maart"). Dates of an order are not timelines:
//! the caller skips sentences about an order.

use std::sync::LazyLock;

use regex::{Captures, Regex};

use crate::text::built_in_regex;

/// A count written as digits or a word (en, de, nl, fr, es; "a week" counts as one).
pub(super) fn count(word: &str) -> Option<u32> {
    let w = word.to_lowercase();
    if let Ok(n) = w.parse::<u32>() {
        return Some(n);
    }
    if crate::text::ONE_WORDS.contains(&w.as_str()) || w == "a" || w == "an" {
        return Some(1);
    }
    crate::text::number_word(&w)
}

fn unit(word: &str) -> Option<&'static str> {
    let w = word.to_lowercase();
    Some(match w.as_str() {
        "day" | "days" | "dag" | "dagen" | "tag" | "tage" | "tagen" | "jour" | "jours" => "days",
        "week" | "weeks" | "weken" | "woche" | "wochen" | "semaine" | "semaines" => "weeks",
        "month" | "months" | "maand" | "maanden" | "monat" | "monate" | "monaten" | "mois" => "months",
        "year" | "years" | "jaar" | "jaren" | "jahr" | "jahre" | "jahren" | "an" | "ans" | "année"
        | "années" => "years",
        _ => return None,
    })
}

fn season(word: &str) -> Option<&'static str> {
    let w = word.to_lowercase();
    Some(match w.as_str() {
        "spring" | "voorjaar" | "lente" | "frühjahr" | "frühling" | "printemps" => "spring",
        "summer" | "zomer" | "sommer" | "été" => "summer",
        "autumn" | "fall" | "najaar" | "herfst" | "herbst" | "automne" => "autumn",
        "winter" | "hiver" => "winter",
        _ => return None,
    })
}

fn period(word: &str) -> Option<&'static str> {
    let w = word.to_lowercase();
    Some(match w.as_str() {
        "month" | "maand" | "monat" | "mois" => "month",
        "year" | "jaar" | "jahr" | "année" | "an" => "year",
        "quarter" | "kwartaal" | "quartal" | "trimestre" => "quarter",
        "week" | "woche" | "semaine" => "week",
        _ => return None,
    })
}

fn month_en(word: &str) -> Option<&'static str> {
    const M: [(&str, &[&str]); 12] = [
        ("January", &["january", "januari", "januar", "jänner", "janvier"]),
        ("February", &["february", "februari", "februar", "février"]),
        ("March", &["march", "maart", "märz", "mars"]),
        ("April", &["april", "avril"]),
        ("May", &["may", "mei", "mai"]),
        ("June", &["june", "juni", "juin"]),
        ("July", &["july", "juli", "juillet"]),
        ("August", &["august", "augustus", "août"]),
        ("September", &["september", "septembre"]),
        ("October", &["october", "oktober", "octobre"]),
        ("November", &["november", "novembre"]),
        ("December", &["december", "dezember", "décembre"]),
    ];
    let w = word.to_lowercase();
    M.iter().find(|(_, names)| names.contains(&w.as_str())).map(|(en, _)| *en)
}

const NEXT: &str =
    r"next|coming|volgend|volgende|komend|komende|nächste|nächsten|nächstes|kommende|kommenden|kommendes";
const THIS: &str = r"this|dit|deze|dieses|diesen|diese|cette|cet|ce";
const SEASONS: &str = r"spring|summer|autumn|fall|winter|voorjaar|lente|zomer|najaar|herfst|frühjahr|frühling|sommer|herbst|printemps|été|automne|hiver";
const MONTH_NAMES: &str = r"january|february|march|april|may|june|july|august|september|october|november|december|januari|februari|maart|mei|juni|juli|augustus|oktober|januar|februar|märz|mai|dezember|jänner|janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre";
const UNITS: &str = r"days?|weeks?|months?|years?|dag|dagen|week|weken|maand|maanden|jaar|tag|tagen|wochen?|monat|monaten|jahr|jahren|jours?|semaines?|mois|ans?|années?";

type Normalise = fn(&Captures) -> Option<String>;

static RULES: LazyLock<Vec<(Regex, Normalise)>> = LazyLock::new(|| {
    // a count: digits, "a"/"an" or a number word (the table in `text`)
    let number = format!(r"\d{{1,2}}|a|an|{}", crate::text::number_words_pattern());
    let rules: Vec<(String, Normalise)> = vec![
        (
            r"(?i)(?:^|\W)(asap|a\.s\.a\.p|as soon as possible|zo snel mogelijk|zo spoedig mogelijk|z\.s\.m|zsm|so schnell wie möglich|schnellstmöglich|baldmöglichst|so bald wie möglich|möglichst bald|dès que possible|au plus vite|le plus (?:vite|rapidement|tôt) possible|au plus tôt|per direct|per omgaand|ab sofort|sofort|umgehend|immediately|right away|tout de suite|immédiatement)(?:\W|$)".into(),
            |_| Some("asap".into()),
        ),
        (
            format!(r"(?i)\b(?:within(?: the next)?|in the next|binnen(?: nu en)?|innerhalb(?: von| der nächsten)?|in den nächsten|d['’]ici|dans les(?: prochains)?|in|over|dans|sous)\s+({number})\s+(half\s+)?({UNITS})\b"),
            |c| {
                let n = count(c.get(1)?.as_str())?;
                let u = unit(c.get(3)?.as_str())?;
                (1..=60).contains(&n).then_some(())?;
                if c.get(2).is_some() {
                    // "een half jaar": half a year.
                    return (u == "years").then(|| format!("within {} months", n * 6));
                }
                let u = if n == 1 { u.trim_end_matches('s') } else { u };
                Some(format!("within {n} {u}"))
            },
        ),
        (
            r"(?i)\b(?:within|binnen|innerhalb(?: von)?|d['’]ici|in)\s+(?:a|een|einem|un)\s+(?:half\s+(?:a\s+)?year|half jaar|halben jahr|demi-année|halbjahr)\b|\bwithin six months\b".into(),
            |_| Some("within 6 months".into()),
        ),
        (
            format!(r"(?i)\b(?:({NEXT})\s+({SEASONS})|(?:({THIS})|in the|in|im|au|en|l['’]|le|het|de|by|by the|early|late|begin|eind|anfang|ende|vroeg in het|in het|in de|ab|vanaf|from|starting|à partir du|dès le|zum|bis zum|tegen|voor|vor dem|avant le|before)\s*({SEASONS})(?:\s+(prochain|prochaine))?|(?:l['’]|le\s+)?({SEASONS})\s+(prochain|prochaine))\b"),
            |c| {
                let (word, next, this) = if let Some(s) = c.get(2) {
                    (s.as_str(), true, false)
                } else if let Some(s) = c.get(4) {
                    (s.as_str(), c.get(5).is_some(), c.get(3).is_some())
                } else {
                    (c.get(6)?.as_str(), true, false)
                };
                let s = season(word)?;
                Some(if next { format!("next {s}") } else if this { format!("this {s}") } else { s.to_string() })
            },
        ),
        (
            format!(r"(?i)\b(?:({NEXT})\s+(month|year|quarter|maand|jaar|kwartaal|monat|jahr|quartal)|(?:le|la|l['’])?\s*(mois|année|an|trimestre)\s+(?:prochain|prochaine))\b"),
            |c| {
                let p = period(c.get(2).or(c.get(3))?.as_str())?;
                Some(format!("next {p}"))
            },
        ),
        (
            r"(?i)\b(?:in the new year|in het nieuwe jaar|im neuen jahr|au nouvel an|après le nouvel an|after new year)\b".into(),
            |_| Some("new year".into()),
        ),
        (
            r"(?i)\b(?:this year|dit jaar|dieses jahr|cette année|this month|deze maand|diesen monat|ce mois-ci)\b".into(),
            |c| {
                let m = c.get(0)?.as_str().to_lowercase();
                Some(if ["this month", "deze maand", "diesen monat", "ce mois-ci"].contains(&m.as_str()) {
                    "this month".into()
                } else {
                    "this year".into()
                })
            },
        ),
        (
            r"(?i)\b(?:end of (?:the |this )?(year|summer|month|spring|autumn|winter)|eind(?:e)? (?:van )?(?:dit|het|deze|de) (jaar|zomer|maand)|ende (?:des|dieses|diesen) (jahres|sommers|monats)|(jahresende)|fin (?:de l['’]|d['’]|de la |du |de cette )(année|an|été|mois))\b".into(),
            |c| {
                let w = (1..=5).find_map(|k| c.get(k))?.as_str().to_lowercase();
                let p = match w.as_str() {
                    "year" | "jaar" | "jahres" | "jahresende" | "année" | "an" => "year",
                    "summer" | "zomer" | "sommers" | "été" => "summer",
                    "month" | "maand" | "monats" | "mois" => "month",
                    other => season(other)?,
                };
                Some(format!("end of the {p}"))
            },
        ),
        (
            format!(r"(?i)\b(?:starting(?: in| from)?|from|in|by|before|around|early|late|mid|ab|im|anfang|ende|bis|vanaf|per|begin|eind|medio|voor|en|à partir de|dès|début|fin|d['’]ici|zum|spätestens|pour|vers|avant|tegen|uiterlijk|vor|until|till|tot)\s+(?:(\d{{1,2}})\.?\s+)?({MONTH_NAMES})\b"),
            |c| {
                let month = c.get(2)?;
                if let Some(day) = c.get(1) {
                    let day: u32 = day.as_str().parse().ok()?;
                    (1..=31).contains(&day).then_some(())?;
                    return Some(format!("{day} {}", month.as_str()));
                }
                month_en(month.as_str()).map(str::to_string)
            },
        ),
    ];
    rules.into_iter().filter_map(|(p, f)| built_in_regex(&p).map(|r| (r, f))).collect()
});

/// The earliest timeline the sentence states.
pub(super) fn timeline(sentence: &str) -> Option<String> {
    RULES
        .iter()
        .filter_map(|(re, f)| re.captures_iter(sentence).find_map(|c| Some((c.get(0)?.start(), f(&c)?))))
        .min_by_key(|(at, _)| *at)
        .map(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile() {
        assert_eq!(RULES.len(), 9);
    }

    #[test]
    fn timelines() {
        let t = |s: &str| timeline(s);
        assert_eq!(t("we can move within 3 months").as_deref(), Some("within 3 months"));
        assert_eq!(t("binnen een half jaar").as_deref(), Some("within 6 months"));
        assert_eq!(t("au printemps prochain").as_deref(), Some("next spring"));
        assert_eq!(t("l'été prochain").as_deref(), Some("next summer"));
        assert_eq!(t("am liebsten im Frühjahr").as_deref(), Some("spring"));
        assert_eq!(t("ab Oktober").as_deref(), Some("October"));
        assert_eq!(t("per 1 maart").as_deref(), Some("1 maart"));
        assert_eq!(t("zo snel mogelijk").as_deref(), Some("asap"));
        assert_eq!(t("we zoeken per direct").as_deref(), Some("asap"));
        assert_eq!(t("ab Frühjahr 2027").as_deref(), Some("spring"));
        assert_eq!(t("by the end of the year").as_deref(), Some("end of the year"));
        assert_eq!(t("démarrage le mois prochain").as_deref(), Some("next month"));
        assert_eq!(t("ab nächsten Monat").as_deref(), Some("next month"));
        assert_eq!(t("innerhalb von 3 Monaten").as_deref(), Some("within 3 months"));
        assert_eq!(t("d'ici 6 mois").as_deref(), Some("within 6 months"));
        assert_eq!(t("ma commande a été envoyée"), None);
        assert_eq!(t("I may come"), None);
        assert_eq!(t("I ordered on 3 May"), None);
    }
}
