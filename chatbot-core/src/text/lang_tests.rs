//! Languages, stemming, stopwords and the lexical analysis.

use proptest::prelude::*;

use super::analyze::{analyse, index_tokens, query_tokens};
use super::lang::{Lang, detect};
use super::{is_stopword, stem};

#[test]
fn snowball_stems_as_the_reference_does() {
    // Pairs from Snowball's published sample vocabularies (word -> stem).
    let cases: &[(Lang, &str, &str)] = &[
        (Lang::English, "consignment", "consign"),
        (Lang::English, "knightly", "knight"),
        (Lang::English, "generously", "generous"),
        (Lang::German, "aufeinanderfolgenden", "aufeinanderfolg"),
        (Lang::German, "kategorien", "kategori"),
        (Lang::German, "lieferungen", "liefer"),
        (Lang::French, "continuellement", "continuel"),
        (Lang::French, "continuité", "continu"),
        (Lang::Spanish, "chiquito", "chiquit"),
        (Lang::Spanish, "envíos", "envi"),
        (Lang::Dutch, "lichamelijk", "licham"),
        (Lang::Dutch, "opgaven", "opgav"),
        (Lang::Italian, "abbandonata", "abbandon"),
        (Lang::Portuguese, "quilométricas", "quilométr"),
    ];
    for &(lang, word, want) in cases {
        assert_eq!(lang.stem(word), want, "{lang:?} {word}");
    }
}

#[test]
fn word_forms_meet_at_one_stem_per_language() {
    let groups: &[(Lang, &[&str])] = &[
        (Lang::English, &["connection", "connections", "connected", "connecting"]),
        (Lang::English, &["library", "libraries"]),
        (Lang::English, &["delivery", "deliveries"]),
        (Lang::German, &["bestellung", "bestellungen"]),
        (Lang::French, &["livraison", "livraisons"]),
        (Lang::Spanish, &["devolución", "devoluciones"]),
        (Lang::Dutch, &["bestelling", "bestellingen"]),
        (Lang::Dutch, &["openingstijd", "openingstijden"]),
    ];
    for (lang, words) in groups {
        let first = lang.stem(words[0]);
        for w in *words {
            assert_eq!(lang.stem(w), first, "{lang:?}: {w} vs {}", words[0]);
        }
    }
    // The answerer's light stemmer meets Snowball on common shop words.
    for w in ["shipping", "opening", "returns", "hours"] {
        assert_eq!(stem(w), Lang::English.stem(w), "{w}");
    }
}

#[test]
fn stopwords_are_per_language() {
    for (lang, stop, content) in [
        (Lang::English, "the", "shipping"),
        (Lang::German, "und", "versand"),
        (Lang::French, "les", "livraison"),
        (Lang::Spanish, "los", "envío"),
        (Lang::Dutch, "het", "verzending"),
        (Lang::Italian, "della", "spedizione"),
        (Lang::Portuguese, "não", "entrega"),
    ] {
        assert!(lang.is_stopword(stop), "{lang:?} {stop}");
        assert!(!lang.is_stopword(content), "{lang:?} {content}");
    }
    assert!(!Lang::English.is_stopword("und"));
    // English's list is the project's own.
    assert!(is_stopword("would") && Lang::English.is_stopword("would"));
    let de = analyse("Die Lieferung und der Versand", Lang::German);
    assert_eq!(de, ["liefer", "versand"]);
}

#[test]
fn every_language_has_a_stemmer_and_stopwords() {
    for lang in Lang::ALL {
        assert_eq!(Lang::from_code(lang.code()), Some(lang));
        let n = Lang::ALL.iter().filter(|l| l.code() == lang.code()).count();
        assert_eq!(n, 1, "{lang:?}");
        // Every NLTK list has "a few dozen" words at least; none is empty.
        let n = lang.stopword_count();
        assert!(n >= 20, "{lang:?} has {n} stopwords");
    }
}

