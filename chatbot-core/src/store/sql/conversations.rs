//! [`ConversationStore`] for every SQL backend.

use async_trait::async_trait;

use super::{Arg, Read, Scalar, SqlBackend, Write, text};
use crate::conversation::{Conversation, Message, Session};
use crate::error::{Error, Result};
use crate::lead::Lead;
use crate::store::common::now;
use crate::store::traits::ConversationStore;
use crate::turns::TurnRecord;

#[async_trait]
impl<B: SqlBackend> ConversationStore for B {
    async fn insert_session(&self, s: &Session) -> Result<()> {
        let q = Write::new(text::INSERT_SESSION)
            .bind(&s.session_id)
            .bind(&s.company_id)
            .bind(&s.user_id)
            .bind(&s.lead_id)
            .bind(&s.client_ip)
            .bind(s.expires_at)
            .bind(s.created_at)
            .bind(s.last_seen_at);
        self.write(q).await?;
        Ok(())
    }

    async fn get_session(&self, company_id: &str, session_id: &str) -> Result<Option<Session>> {
        self.read_opt(Read::new(text::GET_SESSION).bind(session_id).bind(company_id)).await
    }

    async fn update_session(&self, s: &Session) -> Result<()> {
        let q = Write::new(text::UPDATE_SESSION)
            .bind(&s.session_id)
            .bind(&s.company_id)
            .bind(&s.user_id)
            .bind(&s.lead_id)
            .bind(&s.client_ip)
            .bind(s.expires_at)
            .bind(s.last_seen_at);
        if self.write(q).await? == 0 {
            return Err(Error::not_found("session"));
        }
        Ok(())
    }

    async fn purge_expired_sessions(&self, before: chrono::DateTime<chrono::Utc>) -> Result<u64> {
        self.write(Write::new(text::PURGE_SESSIONS).bind(before)).await
    }

    async fn ensure_conversation(
        &self,
        company_id: &str,
        session_id: &str,
        user_id: &str,
    ) -> Result<Conversation> {
        if let Some(c) = self.get_conversation(company_id, session_id).await? {
            return Ok(c);
        }
        let q = Write::new(text::INSERT_EMPTY_CONVERSATION)
            .bind(company_id)
            .bind(user_id)
            .bind(session_id)
            .bind(now());
        self.write(q).await?;
        self.get_conversation(company_id, session_id)
            .await?
            .ok_or_else(|| Error::Internal("conversation vanished right after its insert".into()))
    }

    async fn get_conversation(&self, company_id: &str, session_id: &str) -> Result<Option<Conversation>> {
        self.read_opt(Read::new(text::GET_CONVERSATION).bind(company_id).bind(session_id)).await
    }

    async fn append_messages(&self, company_id: &str, session_id: &str, messages: &[Message]) -> Result<()> {
        if messages.is_empty() {
            return Ok(());
        }
        if self.append(company_id, session_id, messages).await? == 0 {
            return Err(Error::not_found("conversation"));
        }
        Ok(())
    }

    async fn append_with_turn(
        &self,
        company_id: &str,
        session_id: &str,
        messages: &[Message],
        turn: &TurnRecord,
    ) -> Result<()> {
        if turn.company_id != company_id || turn.session_id != session_id {
            return Err(Error::Internal("turn record of another conversation".into()));
        }
        if messages.is_empty() {
            return Err(Error::invalid("messages", "nothing to append"));
        }
        if self.append_and_record(company_id, session_id, messages, turn).await? == 0 {
            return Err(Error::not_found("conversation"));
        }
        Ok(())
    }

    async fn append_to_conversation(
        &self,
        company_id: &str,
        session_id: &str,
        user_id: &str,
        messages: &[Message],
    ) -> Result<Conversation> {
        Ok(self.upsert_conversation(company_id, session_id, user_id, messages, None).await?.0)
    }

    async fn append_to_conversation_with_lead(
        &self,
        company_id: &str,
        session_id: &str,
        user_id: &str,
        messages: &[Message],
        lead: &Lead,
    ) -> Result<(Conversation, bool)> {
        if lead.company_id != company_id || lead.session_id != session_id {
            return Err(Error::Internal("lead of another conversation".into()));
        }
        self.upsert_conversation(company_id, session_id, user_id, messages, Some(lead)).await
    }

    async fn list_conversations(
        &self,
        company_id: &str,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Conversation>> {
        let q = Read::new(text::LIST_CONVERSATIONS)
            .bind(company_id)
            .bind(Arg::Limit(limit))
            .bind(i64::from(offset));
        self.read_all(q).await
    }

    async fn delete_conversation(&self, company_id: &str, session_id: &str) -> Result<bool> {
        // One transaction: the conversation, its replies' ratings and its turn records.
        let q = Write::new(text::DELETE_CONVERSATION).bind(company_id).bind(session_id);
        let ratings = Write::new(text::DELETE_CONVERSATION_FEEDBACK).bind(company_id).bind(session_id);
        let turns = Write::new(text::DELETE_CONVERSATION_TURNS).bind(company_id).bind(session_id);
        Ok(self.write_tx::<Scalar<i64>>(q, vec![ratings, turns]).await?.is_some())
    }
}
