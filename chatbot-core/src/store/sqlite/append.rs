//! Conversation appends in SQLite's own SQL (`json_insert`), as group-committed writes: a chat
//! turn's hot writes.

use std::sync::Arc;

use sqlx::sqlite::SqliteRow;

use super::SqliteStore;
use super::conn::query;
use super::group_commit::WriteFn;
use crate::conversation::{Conversation, Message};
use crate::error::{Error, Result};
use crate::lead::Lead;
use crate::store::ConversationStore as _;
use crate::store::common::now;
use crate::store::sql::leads::with_lead;
use crate::store::sql::turns::record_stmt;
use crate::store::sql::{FromColumns, Write, returned, text};
use crate::turns::TurnRecord;

/// Most messages one `json_insert` call appends (SQLite caps function arguments at 127).
pub(super) const APPEND_BATCH: usize = 50;

/// `UPDATE ... SET messages = json_insert(messages, '$[#]', json($4), '$[#]', json($5), ...)`:
/// one statement appends `n` messages in order (each `$[#]` is the end of the array so far).
fn append_sql(n: usize) -> String {
    let mut sql = String::from("UPDATE chat_conversations SET messages = json_insert(messages");
    for i in 0..n {
        sql.push_str(&format!(", '$[#]', json(${})", i + 4));
    }
    sql.push_str("), last_activity_at = $3, updated_at = $3 WHERE company_id = $1 AND session_id = $2");
    sql
}

/// [`append_sql`] with its arguments: company, session, the time, then the encoded messages.
fn append_stmt<'q>(
    company_id: &'q str,
    session_id: &'q str,
    at: chrono::DateTime<chrono::Utc>,
    encoded: &'q [String],
) -> Write<'q> {
    let q = Write::new(append_sql(encoded.len())).bind(company_id).bind(session_id).bind(at);
    encoded.iter().fold(q, |q, m| q.bind(m))
}

/// Append `messages` (not empty) to the session's conversation; rows changed.
pub(super) async fn append_messages(
    store: &SqliteStore,
    company_id: &str,
    session_id: &str,
    messages: &[Message],
) -> Result<u64> {
    let at = now();
    let encoded = messages.iter().map(serde_json::to_string).collect::<Result<Vec<_>, _>>()?;
    if encoded.len() <= APPEND_BATCH {
        // The common case: one statement, atomic on its own; it joins a group commit.
        let d = Arc::new((company_id.to_string(), session_id.to_string(), encoded));
        return store
            .group
            .write(Box::new(move |conn| {
                let d = d.clone();
                Box::pin(async move {
                    let (cid, sid, encoded) = &*d;
                    let q = append_stmt(cid, sid, at, encoded);
                    Ok(query(q.0).execute(conn).await?.rows_affected())
                })
            }))
            .await;
    }
    let mut w = store.write().await;
    let mut tx = sqlx::Connection::begin(w.conn()).await?;
    let mut affected = 0;
    for batch in encoded.chunks(APPEND_BATCH) {
        affected =
            query(append_stmt(company_id, session_id, at, batch).0).execute(&mut *tx).await?.rows_affected();
        if affected == 0 {
            break;
        }
    }
    tx.commit().await?;
    Ok(affected)
}

/// [`append_messages`] and the turn record's upsert as one group-committed write of two
/// statements (atomic even alone in its batch); the record only when the append found the
/// conversation. Rows of the conversation changed.
pub(super) async fn append_and_record(
    store: &SqliteStore,
    company_id: &str,
    session_id: &str,
    messages: &[Message],
    turn: &TurnRecord,
) -> Result<u64> {
    if messages.len() > APPEND_BATCH {
        // Rare (more than one statement appends): the two writes one after the other.
        let n = append_messages(store, company_id, session_id, messages).await?;
        if n > 0 {
            store.write().await.execute(record_stmt(turn)?).await?;
        }
        return Ok(n);
    }
    let at = now();
    let encoded = messages.iter().map(serde_json::to_string).collect::<Result<Vec<_>, _>>()?;
    let d = Arc::new((company_id.to_string(), session_id.to_string(), encoded, turn.clone()));
    store
        .group
        .write_multi(Box::new(move |conn| {
            let d = d.clone();
            Box::pin(async move {
                let (cid, sid, encoded, turn) = &*d;
                let n =
                    query(append_stmt(cid, sid, at, encoded).0).execute(&mut *conn).await?.rows_affected();
                if n > 0 {
                    query(record_stmt(turn)?.0).execute(&mut *conn).await?;
                }
                Ok(n)
            })
        }))
        .await
}

