//! [`IdentityStore`] for every SQL backend.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Read, SqlBackend, Write, text};
use crate::auth::{IdentitySecret, OwnerToken, OwnerTokenKind, VisitorToken};
use crate::error::Result;
use crate::store::common::now;
use crate::store::traits::IdentityStore;

#[async_trait]
impl<B: SqlBackend> IdentityStore for B {
    async fn insert_visitor_token(&self, t: &VisitorToken) -> Result<()> {
        let q = Write::new(text::INSERT_VISITOR_TOKEN)
            .bind(&t.token_hash)
            .bind(&t.company_id)
            .bind(&t.session_id)
            .bind(&t.user_id)
            .bind(t.created_at)
            .bind(t.last_used_at)
            .bind(t.expires_at);
        self.write(q).await?;
        Ok(())
    }

    async fn find_visitor_token(&self, company_id: &str, token_hash: &str) -> Result<Option<VisitorToken>> {
        self.read_opt(Read::new(text::FIND_VISITOR_TOKEN).bind(token_hash).bind(company_id)).await
    }

    async fn touch_visitor_token(
        &self,
        company_id: &str,
        token_hash: &str,
        used_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool> {
        let q = Write::new(text::TOUCH_VISITOR_TOKEN)
            .bind(token_hash)
            .bind(company_id)
            .bind(used_at)
            .bind(expires_at);
        Ok(self.write(q).await? > 0)
    }

    async fn purge_visitor_tokens(&self, now: DateTime<Utc>) -> Result<u64> {
        self.write(Write::new(text::PURGE_VISITOR_TOKENS).bind(now)).await
    }

    async fn delete_visitor_tokens(&self, company_id: &str, session_id: &str) -> Result<u64> {
        self.write(Write::new(text::DELETE_CONVERSATION_TOKENS).bind(company_id).bind(session_id)).await
    }

    async fn insert_owner_token(&self, t: &OwnerToken) -> Result<()> {
        let q = Write::new(text::INSERT_OWNER_TOKEN)
            .bind(&t.token_hash)
            .bind(&t.company_id)
            .bind(t.kind.as_str())
            .bind(t.created_at)
            .bind(t.expires_at)
            .bind(t.used_at);
        self.write(q).await?;
        Ok(())
    }

    async fn find_owner_token(
        &self,
        company_id: &str,
        kind: OwnerTokenKind,
        token_hash: &str,
    ) -> Result<Option<OwnerToken>> {
        self.read_opt(Read::new(text::FIND_OWNER_TOKEN).bind(token_hash).bind(company_id).bind(kind.as_str()))
            .await
    }

    async fn spend_owner_code(&self, company_id: &str, code_hash: &str, now: DateTime<Utc>) -> Result<bool> {
        let q = Write::new(text::SPEND_OWNER_CODE).bind(code_hash).bind(company_id).bind(now);
        Ok(self.write(q).await? > 0)
    }

    async fn purge_owner_tokens(&self, now: DateTime<Utc>) -> Result<u64> {
        self.write(Write::new(text::PURGE_OWNER_TOKENS).bind(now)).await
    }

    async fn insert_identity_secret(&self, s: &IdentitySecret, max_active: u32) -> Result<bool> {
        let q = Write::new(text::INSERT_IDENTITY_SECRET)
            .bind(&s.key_id)
            .bind(&s.company_id)
            .bind(&s.prefix)
            .bind(&s.secret)
            .bind(s.created_at)
            .bind(s.revoked_at)
            .bind(i64::from(max_active));
        Ok(self.write(q).await? > 0)
    }

    async fn list_identity_secrets(&self, company_id: &str) -> Result<Vec<IdentitySecret>> {
        self.read_all(Read::new(text::LIST_IDENTITY_SECRETS).bind(company_id)).await
    }

    async fn active_identity_secrets(&self, company_id: &str) -> Result<Vec<IdentitySecret>> {
        self.read_all(Read::new(text::ACTIVE_IDENTITY_SECRETS).bind(company_id)).await
    }

    async fn revoke_identity_secret(&self, key_id: &str) -> Result<bool> {
        Ok(self.write(Write::new(text::REVOKE_IDENTITY_SECRET).bind(key_id).bind(now())).await? > 0)
    }
}
