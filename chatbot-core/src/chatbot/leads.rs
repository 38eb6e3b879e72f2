//! The lead workflow (what a visitor's message teaches the lead, the model's structured
//! extraction, the once-only webhook) and the tenant-checked leads calls.

use std::time::Duration;

use chrono::Utc;
use tracing::warn;

use crate::auth;
use crate::conversation::{Message, Page, Role};
use crate::error::{Error, Result};
use crate::lead::{Lead, LeadFilter, LeadStatus, extract, merge, summary};
use crate::tenant::{ClientType, TenantContext};
use crate::text::{FixedText, Lang, fixed_text};

use super::Chatbot;

/// Refresh the lead summary every this many visitor messages once ready.
const SUMMARY_EVERY: usize = 4;

/// What one visitor message did to a lead.
#[derive(Debug, Clone, Copy)]
pub(super) struct LeadStep {
    /// The lead changed and must be saved.
    pub(super) changed: bool,
    /// It became ready with this message.
    pub(super) became_ready: bool,
    /// Its webhook is due (stamped `notified_at`; send after the save).
    pub(super) notify: bool,
}

impl Chatbot {
    /// stamp).
    pub(super) fn lead_learns(
        &self,
        ctx: &TenantContext,
        l: &mut Lead,
        message: &str,
        visitor_turns: usize,
    ) -> LeadStep {
        let update = extract::apply_message_for(l, ctx.company().client_type, message);
        let became_ready = update.became_ready;
        // The summary follows the lead once it is ready: rebuilt when anything changed, and
        // every few messages for the message count.
        if l.is_lead_ready && (became_ready || update.changed || visitor_turns.is_multiple_of(SUMMARY_EVERY))
        {
            l.ai_summary = summary::summarize(l, ctx.company().client_type);
        }
        let notify = stamp_notification(l, became_ready, has_webhook(ctx));
        let changed = update.changed || became_ready;
        if changed {
            l.updated_at = Utc::now();
        }
        LeadStep { changed, became_ready, notify }
    }

    /// Apply a visitor message to a stored lead and save what changed. The message is applied
    /// to the lead as loaded first (most messages change nothing: no write); a change is then
    /// re-applied to the stored row under [`Store::modify_lead`], so a concurrent turn of the
    /// same visitor never undoes this one, nor this one it. `l` becomes the saved lead.
    pub(super) async fn learn_and_save(
        &self,
        ctx: &TenantContext,
        l: &mut Lead,
        message: &str,
        visitor_turns: usize,
    ) -> Result<LeadStep> {
        let mut step = self.lead_learns(ctx, l, message, visitor_turns);
        if step.changed {
            let mut apply = |x: &mut Lead| {
                step = self.lead_learns(ctx, x, message, visitor_turns);
                step.changed
            };
            match self.store().modify_lead(ctx.company_id(), &l.lead_id, &mut apply).await? {
                Some(saved) => *l = saved,
                None => return Err(Error::not_found(format!("lead {}", l.lead_id))),
            }
        }
        self.lead_saved(ctx, l, step);
        Ok(step)
    }

    /// After a lead was saved: count a lead that became ready, notify the webhook once.
    pub(super) fn lead_saved(&self, ctx: &TenantContext, l: &Lead, step: LeadStep) {
        if step.became_ready {
            self.inner.metrics.leads_ready.inc();
        }
        if step.notify {
            self.notify_lead_ready(ctx, l.clone());
        }
    }

    /// The partner-chat visitor's existing lead, with this message applied (the turn's first
    /// write found one). Made here only if it vanished in between (deleted by an operator).
    pub(super) async fn partner_lead(
        &self,
        ctx: &TenantContext,
        session_id: &str,
        user_id: &str,
        message: &str,
        visitor_turns: usize,
    ) -> Result<(Lead, bool)> {
        let store = self.store();
        let cid = ctx.company_id();
        let mut l = match store.get_lead_by_session(cid, session_id).await? {
            Some(l) => l,
            None => {
                let mut l = Lead::new(new_lead_id(), cid, session_id, user_id);
                let step = self.lead_learns(ctx, &mut l, message, visitor_turns);
                match store.insert_lead(&l).await {
                    Ok(()) => {
                        self.lead_saved(ctx, &l, step);
                        return Ok((l, step.became_ready));
                    }
                    // Made by a concurrent turn of the same visitor: use that one.
                    Err(Error::Conflict(_)) => store
                        .get_lead_by_session(cid, session_id)
                        .await?
                        .ok_or_else(|| Error::Internal("lead conflict without a lead".into()))?,
                    Err(e) => return Err(e),
                }
            }
        };
        let step = self.learn_and_save(ctx, &mut l, message, visitor_turns).await?;
        Ok((l, step.became_ready))
    }

