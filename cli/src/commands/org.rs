//! `trustgate org`: organizations (`/api/organizations`).

use clap::Subcommand;
use serde_json::{Value, json};

use super::Ctx;
use crate::api::segment;
use crate::error::CliError;

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organization; prints its issuer value (the `iss` of its tokens)
    #[command(after_help = "Example:\n  trustgate org create acme")]
    Create {
        /// Organization name: lower-case letters, digits and `-`, at most 63
        name: String,
    },
    /// List organizations
    #[command(after_help = "Example:\n  trustgate org list --json | jq -r '.items[].name'")]
    List,
    /// Show one organization
    #[command(after_help = "Example:\n  trustgate org show acme")]
    Show { name: String },
    /// Delete an organization (its name cannot be reused for 24 hours)
    #[command(after_help = "Example:\n  trustgate org delete acme")]
    Delete { name: String },
}

pub async fn run(ctx: &Ctx, command: &OrgCommand) -> Result<(), CliError> {
    let api = ctx.admin().await?;
    match command {
        OrgCommand::Create { name } => {
            let body = json!({ "name": name });
            let created: Value = api.json("POST", "/api/organizations", Some(&body)).await?;
            ctx.print_record(&created);
        }
        OrgCommand::List => {
            let items = api.list_all("/api/organizations").await?;
            ctx.print_list(
                items,
                &[
                    ("name", "name"),
                    ("issuer", "issuer"),
                    ("created", "created_at"),
                ],
            );
        }
        OrgCommand::Show { name } => {
            let org: Value = api.json("GET", &path(name), None).await?;
            ctx.print_record(&org);
        }
        OrgCommand::Delete { name } => {
            api.send("DELETE", &path(name), None).await?.success()?;
            ctx.done(&format!("deleted organization {name}"));
        }
    }
    Ok(())
}

fn path(name: &str) -> String {
    format!("/api/organizations/{}", segment(name))
}
