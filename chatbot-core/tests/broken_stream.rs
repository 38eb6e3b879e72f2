//! A stream that breaks never stores an empty reply: a model that errors before its first word,
//! after some words, or says nothing but white space, and a client that goes away mid-stream.
//! In every case the stored reply is not empty, the streamed pieces add up to it (when the
//! client stayed), and the `done` event names it by its `message_id`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use async_trait::async_trait;
use chatbot_core::llm::{ChatModel, ChatRequest, Completion, ModelCapabilities, StreamEvent};
use chatbot_core::{ChatEvent, ChatInput, ChatReply, Chatbot, ClientInfo, Config, Error, Role};
use futures::StreamExt as _;
use futures::stream::BoxStream;
use tokio::sync::Notify;

/// How the scripted model's stream goes.
#[derive(Clone, Copy, Debug)]
enum Script {
    /// Fails before its first word.
    ErrorFirst,
    /// Two words, then fails.
    PartialThenError,
    /// Only white space, then ends normally.
    WhitespaceOnly,
    /// Ends normally without a word.
    Nothing,
    /// One piece, then waits for the gate, then the rest.
    Gated,
}

struct Breaking {
    script: Script,
    gate: Arc<Notify>,
}

#[async_trait]
impl ChatModel for Breaking {
    fn provider(&self) -> &'static str {
        "breaking"
    }

    fn capabilities(&self) -> ModelCapabilities {
        ModelCapabilities::generative()
    }

    async fn complete(&self, _: &ChatRequest) -> chatbot_core::Result<Completion> {
        Err(Error::upstream("breaking", "only streams", true))
    }

    async fn stream(
        &self,
        _: &ChatRequest,
    ) -> chatbot_core::Result<BoxStream<'static, chatbot_core::Result<StreamEvent>>> {
        let broke = || Err(Error::upstream("breaking", "connection reset mid-stream", true));
        let done = || Ok(StreamEvent::Done { model: "breaking-1".into(), usage: None });
        let delta = |s: &str| Ok(StreamEvent::Delta(s.into()));
        Ok(match self.script {
            Script::ErrorFirst => Box::pin(futures::stream::iter([broke()])),
            Script::PartialThenError => {
                Box::pin(futures::stream::iter([delta("We ship "), delta("to the "), broke()]))
            }
            Script::WhitespaceOnly => Box::pin(futures::stream::iter([delta("  "), delta("\n\t"), done()])),
            Script::Nothing => Box::pin(futures::stream::iter([done()])),
            Script::Gated => {
                let gate = self.gate.clone();
                let first = futures::stream::iter([delta("First words, ")]);
                let rest = futures::stream::once(async move {
                    gate.notified().await;
                    delta("and the rest.")
                })
                .chain(futures::stream::iter([done()]));
                Box::pin(first.chain(rest))
            }
        })
    }
}

async fn bot_with(dir: &std::path::Path, script: Script, gate: Arc<Notify>) -> Chatbot {
    let bot = Chatbot::builder()
        .config(Config::offline(dir.to_path_buf()))
        .model(Arc::new(Breaking { script, gate }))
        .build()
        .await
        .unwrap();
    bot.seed_demo().await.unwrap();
    bot
}

/// The streamed text and the `done` reply (the client reads to the end).
async fn stream_all(bot: &Chatbot, session_id: &str, message: &str) -> (String, Box<ChatReply>) {
    let ctx = bot.public_context("123").await.unwrap();
    let input =
        ChatInput { session_id: session_id.into(), message: message.into(), client: ClientInfo::default() };
    let mut stream = bot.chat_stream(&ctx, input).await.unwrap();
    let (mut text, mut done) = (String::new(), None);
    while let Some(ev) = stream.next().await {
        match ev {
            ChatEvent::Delta(d) => text.push_str(&d),
            ChatEvent::Done(r) => done = Some(r),
            ChatEvent::Error(e) => panic!("the turn failed instead of answering: {e}"),
        }
    }
    (text, done.expect("a done event"))
}

async fn session(bot: &Chatbot) -> String {
    let ctx = bot.public_context("123").await.unwrap();
    bot.open_session(&ctx, Some("streamer".into()), None, ClientInfo::default()).await.unwrap().session_id
}

#[tokio::test]
async fn a_broken_or_empty_model_stream_stores_a_complete_reply() {
    for script in [Script::ErrorFirst, Script::PartialThenError, Script::WhitespaceOnly, Script::Nothing] {
        let dir = tempfile::tempdir().unwrap();
        let bot = bot_with(dir.path(), script, Arc::new(Notify::new())).await;
        let sid = session(&bot).await;
        let (text, done) = stream_all(&bot, &sid, "Do you ship abroad?").await;
        assert!(!done.message.trim().is_empty(), "{script:?}: an empty reply");
        assert_eq!(text, done.message, "{script:?}: the streamed pieces add up to the reply");
        if matches!(script, Script::PartialThenError) {
            assert!(
                done.message.starts_with("We ship to the "),
                "{script:?}: what was seen is kept: {text:?}"
            );
        }
        let conv = bot.store_unchecked().get_conversation("123", &sid).await.unwrap().unwrap();
        let roles: Vec<Role> = conv.messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, [Role::User, Role::Assistant], "{script:?}: one stored reply");
        let stored = &conv.messages[1];
        assert_eq!(stored.content, done.message, "{script:?}");
        assert!(!stored.content.trim().is_empty(), "{script:?}: never an empty stored reply");
        assert_eq!(
            stored.id.as_deref(),
            Some(done.message_id.as_str()),
            "{script:?}: done names the stored reply"
        );
    }
}

#[tokio::test]
async fn a_client_that_goes_away_mid_stream_still_gets_the_whole_reply_stored() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Notify::new());
    let bot = bot_with(dir.path(), Script::Gated, gate.clone()).await;
    let sid = session(&bot).await;
    let ctx = bot.public_context("123").await.unwrap();
    let input = ChatInput {
        session_id: sid.clone(),
        message: "Do you ship abroad?".into(),
        client: ClientInfo::default(),
    };
    let mut stream = bot.chat_stream(&ctx, input).await.unwrap();
    match stream.next().await {
        Some(ChatEvent::Delta(d)) => assert_eq!(d, "First words, "),
        other => panic!("expected the first piece, got {other:?}"),
    }
    // The client disconnects after the first piece; the model then finishes.
    drop(stream);
    gate.notify_one();
    let store = bot.store_unchecked();
    let mut stored = None;
    for _ in 0..1000 {
        let conv = store.get_conversation("123", &sid).await.unwrap().unwrap();
        if conv.messages.len() == 2 {
            stored = Some(conv.messages[1].clone());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let stored = stored.expect("the reply is stored although the client left");
    assert_eq!(stored.role, Role::Assistant);
    assert_eq!(stored.content, "First words, and the rest.", "the whole reply, not an empty or cut one");
    assert!(stored.id.is_some());
}
