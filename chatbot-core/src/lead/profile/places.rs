//! Where the visitor wants to live: the place name after "in", "near", "around", "bij",
//! "in de buurt van", "in der Nähe von", "im Raum", "à", "près de" ... kept as they spelled it.
//! Only capitalised names count (a lower-case word after "in" is too often something else).

use std::sync::LazyLock;

use regex::Regex;

use super::amounts::MONTHS;
use crate::text::built_in_regex;

/// A marker (any case) followed by a capitalised name of up to four parts ("Den Bosch",
/// "Amsterdam Centraal", "Hamburg-Altona", "Frankfurt am Main", "Bergen op Zoom").
static PLACE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(concat!(
        r"(?:^|[^\p{L}\p{N}])(?:(?i:in de buurt van|in de omgeving van|in de regio|in der nähe von|in der umgebung von|",
        r"in the area of|in the region of|close to|nearby|near|around|omgeving|regio|rondom|rond|nabij|bij|",
        r"im raum|raum|umgebung|rund um|nahe|bei|près de|pres de|autour de|aux alentours de|du côté de|",
        r"dans la région de|in|à|en|sur|te)\s+|(?i:près d|pres d|autour d|proche d|aux environs d)['’]\s*)",
        r"(\p{Lu}[\p{L}'’]*(?:(?:-|\s)(?:(?:am|an|der|den|de|op|aan|sur|upon|on|la|le|les|en|im|bei|van|di|del)(?:-|\s))?\p{Lu}[\p{L}'’]*){0,3})",
    ))
});

/// Capitalised words after a marker that are not places: months, days, currencies, pronouns,
/// German nouns that follow "in" ("in Ruhe", "in Kürze"), sentence words.
const NOT_PLACES: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "maandag",
    "dinsdag",
    "woensdag",
    "donderdag",
    "vrijdag",
    "zaterdag",
    "zondag",
    "montag",
    "dienstag",
    "mittwoch",
    "donnerstag",
    "freitag",
    "samstag",
    "sonntag",
    "eur",
    "euro",
    "euros",
    "usd",
    "gbp",
    "chf",
    "i",
    "we",
    "my",
    "our",
    "the",
    "a",
    "an",
    "it",
    "this",
    "that",
    "ruhe",
    "kürze",
    "zukunft",
    "ordnung",
    "bar",
    "raten",
    "cash",
    "bezug",
    "frage",
    "höhe",
    "summe",
    "miete",
    "kauf",
    "etwa",
    "ca",
    "spring",
    "summer",
    "autumn",
    "winter",
    "fall",
    "frühjahr",
    "frühling",
    "sommer",
    "herbst",
    "ik",
    "wij",
    "je",
    "nous",
    "ich",
    "wir",
    "sie",
    "ihr",
    "ihre",
    "ihren",
    "ihrem",
    "uw",
    "mijn",
    "mon",
    "ma",
    "notre",
    "meine",
    "unsere",
    "unser",
    "mein",
    "hallo",
    "hello",
    "hi",
    "bonjour",
    "danke",
    "thanks",
    "merci",
    "bedankt",
    "ok",
    "okay",
    "asap",
    "ja",
    "yes",
    "oui",
    "nee",
    "no",
    "nein",
    "non",
    "tv",
    "it",
    "seo",
    "ai",
];

/// The first place name the sentence states.
pub(super) fn location(sentence: &str) -> Option<String> {
    let re = PLACE.as_ref()?;
    re.captures_iter(sentence).filter_map(|c| c.get(1)).map(|m| m.as_str()).find_map(|name| {
        let first = name.split([' ', '-']).next().unwrap_or(name).to_lowercase();
        let bad = NOT_PLACES.contains(&first.as_str()) || MONTHS.contains(&first.as_str());
        // An all-capitals word is an acronym more often than a place ("IT", "SEO", "CRM").
        let acronym = name.chars().count() <= 4 && name.chars().all(|c| !c.is_lowercase());
        (!bad && !acronym).then(|| name.trim_end_matches(['\'', '’']).to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_compiles() {
        assert!(PLACE.is_some());
    }

    #[test]
    fn places_as_written() {
        assert_eq!(location("a house in Utrecht, budget 400k").as_deref(), Some("Utrecht"));
        assert_eq!(location("in de buurt van Den Bosch").as_deref(), Some("Den Bosch"));
        assert_eq!(location("in der Nähe von Frankfurt am Main").as_deref(), Some("Frankfurt am Main"));
        assert_eq!(location("Wohnung in Hamburg-Altona mieten").as_deref(), Some("Hamburg-Altona"));
        assert_eq!(location("un studio à Paris").as_deref(), Some("Paris"));
        assert_eq!(location("une maison près d'Annecy").as_deref(), Some("Annecy"));
        assert_eq!(location("near Amsterdam Centraal, max").as_deref(), Some("Amsterdam Centraal"));
        assert_eq!(location("moving in June"), None);
        assert_eq!(location("in der Goethestraße"), None);
        assert_eq!(location("in utrecht"), None);
        assert_eq!(location("In Kürze"), None);
    }
}
