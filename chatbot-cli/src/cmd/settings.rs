//! `chatbot settings ...`: a company's widget settings.

use chatbot_core::{WidgetSettings, WidgetSettingsPatch};
use clap::Subcommand;

use super::{open, print_json};
use crate::Global;

#[derive(Subcommand, Debug)]
pub(crate) enum SettingsCommand {
    /// Print the widget settings.
    Get { company_id: String },
    /// Change fields: FIELD=VALUE ... (validated; nothing changes if one is invalid).
    Set {
        company_id: String,
        #[arg(required = true, value_name = "FIELD=VALUE")]
        pairs: Vec<String>,
    },
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
        SettingsCommand::Set { company_id, pairs } => {
            let patch = WidgetSettingsPatch::from_pairs(&pairs)?;
            let ctx = bot.operator_context(&company_id).await?;
            let s = bot.update_widget_settings(&ctx, &patch).await?;
            print_settings(g, &s)?;
        }
    }
    Ok(())
}

/// One `field value` line per setting (strings unquoted), or the JSON object.
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
