//! `trustgate explain`: the token endpoint's checks for an exchange, as a dry run
//! (`POST /t/{org}/api/token-exchange/explain`): each check with pass/fail/skip, the failing
//! check's detail, the claims the token would carry. Exit 4 on deny.

use clap::Args;
use serde_json::{Map, Value, json};

use super::Ctx;
use super::request::RequestArgs;
use crate::api::segment;
use crate::error::CliError;
use crate::output::{self, Table, cell};

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
    #[command(flatten)]
    request: RequestArgs,
}

pub async fn run(ctx: &Ctx, args: &ExplainArgs) -> Result<(), CliError> {
    let Some(org) = args.org.as_deref() else {
        return Err(CliError::usage(
            "no organization: pass --org ORG or set TRUSTGATE_ORG",
        ));
    };
    let mut body = Map::new();
    body.insert("client_id".into(), json!(args.client_id));
    for (name, value) in args.request.parameters()? {
        if matches!(name, "audience" | "resource") {
            let list = body.entry(name).or_insert_with(|| json!([]));
            list.as_array_mut().expect("a list").push(json!(value));
        } else {
            body.insert(name.into(), json!(value));
        }
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
}
