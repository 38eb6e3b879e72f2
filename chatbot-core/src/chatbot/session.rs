//! Sessions and the two chat entry points (the session routes and the seed's partner chat):
//! everything a turn needs checked and loaded before it runs.

use chrono::Utc;
use futures::stream::BoxStream;

use crate::auth;
use crate::conversation::{Conversation, Message, Page, Session};
use crate::error::{Error, Result};
use crate::guard::{self, LimitKey};
use crate::lead::Lead;
use crate::tenant::TenantContext;

use super::Chatbot;
use super::leads::new_lead_id;
use super::types::{ChatEvent, ChatInput, ChatReply, ClientInfo, PartnerChat, SessionInfo};

/// A session's expiry slides on use at most this often (one write per session per minute).
const SLIDE_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// Expired sessions are purged at most this often (checked when a session is opened).
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Where a turn goes: the conversation, its visitor and its lead.
pub(super) struct Target {
    pub(super) session_id: String,
    pub(super) user_id: String,
    pub(super) lead: TargetLead,
    pub(super) client_history: Vec<Message>,
    /// Partner chat: the visitor token the reply returns.
    pub(super) visitor_token: Option<String>,
}

/// Where a turn's lead comes from.
pub(super) enum TargetLead {
    /// Loaded before the turn (the session routes make it with the session).
    Loaded(Box<Lead>),
    /// Found or made in the turn, by the conversation's session id (partner chat).
    BySession,
}

/// A company's request limits per minute (its AI configuration, or the defaults).
pub(super) struct Limits {
    per_ip: u32,
    pub(super) per_session: u32,
}

/// The client IP's limit as a rate check (none when the address is unknown).
pub(super) fn ip_limit(ctx: &TenantContext, client: ClientInfo) -> Option<(LimitKey<'_>, u32)> {
    client.ip.map(|ip| (LimitKey::Ip { company_id: ctx.company_id(), ip }, limits(ctx).per_ip))
}

pub(super) fn limits(ctx: &TenantContext) -> Limits {
    let c = &ctx.company().ai_config;
    Limits {
        per_ip: c.rate_limit_per_ip.unwrap_or(guard::DEFAULT_PER_IP),
        per_session: c.rate_limit_per_session.unwrap_or(guard::DEFAULT_PER_SESSION),
    }
}

impl Chatbot {
    /// Create a session, or resume `session_id` if given. A new session creates its lead.
    ///
    /// # Errors
    /// [`Error::RateLimited`], [`Error::NotFound`] (unknown session), [`Error::Unauthorized`]
    /// (expired session), [`Error::Invalid`].
    pub async fn open_session(
        &self,
        ctx: &TenantContext,
        user_id: Option<String>,
        session_id: Option<String>,
        client: ClientInfo,
    ) -> Result<SessionInfo> {
        self.check_ip(ctx, client).await?;
        self.purge_sessions_when_due();
        let store = self.store();
        let now = Utc::now();
        let ttl = self.session_ttl();
        if let Some(sid) = session_id.filter(|s| !s.is_empty()) {
            let mut s = self.valid_session(ctx, &sid).await?;
            s.last_seen_at = now;
            s.expires_at = now + ttl;
            store.update_session(&s).await?;
            let lead = self.lead_for_session(ctx, &s).await?;
            let messages = self.history_of(ctx, &s.session_id).await?;
            return Ok(SessionInfo {
                session_id: s.session_id,
                lead_id: lead.lead_id,
                expires_at: s.expires_at,
                user_id: s.user_id,
                resumed: true,
                messages,
            });
        }
        let user_id = normalize_user_id(user_id)?;
        self.check_new_conversation(ctx).await?;
        let session = Session {
            session_id: auth::random_token("sess_", 32),
            company_id: ctx.company_id().to_string(),
            user_id: user_id.clone(),
            lead_id: Some(new_lead_id()),
            client_ip: client.ip.map(|ip| ip.to_string()),
            expires_at: now + ttl,
            created_at: now,
            last_seen_at: now,
        };
        store.insert_session(&session).await?;
        store.ensure_conversation(ctx.company_id(), &session.session_id, &user_id).await?;
        let lead = Lead::new(
            session.lead_id.clone().unwrap_or_default(),
            ctx.company_id(),
            &session.session_id,
            &user_id,
        );
        store.insert_lead(&lead).await?;
        Ok(SessionInfo {
            session_id: session.session_id,
            lead_id: lead.lead_id,
            expires_at: session.expires_at,
            user_id,
            resumed: false,
            messages: Vec::new(),
        })
    }

