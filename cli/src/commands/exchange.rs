//! `trustgate exchange`: a token exchange (RFC 8693 §2.1) at the organization's token
//! endpoint, found by discovery from its issuer value; prints the response and the access
//! token decoded and verified against the organization's JWKS. The client secret comes from
//! the environment or stdin (a flag shows it in the process list), and is never printed.

use clap::{ArgGroup, Args};
use serde_json::Value;

use super::decode::{Keys, inspect, outcome, print_report};
use super::request::{RequestArgs, token_type};
use super::{Ctx, read_stdin};
use crate::api::segment;
use crate::error::CliError;
use crate::{oauth, output};
use trustgate::secret::Secret;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  export TRUSTGATE_CLIENT_ID=… TRUSTGATE_CLIENT_SECRET=…
  trustgate exchange --org acme \"$ID_TOKEN\"
  get-secret | trustgate exchange --issuer https://sts.example.com/t/acme/oauth2/token \\
      --client-id CLIENT_ID --client-secret-stdin \"$ID_TOKEN\" --audience https://api.acme.example
  trustgate exchange --org acme --json \"$ID_TOKEN\" | jq -r .access_token
The access token is printed (that is the point); the secret never is.")]
#[command(group(ArgGroup::new("where").required(true).args(["org", "issuer"])))]
pub struct ExchangeArgs {
    /// The organization (its issuer value is read from the admin API)
    #[arg(long, env = "TRUSTGATE_ORG")]
    org: Option<String>,
    /// The organization's issuer value, when the admin API is not at hand
    #[arg(long, value_name = "ISSUER")]
    issuer: Option<String>,
    /// The application's client id
    #[arg(long, env = "TRUSTGATE_CLIENT_ID")]
    client_id: String,
    /// Read the client secret from stdin [otherwise env: TRUSTGATE_CLIENT_SECRET]
    #[arg(long)]
    client_secret_stdin: bool,
    /// A public client (mobile): no secret, client_id in the form
    #[arg(long, conflicts_with = "client_secret_stdin")]
    public: bool,
    #[command(flatten)]
    request: RequestArgs,
    /// access_token (default) or jwt
    #[arg(long)]
    requested_token_type: Option<String>,
}

pub async fn run(ctx: &Ctx, args: &ExchangeArgs) -> Result<(), CliError> {
    if args.client_secret_stdin && args.request.reads_stdin() {
        return Err(CliError::usage(
            "stdin can carry the secret or the subject token, not both: set TRUSTGATE_SUBJECT_TOKEN or pass the token",
        ));
    }
    let secret = client_secret(args)?;
    let parameters = args.request.parameters()?;
    let issuer = match (&args.issuer, &args.org) {
        (Some(issuer), _) => issuer.clone(),
        (None, Some(org)) => {
            let api = ctx.admin().await?;
            let record: Value = api
                .json("GET", &format!("/api/organizations/{}", segment(org)), None)
                .await?;
            output::cell(record.get("issuer"))
        }
        (None, None) => return Err(CliError::usage("give --org ORG or --issuer ISSUER")),
    };
    let metadata = oauth::discover(&issuer).await?;
    let mut form = vec![("grant_type", GRANT.to_owned())];
    form.extend(parameters);
    if let Some(requested) = &args.requested_token_type {
        form.push(("requested_token_type", token_type(requested)));
    }
    let answer = oauth::token_request(
        &metadata.token_endpoint,
        &args.client_id,
        secret.as_ref().map(Secret::expose),
        form,
    )
    .await?;
    if !(200..300).contains(&answer.status) {
        let message = format!(
            "{}: {}",
            output::cell(answer.body.get("error")),
            output::cell(answer.body.get("error_description"))
        );
        return Err(if answer.status >= 500 {
            CliError::Unavailable(format!(
                "the token endpoint failed ({}): {message}",
                answer.status
            ))
        } else {
            CliError::Refused {
                status: answer.status,
                message,
            }
        });
    }
    let Some(access_token) = answer.body.get("access_token").and_then(Value::as_str) else {
        return Err(CliError::Unavailable(
            "the token response has no access_token".into(),
        ));
    };
    let report = inspect(access_token, &Keys::Jwks(&metadata.jwks_uri), None).await?;
    if ctx.json {
        print!("{}", output::json(&answer.body));
    } else {
        print!("token response:\n{}", output::json(&answer.body));
        println!("\naccess token:");
        print_report(false, &report);
    }
    outcome(&report)
}

/// stdin (`--client-secret-stdin`), else TRUSTGATE_CLIENT_SECRET, else none with `--public`.
fn client_secret(args: &ExchangeArgs) -> Result<Option<Secret>, CliError> {
    if args.public {
        return Ok(None);
    }
    let secret = if args.client_secret_stdin {
        read_stdin("client secret")?
    } else {
        std::env::var("TRUSTGATE_CLIENT_SECRET").unwrap_or_default()
    };
    if secret.is_empty() {
        return Err(CliError::usage(
            "no client secret: set TRUSTGATE_CLIENT_SECRET or pipe it with --client-secret-stdin \
             (or --public for a public client)",
        ));
    }
    Ok(Some(Secret::new(secret)))
}
