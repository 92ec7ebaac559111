//! `trustgate revoke`: admin revocations (`POST /t/{org}/api/revocations`): every token of a
//! subject (optionally of one identity provider), or of a client, issued before now.

use clap::{ArgGroup, Args};
use serde_json::{Value, json};

use super::Ctx;
use crate::api::segment;
use crate::error::CliError;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  trustgate revoke --org acme --sub 'github|1234' --idp https://token.actions.githubusercontent.com
  trustgate revoke --org acme --client-id CLIENT_ID")]
#[command(group(ArgGroup::new("target").required(true).args(["sub", "client_id"])))]
pub struct RevokeArgs {
    /// The organization
    #[arg(long, env = "TRUSTGATE_ORG")]
    org: Option<String>,
    /// The issued `sub` whose tokens to revoke
    #[arg(long)]
    sub: Option<String>,
    /// Only tokens vouched for by this trusted issuer (its `issuer` value, the tokens' `idp`)
    #[arg(long, requires = "sub")]
    idp: Option<String>,
    /// Revoke every token of this application
    #[arg(long)]
    client_id: Option<String>,
}

pub async fn run(ctx: &Ctx, args: &RevokeArgs) -> Result<(), CliError> {
    let Some(org) = args.org.as_deref() else {
        return Err(CliError::usage(
            "no organization: pass --org ORG or set TRUSTGATE_ORG",
        ));
    };
    let body = match (&args.sub, &args.idp, &args.client_id) {
        (Some(sub), Some(idp), _) => json!({"sub": sub, "idp": idp}),
        (Some(sub), None, _) => json!({"sub": sub}),
        (None, _, Some(client_id)) => json!({"client_id": client_id}),
        _ => {
            return Err(CliError::usage(
                "give --sub SUB [--idp ISSUER] or --client-id ID",
            ));
        }
    };
    let api = ctx.admin().await?;
    let path = format!("/t/{}/api/revocations", segment(org));
    let revoked: Value = api.json("POST", &path, Some(&body)).await?;
    if ctx.json {
        ctx.print_record(&revoked);
    } else {
        let before = crate::output::cell(revoked.get("revoked_before"));
        println!("revoked every matching token issued before {before}");
    }
    Ok(())
}
