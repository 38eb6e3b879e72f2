//! Answering: the configured model (streaming when asked), with the extractive fallback on
//! failure, timeout or a spent daily budget, and the token accounting against that budget; the
//! grounding check of a model answer against its passages (`ai_config.grounding`: `strict`
//! buffers the model's stream, checks it and sends the supported sentences; `flag` streams as the
//! model writes and checks the whole; `off` skips it).

use chrono::Utc;
use futures::StreamExt as _;
use serde::Serialize;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::error::{Error, Result};
use crate::guard::{GroundingCheck, GroundingReport, grounded_by_construction, strict_text};
use crate::llm::extractive::word_groups;
use crate::llm::{ChatRequest, StreamEvent, Usage};
use crate::tenant::{GroundingMode, TenantContext};

use super::Chatbot;
use super::turn::send;
use super::types::{AnsweredBy, ChatEvent, Grounding};

/// What answering produced: the text, who answered, the model's token usage, and the grounding
/// counts of the answer as written (before strict mode removed anything).
pub(super) type Answer = (String, AnsweredBy, Option<Usage>, Option<Grounding>);

/// Words per delta when a checked (strict-mode) answer is sent.
const WORDS_PER_DELTA: usize = 4;

/// Daily token usage against the budget.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetStatus {
    pub used_today: u64,
    pub daily_budget: Option<u64>,
    pub exhausted: bool,
}

impl Chatbot {
    /// Call the model (streaming when a sink is given); on failure, timeout or a spent budget,
    /// answer with the extractive fallback. The model's answer is checked against its passages
    /// as the company's grounding mode says.
    pub(super) async fn generate(
        &self,
        ctx: &TenantContext,
        req: &ChatRequest,
        sink: &Option<mpsc::Sender<ChatEvent>>,
    ) -> Answer {
        let model = self.model();
        let cid = ctx.company_id();
        let mode = ctx.company().ai_config.grounding();
        if !model.capabilities().generative {
            return self.fallback_answer(req, sink, mode).await;
        }
        if self.budget_exhausted(ctx).await {
            self.inner.metrics.budget_exhausted.inc();
            info!(company = cid, "daily token budget spent; using the fallback");
            return self.fallback_answer(req, sink, mode).await;
        }
        // Strict mode sends nothing before the answer is checked.
        let live = if mode == GroundingMode::Strict { None } else { sink.as_ref() };
        let timeout = self.inner.config.model_timeout;
        let result: Result<(String, Option<Usage>)> = match sink {
            None => match tokio::time::timeout(timeout, model.complete(req)).await {
                Ok(Ok(c)) => Ok((c.text, c.usage)),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(Error::upstream(model.provider(), "timed out", true)),
            },
            Some(_) => {
                let mut text = String::new();
                let run = async {
                    let mut stream = model.stream(req).await?;
                    let mut usage = None;
                    while let Some(ev) = stream.next().await {
                        match ev? {
                            StreamEvent::Delta(d) => {
                                text.push_str(&d);
                                if let Some(tx) = live {
                                    let _ = tx.send(ChatEvent::Delta(d)).await;
                                }
                            }
                            StreamEvent::Done { usage: u, .. } => usage = u,
                        }
                    }
                    Ok::<_, Error>(usage)
                };
                let broke = match tokio::time::timeout(timeout, run).await {
                    Ok(Ok(usage)) => return self.model_reply(ctx, text, usage, req, sink, mode).await,
                    Ok(Err(e)) => e,
                    Err(_) => Error::upstream(model.provider(), "timed out", true),
                };
                if text.is_empty() || live.is_none() {
                    // Nothing reached the visitor (strict mode buffers): the fallback answers.
                    Err(broke)
                } else {
                    // The visitor has seen the start of the reply: keep it and complete it with
                    // the fallback answer, so the streamed pieces still add up to the stored reply.
                    warn!(company = cid, error = %broke, "model stream broke off; completing it with the fallback");
                    self.inner.metrics.upstream_error(model.provider());
                    let piece = format!("\n\n{}", self.inner.fallback.answer(req));
                    send(sink, ChatEvent::Delta(piece.clone())).await;
                    text.push_str(&piece);
                    let grounding = match mode {
                        GroundingMode::Off => None,
                        _ => Some(self.check_grounding(req, &text).await.counts()),
                    };
                    return (text, AnsweredBy::Fallback, None, grounding);
                }
            }
        };
        match result {
            Ok((text, usage)) => self.model_reply(ctx, text, usage, req, sink, mode).await,
            Err(e) => {
                warn!(company = cid, error = %e, "model failed; answering with the fallback");
                self.inner.metrics.upstream_error(model.provider());
                self.fallback_answer(req, sink, mode).await
            }
        }
    }

    /// The extractive answer, sent whole: grounded by construction (every claim sentence it
    /// extracted counts as supported; its "no information" text is a fixed text, unchecked).
    async fn fallback_answer(
        &self,
        req: &ChatRequest,
        sink: &Option<mpsc::Sender<ChatEvent>>,
        mode: GroundingMode,
    ) -> Answer {
        let (t, found) = self.inner.fallback.answer_found(req);
        send(sink, ChatEvent::Delta(t.clone())).await;
        let grounding = (found && mode != GroundingMode::Off).then(|| grounded_by_construction(&t).counts());
        (t, AnsweredBy::Fallback, None, grounding)
    }

