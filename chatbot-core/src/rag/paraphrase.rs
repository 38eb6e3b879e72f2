//! A small paraphrase lexicon for comparing customer questions without a dense embedder
//! ([`super::similar`]): words and phrases a visitor and an operator use for the same thing in
//! shops, rentals and services, mapped to one *concept* token, in English, German and Dutch
//! (the languages the product's own texts and lead rules cover).
//!
//! Why a table: the offline path compares stemmed words, and two people rarely pick the same
//! words ("send something back" / "return", "Versand" / "Lieferung", "reach your team" /
//! "contact"). A dense embedder learns this; without one, a short list of the everyday
//! customer-service vocabulary closes much of the gap. It is general on purpose: concepts a
//! shop, a landlord or a service business answers about every day (shipping, prices, returns,
//! payment, booking, opening times...), not words of one company or one evaluation row. It was
//! written from common support wording and checked on the tuning half of
//! `tests/data/curated_paraphrases.jsonl`; the held-out half played no part.
//!
//! Three kinds of entries:
//! - [`WORDS`]: a word (any listed form; also matched by its English stem and, for German and
//!   Dutch text, by its stem in that language) to one or more concepts;
//! - [`PHRASES`]: two or three words in a row ("send back", "how long", "gift card"), looked up
//!   before the single words; their words are then used up;
//! - number words (one to twelve) read as digits, so "two days" and "2 days" meet.
//!
//! A concept token starts with `#`, which no analysed word can (words are runs of letters and
//! digits), so a concept never collides with a real term. `#time` marks a question about a
//! duration or a moment ("how long", "when", "until when", "wie lange", "hoe laat"): the kind of
//! answer asked for, as question classifiers use.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::text::Lang;

/// Phrases of two or three lower-case words, to space-separated concepts (sorted by phrase).
const PHRASES: &[(&str, &str)] = &[
    ("back in stock", "#stock"),
    ("bis wann", "#time"),
    ("bring back", "#return"),
    ("customer care", "#support"),
    ("customer service", "#support"),
    ("customer support", "#support"),
    ("geld terug", "#refund"),
    ("get in touch", "#contact"),
    ("gift card", "#giftcard"),
    ("gift cards", "#giftcard"),
    ("gift certificate", "#giftcard"),
    ("gift voucher", "#giftcard"),
    ("heute abend", "#evening"),
    ("hoe laat", "#time"),
    ("hoe lang", "#time"),
    ("hoeveel dagen", "#time"),
    ("hoeveel tijd", "#time"),
    ("how fast", "#time"),
    ("how long", "#time"),
    ("how many days", "#time"),
    ("how many hours", "#time"),
    ("how many minutes", "#time"),
    ("how many months", "#time"),
    ("how many weeks", "#time"),
    ("how many years", "#time"),
    ("how much time", "#time"),
    ("how quickly", "#time"),
    ("how soon", "#time"),
    ("in stock", "#stock"),
    ("money back", "#refund"),
    ("opening hours", "#open #time"),
    ("opening times", "#open #time"),
    ("send back", "#return"),
    ("sending back", "#return"),
    ("sent back", "#return"),
    ("take back", "#return"),
    ("until when", "#time"),
    ("what time", "#time"),
    ("wie lange", "#time"),
];

/// Phrase starts that are the price question unless a time word follows ("how much does it
/// cost" is a price, "how much time" a duration, caught by [`PHRASES`] first).
const PRICE_QUESTIONS: &[&str] = &["how much", "hoeveel", "wie viel", "wieviel"];

