//! The chat turn both route families share: store the visitor's message, learn from it, retrieve,
//! guard, answer, follow up on the lead, store the reply.

use std::panic::AssertUnwindSafe;

use futures::FutureExt as _;
use futures::stream::BoxStream;
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::conversation::{Message, Role};
use crate::error::{Error, Result};
use crate::guard::{self, TopicDecision};
use crate::lead::{Lead, VisitorLead, extract};
use crate::llm::Passage;
use crate::tenant::TenantContext;
use crate::text::{FixedText, fixed_text};

use super::Chatbot;
use super::gaps::TurnFacts;
use super::leads::{contact_ask, new_lead_id, profile_question};
use super::session::{Target, TargetLead};
use super::types::{AnsweredBy, ChatEvent, ChatReply, SourceRef};

/// Visitor turns between two contact-detail requests.
const ASK_CONTACT_EVERY: usize = 3;
/// Ask for the most useful missing profile field of the company's client type on every this
/// many visitor messages (on other turns than the contact question).
const ASK_PROFILE_EVERY: usize = 3;
/// Words below which a message is treated as a follow-up of the previous one.
const FOLLOW_UP_WORDS: usize = 8;

impl Chatbot {
    pub(super) fn spawn_turn(
        &self,
        ctx: TenantContext,
        target: Target,
        message: String,
    ) -> BoxStream<'static, ChatEvent> {
        let (tx, rx) = mpsc::channel::<ChatEvent>(64);
        let bot = self.clone();
        tokio::spawn(async move {
            // A panic in the turn (a bug, or a model that panics) must not end the stream
            // without a last event: the client would take the deltas so far for the whole
            // reply. The reply is stored only when the turn completes, so a panic stores
            // nothing empty; the visitor's message stays and the next turn works.
            let turn = AssertUnwindSafe(bot.turn(&ctx, target, &message, Some(tx.clone())));
            let last = match turn.catch_unwind().await {
                Ok(Ok(reply)) => ChatEvent::Done(Box::new(reply)),
                Ok(Err(e)) => ChatEvent::Error(e),
                Err(_) => {
                    bot.inner.metrics.turn_panics.inc();
                    // The panic's message is not logged: it may quote the visitor's text.
                    error!(company = ctx.company_id(), "the chat turn panicked; answered with an error");
                    ChatEvent::Error(Error::Internal("the reply could not be completed".into()))
                }
            };
            let _ = tx.send(last).await;
        });
        Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
    }

    /// The chat turn both route families share.
    pub(super) async fn turn(
        &self,
        ctx: &TenantContext,
        target: Target,
        message: &str,
        sink: Option<mpsc::Sender<ChatEvent>>,
    ) -> Result<ChatReply> {
        let started = std::time::Instant::now();
        let store = self.store();
        let cid = ctx.company_id();
        // Loaded with the context (one request's snapshot) where it could be.
        let settings = match ctx.widget_settings() {
            Some(s) => s.clone(),
            None => self.widget_settings(ctx).await?,
        };
        let visitor = Message::new(Role::User, message.trim());
        // Nothing is lost: the visitor's message is stored before anything can fail (one
        // statement creates the conversation if needed and appends to it).
        // A partner visitor's lead is inserted in the same round trip when the conversation
        // has none yet, with what this (then first) message revealed.
        let visitor_slice = std::slice::from_ref(&visitor);
        // A partner conversation becomes a lead only once the visitor gives a contact detail or
        // asks to be contacted (an anonymous hello makes none).
        let lead_worthy = matches!(target.lead, TargetLead::BySession) && extract::reveals_contact(message);
        let (mut conv, new_lead) = match &target.lead {
            TargetLead::BySession if lead_worthy => {
                let mut l = Lead::new(new_lead_id(), cid, &target.session_id, &target.user_id);
                let step = self.lead_learns(ctx, &mut l, message, 1);
                let (conv, inserted) = store
                    .append_to_conversation_with_lead(
                        cid,
                        &target.session_id,
                        &target.user_id,
                        visitor_slice,
                        &l,
                    )
                    .await?;
                (conv, inserted.then_some((l, step)))
            }
            _ => (
                store.append_to_conversation(cid, &target.session_id, &target.user_id, visitor_slice).await?,
                None,
            ),
        };
        // What came before this message (the history of this turn).
        conv.messages.pop();

        // This visitor message's number in the conversation (paces summaries and contact asks).
        let visitor_turns = conv.messages.iter().filter(|m| m.role == Role::User).count() + 1;

        // Lead: what this message reveals.
        let (lead, became_ready) = match target.lead {
            TargetLead::Loaded(mut l) => {
                let step = self.learn_and_save(ctx, &mut l, message, visitor_turns).await?;
                (Some(*l), step.became_ready)
            }
            TargetLead::BySession => match new_lead {
                Some((mut l, step)) => {
                    self.backfill_lead(ctx, &mut l, &conv.messages).await?;
                    self.lead_saved(ctx, &l, step);
                    (Some(l), step.became_ready)
                }
                // The conversation has a lead already (or this message makes one).
                None if lead_worthy => {
                    let (l, ready) = self
                        .partner_lead(ctx, &target.session_id, &target.user_id, message, visitor_turns)
                        .await?;
                    (Some(l), ready)
                }
                // A new conversation's first message that reveals nothing: no lead to look up.
                None if conv.messages.is_empty() => (None, false),
                None => match store.get_lead_by_session(cid, &target.session_id).await? {
                    Some(mut l) => {
                        let step = self.learn_and_save(ctx, &mut l, message, visitor_turns).await?;
                        (Some(l), step.became_ready)
                    }
                    None => (None, false),
                },
            },
        };

        // Retrieval: a failing vector store means an answer without context, never an error.
        // An injection attempt is refused without spending an embedding call.
        let injection = guard::injection_reason(message).is_some();
        // A curated answer that matches the question is the reply: no retrieval, no topic
        // decision, no model call (an injection attempt never gets one).
        let curated = if injection { None } else { self.curated_reply(ctx, message).await };
        // A short follow-up ("how big are they?") is searched together with the visitor's
        // previous message, so it finds the knowledge the conversation is about.
        let query = follow_up_query(&conv.messages, message);
        let retrieved = if injection || curated.is_some() {
            Ok(Vec::new())
        } else {
            self.retrieve(ctx, &query, self.inner.config.top_k).await
        };
        let passages = match retrieved {
            Ok(p) => p,
            Err(e) => {
                warn!(company = cid, error = %e, "retrieval failed; answering without context");
                self.inner.metrics.upstream_error(self.vectors().name());
                Vec::new()
            }
        };
        let sources = curated.as_ref().map_or_else(|| sources_of(&passages), super::curated::curated_sources);
        let best = passages.first().map(|p| p.score);

        let history: Vec<Message> =
            if conv.messages.is_empty() { target.client_history } else { conv.messages.clone() };
        let decision = match &curated {
            Some(_) => TopicDecision::Allow,
            None => guard::classify_topic(message, best, &ctx.company().ai_config.allowed_topics),
        };
        // The visitor's language, for the fixed texts (English when unsure).
        // A short message ("Dank je") says too little: the conversation's recent visitor
        // messages decide then.
        let lang = crate::text::detect(message).or_else(|| {
            let recent: Vec<&str> = conv
                .messages
                .iter()
                .rev()
                .filter(|m| m.role == Role::User)
                .take(3)
                .map(|m| m.content.as_str())
                .collect();
            crate::text::detect(&format!("{} {message}", recent.join(" ")))
        });
        let req = self.build_request(ctx, &settings, &history, &passages, message);

        let (mut text, answered_by, usage, grounding) = match &decision {
            // (a plain guard, not `if let`: that needs a newer compiler than the declared one)
            _ if curated.is_some() => {
                let t = curated.as_ref().map(|c| c.answer.clone()).unwrap_or_default();
                send(&sink, ChatEvent::Delta(t.clone())).await;
                (t, AnsweredBy::Curated, None, None)
            }
            TopicDecision::Refuse { reason } => {
                info!(company = cid, reason, "refused off-topic request");
                let t = fixed_text(lang, FixedText::Refusal, &settings.company_name, "");
                send(&sink, ChatEvent::Delta(t.clone())).await;
                (t, AnsweredBy::Refusal, None, None)
            }
            TopicDecision::Greeting if !self.model().capabilities().generative => {
                // The company's own welcome message as written; the default one in the
                // visitor's language.
                let default = fixed_text(None, FixedText::Welcome, &settings.company_name, "");
                let t = if settings.welcome_message == default {
                    fixed_text(lang, FixedText::Welcome, &settings.company_name, "")
                } else {
                    settings.welcome_message.clone()
                };
                send(&sink, ChatEvent::Delta(t.clone())).await;
                (t, AnsweredBy::Fallback, None, None)
            }
            // Contact details with no question: acknowledge (the lead follow-up below thanks
            // or asks for what is missing) instead of searching the knowledge for an answer.
            TopicDecision::Contact if !self.model().capabilities().generative && lead.is_some() => {
                let t =
                    if became_ready { String::new() } else { fixed_text(lang, FixedText::Thanks, "", "") };
                send(&sink, ChatEvent::Delta(t.clone())).await;
                (t, AnsweredBy::Fallback, None, None)
            }
            _ => self.generate(ctx, &req, &sink).await,
        };

        // Lead follow-ups appended after the answer (a conversation without a lead yet is asked
        // as an anonymous one would be).
        let anonymous;
        let asked = match &lead {
            Some(l) => l,
            None => {
                anonymous = Lead::new(String::new(), cid, &target.session_id, &target.user_id);
                &anonymous
            }
        };
        {
            let l = asked;
            let extra = if became_ready {
                Some(fixed_text(lang, FixedText::LeadReady, &settings.company_name, &l.name))
            } else if !l.is_lead_ready
                && (matches!(decision, TopicDecision::Contact)
                    || (answered_by != AnsweredBy::Refusal
                        && visitor_turns % ASK_CONTACT_EVERY == 1
                        && visitor_turns > 1))
            {
                Some(contact_ask(l, lang))
            } else if lead.is_some()
                && answered_by != AnsweredBy::Refusal
                && visitor_turns.is_multiple_of(ASK_PROFILE_EVERY)
            {
                profile_question(ctx.company().client_type, l, lang)
            } else {
                None
            };
            if let Some(extra) = extra {
                let piece = if text.is_empty() { extra } else { format!("\n\n{extra}") };
                send(&sink, ChatEvent::Delta(piece.clone())).await;
                text.push_str(&piece);
            }
        }

        // Never an empty stored reply: whatever path left nothing to say (a stream that broke
        // before its first word is completed by the fallback already), the visitor gets the
        // "could not find that" text, streamed like any other piece.
        if text.trim().is_empty() {
            let t = fixed_text(lang, FixedText::NoInformation, &settings.company_name, "");
            send(&sink, ChatEvent::Delta(t.clone())).await;
            text.push_str(&t);
        }
        let sources = if answered_by == AnsweredBy::Refusal { Vec::new() } else { sources };
        let mut reply_msg = Message::new(Role::Assistant, text.clone());
        reply_msg.sources.clone_from(&sources);
        let message_id = reply_msg.id.clone().unwrap_or_default();
        // The turn record (gap report), written with the reply in one write below.
        let facts = TurnFacts {
            started,
            visitor_message_id: visitor.id.clone().unwrap_or_default(),
            question: visitor.content.clone(),
            top_score: best,
            topic: TurnFacts::topic(&decision, injection),
            fell_back: TurnFacts::fell_back(self, answered_by),
            no_answer: TurnFacts::no_answer(&text, message, &settings.company_name, lang),
        };
        let visitor_lead = lead.as_ref().map(VisitorLead::from);
        let reply = ChatReply {
            message: text,
            message_id,
            company_id: cid.to_string(),
            session_id: target.session_id,
            user_id: target.user_id,
            visitor_token: target.visitor_token,
            answered_by,
            sources,
            // The visitor-safe view: only what the visitor gave in this conversation.
            lead: visitor_lead,
            usage,
            grounding,
        };
        self.save_reply(ctx, &reply_msg, facts, &reply).await?;
        self.inner.metrics.reply(answered_by.as_str());
        if let Some(mut l) = lead
            && answered_by == AnsweredBy::Model
        {
            let mut msgs = conv.messages;
            msgs.push(visitor);
            msgs.push(reply_msg);
            l.messages = msgs;
            self.spawn_llm_extraction(ctx, &l);
        }
        Ok(reply)
    }
}

pub(super) async fn send(sink: &Option<mpsc::Sender<ChatEvent>>, ev: ChatEvent) {
    if let Some(tx) = sink {
        let _ = tx.send(ev).await;
    }
}

fn sources_of(passages: &[Passage]) -> Vec<SourceRef> {
    let mut out: Vec<SourceRef> = Vec::new();
    for p in passages {
        let Some(src) = &p.source else { continue };
        if !out.iter().any(|s| &s.source == src) {
            out.push(SourceRef { source: src.clone(), title: p.title.clone(), score: p.score });
        }
    }
    out
}

fn follow_up_query(history: &[Message], message: &str) -> String {
    let short = message.split_whitespace().count() < FOLLOW_UP_WORDS;
    match history.iter().rev().find(|m| m.role == Role::User) {
        Some(prev) if short => format!("{} {}", prev.content, message.trim()),
        _ => message.trim().to_string(),
    }
}
