//! The space a company's questions are compared in (curated-answer matching, gap grouping):
//! see [`crate::rag::similar`].

use crate::rag::similar::QuestionSpace;
use crate::tenant::TenantContext;

use super::Chatbot;

impl Chatbot {
    /// Dense when the configured embedder has a dense side (`dimension() > 0`); otherwise
    /// lexical, weighted by the company's stored corpus statistics when it has them (stores
    /// that need them, such as Pinecone; the local index keeps none, and the space is then
    /// unweighted: a caller may weigh by its own questions with
    /// [`crate::rag::similar::question_stats`]).
    pub(crate) async fn question_space(&self, ctx: &TenantContext) -> QuestionSpace {
        if self.embedder().dimension() > 0 {
            return QuestionSpace::dense(self.question_embedder(ctx.company_id()));
        }
        let stats = self
            .inner
            .corpus_stats
            .get(self.store().as_ref(), ctx.company_id(), crate::rag::bm25::ANALYZER)
            .await;
        QuestionSpace::lexical(stats)
    }
}
