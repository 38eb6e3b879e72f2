//! A load and isolation run over the session routes (`POST /api/chatbot/session`, then
//! `POST /api/chatbot/chat` with a publishable key): every session of every company runs at once,
//! each message carries a marker naming its company, session and number, and afterwards
//! everything stored is read back through the admin API with the operator token and compared
//! with what the client was answered: nothing lost, duplicated, reordered or in another
//! company's or session's conversation, one lead per session holding only that session's e-mail.
//!
//! Used by `tests/tests/load_isolation.rs` (a small run, in the test suite) and by the
//! `chatbot-load` binary that `bench/load/run.sh` runs against the release server (full size).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The operator credential (`CHATBOT_ADMIN_TOKEN`), used only to read back what was stored.
    pub admin_token: String,
    /// `(company id, publishable key)` of each company.
    pub tenants: Vec<(String, String)>,
    pub sessions_per_company: usize,
    pub messages_per_session: usize,
}

/// One session as the client saw it.
#[derive(Debug, Clone)]
pub struct SessionLog {
    pub company: String,
    pub index: usize,
    pub session_id: String,
    /// `(message sent, reply received)` of every chat answered 200, in order.
    pub turns: Vec<(String, String)>,
}

/// What the client saw during a [`run`].
#[derive(Debug, Default)]
pub struct Outcome {
    pub sessions: Vec<SessionLog>,
    /// Every request that was not answered 200 (or not as documented), described.
    pub errors: Vec<String>,
    /// Milliseconds per session-creation request.
    pub session_ms: Vec<f64>,
    /// Milliseconds per chat request.
    pub chat_ms: Vec<f64>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
}

impl Outcome {
    /// Requests sent (session creations and chats).
    pub fn requests(&self) -> usize {
        self.session_ms.len() + self.chat_ms.len()
    }

    /// Requests per second over the whole run.
    pub fn requests_per_sec(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The `q`-quantile (0..=1) of `values` in milliseconds (nearest rank; 0 when empty).
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = (q * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// The marker message `msg` of session `session` of `company` carries (unique in the run).
pub fn marker(company: &str, session: usize, msg: usize) -> String {
    format!("zz-{company}-s{session}-m{msg}-zz")
}

/// The e-mail address the first message of a session gives (so each session has a lead with
/// details only it gave).
pub fn email(company: &str, session: usize) -> String {
    format!("visitor{session}.{company}@load.example")
}

/// Questions the messages cycle through (on the company's topic, so the normal answer path runs).
const QUESTIONS: [&str; 5] = [
    "What are your opening hours?",
    "Do you ship abroad?",
    "What is your return policy?",
    "How much does delivery cost?",
    "Can I pay by invoice?",
];

/// The text of message `msg` of a session: a question, the marker, and on the first message the
/// session's e-mail address.
pub fn message_text(company: &str, session: usize, msg: usize) -> String {
    let q = QUESTIONS[msg % QUESTIONS.len()];
    let m = marker(company, session, msg);
    if msg == 0 {
        format!("{q} My e-mail is {}. Ref {m}", email(company, session))
    } else {
        format!("{q} Ref {m}")
    }
}

/// Every marker in `text` (the parts between `zz-` and `-zz` made of letters, digits and `-`, as
/// [`marker`] writes them). Random ids (tokens, lead ids) can hold `zz-` too; such a start is
/// skipped, not read up to the next marker's end.
pub fn markers_in(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("zz-") {
        let after = &rest[start..];
        let inner_len = after[3..].bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'-').count();
        let inner = &after[3..3 + inner_len];
        match inner.find("-zz") {
            Some(end) => {
                out.push(&after[..3 + end + 3]);
                rest = &after[3 + end + 3..];
            }
            None => rest = &after[3..],
        }
    }
    out
}

/// An HTTP client for many concurrent sessions.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(300)).build().unwrap_or_default()
}

/// Run every session of every company at once, the messages of each session one after another.
pub async fn run(plan: &Plan) -> Outcome {
    let http = client();
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (company, pk) in &plan.tenants {
        for index in 0..plan.sessions_per_company {
            let (http, base, company, pk) = (http.clone(), plan.base.clone(), company.clone(), pk.clone());
            let messages = plan.messages_per_session;
            tasks.spawn(async move { one_session(&http, &base, &company, &pk, index, messages).await });
        }
    }
    let mut out = Outcome::default();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((log, session_ms, chat_ms, errors)) => {
                out.session_ms.extend(session_ms);
                out.chat_ms.extend(chat_ms);
                out.errors.extend(errors);
                if let Some(log) = log {
                    out.sessions.push(log);
                }
            }
            Err(e) => out.errors.push(format!("client task failed: {e}")),
        }
    }
    out.elapsed = start.elapsed();
    out.sessions.sort_by(|a, b| (&a.company, a.index).cmp(&(&b.company, b.index)));
    out
}

type SessionResult = (Option<SessionLog>, Vec<f64>, Vec<f64>, Vec<String>);