/// Single words (lower case) to space-separated concepts (sorted by word).
const WORDS: &[(&str, &str)] = &[
    ("aankoop", "#buy"),
    ("abend", "#evening"),
    ("abends", "#evening"),
    ("afspraak", "#book"),
    ("alter", "#change"),
    ("amend", "#change"),
    ("annuleren", "#cancel"),
    ("annulering", "#cancel"),
    ("anrufen", "#phone"),
    ("appointment", "#book"),
    ("appointments", "#book"),
    ("arrival", "#ship"),
    ("arrive", "#ship"),
    ("arrives", "#ship"),
    ("article", "#product"),
    ("articles", "#product"),
    ("artikel", "#product"),
    ("artikelen", "#product"),
    ("auftrag", "#order"),
    ("avond", "#evening"),
    ("bellen", "#phone"),
    ("bereikbaar", "#contact"),
    ("bereiken", "#contact"),
    ("besteld", "#order"),
    ("bestellen", "#order"),
    ("bestelling", "#order"),
    ("bestellingen", "#order"),
    ("bestellt", "#order"),
    ("bestellung", "#order"),
    ("betaald", "#pay"),
    ("betaalmethode", "#pay #option"),
    ("betaalmethodes", "#pay #option"),
    ("betalen", "#pay"),
    ("betaling", "#pay"),
    ("bezahlen", "#pay"),
    ("bezahlung", "#pay"),
    ("bezorgd", "#ship"),
    ("bezorgen", "#ship"),
    ("bezorging", "#ship"),
    ("bicycle", "#bike"),
    ("bicycles", "#bike"),
    ("bike", "#bike"),
    ("bikes", "#bike"),
    ("bill", "#invoice"),
    ("billing", "#invoice"),
    ("bills", "#invoice"),
    ("book", "#book"),
    ("booking", "#book"),
    ("bookings", "#book"),
    ("bought", "#buy"),
    ("buchen", "#book"),
    ("buchung", "#book"),
    ("buy", "#buy"),
    ("buying", "#buy"),
    ("cadeau", "#gift"),
    ("cadeaubon", "#giftcard"),
    ("cadeaukaart", "#giftcard"),
    ("call", "#phone"),
    ("cancel", "#cancel"),
    ("canceled", "#cancel"),
    ("cancellation", "#cancel"),
    ("cancelled", "#cancel"),
    ("carrier", "#ship"),
    ("cat", "#pet"),
    ("cats", "#pet"),
    ("celebration", "#event"),
    ("change", "#change"),
    ("changed", "#change"),
    ("charge", "#price"),
    ("charged", "#price"),
    ("charges", "#price"),
    ("contact", "#contact"),
    ("cost", "#price"),
    ("costs", "#price"),
    ("coupon", "#discount"),
    ("coupons", "#discount"),
    ("courier", "#ship"),
    ("deliver", "#ship"),
    ("delivered", "#ship"),
    ("deliveries", "#ship"),
    ("delivery", "#ship"),
    ("discount", "#discount"),
    ("discounts", "#discount"),
    ("dispatch", "#ship"),
    ("dispatched", "#ship"),
    ("dog", "#pet"),
    ("dogs", "#pet"),
    ("edit", "#change"),
    ("erreichbar", "#contact"),
    ("erreichen", "#contact"),
    ("estimate", "#price"),
    ("evenement", "#event"),
    ("evening", "#evening"),
    ("evenings", "#evening"),
    ("event", "#event"),
    ("events", "#event"),
    ("exchange", "#exchange"),
    ("facturen", "#invoice"),
    ("factuur", "#invoice"),
    ("fee", "#price"),
    ("fees", "#price"),
    ("feest", "#event"),
    ("feier", "#event"),
    ("fix", "#repair"),
    ("gebühr", "#price"),
    ("gebühren", "#price"),
    ("gekauft", "#buy"),
    ("gekocht", "#buy"),
    ("geleverd", "#ship"),
    ("geliefert", "#ship"),
    ("geopend", "#open"),
    ("geschenk", "#gift"),
    ("geschenke", "#gift"),
    ("geöffnet", "#open"),
    ("gift", "#gift"),
    ("giftcard", "#giftcard"),
    ("gifts", "#gift"),
    ("gutschein", "#giftcard"),
    ("gutscheine", "#giftcard"),
    ("helpdesk", "#support"),
    ("huisdier", "#pet"),
    ("huisdieren", "#pet"),
    ("hund", "#pet"),
    ("hunde", "#pet"),
    ("huren", "#rent"),
    ("huur", "#rent"),
    ("invoice", "#invoice"),
    ("invoices", "#invoice"),
    ("item", "#product"),
    ("items", "#product"),
    ("kauf", "#buy"),
    ("kaufen", "#buy"),
    ("klantenservice", "#support"),
    ("kontakt", "#contact"),
    ("kontaktieren", "#contact"),
    ("kopen", "#buy"),
    ("korting", "#discount"),
    ("kortingscode", "#discount"),
    ("kost", "#price"),
    ("kosten", "#price"),
    ("kostet", "#price"),
    ("kundendienst", "#support"),
    ("kundenservice", "#support"),
    ("lease", "#rent"),
    ("leases", "#rent"),
    ("leveren", "#ship"),
    ("levering", "#ship"),
    ("levertijd", "#ship #time"),
    ("liefern", "#ship"),
    ("lieferung", "#ship"),
    ("lieferzeit", "#ship #time"),
    ("manier", "#option"),
    ("manieren", "#option"),
    ("mend", "#repair"),
    ("method", "#option"),
    ("methode", "#option"),
    ("methodes", "#option"),
    ("methods", "#option"),
    ("miete", "#rent"),
    ("mieten", "#rent"),
    ("modify", "#change"),
    ("mogelijkheden", "#option"),
    ("möglichkeit", "#option"),
    ("möglichkeiten", "#option"),
    ("offen", "#open"),
    ("ohne", "#without"),
    ("open", "#open"),
    ("opening", "#open"),
    ("openingstijden", "#open #time"),
    ("openingsuren", "#open #time"),
    ("option", "#option"),
    ("options", "#option"),
    ("opzeggen", "#cancel"),
    ("order", "#order"),
    ("ordered", "#order"),
    ("ordering", "#order"),
    ("orders", "#order"),
    ("package", "#parcel"),
    ("packages", "#parcel"),
    ("paid", "#pay"),
    ("paket", "#parcel"),
    ("pakete", "#parcel"),
    ("pakket", "#parcel"),
    ("pakketje", "#parcel"),
    ("pakketten", "#parcel"),
    ("parcel", "#parcel"),
    ("parcels", "#parcel"),
    ("parties", "#event"),
    ("party", "#event"),
    ("password", "#password"),
    ("passwort", "#password"),
    ("pay", "#pay"),
    ("paying", "#pay"),
    ("payment", "#pay"),
    ("payments", "#pay"),
    ("pet", "#pet"),
    ("pets", "#pet"),
    ("phone", "#phone"),
    ("preis", "#price"),
    ("preise", "#price"),
    ("present", "#gift"),
    ("presents", "#gift"),
    ("price", "#price"),
    ("prices", "#price"),
    ("pricing", "#price"),
    ("prijs", "#price"),
    ("prijzen", "#price"),
    ("product", "#product"),
    ("producten", "#product"),
    ("products", "#product"),
    ("produkt", "#product"),
    ("produkte", "#product"),
    ("promo", "#discount"),
    ("purchase", "#buy"),
    ("purchased", "#buy"),
    ("purchases", "#buy"),
    ("quotation", "#price"),
    ("quote", "#price"),
    ("rabatt", "#discount"),
    ("reach", "#contact"),
    ("rechnung", "#invoice"),
    ("rechnungen", "#invoice"),
    ("refund", "#refund"),
    ("refunded", "#refund"),
    ("refunds", "#refund"),
    ("reimburse", "#refund"),
    ("rent", "#rent"),
    ("rental", "#rent"),
    ("rentals", "#rent"),
    ("rented", "#rent"),
    ("renting", "#rent"),
    ("repair", "#repair"),
    ("repairs", "#repair"),
    ("reparatie", "#repair"),
    ("reparatur", "#repair"),
    ("repareren", "#repair"),
    ("reparieren", "#repair"),
    ("reservation", "#book"),
    ("reservations", "#book"),
    ("reserve", "#book"),
    ("reserveren", "#book"),
    ("reservering", "#book"),
    ("reservieren", "#book"),
    ("reservierung", "#book"),
    ("restock", "#stock"),
    ("retour", "#return"),
    ("retoure", "#return"),
    ("retourneren", "#return"),
    ("return", "#return"),
    ("returned", "#return"),
    ("returning", "#return"),
    ("returns", "#return"),
    ("ruilen", "#exchange"),
    ("rücksendung", "#return"),
    ("schedule", "#book"),
    ("settle", "#pay"),
    ("ship", "#ship"),
    ("shipment", "#ship"),
    ("shipped", "#ship"),
    ("shipping", "#ship"),
    ("stock", "#stock"),
    ("stornieren", "#cancel"),
    ("stornierung", "#cancel"),
    ("storno", "#cancel"),
    ("swap", "#exchange"),
    ("telefon", "#phone"),
    ("telefonisch", "#phone"),
    ("telefoon", "#phone"),
    ("telephone", "#phone"),
    ("termin", "#book"),
    ("terugbetaling", "#refund"),
    ("terugsturen", "#return"),
    ("tonight", "#evening"),
    ("umtausch", "#exchange"),
    ("umtauschen", "#exchange"),
    ("update", "#change"),
    ("vanavond", "#evening"),
    ("veranstaltung", "#event"),
    ("versand", "#ship"),
    ("versandkosten", "#ship #price"),
    ("verschicken", "#ship"),
    ("versenden", "#ship"),
    ("versturen", "#ship"),
    ("verzenden", "#ship"),
    ("verzending", "#ship"),
    ("verzendkosten", "#ship #price"),
    ("voorraad", "#stock"),
    ("voucher", "#giftcard"),
    ("vouchers", "#giftcard"),
    ("wann", "#time"),
    ("wanneer", "#time"),
    ("way", "#option"),
    ("ways", "#option"),
    ("when", "#time"),
    ("wijzigen", "#change"),
    ("wijziging", "#change"),
    ("without", "#without"),
    ("zahlen", "#pay"),
    ("zahlung", "#pay"),
    ("zonder", "#without"),
    ("zurücksenden", "#return"),
    ("ändern", "#change"),
    ("änderung", "#change"),
    ("öffnungszeiten", "#open #time"),
];

