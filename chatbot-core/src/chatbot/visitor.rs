//! Who a partner-chat request speaks for. The seed's route has no session: a client-chosen
//! `user_id` is only a label, never a key to a conversation. A conversation continues with the
//! visitor token its first reply returned, or — for a user the integrator's backend vouches
//! for — with `user_signature`, an HMAC of the `user_id` under one of the company's identity
//! secrets. Anything else starts a new conversation under a random id.

use std::sync::atomic::Ordering;

use chrono::Utc;

use crate::auth::{self, VisitorToken};
use crate::conversation::partner_session_id;
use crate::error::{Error, Result};
use crate::guard::{self, LimitKey};
use crate::tenant::{Access, TenantContext};

use super::Chatbot;
use super::session::{ip_limit, limits, normalize_user_id};
use super::types::PartnerChat;

/// What the id of a partner-chat conversation started without a signature starts with (a
/// signed user's is `pc_` + the user id; the two never meet).
const ANONYMOUS_CONVERSATION_PREFIX: &str = "pcv_";
/// Expired tokens are purged once every this many issued tokens.
const PURGE_EVERY: u64 = 1024;
/// A token's expiry slides at most this often (a write per turn would double the writes).
const SLIDE_AT_MOST_EVERY: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// The conversation a partner-chat request belongs to.
pub(super) struct Visitor {
    pub(super) session_id: String,
    pub(super) user_id: String,
    /// The token the reply returns (the one presented when it was valid, else a new one).
    pub(super) token: String,
}

impl Chatbot {
    /// Resolve the visitor of a partner-chat request (see the module docs).
    ///
    /// An unknown, expired or other company's token starts a new conversation (the client is
    /// given a new token), so a visitor whose token lapsed simply starts over; a `visitor_token`
    /// that is not even shaped like one is a client bug and answered [`Error::Invalid`].
    pub(super) async fn partner_visitor(&self, ctx: &TenantContext, input: &PartnerChat) -> Result<Visitor> {
        let presented = input.visitor_token.as_deref().map(str::trim).filter(|t| !t.is_empty());
        if presented.is_some_and(|t| !auth::is_visitor_token_shaped(t)) {
            return Err(Error::invalid(
                "visitor_token",
                "is not a token this server issued (vt_ followed by 43 characters)",
            ));
        }
        let label = normalize_user_id(input.user_id.clone())?;
        let per_session = limits(ctx).per_session;
        // Every limit a request meets is checked in one call (one statement on a shared store):
        // the client IP's, then the new-conversation cap when it starts one, then the
        // conversation's own.
        let ip = ip_limit(ctx, input.client);
        if let Some(sig) = input.user_signature.as_deref() {
            let raw = input
                .user_id
                .as_deref()
                .filter(|u| !u.trim().is_empty())
                // A signature of no user id cannot verify: the same 401 as a wrong signature.
                .ok_or_else(|| Error::Unauthorized("user_signature needs the user_id it signs".into()))?;
            self.verify_user_signature(ctx, raw, sig).await?;
            let session_id = partner_session_id(&label);
            let session =
                (LimitKey::Session { company_id: ctx.company_id(), session_id: &session_id }, per_session);
            self.rate_checks(&ip.into_iter().chain([session]).collect::<Vec<_>>()).await?;
            let token = match presented {
                Some(t) if self.valid_token(ctx, t).await?.is_some_and(|r| r.session_id == session_id) => {
                    t.to_string()
                }
                _ => self.issue_visitor_token(ctx, &session_id, &label).await?,
            };
            return Ok(Visitor { session_id, user_id: label, token });
        }
        if let Some(t) = presented
            && let Some(rec) = self.valid_token(ctx, t).await?
        {
            let session = (
                LimitKey::Session { company_id: ctx.company_id(), session_id: &rec.session_id },
                per_session,
            );
            self.rate_checks(&ip.into_iter().chain([session]).collect::<Vec<_>>()).await?;
            return Ok(Visitor { session_id: rec.session_id, user_id: rec.user_id, token: t.to_string() });
        }
        let session_id = auth::random_token(ANONYMOUS_CONVERSATION_PREFIX, 24);
        // The first request counts against the conversation's limit like every later one.
        let session =
            (LimitKey::Session { company_id: ctx.company_id(), session_id: &session_id }, per_session);
        let checks: Vec<_> = ip.into_iter().chain(new_conversation_limit(ctx)).chain([session]).collect();
        self.rate_checks(&checks).await?;
        let token = self.issue_visitor_token(ctx, &session_id, &label).await?;
        Ok(Visitor { session_id, user_id: label, token })
    }