async fn one_session(
    http: &reqwest::Client,
    base: &str,
    company: &str,
    pk: &str,
    index: usize,
    messages: usize,
) -> SessionResult {
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1000.0;
    let mut errors = Vec::new();
    let t = Instant::now();
    let r = http.post(format!("{base}/api/chatbot/session")).bearer_auth(pk).json(&json!({})).send().await;
    let opened = answer(r).await;
    let session_ms = vec![ms(t)];
    let session_id = match opened {
        Ok(v) if v["company_id"] == company => v["session_id"].as_str().unwrap_or_default().to_string(),
        Ok(v) => {
            errors.push(format!("{company} session {index}: opened for another company: {v}"));
            return (None, session_ms, Vec::new(), errors);
        }
        Err(e) => {
            errors.push(format!("{company} session {index}: {e}"));
            return (None, session_ms, Vec::new(), errors);
        }
    };
    let mut log = SessionLog { company: company.into(), index, session_id, turns: Vec::new() };
    let mut chat_ms = Vec::with_capacity(messages);
    for k in 0..messages {
        let text = message_text(company, index, k);
        let t = Instant::now();
        let r = http
            .post(format!("{base}/api/chatbot/chat"))
            .bearer_auth(pk)
            .json(&json!({ "session_id": log.session_id, "message": text }))
            .send()
            .await;
        let reply = answer(r).await;
        chat_ms.push(ms(t));
        match reply {
            Ok(v) if v["session_id"] == log.session_id.as_str() && v["company_id"] == company => {
                match v["message"].as_str() {
                    Some(m) if !m.trim().is_empty() => log.turns.push((text, m.to_string())),
                    _ => errors.push(format!("{company} s{index} m{k}: empty reply {v}")),
                }
            }
            Ok(v) => errors.push(format!("{company} s{index} m{k}: reply for another session: {v}")),
            Err(e) => errors.push(format!("{company} s{index} m{k}: {e}")),
        }
    }
    (Some(log), session_ms, chat_ms, errors)
}

/// The JSON body of a 200 answer, or the failure described.
async fn answer(r: reqwest::Result<reqwest::Response>) -> Result<Value, String> {
    let r = r.map_err(|e| format!("request failed: {e}"))?;
    let status = r.status().as_u16();
    let text = r.text().await.map_err(|e| format!("HTTP {status}, body unreadable: {e}"))?;
    if status != 200 {
        return Err(format!("HTTP {status}: {}", text.chars().take(300).collect::<String>()));
    }
    serde_json::from_str(&text).map_err(|e| format!("HTTP 200 with a body that is not JSON ({e})"))
}

/// What [`verify`] read back.
#[derive(Debug, Default)]
pub struct Check {
    pub conversations: usize,
    pub user_messages: usize,
    pub replies: usize,
    pub leads: usize,
    /// Lost, duplicated, reordered or misplaced data, described (empty when all is well).
    pub problems: Vec<String>,
}

/// Read every company's conversations and leads back through the admin API (operator token) and
/// compare them with what the client was answered.
pub async fn verify(plan: &Plan, outcome: &Outcome) -> Check {
    let http = client();
    let mut check = Check::default();
    let by_sid: HashMap<&str, &SessionLog> =
        outcome.sessions.iter().map(|s| (s.session_id.as_str(), s)).collect();
    let mut seen: HashSet<String> = HashSet::new();
    for (company, _) in &plan.tenants {
        let convs = match all_pages(&http, plan, company, "conversations").await {
            Ok(c) => c,
            Err(e) => {
                check.problems.push(format!("{company}: cannot list conversations: {e}"));
                continue;
            }
        };
        for conv in &convs {
            check.conversations += 1;
            check_conversation(company, conv, &by_sid, &mut seen, &mut check);
        }
        let leads = match all_pages(&http, plan, company, "leads").await {
            Ok(l) => l,
            Err(e) => {
                check.problems.push(format!("{company}: cannot list leads: {e}"));
                continue;
            }
        };
        let mut lead_sessions = HashSet::new();
        for lead in &leads {
            check.leads += 1;
            check_lead(company, lead, &by_sid, &mut lead_sessions, &mut check.problems);
        }
    }
    for s in &outcome.sessions {
        if !s.turns.is_empty() && !seen.contains(&s.session_id) {
            check.problems.push(format!(
                "lost: the conversation of {} session {} ({} acknowledged turns) is not stored",
                s.company,
                s.index,
                s.turns.len()
            ));
        }
    }
    check
}

