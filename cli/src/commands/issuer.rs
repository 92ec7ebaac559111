//! `trustgate issuer`: an organization's trusted token issuers
//! (`/t/{org}/api/trusted-token-issuers`), trusted by JWKS URI or by certificate.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::{Ctx, comma_list, key_value, merge_patch};
use crate::api::segment;
use crate::certificate;
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct IssuerArgs {
    /// The organization
    #[arg(long, env = "TRUSTGATE_ORG", global = true)]
    pub org: Option<String>,
    #[command(subcommand)]
    pub command: IssuerCommand,
}

#[derive(Debug, Subcommand)]
pub enum IssuerCommand {
    /// Trust an identity provider's tokens: by its JWKS URI or by its certificate
    #[command(after_help = "Examples:
  trustgate issuer add --org acme --name GitHub \\
      --issuer https://token.actions.githubusercontent.com \\
      --jwks-uri https://token.actions.githubusercontent.com/.well-known/jwks
  trustgate issuer add --org acme --name Legacy --issuer https://idp.example.com \\
      --certificate idp.cer      # PEM, DER, .cer or .crt as it comes")]
    Add {
        /// Display name, unique in the organization
        #[arg(long)]
        name: String,
        /// The exact `iss` value of the provider's tokens
        #[arg(long)]
        issuer: String,
        #[command(flatten)]
        key: KeySource,
        #[command(flatten)]
        settings: Settings,
    },
    /// List trusted token issuers
    #[command(after_help = "Example:\n  trustgate issuer list --org acme")]
    List,
    /// Show one trusted token issuer
    #[command(after_help = "Example:\n  trustgate issuer show --org acme ID")]
    Show { id: String },
    /// Change a trusted token issuer (only the flags given change)
    #[command(after_help = "Examples:
  trustgate issuer update --org acme ID --disable
  trustgate issuer update --org acme ID --certificate new.crt
  trustgate issuer update --org acme ID --unset alias --unset condition")]
    Update {
        id: String,
        /// New display name
        #[arg(long)]
        name: Option<String>,
        /// New `iss` value
        #[arg(long)]
        issuer: Option<String>,
        #[command(flatten)]
        key: OptionalKeySource,
        #[command(flatten)]
        settings: Settings,
        /// Enable the issuer
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Remove an optional field (alias, max_token_age_seconds, condition, subject,
        /// claim_mappings, …); repeatable
        #[arg(long, value_name = "FIELD")]
        unset: Vec<String>,
    },
    /// Delete a trusted token issuer (its refresh tokens end)
    #[command(after_help = "Example:\n  trustgate issuer delete --org acme ID")]
    Delete { id: String },
}

/// Exactly one way to get the provider's keys.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct KeySource {
    /// The provider's JWKS URL (https://, public host)
    #[arg(long, value_name = "URL")]
    jwks_uri: Option<String>,
    /// The provider's X.509 certificate file: PEM, DER, or base64 DER (.pem .crt .cer .der)
    #[arg(long, value_name = "FILE")]
    certificate: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[group(required = false, multiple = false)]
pub struct OptionalKeySource {
    /// Switch to this JWKS URL
    #[arg(long, value_name = "URL")]
    jwks_uri: Option<String>,
    /// Switch to this certificate file (PEM, DER, base64 DER)
    #[arg(long, value_name = "FILE")]
    certificate: Option<PathBuf>,
}

/// The optional settings shared by add and update.
#[derive(Debug, Args)]
pub struct Settings {
    /// Accepted `aud` value when the organization's issuer is not in `aud`
    #[arg(long)]
    alias: Option<String>,
    /// Comma-separated subset of RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384
    #[arg(long, value_name = "ALGS")]
    algorithms: Option<String>,
    /// Allowed clock skew, 0–300 seconds (default 60)
    #[arg(long, value_name = "SECONDS")]
    clock_skew: Option<u32>,
    /// A token's `iat` must be at most this old
    #[arg(long, value_name = "SECONDS")]
    max_token_age: Option<u64>,
    /// Refuse tokens without `jti` and replays of a `jti`
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    require_jti: Option<bool>,
    /// Store it disabled (add) or disable it (update)
    #[arg(long)]
    disable: bool,
    /// CEL condition over `claims`, e.g. 'claims.repository_owner == "acme"'
    #[arg(long, value_name = "CEL")]
    condition: Option<String>,
    /// CEL expression giving the issued `sub` (default `claims.sub`)
    #[arg(long, value_name = "CEL")]
    subject: Option<String>,
    /// Issued claim NAME from a CEL expression; repeatable
    #[arg(long = "claim", value_name = "NAME=CEL", value_parser = key_value)]
    claims: Vec<(String, String)>,
}

impl Settings {
    fn apply(&self, body: &mut Map<String, Value>) {
        let mut set = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                body.insert(key.to_owned(), value);
            }
        };
        set("alias", self.alias.clone().map(Value::from));
        set(
            "allowed_algorithms",
            self.algorithms.as_deref().map(|a| json!(comma_list(a))),
        );
        set("clock_skew_seconds", self.clock_skew.map(Value::from));
        set("max_token_age_seconds", self.max_token_age.map(Value::from));
        set("require_jti", self.require_jti.map(Value::from));
        set("enabled", self.disable.then_some(Value::Bool(false)));
        set("condition", self.condition.clone().map(Value::from));
        set("subject", self.subject.clone().map(Value::from));
        if !self.claims.is_empty() {
            let mappings: Map<String, Value> = self
                .claims
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                .collect();
            set("claim_mappings", Some(Value::Object(mappings)));
        }
    }
}

