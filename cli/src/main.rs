//! `trustgate`: the operator's command-line tool over Trustgate's admin API (openapi/admin.yaml)
//! and its OAuth endpoints. Wiring only: parse the command line, run the command, turn the
//! outcome into an exit code (error.rs documents them).

mod api;
mod certificate;
mod commands;
mod console;
mod error;
mod jwt;
mod oauth;
mod output;
mod sigv4;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use api::ApiOptions;
use commands::Ctx;

const LONG_HELP: &str = "\
Environment:
  TRUSTGATE_ENDPOINT       the admin API base URL (--endpoint)
  TRUSTGATE_ORG            the organization (--org)
  TRUSTGATE_CLIENT_ID      exchange/explain: the application
  TRUSTGATE_CLIENT_SECRET  exchange: the client secret (or --client-secret-stdin)
  AWS_PROFILE, AWS_REGION, AWS_ACCESS_KEY_ID, …  the AWS credential chain for --auth sigv4

Exit codes:
  0  done
  1  the API refused the request (4xx); the problem detail is printed
  2  usage or local set-up: bad flags, unreadable file, no credentials or region
  3  the API cannot be reached, timed out, or failed (5xx)
  4  explain denied, or a token did not verify

Examples:
  export TRUSTGATE_ENDPOINT=http://127.0.0.1:9000   # make dev, unsigned
  trustgate org create acme
  trustgate issuer add --org acme --name IdP --issuer https://idp.example.com --certificate idp.cer
  trustgate app create --org acme --name ci --type web --grant token-exchange
  trustgate explain --org acme --client-id CLIENT_ID \"$ID_TOKEN\"
  TRUSTGATE_ENDPOINT=https://ID.execute-api.eu-west-1.amazonaws.com trustgate --profile ops org list";

/// Administer Trustgate (organizations, trusted token issuers, applications) and try token
/// exchanges, over the admin API: SigV4-signed with the AWS credential chain for a deployed
/// API, unsigned for `make dev`.
#[derive(Debug, Parser)]
#[command(name = "trustgate", version, after_long_help = LONG_HELP)]
struct Cli {
    #[command(flatten)]
    api: ApiOptions,
    /// Print the API's JSON instead of tables
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Organizations
    #[command(subcommand)]
    Org(commands::org::OrgCommand),
    /// Trusted token issuers of an organization (JWKS URI or certificate)
    Issuer(commands::issuer::IssuerArgs),
    /// Applications of an organization (types, grant types, policies, secrets)
    App(commands::app::AppArgs),
    /// Dry-run an exchange: every check with pass/fail/skip (exit 4 on deny)
    Explain(commands::explain::ExplainArgs),
    /// Revoke every token of a subject or of a client issued before now
    Revoke(commands::revoke::RevokeArgs),
    /// Exchange a token at the organization's token endpoint and verify the result
    Exchange(commands::exchange::ExchangeArgs),
    /// Show a JWT's header and claims; verify it with --jwks-uri or --issuer
    Decode(commands::decode::DecodeArgs),
    /// Serve a web console on 127.0.0.1 over the admin API, with your credentials
    Console(console::ConsoleArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = Ctx {
        api: cli.api,
        json: cli.json,
    };
    let outcome = match &cli.command {
        Command::Org(command) => commands::org::run(&ctx, command).await,
        Command::Issuer(args) => commands::issuer::run(&ctx, args).await,
        Command::App(args) => commands::app::run(&ctx, args).await,
        Command::Explain(args) => commands::explain::run(&ctx, args).await,
        Command::Revoke(args) => commands::revoke::run(&ctx, args).await,
        Command::Exchange(args) => commands::exchange::run(&ctx, args).await,
        Command::Decode(args) => commands::decode::run(&ctx, args).await,
        Command::Console(args) => console::run(&ctx, args).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("trustgate: {error}");
            error.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_help_and_the_long_help_documents_the_exit_codes() {
        let mut cli = Cli::command();
        let help = cli.render_long_help().to_string();
        assert!(
            help.contains("Exit codes:") && help.contains("4  explain denied"),
            "{help}"
        );
        for sub in cli.get_subcommands() {
            assert!(sub.get_about().is_some(), "{} has no help", sub.get_name());
        }
    }

    #[test]
    fn a_usage_error_exits_2() {
        let error = Cli::try_parse_from(["trustgate", "org", "create"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
    }
}
