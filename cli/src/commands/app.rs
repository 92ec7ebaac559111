//! `trustgate app`: an organization's applications (`/t/{org}/api/applications`): type,
//! grant types, token lifetimes, exchange policy, and the client secret, shown once.

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Map, Value, json};

use super::{Ctx, comma_list, merge_patch};
use crate::api::segment;
use crate::error::CliError;

pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

#[derive(Debug, Args)]
pub struct AppArgs {
    /// The organization
    #[arg(long, env = "TRUSTGATE_ORG", global = true)]
    pub org: Option<String>,
    #[command(subcommand)]
    pub command: AppCommand,
}

/// Application types (CONTRACT.md): `oidc` and `web` are confidential clients with a secret.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AppType {
    /// Standard-based (OIDC) application, confidential
    Oidc,
    /// Traditional web application, confidential
    Web,
    /// Native/mobile application, public (no secret)
    Mobile,
    /// Single-page application, public; cannot use token exchange
    Spa,
}

/// Grant types, by short name.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Grant {
    /// urn:ietf:params:oauth:grant-type:token-exchange (RFC 8693)
    TokenExchange,
    /// refresh_token (RFC 6749 §6)
    RefreshToken,
}

impl Grant {
    fn wire(self) -> &'static str {
        match self {
            Grant::TokenExchange => TOKEN_EXCHANGE,
            Grant::RefreshToken => "refresh_token",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Create an application; a confidential one's secret is printed once
    #[command(after_help = "Examples:
  trustgate app create --org acme --name ci --type web --grant token-exchange --grant refresh-token
  trustgate app create --org acme --name agent --type oidc --grant token-exchange \\
      --allowed-audiences https://api.acme.example --allowed-scopes read,write")]
    Create {
        #[arg(long)]
        name: String,
        #[arg(long = "type", value_enum)]
        app_type: AppType,
        /// Allowed grant type; repeatable
        #[arg(long = "grant", value_enum)]
        grants: Vec<Grant>,
        #[command(flatten)]
        settings: Settings,
    },
    /// List applications
    #[command(after_help = "Example:\n  trustgate app list --org acme")]
    List,
    /// Show one application (never its secret)
    #[command(after_help = "Example:\n  trustgate app show --org acme CLIENT_ID")]
    Show { client_id: String },
    /// Change an application (only the flags given change)
    #[command(after_help = "Examples:
  trustgate app update --org acme CLIENT_ID --grant token-exchange --disable
  trustgate app update --org acme CLIENT_ID --allowed-issuers ISSUER_ID,self
  trustgate app update --org acme CLIENT_ID --unset delegation")]
    Update {
        client_id: String,
        #[arg(long)]
        name: Option<String>,
        /// Replace the grant types; repeatable
        #[arg(long = "grant", value_enum)]
        grants: Vec<Grant>,
        #[command(flatten)]
        settings: Settings,
        /// Enable the application
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Remove an optional field (allowed_issuers, delegation, …); repeatable
        #[arg(long, value_name = "FIELD")]
        unset: Vec<String>,
    },
    /// Delete an application (its refresh tokens end)
    #[command(after_help = "Example:\n  trustgate app delete --org acme CLIENT_ID")]
    Delete { client_id: String },
    /// Issue a new client secret; the old one stops working at once
    #[command(after_help = "Example:\n  trustgate app rotate-secret --org acme CLIENT_ID")]
    RotateSecret { client_id: String },
}

/// Optional settings shared by create and update. Lists are comma-separated; an empty
/// string is an empty list.
#[derive(Debug, Args)]
pub struct Settings {
    /// Access token lifetime, 60–86400 seconds (default 3600)
    #[arg(long, value_name = "SECONDS")]
    access_token_ttl: Option<u32>,
    /// Refresh token lifetime, 300–31536000 seconds (default 86400)
    #[arg(long, value_name = "SECONDS")]
    refresh_token_ttl: Option<u32>,
    /// Store it disabled (create) or disable it (update)
    #[arg(long)]
    disable: bool,
    /// Trusted issuer ids (and `self`) whose tokens it may exchange [default: every issuer]
    #[arg(long, value_name = "IDS")]
    allowed_issuers: Option<String>,
    /// Audiences/resources it may request
    #[arg(long, value_name = "LIST")]
    allowed_audiences: Option<String>,
    /// Scopes it may request
    #[arg(long, value_name = "LIST")]
    allowed_scopes: Option<String>,
    /// Allow delegation (actor tokens) from these trusted issuer ids (and `self`)
    #[arg(long, value_name = "IDS")]
    delegation_actor_issuers: Option<String>,
    /// Deepest delegation chain, 1–5 (with --delegation-actor-issuers; default 1)
    #[arg(long, value_name = "N", requires = "delegation_actor_issuers")]
    delegation_max_depth: Option<u8>,
}

impl Settings {
    fn apply(&self, body: &mut Map<String, Value>) {
        let mut set = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                body.insert(key.to_owned(), value);
            }
        };
        let list = |value: &Option<String>| value.as_deref().map(|v| json!(comma_list(v)));
        set(
            "access_token_ttl_seconds",
            self.access_token_ttl.map(Value::from),
        );
        set(
            "refresh_token_ttl_seconds",
            self.refresh_token_ttl.map(Value::from),
        );
        set("enabled", self.disable.then_some(Value::Bool(false)));
        set("allowed_issuers", list(&self.allowed_issuers));
        set("allowed_audiences", list(&self.allowed_audiences));
        set("allowed_scopes", list(&self.allowed_scopes));
        set(
            "delegation",
            self.delegation_actor_issuers.as_deref().map(|ids| {
                json!({
                    "allowed_actor_issuers": comma_list(ids),
                    "max_depth": self.delegation_max_depth.unwrap_or(1),
                })
            }),
        );
    }
}