#[test]
fn languages_are_detected_on_real_sentences_and_not_on_scraps() {
    let cases = [
        ("Our store in Amsterdam is open Monday to Friday from nine to six.", Lang::English),
        ("Unser Geschäft in Amsterdam ist von Montag bis Freitag geöffnet.", Lang::German),
        ("Notre magasin à Amsterdam est ouvert du lundi au vendredi.", Lang::French),
        ("Nuestra tienda en Ámsterdam abre de lunes a viernes.", Lang::Spanish),
        ("Onze winkel in Amsterdam is open van maandag tot en met vrijdag.", Lang::Dutch),
        ("Il nostro negozio ad Amsterdam è aperto dal lunedì al venerdì.", Lang::Italian),
        ("A nossa loja em Amesterdão está aberta de segunda a sexta-feira.", Lang::Portuguese),
    ];
    for (text, lang) in cases {
        assert_eq!(detect(text), Some(lang), "{text}");
    }
    for scrap in ["", "ok", "hi there", "123 456 789 000", "€€€ !!!"] {
        assert_eq!(detect(scrap), None, "{scrap:?}");
    }
}

#[test]
fn chunks_are_analysed_in_their_language() {
    let de = index_tokens("Die Lieferungen nach Deutschland dauern drei bis fünf Werktage.");
    assert!(de.contains(&"liefer".to_string()), "{de:?}");
    assert!(!de.iter().any(|t| t == "die" || t == "nach"), "German stopwords dropped: {de:?}");
    let en = index_tokens("Deliveries to Germany take three to five working days.");
    assert!(en.contains(&"deliveri".to_string()) && !en.contains(&"to".to_string()), "{en:?}");
    // Too short to detect: English.
    assert_eq!(index_tokens("a delivery"), ["deliveri"]);
}

#[test]
fn queries_are_analysed_in_their_language_and_in_english() {
    let q = query_tokens("Wat zijn jullie openingstijden in Amsterdam?");
    // Dutch: "openingstijd"; English keeps the word as it is; the name in both.
    assert!(q.contains(&"openingstijd".to_string()), "{q:?}");
    assert!(q.contains(&"amsterdam".to_string()), "{q:?}");
    assert!(!q.iter().any(|t| t == "zijn" || t == "wat"), "Dutch stopwords dropped: {q:?}");
    let unique: std::collections::HashSet<&String> = q.iter().collect();
    assert_eq!(unique.len(), q.len(), "each token once: {q:?}");
    // An English query is analysed as English chunks are.
    assert_eq!(query_tokens("shipping to Germany"), index_tokens("shipping to Germany"));
}

#[test]
fn unspaced_scripts_are_indexed_as_bigrams_and_other_scripts_as_words() {
    assert_eq!(index_tokens("東京都"), ["東京", "京都"]);
    assert_eq!(index_tokens("猫"), ["猫"]);
    // A query shares bigrams with the chunk where it shares a word.
    let doc = index_tokens("送料は無料です");
    assert!(query_tokens("送料").iter().all(|t| doc.contains(t)));
    // Latin letters inside a CJK run stay a word of their own.
    assert_eq!(index_tokens("iPhone用ケース"), ["iphon", "用ケ", "ケー", "ース"]);
    // Scripts without a stemmer here are kept as lower-cased words.
    assert_eq!(index_tokens("שלום עולם"), ["שלום", "עולם"]);
    assert!(index_tokens("Доставка по всей России занимает три дня").contains(&"доставк".to_string()));
}

fn arbitrary_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,80}",
        prop::collection::vec(
            prop::sample::select(vec![
                "ẞ",
                "İ",
                "\u{212A}",
                "東京",
                "ケース",
                "e\u{301}",
                "ﬃ",
                "ß",
                "Σ",
                "لعربية",
                "Доставка",
                "'",
                "-",
                " ",
                "the",
                "die",
                "und",
                "lieferungen",
                "envíos",
                "😀",
                "\u{0}",
                "\u{200d}",
            ]),
            0..40
        )
        .prop_map(|v| v.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_text_is_analysed_without_panic(text in arbitrary_text()) {
        let doc = index_tokens(&text);
        let query = query_tokens(&text);
        prop_assert!(doc.iter().chain(&query).all(|t| !t.is_empty()), "{doc:?} {query:?}");
        prop_assert_eq!(index_tokens(&text), doc, "deterministic");
        let _ = detect(&text);
    }

    #[test]
    fn every_stemmer_takes_any_word(word in "\\PC{0,70}") {
        for lang in Lang::ALL {
            let _ = lang.stem(&word);
            let _ = lang.stem(&word.to_lowercase());
            let _ = lang.is_stopword(&word);
        }
    }
}
