//! The local dense embedder (all-MiniLM-L6-v2 in-process, feature `local-embed`).
//!
//! The model lane runs when `CHATBOT_TEST_MINILM_DIR` names the sentence-transformers folder
//! (`export CHATBOT_TEST_MINILM_DIR="$(bash .ci/minilm.sh)"`; CI sets it). Without it those tests
//! print "skipped: CHATBOT_TEST_MINILM_DIR not set" and pass; the tests that need no model
//! (a missing or broken folder) always run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chatbot_core::providers::EmbedderChoice;
use chatbot_core::rag::{Embedder, LocalEmbedder, cosine, embed_query};
use chatbot_core::{Chatbot, Config, Error};

const VAR: &str = "CHATBOT_TEST_MINILM_DIR";

fn model_dir() -> Option<PathBuf> {
    match std::env::var(VAR) {
        Ok(d) if !d.trim().is_empty() => Some(PathBuf::from(d)),
        _ => {
            println!("skipped: {VAR} not set");
            None
        }
    }
}

fn load(dir: &Path) -> LocalEmbedder {
    LocalEmbedder::load(dir).unwrap_or_else(|e| panic!("{VAR}={} does not load: {e}", dir.display()))
}

struct Case {
    text: String,
    tokens: usize,
    vector: Vec<f32>,
}

/// The vectors sentence-transformers made (bench/embed/reference.py).
fn reference() -> Vec<Case> {
    let raw = include_str!("data/minilm_reference.json");
    let v: serde_json::Value = serde_json::from_str(raw).unwrap();
    assert_eq!(v["model"], "all-minilm-l6-v2");
    assert_eq!(v["max_seq_length"], 256);
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            text: c["text"].as_str().unwrap().to_string(),
            tokens: c["tokens"].as_u64().unwrap() as usize,
            vector: c["vector"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect(),
        })
        .collect()
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[tokio::test]
async fn vectors_match_the_reference_implementation() {
    let Some(dir) = model_dir() else { return };
    let e = load(&dir);
    assert_eq!((e.model(), e.dimension(), e.max_seq_length()), ("all-minilm-l6-v2", 384, 256));
    let cases = reference();
    assert!(
        cases.len() >= 12 && cases.iter().any(|c| c.tokens == 256) && cases.iter().any(|c| c.text.is_empty())
    );
    let texts: Vec<String> = cases.iter().map(|c| c.text.clone()).collect();
    let got = e.embed(&texts).await.unwrap();
    assert_eq!(got.len(), cases.len());
    let mut worst = 1.0f32;
    for (c, v) in cases.iter().zip(&got) {
        assert_eq!(v.len(), 384);
        let cos = cosine(v, &c.vector);
        println!("cosine {cos:.6}  tokens {:3}  {:?}", c.tokens, c.text.chars().take(40).collect::<String>());
        assert!(cos >= 0.999, "cosine {cos} < 0.999 for {:?}", c.text);
        worst = worst.min(cos);
    }
    println!("worst cosine to the reference: {worst:.6}");
}

#[tokio::test]
async fn a_text_alone_and_in_any_batch_gives_the_same_vector() {
    let Some(dir) = model_dir() else { return };
    let e = load(&dir);
    let texts: Vec<String> = reference().into_iter().map(|c| c.text).collect();
    let alone: Vec<Vec<f32>> = {
        let mut out = Vec::new();
        for t in &texts {
            out.push(e.embed(std::slice::from_ref(t)).await.unwrap().remove(0));
        }
        out
    };
    // the batch reversed, and again with every text twice (other sub-batches, other padding)
    let reversed: Vec<String> = texts.iter().rev().cloned().collect();
    let batch = e.embed(&reversed).await.unwrap();
    for (i, v) in batch.iter().rev().enumerate() {
        let d = max_abs_diff(v, &alone[i]);
        assert!(d <= 1e-5, "text {i} differs by {d} between alone and in a batch");
    }
    let doubled: Vec<String> = texts.iter().chain(texts.iter()).cloned().collect();
    let batch = e.embed(&doubled).await.unwrap();
    for (i, v) in batch.iter().enumerate() {
        let d = max_abs_diff(v, &alone[i % texts.len()]);
        assert!(d <= 1e-5, "text {} differs by {d} in the doubled batch", i % texts.len());
    }
}