fn check_conversation(
    company: &str,
    conv: &Value,
    by_sid: &HashMap<&str, &SessionLog>,
    seen: &mut HashSet<String>,
    check: &mut Check,
) {
    let sid = conv["session_id"].as_str().unwrap_or_default();
    if conv["company_id"] != company {
        check
            .problems
            .push(format!("conversation {sid} listed under {company} has company_id {}", conv["company_id"]));
    }
    if !seen.insert(sid.to_string()) {
        check.problems.push(format!("duplicated: conversation {sid} is listed twice"));
    }
    let Some(log) = by_sid.get(sid) else {
        check
            .problems
            .push(format!("misplaced: conversation {sid} under {company} belongs to no session of it"));
        return;
    };
    if log.company != company {
        check.problems.push(format!(
            "misplaced: {} session {}'s conversation is listed under {company}",
            log.company, log.index
        ));
    }
    let stored: Vec<(String, String)> = conv["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| {
                    (
                        m["role"].as_str().unwrap_or("?").to_string(),
                        m["content"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    check.user_messages += stored.iter().filter(|(r, _)| r == "user").count();
    check.replies += stored.iter().filter(|(r, _)| r == "assistant").count();
    let expected: Vec<(String, String)> = log
        .turns
        .iter()
        .flat_map(|(m, r)| [("user".to_string(), m.clone()), ("assistant".to_string(), r.clone())])
        .collect();
    if stored != expected {
        let at = stored
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(stored.len().min(expected.len()));
        check.problems.push(format!(
            "{} session {}: {} messages stored, {} acknowledged; first difference at {at}: stored {:?}, expected {:?}",
            log.company,
            log.index,
            stored.len(),
            expected.len(),
            stored.get(at),
            expected.get(at)
        ));
    }
    let own: HashSet<String> =
        log.turns.iter().enumerate().map(|(k, _)| marker(&log.company, log.index, k)).collect();
    for (_, content) in &stored {
        for m in markers_in(content) {
            if !own.contains(m) {
                check.problems.push(format!(
                    "misplaced: {} session {}'s conversation holds marker {m}",
                    log.company, log.index
                ));
            }
        }
    }
}

fn check_lead(
    company: &str,
    lead: &Value,
    by_sid: &HashMap<&str, &SessionLog>,
    lead_sessions: &mut HashSet<String>,
    problems: &mut Vec<String>,
) {
    let sid = lead["session_id"].as_str().unwrap_or_default();
    if lead["company_id"] != company {
        problems.push(format!("lead of {sid} listed under {company} has company_id {}", lead["company_id"]));
    }
    if !lead_sessions.insert(sid.to_string()) {
        problems.push(format!("duplicated: two leads for session {sid} of {company}"));
    }
    let email = lead["email"].as_str().unwrap_or_default();
    let Some(log) = by_sid.get(sid).filter(|l| l.company == company) else {
        problems.push(format!("misplaced: a lead under {company} for session {sid}, no session of it"));
        return;
    };
    let own = self::email(&log.company, log.index);
    if !email.is_empty() && !email.eq_ignore_ascii_case(&own) {
        problems.push(format!("misplaced: {company} session {}'s lead holds {email}", log.index));
    }
    if email.is_empty() && !log.turns.is_empty() {
        problems.push(format!("lost: {company} session {}'s lead has no e-mail", log.index));
    }
    let text = lead.to_string();
    if let Some(m) = markers_in(&text)
        .into_iter()
        .find(|m| !(0..log.turns.len()).any(|k| *m == marker(company, log.index, k)))
    {
        problems.push(format!("misplaced: {company} session {}'s lead holds marker {m}", log.index));
    }
}

/// Every item of `/api/companies/{company}/{what}` (`conversations` or `leads`), page by page.
async fn all_pages(
    http: &reqwest::Client,
    plan: &Plan,
    company: &str,
    what: &str,
) -> Result<Vec<Value>, String> {
    const LIMIT: usize = 500;
    let mut out = Vec::new();
    loop {
        let url = format!("{}/api/companies/{company}/{what}?limit={LIMIT}&offset={}", plan.base, out.len());
        let v = answer(http.get(url).bearer_auth(&plan.admin_token).send().await).await?;
        let page = v[what].as_array().cloned().ok_or_else(|| format!("no `{what}` array in {v}"))?;
        let n = page.len();
        out.extend(page);
        if n < LIMIT {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_and_quantiles_taken() {
        let t = message_text("acme", 3, 0);
        assert_eq!(markers_in(&t), vec![marker("acme", 3, 0).as_str()]);
        assert!(t.contains(&email("acme", 3)));
        assert_eq!(
            markers_in("a zz-x-s1-m2-zz b zz-y-s0-m0-zz zz-open"),
            vec!["zz-x-s1-m2-zz", "zz-y-s0-m0-zz"]
        );
        // a random id holding `zz-` (seen once in a stored lead) is not a marker's start
        let stored = r#"{"lead_id":"lead_Qzz-pjEIKe_gqognG","message":"Hi. Ref zz-loadco0-s14-m0-zz"}"#;
        assert_eq!(markers_in(stored), vec!["zz-loadco0-s14-m0-zz"]);
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!((quantile(&v, 0.5), quantile(&v, 0.99), quantile(&[], 0.5)), (50.0, 99.0, 0.0));
    }
}
