//! `chatbot settings ...`: a company's widget settings, and owner-mode links.

use chatbot_core::{WidgetSettings, WidgetSettingsPatch};
use clap::{ArgAction, Args, Subcommand};

use super::{open, print_json};
use crate::Global;

#[derive(Subcommand, Debug)]
pub(crate) enum SettingsCommand {
    /// Print the widget settings.
    #[command(visible_alias = "show")]
    Get { company_id: String },
    /// Change fields with FIELD=VALUE pairs and/or the flags below (validated; nothing changes
    /// if one is invalid).
    Set {
        company_id: String,
        #[arg(value_name = "FIELD=VALUE")]
        pairs: Vec<String>,
        #[command(flatten)]
        flags: SetFlags,
    },
    /// Print a link that opens owner mode in the widget with a one-time code (valid 15 minutes,
    /// usable once): `<url>#chatbot-admin=oc_...`.
    OwnerLink {
        company_id: String,
        /// The page embedding the widget (default: the company's first allowed origin, else
        /// the local demo page http://127.0.0.1:8080/).
        #[arg(long)]
        url: Option<String>,
    },
}

/// The settings of issue 14 as flags (the same fields as `suggested_questions=...` etc.).
#[derive(Args, Debug, Default)]
pub(crate) struct SetFlags {
    /// A suggested question (repeat for up to four; replaces the list).
    #[arg(long = "suggested-question", value_name = "TEXT", action = ArgAction::Append)]
    suggested_questions: Vec<String>,
    /// Remove every suggested question.
    #[arg(long, conflicts_with = "suggested_questions")]
    clear_suggested_questions: bool,
    /// The widget's language: auto, en, de, fr, es, nl, ar or he.
    #[arg(long, value_name = "CODE")]
    language: Option<String>,
    /// Show the sources under each answer (true or false).
    #[arg(long, value_name = "BOOL", action = ArgAction::Set)]
    show_sources: Option<bool>,
    /// The launcher's text (empty: the widget's own "Chat with us").
    #[arg(long, value_name = "TEXT")]
    launcher_label: Option<String>,
}

impl SetFlags {
    /// Put the flags given onto `patch` (a flag wins over a pair of the same field).
    fn apply(self, patch: &mut WidgetSettingsPatch) {
        if self.clear_suggested_questions {
            patch.suggested_questions = Some(Vec::new());
        } else if !self.suggested_questions.is_empty() {
            patch.suggested_questions = Some(self.suggested_questions);
        }
        if self.language.is_some() {
            patch.language = self.language;
        }
        if self.show_sources.is_some() {
            patch.show_sources = self.show_sources;
        }
        if self.launcher_label.is_some() {
            patch.launcher_label = self.launcher_label;
        }
    }
}

/// # Errors
/// Invalid fields (naming the field), unknown company, storage failures.
pub(crate) async fn run(g: &Global, cmd: SettingsCommand) -> anyhow::Result<()> {
    let bot = open(g).await?;
    match cmd {
        SettingsCommand::Get { company_id } => {
            let ctx = bot.operator_context(&company_id).await?;
            let s = bot.widget_settings(&ctx).await?;
            print_settings(g, &s)?;
        }
        SettingsCommand::Set { company_id, pairs, flags } => {
            let mut patch = WidgetSettingsPatch::from_pairs(&pairs)?;
            flags.apply(&mut patch);
            if patch.is_empty() {
                anyhow::bail!(chatbot_core::Error::invalid(
                    "settings",
                    "nothing to change: give FIELD=VALUE pairs or flags (see --help)"
                ));
            }
            let ctx = bot.operator_context(&company_id).await?;
            let s = bot.update_widget_settings(&ctx, &patch).await?;
            print_settings(g, &s)?;
        }
        SettingsCommand::OwnerLink { company_id, url } => {
            let ctx = bot.operator_context(&company_id).await?;
            let link = bot.create_owner_link(&ctx, url.as_deref()).await?;
            if g.json {
                print_json(&link)?;
            } else {
                println!("{}", link.url);
                eprintln!("valid until {} (15 minutes), usable once", link.expires_at.to_rfc3339());
            }
        }
    }
    Ok(())
}

/// One `field value` line per setting (strings unquoted, lists as JSON), or the JSON object.
fn print_settings(g: &Global, s: &WidgetSettings) -> anyhow::Result<()> {
    if g.json {
        return print_json(s);
    }
    let v = serde_json::to_value(s)?;
    if let Some(map) = v.as_object() {
        for (k, v) in map {
            let shown = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            println!("{k:<22} {shown}");
        }
    }
    Ok(())
}