#[tokio::test]
async fn vectors_are_unit_length_and_distinct() {
    let Some(dir) = model_dir() else { return };
    let e = load(&dir);
    let texts: Vec<String> = reference().into_iter().map(|c| c.text).collect();
    let got = e.embed(&texts).await.unwrap();
    for (t, v) in texts.iter().zip(&got) {
        assert!(v.iter().all(|x| x.is_finite()), "{t:?}");
        assert!((norm(v) - 1.0).abs() < 1e-5, "norm {} for {t:?}", norm(v));
    }
    // different texts give different vectors (the pooling does not collapse them)
    assert!(cosine(&got[0], &got[1]) < 0.95);
    // and meaning is kept: a paraphrase is closer than an unrelated text
    let v = e
        .embed(&[
            "How can I change my password?".to_string(),
            "Steps to reset a forgotten login password".to_string(),
            "The cat sleeps on the warm windowsill.".to_string(),
        ])
        .await
        .unwrap();
    assert!(
        cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]) + 0.2,
        "{} vs {}",
        cosine(&v[0], &v[1]),
        cosine(&v[0], &v[2])
    );
    // the search path embeds one query the same way
    let q = embed_query(&e, "How can I change my password?").await.unwrap();
    assert!(max_abs_diff(&q, &v[0]) <= 1e-5);
}

#[tokio::test]
async fn long_texts_are_truncated_at_256_word_pieces() {
    let Some(dir) = model_dir() else { return };
    let e = load(&dir);
    let long = reference().into_iter().find(|c| c.tokens == 256).unwrap().text;
    let longer = format!("{long} and then a completely different ending about volcanoes, taxes and jazz.");
    let v = e.embed(&[long, longer]).await.unwrap();
    assert!(max_abs_diff(&v[0], &v[1]) <= 1e-5, "text past the 256th word piece changed the vector");
}

#[tokio::test]
async fn hostile_unicode_and_sizes_give_normal_vectors() {
    let Some(dir) = model_dir() else { return };
    let e = load(&dir);
    let texts: Vec<String> = vec![
        String::new(),
        "\u{0}".repeat(1000),
        "\u{301}\u{301}\u{301}".into(),
        "\u{202e}\u{202d}\u{2066}abc\u{2069}".into(),
        "\u{fffd}\u{fffe}\u{ffff}\u{10ffff}".into(),
        "🏳️‍🌈👨‍👩‍👧‍👦".repeat(500),
        "ẞİKﬁ".repeat(300),
        "\r\n\t \u{a0}\u{2028}\u{3000}".repeat(200),
        "a".repeat(2_000_000),
        "word ".repeat(200_000),
        "中文字符".repeat(5000),
        "<script>alert(1)</script>' OR 1=1 --".into(),
    ];
    let got = e.embed(&texts).await.unwrap();
    assert_eq!(got.len(), texts.len());
    for (t, v) in texts.iter().zip(&got) {
        let head: String = t.chars().take(12).collect();
        assert_eq!(v.len(), 384, "{head:?}");
        assert!(v.iter().all(|x| x.is_finite()), "{head:?}");
        assert!((norm(v) - 1.0).abs() < 1e-5, "norm {} for {head:?}", norm(v));
    }
    assert!(e.embed(&[]).await.unwrap().is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn embedding_does_not_block_the_async_runtime() {
    let Some(dir) = model_dir() else { return };
    let e = load(&dir);
    let ticks = Arc::new(AtomicUsize::new(0));
    let t = Arc::clone(&ticks);
    let ticker = tokio::spawn(async move {
        loop {
            t.fetch_add(1, Ordering::Relaxed);
            tokio::task::yield_now().await;
        }
    });
    let texts: Vec<String> =
        (0..32).map(|i| format!("chunk {i}: {}", "lorem ipsum dolor sit amet ".repeat(60))).collect();
    let v = e.embed(&texts).await.unwrap();
    let seen = ticks.load(Ordering::Relaxed);
    ticker.abort();
    assert_eq!(v.len(), 32);
    assert!(seen > 0, "the single runtime thread made no progress while embedding");
}

#[tokio::test]
async fn a_broken_weights_file_is_a_clear_error() {
    let Some(dir) = model_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for f in ["config.json", "tokenizer.json", "sentence_bert_config.json"] {
        std::fs::copy(dir.join(f), tmp.path().join(f)).unwrap();
    }
    let weights = std::fs::read(dir.join("model.safetensors")).unwrap();
    std::fs::write(tmp.path().join("model.safetensors"), &weights[..weights.len() / 2]).unwrap();
    let msg = config_error(tmp.path());
    assert!(msg.contains("model.safetensors") && msg.contains(&tmp.path().display().to_string()), "{msg}");
    // a valid folder with a pooling other than the model's is refused, not silently changed
    std::fs::write(tmp.path().join("model.safetensors"), &weights).unwrap();
    std::fs::create_dir_all(tmp.path().join("1_Pooling")).unwrap();
    std::fs::write(
        tmp.path().join("1_Pooling/config.json"),
        r#"{"word_embedding_dimension":384,"pooling_mode_cls_token":true,"pooling_mode_mean_tokens":false}"#,
    )
    .unwrap();
    let msg = config_error(tmp.path());
    assert!(msg.contains("1_Pooling/config.json") && msg.contains("mean pooling"), "{msg}");
    std::fs::copy(dir.join("1_Pooling/config.json"), tmp.path().join("1_Pooling/config.json")).unwrap();
    assert_eq!(load(tmp.path()).dimension(), 384, "the repaired copy loads");
}

// ---- no model needed ----

fn config_error(dir: &Path) -> String {
    match LocalEmbedder::load(dir) {
        Err(Error::Config(msg)) => msg,
        Err(other) => panic!("expected a configuration error for {}, got {other:?}", dir.display()),
        Ok(_) => panic!("{} loaded", dir.display()),
    }
}

#[test]
fn a_missing_or_incomplete_folder_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-model");
    let msg = config_error(&missing);
    assert!(msg.contains(&missing.display().to_string()) && msg.contains("does not exist"), "{msg}");

    // each required file in turn: the message names the folder and the first one missing
    let dir = tmp.path().join("model");
    std::fs::create_dir_all(&dir).unwrap();
    let shown = dir.display().to_string();
    let msg = config_error(&dir);
    assert!(msg.contains(&shown) && msg.contains("config.json") && msg.contains("missing"), "{msg}");
    std::fs::write(dir.join("config.json"), "{}").unwrap();
    let msg = config_error(&dir);
    assert!(msg.contains(&shown) && msg.contains("tokenizer.json") && msg.contains("missing"), "{msg}");
    std::fs::write(dir.join("tokenizer.json"), "not json").unwrap();
    let msg = config_error(&dir);
    assert!(msg.contains(&shown) && msg.contains("model.safetensors") && msg.contains("missing"), "{msg}");
    // all present but corrupt: the first file read is named with what is wrong with it
    std::fs::write(dir.join("model.safetensors"), b"\x00\x01garbage").unwrap();
    let msg = config_error(&dir);
    assert!(msg.contains(&shown) && msg.contains("config.json") && msg.contains("not valid"), "{msg}");
}

#[tokio::test]
async fn the_builder_names_the_variable_for_a_missing_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("minilm");
    let mut config = Config::offline(tmp.path().join("data"));
    config.embedder = EmbedderChoice::Local { model_dir: missing.clone() };
    let Err(Error::Config(msg)) = Chatbot::builder().config(config).build().await else {
        panic!("a missing model folder must stop the build with a configuration error")
    };
    assert!(msg.contains("CHATBOT_LOCAL_MODEL_DIR") && msg.contains(&missing.display().to_string()), "{msg}");
}