    fn session_ttl(&self) -> chrono::TimeDelta {
        chrono::Duration::from_std(self.inner.config.session_ttl).unwrap_or(chrono::Duration::hours(24))
    }

    /// Delete the sessions (of every company) that expired; how many. Their conversations and
    /// leads stay. Runs by itself every few minutes while sessions are opened; operators can run
    /// it too (`chatbot db purge-sessions`). Shared rate-limit keys whose time has passed go
    /// with them.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn purge_expired_sessions(&self) -> Result<u64> {
        let now = Utc::now();
        let n = self.store().purge_expired_sessions(now).await?;
        if n > 0 {
            tracing::info!(sessions = n, "purged expired sessions");
        }
        if self.store().shares_limits() {
            self.store().purge_rate_limits(now.timestamp_micros()).await?;
        }
        Ok(n)
    }

    /// Start a purge in the background when the last one is [`PURGE_EVERY`] old (one atomic
    /// read on the hot path otherwise).
    fn purge_sessions_when_due(&self) {
        let now = self.inner.started.elapsed().as_secs();
        let last = self.inner.last_session_purge.load(std::sync::atomic::Ordering::Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= PURGE_EVERY.as_secs();
        if !due {
            return;
        }
        // One caller wins the slot; the stamp is at least 1, so 0 means "never".
        let stamp = now.max(1);
        if self
            .inner
            .last_session_purge
            .compare_exchange(
                last,
                stamp,
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
            )
            .is_err()
        {
            return;
        }
        let bot = self.clone();
        tokio::spawn(async move {
            if let Err(e) = bot.purge_expired_sessions().await {
                tracing::warn!(error = %e, "purging expired sessions failed");
            }
        });
    }

    pub(super) async fn valid_session(&self, ctx: &TenantContext, sid: &str) -> Result<Session> {
        let s = self
            .store()
            .get_session(ctx.company_id(), sid)
            .await?
            .ok_or_else(|| Error::not_found("session (unknown, or of another company)"))?;
        if s.is_expired(Utc::now()) {
            return Err(Error::Unauthorized("session expired; start a new session".into()));
        }
        Ok(s)
    }

    /// A session slides on use: its expiry moves to a full TTL from now (written at most once
    /// per [`SLIDE_EVERY`] per session, so a busy conversation costs no extra write per turn).
    async fn slide_session(&self, s: &mut Session) -> Result<()> {
        let now = Utc::now();
        if now - s.last_seen_at < SLIDE_EVERY {
            return Ok(());
        }
        s.last_seen_at = now;
        s.expires_at = now + self.session_ttl();
        self.store().update_session(s).await
    }

    pub(super) async fn lead_for_session(&self, ctx: &TenantContext, s: &Session) -> Result<Lead> {
        if let Some(l) = self.store().get_lead_by_session(ctx.company_id(), &s.session_id).await? {
            return Ok(l);
        }
        let lead = Lead::new(new_lead_id(), ctx.company_id(), &s.session_id, &s.user_id);
        self.store().insert_lead(&lead).await?;
        Ok(lead)
    }

    pub(super) async fn check_ip(&self, ctx: &TenantContext, client: ClientInfo) -> Result<()> {
        match ip_limit(ctx, client) {
            Some(check) => self.rate_checks(&[check]).await,
            None => Ok(()),
        }
    }

    /// One chat turn in a session (`POST /api/chatbot/chat`).
    ///
    /// # Errors
    /// [`Error::NotFound`] (session), [`Error::RateLimited`], [`Error::Invalid`] (message).
    pub async fn chat(&self, ctx: &TenantContext, input: ChatInput) -> Result<ChatReply> {
        let target = self.session_target(ctx, &input).await?;
        self.turn(ctx, target, &input.message, None).await
    }

    /// Like [`Chatbot::chat`], streaming. The turn runs in its own task, so the reply is stored
    /// even if the receiver goes away.
    ///
    /// # Errors
    /// As [`Chatbot::chat`], for failures before the turn starts.
    pub async fn chat_stream(
        &self,
        ctx: &TenantContext,
        input: ChatInput,
    ) -> Result<BoxStream<'static, ChatEvent>> {
        let target = self.session_target(ctx, &input).await?;
        Ok(self.spawn_turn(ctx.clone(), target, input.message))
    }

    pub(super) async fn session_target(&self, ctx: &TenantContext, input: &ChatInput) -> Result<Target> {
        validate_message(&input.message, self.inner.config.max_message_chars)?;
        let mut s = self.valid_session(ctx, &input.session_id).await?;
        self.check_ip(ctx, input.client).await?;
        self.rate_check(
            LimitKey::Session { company_id: ctx.company_id(), session_id: &s.session_id },
            limits(ctx).per_session,
        )
        .await?;
        self.slide_session(&mut s).await?;
        let lead = self.lead_for_session(ctx, &s).await?;
        Ok(Target {
            session_id: s.session_id,
            user_id: s.user_id,
            lead: TargetLead::Loaded(Box::new(lead)),
            client_history: Vec::new(),
            visitor_token: None,
        })
    }

    /// The seed's partner chat (`POST /api/partner-chat/{companyId}`): no session; the reply's
    /// visitor token (or the integrator's signature of `user_id`) continues the conversation,
    /// and without either a request starts a new one (see [`PartnerChat`]).
    ///
    /// # Errors
    /// [`Error::Invalid`] (message, user_id, history, visitor_token), [`Error::RateLimited`],
    /// [`Error::Unauthorized`] (a `user_signature` that does not match).
    pub async fn partner_chat(&self, ctx: &TenantContext, input: PartnerChat) -> Result<ChatReply> {
        let target = self.partner_target(ctx, &input).await?;
        self.turn(ctx, target, &input.message, None).await
    }

    /// Streaming [`Chatbot::partner_chat`].
    ///
    /// # Errors
    /// As [`Chatbot::partner_chat`].
    pub async fn partner_chat_stream(
        &self,
        ctx: &TenantContext,
        input: PartnerChat,
    ) -> Result<BoxStream<'static, ChatEvent>> {
        let target = self.partner_target(ctx, &input).await?;
        Ok(self.spawn_turn(ctx.clone(), target, input.message))
    }

    pub(super) async fn partner_target(&self, ctx: &TenantContext, input: &PartnerChat) -> Result<Target> {
        validate_message(&input.message, self.inner.config.max_message_chars)?;
        let client_history = guard::screen_history(
            input.history.iter().map(|h| (h.role.as_str(), h.content.as_str())),
            self.inner.config.max_message_chars,
            &ctx.company().ai_config.allowed_topics,
        )?;
        let v = self.partner_visitor(ctx, input).await?;
        // The lead is found or made in the turn, after the conversation's first write, and only
        // once the visitor gives contact details or asks to be contacted.
        Ok(Target {
            session_id: v.session_id,
            user_id: v.user_id,
            lead: TargetLead::BySession,
            client_history,
            visitor_token: Some(v.token),
        })
    }

    /// Conversations, newest activity first (the page's limit held to 1..=[`Page::MAX_LIMIT`]).
    ///
    /// # Errors
    /// [`Error::Unauthorized`] without a secret key.
    pub async fn list_conversations(&self, ctx: &TenantContext, page: Page) -> Result<Vec<Conversation>> {
        ctx.require_admin()?;
        let page = page.clamped();
        self.store().list_conversations(ctx.company_id(), page.limit, page.offset).await
    }

    /// # Errors
    /// [`Error::NotFound`] when there is no such conversation.
    pub async fn delete_conversation(&self, ctx: &TenantContext, session_id: &str) -> Result<()> {
        ctx.require_admin()?;
        if self.store().delete_conversation(ctx.company_id(), session_id).await? {
            // Its visitor tokens go with it (a later request with one starts afresh).
            self.store().delete_visitor_tokens(ctx.company_id(), session_id).await?;
            Ok(())
        } else {
            Err(Error::not_found(format!("conversation {session_id}")))
        }
    }
}

fn validate_message(message: &str, max_chars: usize) -> Result<()> {
    if message.trim().is_empty() {
        return Err(Error::invalid("message", "must not be empty"));
    }
    let n = message.chars().count();
    if n > max_chars {
        return Err(Error::invalid("message", format!("at most {max_chars} characters, got {n}")));
    }
    Ok(())
}

/// A visitor id as given (at most 200 characters, no control character: the published
/// `maxLength` and `pattern`), without its surrounding white space; none, or a blank one, gets
/// an anonymous id.
pub(super) fn normalize_user_id(user_id: Option<String>) -> Result<String> {
    let Some(raw) = user_id else { return Ok(auth::random_token("anon_", 12)) };
    if raw.chars().count() > 200 {
        return Err(Error::invalid("user_id", "at most 200 characters"));
    }
    if raw.chars().any(char::is_control) {
        return Err(Error::invalid("user_id", "must not contain control characters"));
    }
    match raw.trim() {
        "" => Ok(auth::random_token("anon_", 12)),
        u => Ok(u.to_string()),
    }
}
