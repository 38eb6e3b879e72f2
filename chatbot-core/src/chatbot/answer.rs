//! Answering: the configured model (streaming when asked), with the extractive fallback on
//! failure, timeout or a spent daily budget, and the token accounting against that budget.

use chrono::Utc;
use futures::StreamExt as _;
use serde::Serialize;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::error::{Error, Result};
use crate::llm::{ChatRequest, StreamEvent, Usage};
use crate::tenant::TenantContext;

use super::Chatbot;
use super::turn::send;
use super::types::{AnsweredBy, ChatEvent};

/// Daily token usage against the budget.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetStatus {
    pub used_today: u64,
    pub daily_budget: Option<u64>,
    pub exhausted: bool,
}

impl Chatbot {
    /// Call the model (streaming when a sink is given); on failure, timeout or a spent budget,
    /// answer with the extractive fallback.
    pub(super) async fn generate(
        &self,
        ctx: &TenantContext,
        req: &ChatRequest,
        sink: &Option<mpsc::Sender<ChatEvent>>,
    ) -> (String, AnsweredBy, Option<Usage>) {
        let model = self.model();
        let cid = ctx.company_id();
        if !model.capabilities().generative {
            let t = self.inner.fallback.answer(req);
            send(sink, ChatEvent::Delta(t.clone())).await;
            return (t, AnsweredBy::Fallback, None);
        }
        if self.budget_exhausted(ctx).await {
            self.inner.metrics.budget_exhausted.inc();
            info!(company = cid, "daily token budget spent; using the fallback");
            let t = self.inner.fallback.answer(req);
            send(sink, ChatEvent::Delta(t.clone())).await;
            return (t, AnsweredBy::Fallback, None);
        }
        let timeout = self.inner.config.model_timeout;
        let result: Result<(String, Option<Usage>)> = match sink {
            None => match tokio::time::timeout(timeout, model.complete(req)).await {
                Ok(Ok(c)) => Ok((c.text, c.usage)),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(Error::upstream(model.provider(), "timed out", true)),
            },
            Some(tx) => {
                let mut text = String::new();
                let run = async {
                    let mut stream = model.stream(req).await?;
                    let mut usage = None;
                    while let Some(ev) = stream.next().await {
                        match ev? {
                            StreamEvent::Delta(d) => {
                                text.push_str(&d);
                                let _ = tx.send(ChatEvent::Delta(d)).await;
                            }
                            StreamEvent::Done { usage: u, .. } => usage = u,
                        }
                    }
                    Ok::<_, Error>(usage)
                };
                let broke = match tokio::time::timeout(timeout, run).await {
                    Ok(Ok(usage)) => return self.model_reply(cid, text, usage, req, sink).await,
                    Ok(Err(e)) => e,
                    Err(_) => Error::upstream(model.provider(), "timed out", true),
                };
                if text.is_empty() {
                    Err(broke)
                } else {
                    // The visitor has seen the start of the reply: keep it and complete it with
                    // the fallback answer, so the streamed pieces still add up to the stored reply.
                    warn!(company = cid, error = %broke, "model stream broke off; completing it with the fallback");
                    self.inner.metrics.upstream_error(model.provider());
                    let piece = format!("\n\n{}", self.inner.fallback.answer(req));
                    send(sink, ChatEvent::Delta(piece.clone())).await;
                    text.push_str(&piece);
                    return (text, AnsweredBy::Fallback, None);
                }
            }
        };
        match result {
            Ok((text, usage)) => self.model_reply(cid, text, usage, req, sink).await,
            Err(e) => {
                warn!(company = cid, error = %e, "model failed; answering with the fallback");
                self.inner.metrics.upstream_error(model.provider());
                let t = self.inner.fallback.answer(req);
                send(sink, ChatEvent::Delta(t.clone())).await;
                (t, AnsweredBy::Fallback, None)
            }
        }
    }

    /// A model reply that completed: counted, or replaced by the fallback when it is empty.
    async fn model_reply(
        &self,
        cid: &str,
        text: String,
        usage: Option<Usage>,
        req: &ChatRequest,
        sink: &Option<mpsc::Sender<ChatEvent>>,
    ) -> (String, AnsweredBy, Option<Usage>) {
        if text.trim().is_empty() {
            warn!(company = cid, "model returned an empty reply; answering with the fallback");
            self.inner.metrics.upstream_error(self.model().provider());
            let t = self.inner.fallback.answer(req);
            send(sink, ChatEvent::Delta(t.clone())).await;
            // Streamed white space stays in front, so the pieces still add up to the reply.
            let t = if sink.is_some() { format!("{text}{t}") } else { t };
            return (t, AnsweredBy::Fallback, None);
        }
        if let Some(u) = usage {
            self.record_usage(cid, u.total_tokens).await;
        }
        (text, AnsweredBy::Model, usage)
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