#[tokio::test]
async fn chatbot_with_the_local_embedder_finds_a_paraphrase() {
    use chatbot_core::NewCompany;
    use chatbot_core::ingest::index::NewChunk;
    let Some(dir) = model_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Config::offline(tmp.path().to_path_buf());
    config.embedder = EmbedderChoice::Local { model_dir: dir };
    let bot = Chatbot::from_config(config).await.unwrap();
    assert!(bot.components_info().embedder.contains("all-minilm-l6-v2"), "{}", bot.components_info());
    bot.create_company(NewCompany {
        company_id: "shop".into(),
        company_name: "Demo Shop".into(),
        email: "shop@example.com".into(),
        ..NewCompany::default()
    })
    .await
    .unwrap();
    let ctx = bot.operator_context("shop").await.unwrap();
    let docs = [
        (
            "https://shop.example/shipping",
            "Parcels reach Germany and Austria within three to five working days.",
        ),
        (
            "https://shop.example/returns",
            "Unwanted items may be sent back within thirty days for a full refund.",
        ),
        (
            "https://shop.example/hours",
            "The store in Amsterdam opens at nine and closes at six, Monday to Saturday.",
        ),
    ];
    let chunks: Vec<NewChunk> = docs
        .iter()
        .map(|(s, t)| NewChunk {
            source: (*s).into(),
            title: None,
            position: 0,
            text: (*t).into(),
            headings: Vec::new(),
        })
        .collect();
    bot.index_chunks(&ctx, &chunks).await.unwrap();
    // no content word in common with the right chunk: only the dense model can match them
    for (query, want) in [
        ("How long does delivery take?", "https://shop.example/shipping"),
        ("Can I get my money back?", "https://shop.example/returns"),
        ("When are you open?", "https://shop.example/hours"),
    ] {
        let hits = bot.search(&ctx, query, 3).await.unwrap();
        assert_eq!(
            hits[0].source,
            want,
            "{query}: {:?}",
            hits.iter().map(|h| (&h.source, h.score)).collect::<Vec<_>>()
        );
    }
}
