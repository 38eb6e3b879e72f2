//! `chatbot leads ...`: the leads the bots collected, and their status.

use std::io::Write as _;

use chatbot_core::lead::{Lead, LeadFilter, LeadStatus};
use clap::Subcommand;

use super::{open, print_json};
use crate::Global;

#[derive(Subcommand, Debug)]
pub(crate) enum LeadsCommand {
    /// List a company's leads, newest first.
    List {
        company_id: String,
        #[arg(long, value_parser = LeadStatus::ALL)]
        status: Option<String>,
        /// Only leads with a name and a contact.
        #[arg(long)]
        ready: bool,
        /// Print CSV.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// Show one lead with its conversation.
    Show {
        lead_id: String,
        /// Print CSV (the list's columns, one row).
        #[arg(long, conflicts_with = "json")]
        csv: bool,
    },
    /// Move a lead along new -> contacted -> qualified -> converted.
    SetStatus {
        lead_id: String,
        #[arg(value_parser = LeadStatus::ALL)]
        status: String,
    },
}

/// # Errors
/// Unknown company or lead, a status transition that is not allowed, storage failures.
pub(crate) async fn run(g: &Global, cmd: LeadsCommand) -> anyhow::Result<()> {
    let bot = open(g).await?;
    match cmd {
        LeadsCommand::List { company_id, status, ready, csv, limit, offset } => {
            let ctx = bot.operator_context(&company_id).await?;
            let filter = LeadFilter {
                status: status.as_deref().map(LeadStatus::parse).transpose()?,
                ready: ready.then_some(true),
                limit,
                offset,
            };
            let list = bot.leads(&ctx).list(&filter).await?;
            if g.json {
                print_json(&list)?;
            } else if csv {
                print_csv(&list, &ctx.company().profile_fields())?;
            } else {
                for l in &list {
                    let ready = if l.is_lead_ready { "ready" } else { "not ready" };
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        l.lead_id,
                        l.status.as_str(),
                        ready,
                        l.name,
                        if l.email.is_empty() { "-" } else { &l.email },
                        if l.phone.is_empty() { "-" } else { &l.phone },
                        l.created_at.to_rfc3339()
                    );
                }
            }
        }
        LeadsCommand::Show { lead_id, csv } => {
            let lead = bot.find_lead_as_operator(&lead_id).await?;
            if g.json {
                print_json(&lead)?;
            } else if csv {
                let ctx = bot.operator_context(&lead.company_id).await?;
                print_csv(std::slice::from_ref(&lead), &ctx.company().profile_fields())?;
            } else {
                println!(
                    "{} [{}] {} <{}> {}",
                    lead.lead_id,
                    lead.status.as_str(),
                    lead.name,
                    lead.email,
                    lead.phone
                );
                println!("summary: {}", lead.ai_summary);
                if !lead.profile.is_empty() {
                    let complete = if lead.profile_complete { "complete" } else { "incomplete" };
                    println!("profile ({complete}): {}", serde_json::Value::Object(lead.profile.clone()));
                }
                for m in &lead.messages {
                    println!("  {:?}: {}", m.role, m.content);
                }
            }
        }
        LeadsCommand::SetStatus { lead_id, status } => {
            // A lead id is enough: the lead says which company it belongs to.
            let lead = bot.find_lead_as_operator(&lead_id).await?;
            let ctx = bot.operator_context(&lead.company_id).await?;
            let updated = bot.leads(&ctx).set_status(&lead_id, LeadStatus::parse(&status)?).await?;
            if g.json {
                print_json(&updated)?;
            } else {
                println!("lead {} is now {}", updated.lead_id, updated.status.as_str());
            }
        }
    }
    Ok(())
}

fn print_csv(list: &[Lead], profile: &[String]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let mut header: Vec<String> = [
        "lead_id",
        "status",
        "is_lead_ready",
        "name",
        "email",
        "phone",
        "message",
        "ai_summary",
        "created_at",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    header.push("profile_complete".into());
    header.extend(profile.iter().cloned());
    writeln!(out, "{}", header.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","))?;
    for l in list {
        let mut row: Vec<String> = vec![
            l.lead_id.clone(),
            l.status.as_str().into(),
            l.is_lead_ready.to_string(),
            l.name.clone(),
            l.email.clone(),
            l.phone.clone(),
            l.message.clone(),
            l.ai_summary.clone(),
            l.created_at.to_rfc3339(),
            l.profile_complete.to_string(),
        ];
        for k in profile {
            row.push(match l.profile.get(k) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
            });
        }
        writeln!(out, "{}", row.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","))?;
    }
    Ok(())
}

/// RFC 4180 quoting, only where a field needs it. A field a spreadsheet would read as a formula
/// (starting with `=`, `+`, `-`, `@`, tab or carriage return: visitors write these fields) is
/// prefixed with `'` (OWASP's advice against CSV injection); plain numbers stay numbers.
fn csv_field(s: &str) -> String {
    let numeric = s.parse::<f64>().is_ok();
    let s = if !numeric && s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("+31 6 1234"), "'+31 6 1234");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("-5"), "-5", "a number stays a number");
        assert_eq!(csv_field("400000"), "400000");
    }
}