/// Words that say how a question is asked, not what about ("is it possible", "what is the
/// procedure", "how does that work", "are pets allowed": the permission is in "can I" too,
/// which is a stopword): dropped from the comparison, as the chat filler is (sorted).
const FILLER: &[&str] = &[
    "allowed",
    "anyone",
    "anything",
    "erlaubt",
    "etwas",
    "funktioniert",
    "iemand",
    "iets",
    "jemand",
    "mogelijk",
    "möglich",
    "permitted",
    "possibility",
    "possible",
    "procedure",
    "process",
    "someone",
    "something",
    "still",
    "toegestaan",
    "use",
    "werkt",
    "work",
    "works",
];

/// Verbs that mean "return" with a separated "back" ("send the parcel back", "bring it back").
const BACK_VERBS: &[&str] = &["bring", "bringing", "brought", "send", "sending", "sent", "take", "taking"];

/// Number words to digits (English, German, Dutch).
const NUMBERS: &[(&str, &str)] = &[
    ("acht", "8"),
    ("drei", "3"),
    ("drie", "3"),
    ("eight", "8"),
    ("eins", "1"),
    ("eleven", "11"),
    ("five", "5"),
    ("four", "4"),
    ("fünf", "5"),
    ("negen", "9"),
    ("neun", "9"),
    ("nine", "9"),
    ("sechs", "6"),
    ("seven", "7"),
    ("sieben", "7"),
    ("six", "6"),
    ("ten", "10"),
    ("three", "3"),
    ("twaalf", "12"),
    ("twee", "2"),
    ("twelve", "12"),
    ("two", "2"),
    ("vier", "4"),
    ("vijf", "5"),
    ("zehn", "10"),
    ("zes", "6"),
    ("zeven", "7"),
    ("zwei", "2"),
    ("zwölf", "12"),
];