    /// A partner lead made after its conversation began: what the visitor's earlier messages say
    /// about the request (the first real request, profile fields the later ones left unset).
    /// They held no contact details (any would have made the lead then), so only these.
    pub(super) async fn backfill_lead(
        &self,
        ctx: &TenantContext,
        l: &mut Lead,
        earlier: &[Message],
    ) -> Result<()> {
        let visitor: Vec<&str> =
            earlier.iter().filter(|m| m.role == Role::User).map(|m| m.content.as_str()).collect();
        if visitor.is_empty() {
            return Ok(());
        }
        let first_request =
            visitor.iter().find(|t| extract::is_real_request(t)).map(|t| t.trim().to_string());
        // Earlier messages fill what this (newer) message left unset; among them the later wins.
        let client_type = ctx.company().client_type;
        let mut profile = serde_json::Map::new();
        for t in &visitor {
            crate::lead::profile::merge_profile(
                &mut profile,
                extract::extract_profile_with_order(client_type, t),
            );
        }
        let mut apply = |x: &mut Lead| {
            let mut changed = false;
            if let Some(first) = &first_request
                && &x.message != first
            {
                x.message.clone_from(first);
                changed = true;
            }
            for (k, v) in &profile {
                if !x.profile.contains_key(k) {
                    x.profile.insert(k.clone(), v.clone());
                    changed = true;
                }
            }
            if changed {
                if x.is_lead_ready {
                    x.ai_summary = summary::summarize(x, ctx.company().client_type);
                }
                x.updated_at = Utc::now();
            }
            changed
        };
        if let Some(saved) = self.store().modify_lead(ctx.company_id(), &l.lead_id, &mut apply).await? {
            *l = saved;
        }
        Ok(())
    }

    /// Refine the lead with the model's structured extraction (contacts checked against what the
    /// visitor wrote, the company's profile fields, a summary), off the reply's path.
    pub(super) fn spawn_llm_extraction(&self, ctx: &TenantContext, lead: &Lead) {
        let Some(extractor) = self.inner.c.lead_extractor.clone() else { return };
        let visitor: Vec<String> =
            lead.messages.iter().filter(|m| m.role == Role::User).map(|m| m.content.clone()).collect();
        let (bot, ctx, lead_id) = (self.clone(), ctx.clone(), lead.lead_id.clone());
        tokio::spawn(async move {
            let fields = ctx.company().profile_fields();
            let x = match extractor.extract(&visitor, &fields).await {
                Ok(x) => x,
                Err(e) => {
                    warn!(company = ctx.company_id(), error = %e, "lead extraction by the model failed");
                    bot.inner.metrics.upstream_error("openai");
                    return;
                }
            };
            // The extraction's tokens count against the company's daily budget like a reply's.
            bot.record_usage(ctx.company_id(), x.tokens).await;
            // Applied to the lead as stored now, atomically: the visitor's next turn may be
            // saving it at the same moment.
            let summary = x.summary.filter(|s| !s.trim().is_empty());
            let has_webhook = has_webhook(&ctx);
            let (mut update, mut notify) = (extract::LeadUpdate::default(), false);
            // The model may add profile fields the rules did not find, only with values the
            // visitor wrote; the rules' values stay.
            let added = merge::supported_profile(&x.profile, &visitor.join("\n"));
            let mut apply = |l: &mut Lead| {
                update = extract::apply_extracted(l, "", &x.contacts, &serde_json::Map::new());
                update.changed |= merge::add_missing(&mut l.profile, added.clone());
                if let Some(s) = &summary {
                    // The model's words with the profile as found (values checked against what
                    // the visitor wrote, as contacts are).
                    l.ai_summary = summary::summarize_with(l, ctx.company().client_type, Some(s));
                }
                notify = stamp_notification(l, update.became_ready, has_webhook);
                l.updated_at = Utc::now();
                true
            };
            let l = match bot.store().modify_lead(ctx.company_id(), &lead_id, &mut apply).await {
                Ok(Some(l)) => l,
                Ok(None) => return,
                Err(e) => {
                    warn!(company = ctx.company_id(), error = %e, "could not save the extracted lead");
                    return;
                }
            };
            if update.became_ready {
                bot.inner.metrics.leads_ready.inc();
            }
            if notify {
                bot.notify_lead_ready(&ctx, l);
            }
        });
    }

