//! `trustgate explain`: the token endpoint's checks for an exchange, as a dry run
//! (`POST /t/{org}/api/token-exchange/explain`): each check with pass/fail/skip, the failing
//! check's detail, the claims the token would carry. Exit 4 on deny.

use clap::Args;
use serde_json::{Map, Value, json};

use super::{Ctx, token_input};
use crate::api::segment;
use crate::error::CliError;
use crate::output::{self, Table, cell};

/// RFC 8693 §3 token type identifiers, by short name.
pub fn token_type(short: &str) -> String {
    match short {
        "jwt" | "id_token" | "access_token" => format!("urn:ietf:params:oauth:token-type:{short}"),
        other => other.to_owned(),
    }
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  trustgate explain --org acme --client-id CLIENT_ID \"$ID_TOKEN\"
  get-token | trustgate explain --org acme --client-id CLIENT_ID - --audience https://api.acme.example
Exit code 4 when the exchange would be refused; the failing check is printed with its detail.")]
pub struct ExplainArgs {
    /// The organization
    #[arg(long, env = "TRUSTGATE_ORG")]
    org: Option<String>,
    /// The application that would send the exchange
    #[arg(long, env = "TRUSTGATE_CLIENT_ID")]
    client_id: String,
    /// The subject token, or `-` to read it from stdin [env: TRUSTGATE_SUBJECT_TOKEN]
    subject_token: Option<String>,
    /// jwt, id_token, access_token, or a full token type URN
    #[arg(long, default_value = "jwt")]
    subject_token_type: String,
    /// An actor token (delegation)
    #[arg(long)]
    actor_token: Option<String>,
    /// The actor token's type
    #[arg(long, default_value = "jwt", requires = "actor_token")]
    actor_token_type: String,
    /// Requested audience; repeatable
    #[arg(long)]
    audience: Vec<String>,
    /// Requested resource (RFC 8707); repeatable
    #[arg(long)]
    resource: Vec<String>,
    /// Requested scopes, space-separated
    #[arg(long)]
    scope: Option<String>,
}

pub async fn run(ctx: &Ctx, args: &ExplainArgs) -> Result<(), CliError> {
    let Some(org) = args.org.as_deref() else {
        return Err(CliError::usage(
            "no organization: pass --org ORG or set TRUSTGATE_ORG",
        ));
    };
    let subject = token_input(
        args.subject_token.as_deref(),
        "TRUSTGATE_SUBJECT_TOKEN",
        "subject token",
    )?;
    let mut body = Map::new();
    body.insert("client_id".into(), json!(args.client_id));
    body.insert("subject_token".into(), json!(subject));
    body.insert(
        "subject_token_type".into(),
        json!(token_type(&args.subject_token_type)),
    );
    if let Some(actor) = &args.actor_token {
        body.insert("actor_token".into(), json!(actor));
        body.insert(
            "actor_token_type".into(),
            json!(token_type(&args.actor_token_type)),
        );
    }
    if !args.audience.is_empty() {
        body.insert("audience".into(), json!(args.audience));
    }
    if !args.resource.is_empty() {
        body.insert("resource".into(), json!(args.resource));
    }
    if let Some(scope) = &args.scope {
        body.insert("scope".into(), json!(scope));
    }
    let path = format!("/t/{}/api/token-exchange/explain", segment(org));
    let api = ctx.admin().await?;
    let explanation: Value = api.json("POST", &path, Some(&Value::Object(body))).await?;
    if ctx.json {
        print!("{}", output::json(&explanation));
    } else {
        print!("{}", render(&explanation));
    }
    if explanation.get("decision").and_then(Value::as_str) == Some("allow") {
        Ok(())
    } else {
        Err(CliError::Denied(format!(
            "the exchange would be refused: {}",
            failure(&explanation)
        )))
    }
}

/// The checks table, the decision, and the error (deny) or the claims (allow).
pub fn render(explanation: &Value) -> String {
    let mut table = Table::new(&["check", "result", "detail"]);
    let checks = explanation
        .get("checks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for check in &checks {
        let detail = match check.get("detail") {
            None | Some(Value::Null) => String::new(),
            other => cell(other),
        };
        table.row(vec![
            cell(check.get("check")),
            cell(check.get("result")),
            detail,
        ]);
    }
    let mut out = table.render();
    out.push_str(&format!(
        "\ndecision: {}\n",
        cell(explanation.get("decision"))
    ));
    match explanation.get("error") {
        Some(Value::Object(error)) => out.push_str(&format!(
            "error: {} ({})\n",
            cell(error.get("error")),
            cell(error.get("error_description"))
        )),
        _ => {
            if let Some(claims @ Value::Object(_)) = explanation.get("claims") {
                out.push_str("claims:\n");
                out.push_str(&output::json(claims));
            }
        }
    }
    out
}

/// "check `name`: detail" of the failing check, or the error.
fn failure(explanation: &Value) -> String {
    let checks = explanation.get("checks").and_then(Value::as_array);
    let failed = checks.and_then(|c| {
        c.iter()
            .find(|c| c.get("result").and_then(Value::as_str) == Some("fail"))
    });
    match failed {
        Some(check) => format!(
            "check `{}` failed: {}",
            cell(check.get("check")),
            cell(check.get("detail"))
        ),
        None => cell(
            explanation
                .get("error")
                .and_then(|e| e.get("error_description")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_denial_shows_the_failing_check_its_detail_and_the_error() {
        let explanation = json!({
            "decision": "deny",
            "checks": [
                {"check": "client", "result": "pass", "detail": null},
                {"check": "issuer", "result": "fail", "detail": "no trusted issuer https://evil"},
                {"check": "algorithm", "result": "skip", "detail": null}
            ],
            "error": {"error": "invalid_request", "error_description": "subject token refused"},
            "claims": null
        });
        let shown = render(&explanation);
        assert!(
            shown.contains("issuer     fail    no trusted issuer https://evil"),
            "{shown}"
        );
        assert!(shown.contains("algorithm  skip"), "{shown}");
        assert!(shown.contains("decision: deny"), "{shown}");
        assert!(
            shown.contains("error: invalid_request (subject token refused)"),
            "{shown}"
        );
        assert_eq!(
            failure(&explanation),
            "check `issuer` failed: no trusted issuer https://evil"
        );
    }

    #[test]
    fn short_token_types_become_urns() {
        assert_eq!(token_type("jwt"), "urn:ietf:params:oauth:token-type:jwt");
        assert_eq!(token_type("urn:x"), "urn:x");
    }
}
