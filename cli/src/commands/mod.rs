//! The commands, one module each, and what they share: the global options and how a result
//! is printed (`--json` or human).

pub mod org;

use serde_json::Value;

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
