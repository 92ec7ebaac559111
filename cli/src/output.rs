//! How answers are shown: `--json` prints the API's JSON as it came (pretty), for scripts;
//! otherwise a table (lists) or aligned `key: value` lines (one record). Values are shown as
//! plain text: strings unquoted, absent/null as `-`, lists joined with `, `.

use serde_json::Value;

/// A text table: a header row and aligned columns, two spaces apart.
#[derive(Debug)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.to_uppercase()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The fields `keys` of each object in `items`.
    pub fn from_objects(headers: &[&str], keys: &[&str], items: &[Value]) -> Table {
        let mut table = Table::new(headers);
        for item in items {
            table.row(keys.iter().map(|k| cell(item.get(*k))).collect());
        }
        table
    }

    pub fn render(&self) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = row.get(i).map(String::as_str).unwrap_or("");
                if i + 1 < columns {
                    line.push_str(&format!("{cell:<width$}  "));
                } else {
                    line.push_str(cell);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// One value as a table cell.
pub fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) if items.is_empty() => "(none)".to_owned(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| cell(Some(v)))
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

/// `key: value` lines of an object's members, keys aligned and sorted.
pub fn record(object: &Value) -> String {
    let Some(members) = object.as_object() else {
        return format!("{}\n", cell(Some(object)));
    };
    let width = members.keys().map(|k| k.chars().count()).max().unwrap_or(0);
    members
        .iter()
        .map(|(key, value)| {
            let shown = match value {
                Value::Object(_) => value.to_string(),
                other => cell(Some(other)),
            };
            format!(
                "{:<width$}  {shown}\n",
                format!("{key}:"),
                width = width + 1
            )
        })
        .collect()
}

/// The API's JSON, pretty-printed.
pub fn json(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()) + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_table_aligns_columns_under_upper_case_headers() {
        let items = [
            json!({"name": "acme", "issuer": "http://x/t/acme/oauth2/token"}),
            json!({"name": "a-much-longer-name", "issuer": null}),
        ];
        let table = Table::from_objects(&["name", "issuer"], &["name", "issuer"], &items);
        assert_eq!(
            table.render(),
            "NAME                ISSUER\n\
             acme                http://x/t/acme/oauth2/token\n\
             a-much-longer-name  -\n"
        );
    }

    #[test]
    fn an_empty_table_is_its_header_line() {
        assert_eq!(Table::new(&["id", "name"]).render(), "ID  NAME\n");
    }

    #[test]
    fn cells_show_lists_joined_and_empty_lists_as_none() {
        assert_eq!(cell(Some(&json!(["a", "b"]))), "a, b");
        assert_eq!(cell(Some(&json!([]))), "(none)");
        assert_eq!(cell(Some(&json!(true))), "true");
        assert_eq!(cell(None), "-");
    }

    #[test]
    fn a_record_aligns_its_keys() {
        let shown = record(&json!({"name": "acme", "created_at": "2026-01-01T00:00:00Z"}));
        assert_eq!(
            shown,
            "created_at:  2026-01-01T00:00:00Z\nname:        acme\n"
        );
    }
}