    /// Send the webhooks of ready leads whose sending process ended before it recorded an
    /// attempt (stamped due more than [`crate::Config::webhook_recovery_after`] ago); how many
    /// were taken over. Every instance may run it at once: each lead is claimed by one
    /// ([`crate::store::LeadStore::claim_notification`]). A lead whose company removed its
    /// webhook meanwhile gets a failed delivery record instead (so it is not looked at again).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn recover_webhooks(&self) -> Result<usize> {
        let now = Utc::now();
        let after = chrono::Duration::from_std(self.inner.config.webhook_recovery_after)
            .unwrap_or(chrono::Duration::MAX);
        let store = self.store();
        let mut taken = 0;
        // a sweep's leads often share a company: read each one once
        let mut companies: std::collections::HashMap<String, Option<crate::Company>> = Default::default();
        for lead in store.unsent_notifications(now - after, 100).await? {
            let Some(seen) = lead.notified_at else { continue };
            let company = match companies.get(&lead.company_id) {
                Some(known) => known.clone(),
                None => {
                    let read = store.get_company(&lead.company_id).await?;
                    companies.insert(lead.company_id.clone(), read.clone());
                    read
                }
            };
            let Some(company) = company else { continue };
            if !store.claim_notification(&lead.company_id, &lead.lead_id, seen, now).await? {
                continue; // another instance took it
            }
            if company.ai_config.lead_webhook_url.is_none() {
                store
                    .record_webhook_delivery(&crate::store::WebhookDelivery {
                        company_id: lead.company_id.clone(),
                        lead_id: lead.lead_id.clone(),
                        url: String::new(),
                        attempts: 0,
                        status_code: None,
                        error: Some("the webhook was removed before the lead could be sent".into()),
                        delivered: false,
                        created_at: now,
                    })
                    .await?;
                continue;
            }
            tracing::info!(
                company = lead.company_id,
                lead = lead.lead_id,
                "sending a webhook its instance left unsent"
            );
            let ctx = TenantContext::new(company, None, crate::tenant::Access::Operator);
            self.notify_lead_ready(&ctx, lead);
            taken += 1;
        }
        Ok(taken)
    }

    /// Run [`Chatbot::recover_webhooks`] in the background every half recovery period (at most
    /// every 30 s) for as long as the process lives (servers call it once at start).
    pub fn start_webhook_recovery(&self) {
        let bot = self.clone();
        let every = (self.inner.config.webhook_recovery_after / 2)
            .clamp(Duration::from_millis(500), Duration::from_secs(30));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = bot.recover_webhooks().await {
                    tracing::warn!(error = %e, "webhook recovery failed; trying again later");
                }
            }
        });
    }

    pub(super) fn notify_lead_ready(&self, ctx: &TenantContext, lead: Lead) {
        let Some(url) = ctx.company().ai_config.lead_webhook_url.clone() else { return };
        let lead = with_profile_state(ctx.company().client_type, lead);
        let bot = self.clone();
        let company_id = ctx.company_id().to_string();
        tokio::spawn(async move {
            crate::net::webhook::deliver(
                &bot.inner.webhooks,
                bot.store().as_ref(),
                &bot.inner.metrics,
                &company_id,
                &url,
                &lead,
            )
            .await;
        });
    }

    /// # Errors
    /// [`Error::Unauthorized`] without a secret key.
    pub async fn list_leads(&self, ctx: &TenantContext, filter: &LeadFilter) -> Result<Vec<Lead>> {
        ctx.require_admin()?;
        let mut f = filter.clone();
        // A limit of 0 asks for the default page; any other is held to the page rules.
        let limit = if f.limit == 0 { Page::DEFAULT_LIMIT } else { f.limit };
        f.limit = Page { limit, offset: f.offset }.clamped().limit;
        let client_type = ctx.company().client_type;
        let leads = self.store().list_leads(ctx.company_id(), &f).await?;
        Ok(leads.into_iter().map(|l| with_profile_state(client_type, l)).collect())
    }

    /// # Errors
    /// [`Error::NotFound`], [`Error::Conflict`] for a transition that is not allowed.
    pub async fn set_lead_status(
        &self,
        ctx: &TenantContext,
        lead_id: &str,
        status: LeadStatus,
    ) -> Result<Lead> {
        ctx.require_admin()?;
        // Atomic, so a visitor's turn saving the lead at the same moment keeps its details.
        let mut refused = None;
        let mut apply = |l: &mut Lead| match l.status.transition(status) {
            Ok(next) => {
                l.status = next;
                l.updated_at = Utc::now();
                true
            }
            Err(e) => {
                refused = Some(e);
                false
            }
        };
        let lead = self
            .store()
            .modify_lead(ctx.company_id(), lead_id, &mut apply)
            .await?
            .ok_or_else(|| Error::not_found(format!("lead {lead_id}")))?;
        match refused {
            Some(e) => Err(e),
            None => Ok(with_profile_state(ctx.company().client_type, lead)),
        }
    }

    /// # Errors
    /// [`Error::NotFound`].
    pub async fn get_lead(&self, ctx: &TenantContext, lead_id: &str) -> Result<Lead> {
        ctx.require_admin()?;
        let lead = self
            .store()
            .get_lead(ctx.company_id(), lead_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("lead {lead_id}")))?;
        Ok(with_profile_state(ctx.company().client_type, lead))
    }
}