/// The stems of the [`WORDS`] in one language: a form not listed still meets its concept
/// ("cancelling" -> "cancel").
fn stem_map(lang: Lang) -> HashMap<String, &'static str> {
    let mut m = HashMap::new();
    for (w, c) in WORDS {
        m.entry(lang.stem(w)).or_insert(*c);
    }
    m
}

static EN_STEMS: LazyLock<HashMap<String, &'static str>> = LazyLock::new(|| stem_map(Lang::English));
static DE_STEMS: LazyLock<HashMap<String, &'static str>> = LazyLock::new(|| stem_map(Lang::German));
static NL_STEMS: LazyLock<HashMap<String, &'static str>> = LazyLock::new(|| stem_map(Lang::Dutch));

fn lookup(table: &'static [(&'static str, &'static str)], key: &str) -> Option<&'static str> {
    table.binary_search_by(|(w, _)| (*w).cmp(key)).ok().and_then(|i| table.get(i)).map(|(_, c)| *c)
}

/// The concepts of one word (a space-separated list), if the lexicon has it: the listed form,
/// then its English stem, then its stem in `lang` (German or Dutch).
pub(crate) fn word_concepts(word: &str, lang: Option<Lang>) -> Option<&'static str> {
    if let Some(c) = lookup(WORDS, word) {
        return Some(c);
    }
    // Words too short to stem safely ("ten", "cat") are only matched as listed.
    if word.chars().count() < 4 {
        return None;
    }
    if let Some(c) = EN_STEMS.get(&Lang::English.stem(word)) {
        return Some(c);
    }
    match lang {
        Some(Lang::German) => DE_STEMS.get(&Lang::German.stem(word)).copied(),
        Some(Lang::Dutch) => NL_STEMS.get(&Lang::Dutch.stem(word)).copied(),
        _ => None,
    }
}