    /// The stored token, if it is this company's and has not expired; its expiry slides.
    pub(super) async fn valid_token(&self, ctx: &TenantContext, token: &str) -> Result<Option<VisitorToken>> {
        let hash = auth::hash_key(token);
        let Some(rec) = self.store().find_visitor_token(ctx.company_id(), &hash).await? else {
            return Ok(None);
        };
        let now = Utc::now();
        if rec.is_expired(now) {
            return Ok(None);
        }
        if now - rec.last_used_at >= SLIDE_AT_MOST_EVERY.min(self.token_ttl() / 10) {
            self.store().touch_visitor_token(ctx.company_id(), &hash, now, now + self.token_ttl()).await?;
        }
        Ok(Some(rec))
    }

    fn token_ttl(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::from_std(self.inner.config.visitor_token_ttl)
            .unwrap_or(chrono::TimeDelta::days(30))
    }

    /// Issue and store (hashed) a token for the conversation.
    async fn issue_visitor_token(
        &self,
        ctx: &TenantContext,
        session_id: &str,
        user_id: &str,
    ) -> Result<String> {
        let token = auth::generate_visitor_token();
        let now = Utc::now();
        let rec = VisitorToken {
            token_hash: auth::hash_key(&token),
            company_id: ctx.company_id().to_string(),
            session_id: session_id.to_string(),
            user_id: user_id.to_string(),
            created_at: now,
            last_used_at: now,
            expires_at: now + self.token_ttl(),
        };
        self.store().insert_visitor_token(&rec).await?;
        if self.inner.visitor_tokens_issued.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1 {
            let store = self.store().clone();
            tokio::spawn(async move {
                if let Err(e) = store.purge_visitor_tokens(Utc::now()).await {
                    tracing::warn!(error = %e, "could not purge expired visitor tokens");
                }
            });
        }
        Ok(token)
    }

    /// `signature` must be `user_id`'s HMAC under one of the company's active identity secrets.
    async fn verify_user_signature(&self, ctx: &TenantContext, user_id: &str, signature: &str) -> Result<()> {
        let secrets = self.store().active_identity_secrets(ctx.company_id()).await?;
        if secrets.is_empty() {
            return Err(Error::Unauthorized(format!(
                "user_signature was sent, but company {} has no identity secret \
                 (chatbot keys create {} --kind identity)",
                ctx.company_id(),
                ctx.company_id()
            )));
        }
        // Every secret is tried (at most two), so the time taken does not say which matched.
        let matched = secrets
            .iter()
            .fold(false, |ok, s| auth::verify_identity_signature(&s.secret, user_id, signature) | ok);
        if matched {
            Ok(())
        } else {
            Err(Error::Unauthorized(
                "user_signature does not match user_id (expected lowercase hex HMAC-SHA256 of user_id \
                 keyed with the company's identity secret)"
                    .into(),
            ))
        }
    }

    /// The per-company cap on new conversations (the operator's own chats are exempt).
    pub(super) async fn check_new_conversation(&self, ctx: &TenantContext) -> Result<()> {
        match new_conversation_limit(ctx) {
            Some(check) => self.rate_checks(&[check]).await,
            None => Ok(()),
        }
    }
}

/// The per-company cap on new conversations as a rate check (none for the operator).
fn new_conversation_limit(ctx: &TenantContext) -> Option<(LimitKey<'_>, u32)> {
    (ctx.access() != Access::Operator).then(|| {
        let per_minute = ctx
            .company()
            .ai_config
            .max_new_conversations_per_minute
            .unwrap_or(guard::DEFAULT_NEW_CONVERSATIONS_PER_MINUTE);
        (LimitKey::NewConversation { company_id: ctx.company_id() }, per_minute)
    })
}
