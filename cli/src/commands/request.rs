//! The token-exchange request's parameters (RFC 8693 §2.1): `exchange` sends them to the token
//! endpoint, `explain` to the dry run; one set of flags for both.

use clap::Args;

use super::token_input;
use crate::error::CliError;

/// RFC 8693 §3 token type identifiers, by short name.
pub fn token_type(short: &str) -> String {
    match short {
        "jwt" | "id_token" | "access_token" => format!("urn:ietf:params:oauth:token-type:{short}"),
        other => other.to_owned(),
    }
}

#[derive(Debug, Args)]
pub struct RequestArgs {
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

impl RequestArgs {
    /// The subject token is to be read from stdin.
    pub fn reads_stdin(&self) -> bool {
        self.subject_token.as_deref() == Some("-")
    }

    /// The parameters by name, token types as URNs, `audience` and `resource` once per value
    /// (as the form repeats them); the subject token read as [`token_input`] reads it.
    pub fn parameters(&self) -> Result<Vec<(&'static str, String)>, CliError> {
        let subject = token_input(
            self.subject_token.as_deref(),
            "TRUSTGATE_SUBJECT_TOKEN",
            "subject token",
        )?;
        let mut parameters = vec![
            ("subject_token", subject),
            ("subject_token_type", token_type(&self.subject_token_type)),
        ];
        if let Some(actor) = &self.actor_token {
            parameters.push(("actor_token", actor.clone()));
            parameters.push(("actor_token_type", token_type(&self.actor_token_type)));
        }
        parameters.extend(self.audience.iter().map(|a| ("audience", a.clone())));
        parameters.extend(self.resource.iter().map(|r| ("resource", r.clone())));
        if let Some(scope) = &self.scope {
            parameters.push(("scope", scope.clone()));
        }
        Ok(parameters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        request: RequestArgs,
    }

    #[test]
    fn short_token_types_become_urns() {
        assert_eq!(token_type("jwt"), "urn:ietf:params:oauth:token-type:jwt");
        assert_eq!(token_type("urn:x"), "urn:x");
    }

    #[test]
    fn parameters_carry_urns_and_repeat_audiences_and_resources() {
        let cli = Cli::parse_from([
            "t",
            "a.b.c",
            "--actor-token",
            "x.y.z",
            "--audience",
            "one",
            "--audience",
            "two",
            "--resource",
            "https://r",
            "--scope",
            "read write",
        ]);
        assert_eq!(
            cli.request.parameters().unwrap(),
            [
                ("subject_token", "a.b.c".to_owned()),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:jwt".into()
                ),
                ("actor_token", "x.y.z".into()),
                (
                    "actor_token_type",
                    "urn:ietf:params:oauth:token-type:jwt".into()
                ),
                ("audience", "one".into()),
                ("audience", "two".into()),
                ("resource", "https://r".into()),
                ("scope", "read write".into()),
            ]
        );
        assert!(Cli::try_parse_from(["t", "a.b.c", "--actor-token-type", "jwt"]).is_err());
    }
}