pub async fn run(ctx: &Ctx, args: &IssuerArgs) -> Result<(), CliError> {
    let Some(org) = args.org.as_deref() else {
        return Err(CliError::usage(
            "no organization: pass --org ORG or set TRUSTGATE_ORG",
        ));
    };
    let base = format!("/t/{}/api/trusted-token-issuers", segment(org));
    let api = ctx.admin().await?;
    match &args.command {
        IssuerCommand::Add {
            name,
            issuer,
            key,
            settings,
        } => {
            let mut body = Map::new();
            body.insert("name".into(), json!(name));
            body.insert("issuer".into(), json!(issuer));
            key_fields(
                &mut body,
                key.jwks_uri.as_deref(),
                key.certificate.as_deref(),
                false,
            )?;
            settings.apply(&mut body);
            let created: Value = api.json("POST", &base, Some(&Value::Object(body))).await?;
            print_issuer(ctx, &created);
        }
        IssuerCommand::List => {
            let mut items = api.list_all(&base).await?;
            for item in &mut items {
                add_key_column(item);
            }
            let columns = [
                ("id", "id"),
                ("name", "name"),
                ("issuer", "issuer"),
                ("keys", "keys"),
                ("enabled", "enabled"),
            ];
            ctx.print_list(items, &columns);
        }
        IssuerCommand::Show { id } => {
            let issuer: Value = api
                .json("GET", &format!("{base}/{}", segment(id)), None)
                .await?;
            print_issuer(ctx, &issuer);
        }
        IssuerCommand::Update {
            id,
            name,
            issuer,
            key,
            settings,
            enable,
            unset,
        } => {
            let mut body = Map::new();
            if let Some(name) = name {
                body.insert("name".into(), json!(name));
            }
            if let Some(issuer) = issuer {
                body.insert("issuer".into(), json!(issuer));
            }
            key_fields(
                &mut body,
                key.jwks_uri.as_deref(),
                key.certificate.as_deref(),
                true,
            )?;
            settings.apply(&mut body);
            let path = format!("{base}/{}", segment(id));
            let updated = merge_patch(&api, &path, body, *enable, unset).await?;
            print_issuer(ctx, &updated);
        }
        IssuerCommand::Delete { id } => {
            api.send("DELETE", &format!("{base}/{}", segment(id)), None)
                .await?
                .success()?;
            ctx.done(&format!("deleted trusted token issuer {id}"));
        }
    }
    Ok(())
}

/// `jwks_uri`, or `certificate` read from the file; on update (`patch`) switching from one
/// to the other clears the other (merge-patch null), as the API wants exactly one.
fn key_fields(
    body: &mut Map<String, Value>,
    jwks_uri: Option<&str>,
    certificate: Option<&std::path::Path>,
    patch: bool,
) -> Result<(), CliError> {
    if let Some(uri) = jwks_uri {
        body.insert("jwks_uri".into(), json!(uri));
        if patch {
            body.insert("certificate".into(), Value::Null);
        }
    }
    if let Some(path) = certificate {
        let (value, _format) = certificate::read(path)?;
        body.insert("certificate".into(), json!(value));
        if patch {
            body.insert("jwks_uri".into(), Value::Null);
        }
    }
    Ok(())
}

/// A record without the certificate's PEM (long, and in `--json`), its subject, expiry and
/// fingerprint flattened.
fn print_issuer(ctx: &Ctx, issuer: &Value) {
    if ctx.json {
        return ctx.print_record(issuer);
    }
    let mut shown = issuer.clone();
    if let Some(object) = shown.as_object_mut()
        && let Some(Value::Object(cert)) = object.remove("certificate")
    {
        for key in ["subject", "not_after", "sha256_fingerprint"] {
            if let Some(value) = cert.get(key) {
                object.insert(format!("certificate.{key}"), value.clone());
            }
        }
    }
    ctx.print_record(&shown);
}

fn add_key_column(item: &mut Value) {
    let keys = match (item.get("jwks_uri"), item.get("certificate")) {
        (Some(Value::String(uri)), _) => format!("jwks {uri}"),
        (_, Some(Value::Object(cert))) => {
            format!("certificate {}", crate::output::cell(cert.get("subject")))
        }
        _ => "-".to_owned(),
    };
    if let Some(object) = item.as_object_mut() {
        object.insert("keys".into(), Value::String(keys));
    }
}
