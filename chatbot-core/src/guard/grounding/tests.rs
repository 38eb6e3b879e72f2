use super::facts::readings;
use super::*;

const SHIPPING: &str = "We ship to the Netherlands, Belgium, Germany, France and the rest of the European Union. Orders placed before 15:00 on a weekday are shipped the same day. Delivery in the Netherlands takes 1 to 2 business days; elsewhere in the EU 3 to 5 business days. Shipping is free for orders over 50 euros; below that it costs 4.95 euros. We do not ship outside the European Union.";
const CONTACT: &str = "E-mail support@demo-shop.example or call +31 20 123 4567 on weekdays from 9:00 to 17:00. Our store address is Keizersgracht 123, Amsterdam. Docs at https://demo-shop.example/help/returns.";

fn check(answer: &str, passages: &[&str]) -> GroundingReport {
    GroundingCheck::new::<&str, &str>(answer, passages, &[]).report(None)
}

fn verdicts(answer: &str, passages: &[&str]) -> Vec<Verdict> {
    check(answer, passages).sentences.into_iter().map(|s| s.verdict).collect()
}

#[test]
fn numbers_prices_and_times_must_appear_normalised() {
    let ok = [
        "Shipping is free for orders over €50.",
        "Below that, shipping costs EUR 4.95.",
        "Orders placed before 3 pm on a weekday are shipped the same day.",
        "Delivery in the Netherlands takes one to two business days.",
    ];
    for s in ok {
        assert_eq!(verdicts(s, &[SHIPPING]), [Verdict::Supported], "{s}");
    }
    let bad = [
        ("Shipping is free for orders over €40.", "40 EUR"),
        ("Below that, shipping costs 4.95 dollars.", "4.95 USD"),
        ("Orders placed before 5 pm on a weekday are shipped the same day.", "17:00"),
        ("Delivery in the Netherlands takes one to six business days.", "6"),
    ];
    for (s, fact) in bad {
        assert_eq!(verdicts(s, &[SHIPPING]), [Verdict::Unsupported(Reason::MissingFact(fact.into()))], "{s}");
    }
    assert_eq!(readings("1,000"), ["1", "1000"]);
    assert_eq!(readings("1000"), ["1000"]);
    assert_eq!(readings("1.000,50"), ["1000.5"]);
    assert_eq!(readings("4,95"), ["4.95"]);
    assert_eq!(
        verdicts("The limit is 1000 items.", &["The limit is 1,000 items per order."]),
        [Verdict::Supported]
    );
    assert_eq!(
        verdicts("The price is 25 EUR per item.", &["The price is €25 per item."]),
        [Verdict::Supported]
    );
}

#[test]
fn emails_urls_and_phones_must_appear() {
    assert_eq!(verdicts("E-mail support@demo-shop.example on weekdays.", &[CONTACT]), [Verdict::Supported]);
    assert_eq!(
        verdicts("E-mail help@demo-shop.example on weekdays.", &[CONTACT]),
        [Verdict::Unsupported(Reason::MissingFact("help@demo-shop.example".into()))]
    );
    assert_eq!(verdicts("Call 020 123 4567 on weekdays.", &[CONTACT]), [Verdict::Supported]);
    assert!(matches!(
        verdicts("Call +31 20 765 4321 on weekdays.", &[CONTACT])[..],
        [Verdict::Unsupported(Reason::MissingFact(_))]
    ));
    assert_eq!(verdicts("Docs at demo-shop.example/help/returns.", &[CONTACT]), [Verdict::Supported]);
    assert!(matches!(
        verdicts("Docs at https://demo-shop.example/help/refunds.", &[CONTACT])[..],
        [Verdict::Unsupported(Reason::MissingFact(_))]
    ));
}

#[test]
fn sentences_without_a_claim_are_neither() {
    let a = "Hi Jane! We ship to Belgium and Germany. Would you like the tracking link? \
             Let me know if you have other questions. Hope this helps! Sure.";
    let r = check(a, &[SHIPPING]);
    let v: Vec<&Verdict> = r.sentences.iter().map(|s| &s.verdict).collect();
    assert_eq!(
        v,
        [
            &Verdict::NoClaim,
            &Verdict::Supported,
            &Verdict::NoClaim,
            &Verdict::NoClaim,
            &Verdict::NoClaim,
            &Verdict::NoClaim
        ]
    );
    assert_eq!((r.supported, r.unsupported), (1, 0));
    // A courtesy opener or a question with a hard fact is a claim.
    let r = check(
        "Feel free to ask about returns within 60 days. Did you know shipping is free over €70?",
        &[SHIPPING],
    );
    assert_eq!((r.supported, r.unsupported), (0, 2));
}

