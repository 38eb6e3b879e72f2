//! The offline embedder: deterministic, right length, unit norm, and useful for retrieval.

use chatbot_core::rag::{Embedder, OfflineEmbedder, cosine};

#[test]
fn deterministic_and_normalised() {
    let e = OfflineEmbedder::new();
    let a = e.embed_one("Free shipping on orders over 50 euros to Germany and Austria.");
    let b = OfflineEmbedder::new().embed_one("Free shipping on orders over 50 euros to Germany and Austria.");
    assert_eq!(a, b, "same text must give the same vector");
    assert_eq!(a.len(), e.dimension());
    let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    assert_eq!(e.model(), "offline-hash-v2");
}

#[test]
fn empty_and_stopword_only_texts_are_zero_vectors() {
    let e = OfflineEmbedder::new();
    for t in ["", "   ", "the and of", "!!! ???"] {
        let v = e.embed_one(t);
        assert_eq!(v.len(), e.dimension());
        assert!(v.iter().all(|x| *x == 0.0), "{t:?} should embed to zeros");
    }
}

#[tokio::test]
async fn batch_preserves_order() {
    let e = OfflineEmbedder::new();
    let texts = vec!["opening hours".to_string(), "return policy".to_string(), String::new()];
    let out = e.embed(&texts).await.unwrap();
    assert_eq!(out.len(), 3);
    for (t, v) in texts.iter().zip(&out) {
        assert_eq!(v, &e.embed_one(t));
    }
}

#[test]
fn similar_texts_score_higher_than_unrelated() {
    let e = OfflineEmbedder::new();
    let docs = [
        "Our store ships orders worldwide. Shipping to the EU takes 3-5 business days; shipping costs are free above 50 EUR.",
        "You can return any product within 30 days for a full refund. Returns must be in the original packaging.",
        "The apartment has three bedrooms, a balcony facing south and an underground parking space.",
        "Our support team is available Monday to Friday from 9am to 5pm by phone or email.",
        "Python's asyncio module provides an event loop, coroutines and tasks for concurrent code.",
    ];
    let queries = [
        ("How long does shipping take to Europe?", 0),
        ("can I get a refund if I return the item", 1),
        ("how many bedrooms does the flat have", 2),
        ("when is customer support open", 3),
        ("asyncio event loops and coroutine tasks", 4),
    ];
    let dv: Vec<Vec<f32>> = docs.iter().map(|d| e.embed_one(d)).collect();
    for (q, want) in queries {
        let qv = e.embed_one(q);
        let scores: Vec<f32> = dv.iter().map(|d| cosine(&qv, d)).collect();
        let best = scores.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i).unwrap();
        assert_eq!(best, want, "query {q:?} scores {scores:?}");
    }
}

#[test]
fn robust_to_inflection_and_typos() {
    let e = OfflineEmbedder::new();
    let doc = e.embed_one("Configuring the payment gateway for subscriptions");
    let inflected = e.embed_one("configure payment gateways subscription");
    let typo = e.embed_one("paymnet gatway configuraton");
    let unrelated = e.embed_one("balcony facing south with a garden view");
    assert!(cosine(&doc, &inflected) > 0.5, "{}", cosine(&doc, &inflected));
    let (t, u) = (cosine(&doc, &typo), cosine(&doc, &unrelated));
    assert!(t > u + 0.03, "typo {t} unrelated {u}");
}
