//! The commands, one module each, and what they share: the global options, how a result is
//! printed (`--json` or human), and reading a token or secret from an argument, stdin or the
//! environment.

pub mod app;
pub mod decode;
pub mod exchange;
pub mod explain;
pub mod issuer;
pub mod org;
pub mod request;
pub mod revoke;

use std::io::Read;

use serde_json::{Map, Value};

use crate::api::{AdminApi, ApiOptions};
use crate::error::CliError;
use crate::output;

/// What every command gets: the global options.
#[derive(Debug)]
pub struct Ctx {
    pub api: ApiOptions,
    pub json: bool,
}

impl Ctx {
    pub async fn admin(&self) -> Result<AdminApi, CliError> {
        AdminApi::from_options(&self.api).await
    }

    /// One record: the API's JSON with `--json`, else `key: value` lines.
    pub fn print_record(&self, value: &Value) {
        if self.json {
            print!("{}", output::json(value));
        } else {
            print!("{}", output::record(value));
        }
    }

    /// A list: `{"items": [...], "next_cursor": null}` with `--json` (every page joined),
    /// else a table of `columns` (header, member).
    pub fn print_list(&self, items: Vec<Value>, columns: &[(&str, &str)]) {
        if self.json {
            let all = serde_json::json!({"items": items, "next_cursor": null});
            print!("{}", output::json(&all));
        } else {
            let headers: Vec<&str> = columns.iter().map(|(h, _)| *h).collect();
            let keys: Vec<&str> = columns.iter().map(|(_, k)| *k).collect();
            print!(
                "{}",
                output::Table::from_objects(&headers, &keys, &items).render()
            );
        }
    }

    /// A one-line confirmation (nothing with `--json`, where the exit code says it).
    pub fn done(&self, message: &str) {
        if !self.json {
            println!("{message}");
        }
    }
}

/// An update: `body` with the shared update flags (`--enable`; `--unset FIELD`, sent as null)
/// as a JSON merge patch (RFC 7396) to `path`; the updated record. Refused, nothing sent, when
/// it would change nothing.
pub async fn merge_patch(
    api: &AdminApi,
    path: &str,
    mut body: Map<String, Value>,
    enable: bool,
    unset: &[String],
) -> Result<Value, CliError> {
    if enable {
        body.insert("enabled".into(), Value::Bool(true));
    }
    for field in unset {
        body.insert(field.clone(), Value::Null);
    }
    if body.is_empty() {
        return Err(CliError::usage(
            "nothing to change: give at least one flag (see --help)",
        ));
    }
    let patch = (
        "application/merge-patch+json",
        Value::Object(body).to_string().into_bytes(),
    );
    api.send("PATCH", path, Some(patch)).await?.json()
}

/// A token given as an argument, or `-` for stdin (first line, trimmed), or from `env_name`
/// when the argument is absent. `what` names it in the error.
pub fn token_input(arg: Option<&str>, env_name: &str, what: &str) -> Result<String, CliError> {
    let value = match arg {
        Some("-") => read_stdin(what)?,
        Some(value) => value.to_owned(),
        None => std::env::var(env_name).map_err(|_| {
            CliError::usage(format!(
                "no {what}: pass it as an argument, `-` to read it from stdin, or set {env_name}"
            ))
        })?,
    };
    let value = value.trim().to_owned();
    if value.is_empty() {
        return Err(CliError::usage(format!("the {what} is empty")));
    }
    Ok(value)
}

/// All of stdin, trimmed (a token or secret pasted with a newline).
pub fn read_stdin(what: &str) -> Result<String, CliError> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| CliError::usage(format!("cannot read the {what} from stdin: {e}")))?;
    Ok(text.trim().to_owned())
}

/// `a,b,c` → `["a","b","c"]`; `""` → `[]` (an explicit empty list).
pub fn comma_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `NAME=VALUE` for clap.
pub fn key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected NAME=VALUE, got {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comma_list_trims_and_an_empty_string_is_an_empty_list() {
        assert_eq!(comma_list("a, b,,c"), ["a", "b", "c"]);
        assert!(comma_list("").is_empty());
    }

    #[test]
    fn key_value_needs_a_name_and_an_equals_sign() {
        assert_eq!(
            key_value("tier=claims.tier").unwrap(),
            ("tier".into(), "claims.tier".into())
        );
        assert_eq!(key_value("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert!(key_value("=x").is_err());
        assert!(key_value("x").is_err());
    }
}