#[test]
fn invented_names_and_code_identifiers_are_unsupported() {
    assert!(matches!(
        verdicts("We ship with DHL to the Netherlands.", &[SHIPPING])[..],
        [Verdict::Unsupported(Reason::UnknownName(_))]
    ));
    assert_eq!(verdicts("We ship to the rest of the EU.", &[SHIPPING]), [Verdict::Supported]);
    let doc = "json.dumps(obj) serializes obj to a JSON formatted str.";
    assert_eq!(
        verdicts("`json.dumps()` serializes an object to a JSON formatted str.", &[doc]),
        [Verdict::Supported]
    );
    assert!(matches!(
        verdicts("`json.to_string()` serializes an object to a JSON formatted str.", &[doc])[..],
        [Verdict::Unsupported(Reason::UnknownName(_))]
    ));
}

#[test]
fn low_overlap_is_unsupported_and_paraphrase_is_supported() {
    assert_eq!(
        verdicts("Orders placed before 15:00 on weekdays are shipped that same day.", &[SHIPPING]),
        [Verdict::Supported]
    );
    assert_eq!(
        verdicts("Every parcel is insured against loss and comes in recycled packaging.", &[SHIPPING]),
        [Verdict::Unsupported(Reason::LowSupport)]
    );
}

#[test]
fn strict_text_removes_unsupported_sentences_and_keeps_the_rest_in_order() {
    let a = "We ship to Belgium.\n\n- Shipping costs €9.99.\n- Orders before 15:00 ship the same day.\n\nLet me know if you need more!";
    let r = check(a, &[SHIPPING]);
    assert_eq!((r.supported, r.unsupported), (2, 1));
    assert_eq!(
        strict_text(a, &r),
        "We ship to Belgium.\n\n- Orders before 15:00 ship the same day.\n\nLet me know if you need more!"
    );
    let a = "Shipping costs €9.99. We ship to Belgium.";
    assert_eq!(strict_text(a, &check(a, &[SHIPPING])), "We ship to Belgium.");
    let all = "Shipping costs €9.99.";
    assert_eq!(strict_text(all, &check(all, &[SHIPPING])), "");
}

#[test]
fn german_answers_over_german_passages() {
    let p = "Wir liefern innerhalb Deutschlands in 2 bis 3 Werktagen. Der Versand ist ab 40 Euro Bestellwert kostenlos.";
    assert_eq!(verdicts("Ab 40 € Bestellwert ist der Versand kostenlos.", &[p]), [Verdict::Supported]);
    assert!(matches!(
        verdicts("Ab 30 € Bestellwert ist der Versand kostenlos.", &[p])[..],
        [Verdict::Unsupported(Reason::MissingFact(_))]
    ));
}

#[test]
fn extractive_answers_are_grounded_by_construction() {
    let r = grounded_by_construction("We ship to Belgium. Shipping costs €9.99. Anything else?");
    assert_eq!((r.supported, r.unsupported), (2, 0));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// Any Unicode (Arabic, emoji, combining marks, case changes that grow) never panics, and
    /// the strict text is made of the answer's own pieces.
    #[test]
    fn hostile_text_never_panics(
        answer in "(\\PC|[ .!?€$0-9,:@/\\n]|مرحبا بكم. |🙂|K|İ|ẞ){0,120}",
        passage in "(\\PC|[ .!?€$0-9,:@/\\n]|الشحن مجاني. |🚚){0,120}",
    ) {
        let check = GroundingCheck::new(&answer, &[passage.as_str()], &["Demo Shop"]);
        let n = check.dense_texts().len();
        let r = check.report(Some(&vec![vec![0.1, 0.2]; n]));
        proptest::prop_assert_eq!(r.supported + r.unsupported, r.sentences.iter().filter(|s| s.verdict != Verdict::NoClaim).count() as u32);
        for s in &r.sentences {
            proptest::prop_assert!(answer.get(s.range.clone()).is_some());
        }
        let strict = strict_text(&answer, &r);
        proptest::prop_assert!(strict.len() <= answer.len() + 1);
        let _ = grounded_by_construction(&answer);
    }
}

#[test]
fn absolute_claims_need_absolute_words_in_the_passages() {
    let p = "A naive object may represent UTC or local time.";
    assert_eq!(
        verdicts("A naive object always represents local time.", &[p]),
        [Verdict::Unsupported(Reason::Absolute("always".into()))]
    );
    let p = "The smallest item of a heap is always at the root.";
    assert_eq!(
        verdicts("The smallest item of a heap is always found at the root.", &[p]),
        [Verdict::Supported]
    );
    // A name at the end of a sentence is a name too.
    assert!(matches!(
        verdicts(
            "If it exists already, the copy fails with FileExistsError.",
            &["If dst already exists, it will be replaced."]
        )[..],
        [Verdict::Unsupported(Reason::UnknownName(_))]
    ));
}