pub async fn run(ctx: &Ctx, args: &AppArgs) -> Result<(), CliError> {
    let Some(org) = args.org.as_deref() else {
        return Err(CliError::usage(
            "no organization: pass --org ORG or set TRUSTGATE_ORG",
        ));
    };
    let base = format!("/t/{}/api/applications", segment(org));
    let api = ctx.admin().await?;
    match &args.command {
        AppCommand::Create {
            name,
            app_type,
            grants,
            settings,
        } => {
            let mut body = Map::new();
            body.insert("name".into(), json!(name));
            let app_type = app_type.to_possible_value().expect("no skipped variants");
            body.insert("type".into(), json!(app_type.get_name()));
            body.insert(
                "grant_types".into(),
                json!(grants.iter().map(|g| g.wire()).collect::<Vec<_>>()),
            );
            settings.apply(&mut body);
            let created: Value = api.json("POST", &base, Some(&Value::Object(body))).await?;
            print_with_secret(ctx, created);
        }
        AppCommand::List => {
            let items = api.list_all(&base).await?;
            let columns = [
                ("client id", "client_id"),
                ("name", "name"),
                ("type", "type"),
                ("grant types", "grant_types"),
                ("enabled", "enabled"),
            ];
            ctx.print_list(items, &columns);
        }
        AppCommand::Show { client_id } => {
            let app: Value = api
                .json("GET", &format!("{base}/{}", segment(client_id)), None)
                .await?;
            ctx.print_record(&app);
        }
        AppCommand::Update {
            client_id,
            name,
            grants,
            settings,
            enable,
            unset,
        } => {
            let mut body = Map::new();
            if let Some(name) = name {
                body.insert("name".into(), json!(name));
            }
            if !grants.is_empty() {
                body.insert(
                    "grant_types".into(),
                    json!(grants.iter().map(|g| g.wire()).collect::<Vec<_>>()),
                );
            }
            settings.apply(&mut body);
            let path = format!("{base}/{}", segment(client_id));
            let updated = merge_patch(&api, &path, body, *enable, unset).await?;
            ctx.print_record(&updated);
        }
        AppCommand::Delete { client_id } => {
            api.send("DELETE", &format!("{base}/{}", segment(client_id)), None)
                .await?
                .success()?;
            ctx.done(&format!("deleted application {client_id}"));
        }
        AppCommand::RotateSecret { client_id } => {
            let path = format!("{base}/{}/secret", segment(client_id));
            let rotated: Value = api.send("POST", &path, None).await?.json()?;
            print_with_secret(ctx, rotated);
        }
    }
    Ok(())
}

/// The application, then its secret on a line of its own with the note (on stderr, which
/// never carries the secret) that it is not shown again.
fn print_with_secret(ctx: &Ctx, mut app: Value) {
    if ctx.json {
        return ctx.print_record(&app);
    }
    let secret = app.as_object_mut().and_then(|a| a.remove("client_secret"));
    ctx.print_record(&app);
    if let Some(Value::String(secret)) = secret {
        println!("client_secret: {secret}");
        eprintln!(
            "note: the client secret is shown this once and cannot be retrieved again; store it now"
        );
    }
}