    /// A model reply that completed: counted, checked against its passages (and in strict mode
    /// sent only now, without its unsupported sentences), or replaced by the fallback when it is
    /// empty or, in strict mode, when nothing supported is left.
    async fn model_reply(
        &self,
        ctx: &TenantContext,
        text: String,
        usage: Option<Usage>,
        req: &ChatRequest,
        sink: &Option<mpsc::Sender<ChatEvent>>,
        mode: GroundingMode,
    ) -> Answer {
        let cid = ctx.company_id();
        let streamed = sink.is_some() && mode != GroundingMode::Strict;
        if text.trim().is_empty() {
            warn!(company = cid, "model returned an empty reply; answering with the fallback");
            self.inner.metrics.upstream_error(self.model().provider());
            let (t, _, _, grounding) = self.fallback_answer(req, sink, mode).await;
            // Streamed white space stays in front, so the pieces still add up to the reply.
            let t = if streamed { format!("{text}{t}") } else { t };
            return (t, AnsweredBy::Fallback, None, grounding);
        }
        if let Some(u) = usage {
            self.record_usage(cid, u.total_tokens).await;
        }
        if mode == GroundingMode::Off {
            return (text, AnsweredBy::Model, usage, None);
        }
        let report = self.check_grounding(req, &text).await;
        let grounding = Some(report.counts());
        if mode != GroundingMode::Strict || report.unsupported == 0 {
            if sink.is_some() && !streamed {
                send_in_pieces(sink, &text).await;
            }
            return (text, AnsweredBy::Model, usage, grounding);
        }
        if report.supported == 0 {
            info!(
                company = cid,
                unsupported = report.unsupported,
                "no model sentence is grounded; answering with the extractive answer"
            );
            let (t, ..) = self.fallback_answer(req, sink, mode).await;
            return (t, AnsweredBy::Fallback, usage, grounding);
        }
        info!(
            company = cid,
            unsupported = report.unsupported,
            "removed unsupported sentences (strict grounding)"
        );
        let kept = strict_text(&text, &report);
        send_in_pieces(sink, &kept).await;
        (kept, AnsweredBy::Model, usage, grounding)
    }

    /// Check an answer against the passages of its request: shared terms and hard facts, and the
    /// dense similarity when the embedder has a dense side (an embedder failure leaves the
    /// lexical check alone). The question, the company name and the passages' titles and
    /// sources are context for facts and names.
    async fn check_grounding(&self, req: &ChatRequest, answer: &str) -> GroundingReport {
        let passages: Vec<&str> = req.passages.iter().map(|p| p.text.as_str()).collect();
        let mut context: Vec<&str> = vec![req.question.as_str(), req.company_name.as_str()];
        for p in &req.passages {
            context.extend(p.title.as_deref());
            context.extend(p.source.as_deref());
            context.extend(p.section.as_deref());
        }
        let check = GroundingCheck::new(answer, &passages, &context);
        let embedder = self.embedder();
        if embedder.dimension() == 0 {
            return check.report(None);
        }
        let texts = check.dense_texts();
        if texts.is_empty() {
            return check.report(None);
        }
        let mut vectors: Vec<Vec<f32>> = Vec::with_capacity(texts.len());
        let embed = async {
            for batch in texts.chunks(embedder.max_batch().max(1)) {
                vectors.extend(embedder.embed(batch).await?);
            }
            Ok::<_, Error>(())
        };
        match tokio::time::timeout(self.inner.config.model_timeout, embed).await {
            Ok(Ok(())) => check.report(Some(&vectors)),
            Ok(Err(e)) => {
                warn!(error = %e, "grounding: the embedder failed; checking by terms and facts only");
                check.report(None)
            }
            Err(_) => {
                warn!("grounding: the embedder timed out; checking by terms and facts only");
                check.report(None)
            }
        }
    }

    /// Today's token usage against the company's budget.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn budget_status(&self, ctx: &TenantContext) -> Result<BudgetStatus> {
        let used = self.store().token_usage(ctx.company_id(), Utc::now().date_naive()).await?;
        let budget = ctx.company().ai_config.daily_token_budget;
        Ok(BudgetStatus {
            used_today: used,
            daily_budget: budget,
            exhausted: budget.is_some_and(|b| used >= b),
        })
    }

    pub(super) async fn budget_exhausted(&self, ctx: &TenantContext) -> bool {
        if ctx.company().ai_config.daily_token_budget.is_none() {
            return false;
        }
        self.budget_status(ctx).await.map(|b| b.exhausted).unwrap_or(false)
    }

    /// Count tokens a model call spent (the metric and the company's daily tally). A failure to
    /// record is logged, never fatal to the reply.
    pub(super) async fn record_usage(&self, cid: &str, tokens: u32) {
        if tokens == 0 {
            return;
        }
        self.inner.metrics.tokens_used.inc_by(u64::from(tokens));
        if let Err(e) = self.store().add_token_usage(cid, Utc::now().date_naive(), u64::from(tokens)).await {
            warn!(company = cid, error = %e, "could not record token usage");
        }
    }
}

/// Send a checked answer as deltas of a few words (they add up to the text exactly).
async fn send_in_pieces(sink: &Option<mpsc::Sender<ChatEvent>>, text: &str) {
    for piece in word_groups(text, WORDS_PER_DELTA) {
        send(sink, ChatEvent::Delta(piece)).await;
    }
}