/// Whether the word is question filler ([`FILLER`]).
pub(crate) fn is_filler(word: &str) -> bool {
    FILLER.binary_search(&word).is_ok()
}

/// Whether `words[i]` is a verb of [`BACK_VERBS`] with "back" among the next three words: the
/// position of that "back".
pub(crate) fn separated_back(words: &[String], i: usize) -> Option<usize> {
    if !BACK_VERBS.contains(&words.get(i)?.as_str()) {
        return None;
    }
    (i + 1..(i + 4).min(words.len())).find(|&j| words.get(j).is_some_and(|w| w == "back"))
}

/// The digit a number word stands for.
pub(crate) fn number(word: &str) -> Option<&'static str> {
    lookup(NUMBERS, word)
}

/// The phrase starting at `words[i]`: its concepts and how many words it takes.
pub(crate) fn phrase_at(words: &[String], i: usize) -> Option<(&'static str, usize)> {
    for n in [3usize, 2] {
        let Some(slice) = words.get(i..i + n) else { continue };
        let key = slice.join(" ");
        if let Some(c) = lookup(PHRASES, &key) {
            return Some((c, n));
        }
    }
    let two = words.get(i..i + 2).map(|s| s.join(" "));
    if two.as_deref().is_some_and(|t| PRICE_QUESTIONS.contains(&t)) {
        return Some(("#price", 2));
    }
    if words.get(i).is_some_and(|w| PRICE_QUESTIONS.contains(&w.as_str())) {
        return Some(("#price", 1));
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn tables_are_sorted_and_concepts_are_marked() {
        for t in [PHRASES, WORDS, NUMBERS] {
            assert!(t.windows(2).all(|p| p[0].0 < p[1].0), "not sorted near {:?}", t.first());
        }
        assert!(FILLER.windows(2).all(|p| p[0] < p[1]), "FILLER not sorted");
        assert!(is_filler("possible") && !is_filler("parcel"));
        assert_eq!(separated_back(&w("sending a product back"), 0), Some(3));
        assert_eq!(separated_back(&w("send it to me and back"), 0), None);
        for (_, c) in PHRASES.iter().chain(WORDS) {
            assert!(c.split(' ').all(|c| c.starts_with('#') && c.len() > 1), "{c}");
        }
    }

    #[test]
    fn words_meet_their_concept_in_any_listed_form_or_stem() {
        assert_eq!(word_concepts("delivery", None), Some("#ship"));
        assert_eq!(word_concepts("cancelling", None), Some("#cancel"));
        assert_eq!(word_concepts("versandkosten", Some(Lang::German)), Some("#ship #price"));
        assert_eq!(word_concepts("window", None), None);
        assert_eq!(number("zwei"), Some("2"));
        assert_eq!(number("a"), None);
    }

    #[test]
    fn phrases_come_before_words_and_how_much_is_a_price_unless_time_follows() {
        assert_eq!(phrase_at(&w("send it back"), 0), None);
        assert_eq!(phrase_at(&w("can i send back"), 2), Some(("#return", 2)));
        assert_eq!(phrase_at(&w("how much time"), 0), Some(("#time", 3)));
        assert_eq!(phrase_at(&w("how much does it cost"), 0), Some(("#price", 2)));
        assert_eq!(phrase_at(&w("hoeveel dagen"), 0), Some(("#time", 2)));
        assert_eq!(phrase_at(&w("hoeveel kost"), 0), Some(("#price", 1)));
        assert_eq!(phrase_at(&w("how"), 0), None);
    }
}
