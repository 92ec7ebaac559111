//! `trustgate decode`: a JWT's header and claims, and whether it verifies when a key source
//! is given (`--jwks-uri`, or `--issuer` whose discovery names the JWKS). Also how
//! `exchange` shows the token it got.

use clap::Args;
use serde_json::{Value, json};

use super::{Ctx, token_input};
use crate::error::CliError;
use crate::{jwt, oauth, output};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  trustgate decode \"$TOKEN\"
  trustgate decode - --issuer https://sts.example.com/t/acme/oauth2/token < token.txt
  trustgate decode \"$TOKEN\" --jwks-uri https://idp.example.com/.well-known/jwks.json --audience api
Exit code 4 when verification was asked for and failed, or the token is not a JWS.")]
pub struct DecodeArgs {
    /// The token, or `-` to read it from stdin [env: TRUSTGATE_TOKEN]
    token: Option<String>,
    /// Verify the signature against this JWKS
    #[arg(long, value_name = "URL", conflicts_with = "issuer")]
    jwks_uri: Option<String>,
    /// Verify against this issuer's published keys (found by discovery) and require its `iss`
    #[arg(long, value_name = "ISSUER")]
    issuer: Option<String>,
    /// Also require this `aud` value
    #[arg(long)]
    audience: Option<String>,
}

/// Where the verification keys come from.
pub enum Keys<'a> {
    None,
    Jwks(&'a str),
    Issuer(&'a str),
}

pub async fn run(ctx: &Ctx, args: &DecodeArgs) -> Result<(), CliError> {
    let token = token_input(args.token.as_deref(), "TRUSTGATE_TOKEN", "token")?;
    let keys = match (&args.jwks_uri, &args.issuer) {
        (Some(uri), _) => Keys::Jwks(uri),
        (None, Some(issuer)) => Keys::Issuer(issuer),
        (None, None) => Keys::None,
    };
    let report = inspect(&token, &keys, args.audience.as_deref()).await?;
    print_report(ctx.json, &report);
    outcome(&report)
}

/// `{"header", "claims", "verification": {"verified", "detail"}}`; verification is null
/// without a key source.
pub async fn inspect(
    token: &str,
    keys: &Keys<'_>,
    audience: Option<&str>,
) -> Result<Value, CliError> {
    let (header, claims) = jwt::dangerous_unverified_parts(token)
        .map_err(|why| CliError::Denied(format!("the token cannot be decoded: {why}")))?;
    let (jwks_uri, issuer) = match keys {
        Keys::None => return Ok(json!({"header": header, "claims": claims, "verification": null})),
        Keys::Jwks(uri) => ((*uri).to_owned(), None),
        Keys::Issuer(issuer) => (oauth::discover(issuer).await?.jwks_uri, Some(*issuer)),
    };
    let jwks = oauth::jwks(&jwks_uri).await?;
    let verification = match jwt::verify(token, &jwks, issuer, audience) {
        Ok(verified) => json!({
            "verified": true,
            "detail": format!("signature {} with key {} from {jwks_uri}; exp{}{} checked",
                verified.alg,
                verified.kid.as_deref().unwrap_or("(no kid)"),
                if issuer.is_some() { ", iss" } else { "" },
                if audience.is_some() { ", aud" } else { "" }),
        }),
        Err(why) => json!({"verified": false, "detail": format!("{why} (keys from {jwks_uri})")}),
    };
    Ok(json!({"header": header, "claims": claims, "verification": verification}))
}

pub fn print_report(as_json: bool, report: &Value) {
    if as_json {
        print!("{}", output::json(report));
        return;
    }
    print!("header:\n{}", output::json(&report["header"]));
    print!("claims:\n{}", output::json(&report["claims"]));
    for (name, at) in jwt::annotate_times(&report["claims"]) {
        println!("  {name}: {at}");
    }
    match report["verification"]
        .get("verified")
        .and_then(Value::as_bool)
    {
        None => println!("signature: not verified (give --jwks-uri URL or --issuer ISSUER)"),
        Some(true) => println!(
            "signature: valid ({})",
            output::cell(report["verification"].get("detail"))
        ),
        Some(false) => println!(
            "signature: INVALID ({})",
            output::cell(report["verification"].get("detail"))
        ),
    }
}

/// Exit 4 when verification was asked for and failed.
pub fn outcome(report: &Value) -> Result<(), CliError> {
    match report["verification"]
        .get("verified")
        .and_then(Value::as_bool)
    {
        Some(false) => Err(CliError::Denied(format!(
            "the token did not verify: {}",
            output::cell(report["verification"].get("detail"))
        ))),
        _ => Ok(()),
    }
}
