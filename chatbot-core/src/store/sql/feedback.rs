//! [`FeedbackStore`] for every SQL backend, and the row decoder of `message_feedback`.

use async_trait::async_trait;

use super::{Arg, Columns, FromColumns, Read, SqlBackend, Write, returned, text};
use crate::error::Result;
use crate::feedback::{Feedback, Rating};
use crate::store::traits::FeedbackStore;

#[async_trait]
impl<B: SqlBackend> FeedbackStore for B {
    async fn put_feedback(&self, f: &Feedback) -> Result<Feedback> {
        let q = Write::new(text::PUT_FEEDBACK)
            .bind(&f.company_id)
            .bind(&f.session_id)
            .bind(&f.message_id)
            .bind(f.rating.as_str())
            .bind(&f.comment)
            .bind(&f.message)
            .bind(&f.question)
            .bind(f.created_at)
            .bind(f.updated_at);
        returned(self.write_opt(q).await?, "the feedback upsert")
    }

    async fn list_feedback(&self, company_id: &str, limit: u32, offset: u32) -> Result<Vec<Feedback>> {
        let q =
            Read::new(text::LIST_FEEDBACK).bind(company_id).bind(Arg::Limit(limit)).bind(i64::from(offset));
        self.read_all(q).await
    }

    async fn conversation_feedback(&self, company_id: &str, session_id: &str) -> Result<Vec<Feedback>> {
        self.read_all(Read::new(text::CONVERSATION_FEEDBACK).bind(company_id).bind(session_id)).await
    }
}

impl FromColumns for Feedback {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        Ok(Feedback {
            company_id: r.text("company_id")?,
            session_id: r.text("session_id")?,
            message_id: r.text("message_id")?,
            rating: Rating::parse(&r.text("rating")?)
                .map_err(|_| crate::error::Error::Storage("stored rating is neither up nor down".into()))?,
            comment: r.text_opt("comment")?,
            message: r.text("message")?,
            question: r.text("question")?,
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
        })
    }
}
