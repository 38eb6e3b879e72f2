//! Everyday equivalents an answer may use for a passage's word ("shut" for "closed", "parcel"
//! for "package"): a claim term counts as covered when a word of its group is in the window.
//! Kept to plain equivalents (no antonyms, no wider or narrower words), in the languages the
//! passages of this product are mostly in.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::text::Lang;

/// Groups of words with the same meaning in customer service and documentation text.
const GROUPS: &[(Lang, &[&str])] = &[
    (Lang::English, &["shut", "closed"]),
    (Lang::English, &["follow", "track", "trace"]),
    (Lang::English, &["parcel", "package", "shipment"]),
    (Lang::English, &["buyer", "customer", "client", "shopper"]),
    (Lang::English, &["begin", "start", "commence"]),
    (Lang::English, &["finish", "end"]),
    (Lang::English, &["buy", "purchase"]),
    (Lang::English, &["cost", "price", "charge", "fee"]),
    (Lang::English, &["get", "receive", "obtain"]),
    (Lang::English, &["give", "provide", "offer", "supply"]),
    (Lang::English, &["need", "require", "requirement"]),
    (Lang::English, &["make", "create", "produce"]),
    (Lang::English, &["show", "display"]),
    (Lang::English, &["pick", "choose", "select", "choice", "option"]),
    (Lang::English, &["allow", "permit", "enable"]),
    (Lang::English, &["fast", "quick", "rapid"]),
    (Lang::English, &["big", "large"]),
    (Lang::English, &["small", "little"]),
    (Lang::English, &["shop", "store"]),
    (Lang::English, &["item", "product", "article"]),
    (Lang::English, &["refund", "reimburse", "reimbursement"]),
    (Lang::English, &["deliver", "delivery", "ship", "shipping"]),
    (Lang::English, &["answer", "reply", "respond", "response"]),
    (Lang::English, &["phone", "call", "telephone"]),
    (Lang::English, &["email", "mail"]),
    (Lang::English, &["change", "modify", "alter", "amend", "edit"]),
    (Lang::English, &["remove", "delete"]),
    (Lang::English, &["damaged", "broken"]),
    (Lang::English, &["right", "correct"]),
    (Lang::English, &["usually", "typically", "normally", "likely", "probably"]),
    (Lang::English, &["exchange", "swap"]),
    (Lang::English, &["use", "utilise", "utilize", "employ"]),
    (Lang::English, &["keep", "retain", "maintain"]),
    (Lang::English, &["whole", "entire", "full"]),
    (Lang::English, &["slow", "sluggish"]),
    (Lang::English, &["send", "sent", "mail"]),
    (Lang::English, &["implement", "written"]),
    (Lang::German, &["geschlossen", "zu", "dicht"]),
    (Lang::German, &["geöffnet", "offen", "öffnen"]),
    (Lang::German, &["kaufen", "erwerben"]),
    (Lang::German, &["kostenlos", "gratis", "umsonst"]),
    (Lang::German, &["schicken", "senden", "versenden"]),
    (Lang::German, &["paket", "sendung"]),
    (Lang::German, &["kunde", "käufer"]),
    (Lang::German, &["ruhetag", "geschlossen"]),
    (Lang::Dutch, &["gesloten", "dicht"]),
    (Lang::Dutch, &["open", "geopend"]),
    (Lang::Dutch, &["gratis", "kosteloos"]),
    (Lang::Dutch, &["pakket", "zending"]),
    (Lang::Dutch, &["klant", "koper"]),
    (Lang::Dutch, &["sturen", "verzenden", "versturen", "opsturen"]),
    (Lang::Dutch, &["winkel", "zaak"]),
];

/// (language, stem) -> the groups the stem is in.
static GROUP_OF: LazyLock<HashMap<(Lang, String), Vec<u16>>> = LazyLock::new(|| {
    let mut map: HashMap<(Lang, String), Vec<u16>> = HashMap::new();
    for (i, (lang, words)) in GROUPS.iter().enumerate() {
        for w in *words {
            let groups = map.entry((*lang, lang.stem(w))).or_default();
            let i = u16::try_from(i).unwrap_or(u16::MAX);
            if !groups.contains(&i) {
                groups.push(i);
            }
        }
    }
    map
});

/// The synonym groups of a stem in `lang` (none for most words).
pub(super) fn groups(lang: Lang, stem: &str) -> &'static [u16] {
    GROUP_OF.get(&(lang, stem.to_string())).map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_forms_meet_in_their_group() {
        let g = |w: &str| groups(Lang::English, &Lang::English.stem(w)).to_vec();
        assert!(!g("shut").is_empty());
        assert_eq!(g("shut"), g("closed"));
        assert_eq!(g("parcels"), g("packages"));
        assert!(g("teapot").is_empty());
        assert!(groups(Lang::German, &Lang::German.stem("geschlossen")).len() >= 2);
    }
}