fn conflict(answer: &str, passages: &[&str]) -> bool {
    matches!(verdicts(answer, passages)[..], [Verdict::Unsupported(Reason::Conflict(_))])
}

#[test]
fn values_given_to_the_wrong_thing_or_a_split_range_conflict() {
    let hours = "Our store is open Monday to Friday from 9:00 to 18:00 and on Saturday from 10:00 to 17:00. \
                 On Sunday we open from 12:00 to 16:00.";
    assert_eq!(verdicts("On Saturday we are open from 10 am to 5 pm.", &[hours]), [Verdict::Supported]);
    assert!(conflict("On Saturday we are open from 9:00 to 18:00.", &[hours]));
    // Both ends exist, in different sentences.
    assert!(conflict("On weekdays we are open from 9:00 to 16:00.", &[hours]));
    let modes = "The mode can be 'rb' or 'rt'. The default is 'rb'.";
    assert_eq!(verdicts("The default mode is 'rb'.", &[modes]), [Verdict::Supported]);
    assert!(conflict("The default mode is 'rt'.", &[modes]));
}

#[test]
fn flipped_negations_conflict_and_kept_ones_do_not() {
    let p = "All ceramics are dishwasher and microwave safe. Teapots hold 1 litre. \
             Personalised items and gift cards cannot be returned.";
    assert!(conflict("Teapots are not microwave safe.", &[p]));
    assert!(conflict("Gift cards can be returned.", &[p]));
    assert_eq!(verdicts("Gift cards cannot be returned.", &[p]), [Verdict::Supported]);
    let p = "The legacy interface does not support decoding from strings. \
             The encoding algorithm is not the same as uuencode.";
    assert!(conflict("The legacy interface supports decoding from strings.", &[p]));
    assert!(conflict("The encoding algorithm is the same as uuencode.", &[p]));
    // German and Dutch negators.
    let de = "Lastenräder vermieten wir nur mit Reservierung. Helme sind nicht im Preis enthalten.";
    assert!(conflict("Helme sind im Preis enthalten.", &[de]));
    let nl = "Wij bezorgen niet in Leiden.";
    assert!(conflict("Wij bezorgen in Leiden.", &[nl]));
}

#[test]
fn opposite_prefixes_and_swapped_modifiers_conflict() {
    let p = "Malicious pickle data can execute arbitrary code during unpickling.";
    assert!(conflict("Malicious pickle data can execute arbitrary code during pickling.", &[p]));
    assert_eq!(
        verdicts("Malicious pickle data can execute arbitrary code during unpickling.", &[p]),
        [Verdict::Supported]
    );
    let p = "We use zero-based indexing.";
    assert!(conflict("We use one-based indexing.", &[p]));
    let p = "Personalised items cannot be returned.";
    assert!(conflict("Sale items cannot be returned.", &[p]));
}

#[test]
fn everyday_synonyms_count_as_the_passage_word() {
    let p = "We are closed on Sundays and public holidays.";
    assert_eq!(verdicts("The shop is shut on Sundays and public holidays.", &[p]), [Verdict::Supported]);
}

#[test]
fn clauses_split_at_punctuation_and_conjunctions_but_not_inside_lists() {
    let s = "We ship to the Netherlands, Belgium, Germany, but not outside the EU; see 9:00 and 1,000 more.";
    let parts: Vec<&str> = contrast::clause_ranges(s).into_iter().map(|r| s[r].trim()).collect();
    assert_eq!(
        parts,
        [
            "We ship to the Netherlands, Belgium, Germany",
            "but not outside the EU",
            "see 9:00",
            "and 1,000 more."
        ]
    );
    assert_eq!(contrast::literals("modes 'rb', \"wt\" and `x`; don't"), ["rb", "wt", "x"]);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// The clause splitter and the literal reader take any Unicode: ranges on character
    /// boundaries, in order, inside the text.
    #[test]
    fn clause_parsing_never_panics(text in "(\\PC|[ ,;:()'\"`’‘“”–—-]|and |nicht |n't |un|İ|ẞ){0,160}") {
        let mut end = 0;
        for r in contrast::clause_ranges(&text) {
            proptest::prop_assert!(r.start >= end && text.get(r.clone()).is_some());
            end = r.end;
        }
        let _ = contrast::literals(&text);
        let _ = contrast::value_ranges(&text);
        let mut memo = contrast::Stems::default();
        let c = contrast::clause_of(&text, &[crate::text::Lang::English, crate::text::Lang::German], true, &mut memo);
        proptest::prop_assert!(c.negated.is_subset(&c.terms));
    }
}