impl Chatbot {
    /// Find a lead by its id in any company, with an operator context for its company. For
    /// operator tooling only (the terminal's `leads show`): nothing but the id is checked.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn find_lead_as_operator(&self, lead_id: &str) -> Result<Lead> {
        let lead = self
            .store()
            .find_lead_any_company(lead_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("lead {lead_id}")))?;
        let client_type = self.store().get_company(&lead.company_id).await?.map(|c| c.client_type);
        Ok(with_profile_state(client_type.unwrap_or_default(), lead))
    }
}

/// The leads of one company, checked for the secret key or the operator once: get one with
/// [`Chatbot::leads`].
pub struct Leads<'a> {
    bot: &'a Chatbot,
    ctx: &'a TenantContext,
}

impl Chatbot {
    /// The company's leads.
    pub fn leads<'a>(&'a self, ctx: &'a TenantContext) -> Leads<'a> {
        Leads { bot: self, ctx }
    }
}

impl Leads<'_> {
    /// Newest first; a `limit` of 0 lists [`Page::DEFAULT_LIMIT`], one over [`Page::MAX_LIMIT`]
    /// lists that many.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] without a secret key.
    pub async fn list(&self, filter: &LeadFilter) -> Result<Vec<Lead>> {
        self.bot.list_leads(self.ctx, filter).await
    }

    /// # Errors
    /// [`Error::NotFound`].
    pub async fn get(&self, lead_id: &str) -> Result<Lead> {
        self.bot.get_lead(self.ctx, lead_id).await
    }

    /// # Errors
    /// [`Error::NotFound`], [`Error::Conflict`] for a transition that is not allowed.
    pub async fn set_status(&self, lead_id: &str, status: LeadStatus) -> Result<Lead> {
        self.bot.set_lead_status(self.ctx, lead_id, status).await
    }
}

/// The lead with its derived `profile_complete` for the company's client type.
pub(super) fn with_profile_state(client_type: ClientType, mut lead: Lead) -> Lead {
    lead.profile_complete = client_type.profile_complete(&lead.profile);
    lead
}

/// Whether the company has a lead webhook configured.
fn has_webhook(ctx: &TenantContext) -> bool {
    ctx.company().ai_config.lead_webhook_url.is_some()
}

/// The webhook fires once per lead: a lead that just became ready is stamped `notified_at`
/// before it is saved, so whichever writer saves the stamp first sends it, and nobody after.
/// Returns whether this change is the one to send.
fn stamp_notification(l: &mut Lead, became_ready: bool, has_webhook: bool) -> bool {
    let notify = became_ready && l.notified_at.is_none() && has_webhook;
    if notify {
        l.notified_at = Some(Utc::now());
    }
    notify
}

/// A new lead's id (random, unguessable).
pub(super) fn new_lead_id() -> String {
    auth::random_token("lead_", 12)
}

/// Asking for what is missing of the visitor's contact details, in their language.
pub(super) fn contact_ask(lead: &Lead, lang: Option<Lang>) -> String {
    let has_name = lead.name != crate::lead::ANONYMOUS;
    match (has_name, lead.email.is_empty() && lead.phone.is_empty()) {
        (false, true) => fixed_text(lang, FixedText::ContactAskAll, "", ""),
        (false, false) => fixed_text(lang, FixedText::ContactAskName, "", ""),
        (true, _) => fixed_text(lang, FixedText::ContactAskReach, "", &lead.name),
    }
}

/// The question for the most useful profile field the lead still misses, in the visitor's
/// language; none once the client type's key fields are known.
pub(super) fn profile_question(client_type: ClientType, lead: &Lead, lang: Option<Lang>) -> Option<String> {
    if client_type.profile_complete(&lead.profile) {
        return None;
    }
    let field = client_type.next_missing_field(&lead.profile)?;
    crate::text::profile_ask(client_type, field).map(|t| fixed_text(lang, t, "", ""))
}