/// Create the conversation if missing, append, read it back: three steps, for the cases the
/// one-statement upsert does not cover.
pub(super) async fn append_step_by_step(
    store: &SqliteStore,
    company_id: &str,
    session_id: &str,
    user_id: &str,
    messages: &[Message],
) -> Result<Conversation> {
    store.ensure_conversation(company_id, session_id, user_id).await?;
    store.append_messages(company_id, session_id, messages).await?;
    store.get_conversation(company_id, session_id).await?.ok_or_else(|| Error::not_found("conversation"))
}

/// The conversation upsert: create the session's conversation holding `n` messages, or append
/// them to it, `RETURNING` its columns. Arguments: $1 company, $2 user, $3 session, $4 now, then
/// one per message.
fn conversation_upsert_sql(n: usize) -> String {
    let params: Vec<String> = (0..n).map(|i| format!("json(${})", i + 5)).collect();
    let appended: String = params.iter().map(|p| format!(", '$[#]', {p}")).collect();
    format!(
        "INSERT INTO chat_conversations (company_id, user_id, session_id, messages, last_activity_at, \
         created_at, updated_at) VALUES ($1, $2, $3, json_array({}), $4, $4, $4) \
         ON CONFLICT (company_id, session_id) DO UPDATE SET \
         messages = json_insert(chat_conversations.messages{appended}), \
         last_activity_at = excluded.last_activity_at, updated_at = excluded.updated_at \
         RETURNING {}",
        params.join(", "),
        text::conversation_cols!()
    )
}

/// The upsert of [`conversation_upsert_sql`] and, when `lead` is given, the lead insert in the
/// same command (one trip to the connection's thread; `$n` numbers index one shared argument
/// list: the upsert's, then the lead's). The conversation after it, and whether the lead was
/// inserted.
pub(super) async fn upsert_conversation(
    store: &SqliteStore,
    company_id: &str,
    session_id: &str,
    user_id: &str,
    messages: &[Message],
    lead: Option<&Lead>,
) -> Result<(Conversation, bool)> {
    let n = messages.len();
    let sql = match lead {
        None => conversation_upsert_sql(n),
        Some(_) => {
            let lead_params: Vec<String> = (0..14).map(|i| format!("${}", n + 5 + i)).collect();
            format!(
                "{}; INSERT INTO leads (company_id, session_id, lead_id, user_id, {}) VALUES ($1, $3, {}) \
                 ON CONFLICT (company_id, session_id) DO NOTHING RETURNING lead_id",
                conversation_upsert_sql(n),
                text::lead_detail_cols!(),
                lead_params.join(", ")
            )
        }
    };
    let encoded = messages.iter().map(serde_json::to_string).collect::<Result<Vec<_>, _>>()?;
    let d = Arc::new((sql, company_id.to_string(), user_id.to_string(), session_id.to_string(), encoded));
    let multi = lead.is_some();
    let lead = lead.cloned().map(Arc::new);
    let write: WriteFn<Vec<SqliteRow>> = Box::new(move |conn| {
        let (d, lead) = (d.clone(), lead.clone());
        Box::pin(async move {
            let (sql, cid, uid, sid, encoded) = &*d;
            let mut q = Write::new(sql.clone()).bind(cid).bind(uid).bind(sid).bind(now());
            q = encoded.iter().fold(q, |q, m| q.bind(m));
            if let Some(l) = lead.as_deref() {
                q = with_lead(q, l)?;
            }
            Ok(query(q.0).fetch_all(conn).await?)
        })
    });
    // With the lead insert the command holds two statements: atomic even alone in its batch.
    let rows = if multi { store.group.write_multi(write).await? } else { store.group.write(write).await? };
    let conv = Conversation::from_columns(returned(rows.first(), "conversation upsert")?)?;
    Ok((conv, rows.len() > 1))
}
