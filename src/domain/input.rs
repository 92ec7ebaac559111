//! Admin input: JSON documents → checked values, with errors that name the offending field, and
//! JSON Merge Patch (RFC 7396). Pure: the HTTP layer hands in parsed JSON, the records' own
//! modules say which fields exist and what they must hold.

use std::fmt;
use std::ops::RangeInclusive;

use serde_json::{Map, Value};

/// Input that breaks a rule. `field` is the JSON member at fault (`None`: the whole body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub field: Option<String>,
    pub message: String,
}

impl InputError {
    pub fn field(field: &str, message: impl Into<String>) -> InputError {
        InputError {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    pub fn body(message: impl Into<String>) -> InputError {
        InputError {
            field: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for InputError {}

/// Members a record's input may carry, and those it may not (with the reason why).
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    pub fields: &'static [&'static str],
    /// `(field, message)`: members that exist on the record but can't be set here.
    pub fixed: &'static [(&'static str, &'static str)],
}

/// The members of one JSON object, read by typed accessors that name the field on error.
/// A member that is absent or `null` reads as `None`.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    /// `value` must be an object whose members all belong to `schema`.
    pub fn new(value: &'a Value, schema: &Schema) -> Result<Fields<'a>, InputError> {
        let map = value
            .as_object()
            .ok_or_else(|| InputError::body("the body must be a JSON object"))?;
        for key in map.keys() {
            if let Some((_, why)) = schema.fixed.iter().find(|(name, _)| name == key) {
                return Err(InputError::field(key, *why));
            }
            if !schema.fields.contains(&key.as_str()) {
                return Err(InputError::field(key, "is not a known field"));
            }
        }
        Ok(Fields { map })
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    pub fn string(&self, name: &str) -> Result<Option<&'a str>, InputError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(InputError::field(name, "must be a string")),
        }
    }

    /// A required string of 1 to `max` characters without control characters.
    pub fn text(&self, name: &str, max: usize) -> Result<String, InputError> {
        self.optional_text(name, max)?
            .ok_or_else(|| InputError::field(name, "is required"))
    }

    /// An optional string of 1 to `max` characters without control characters.
    pub fn optional_text(&self, name: &str, max: usize) -> Result<Option<String>, InputError> {
        let Some(s) = self.string(name)? else {
            return Ok(None);
        };
        check_text(name, s, max)?;
        Ok(Some(s.to_owned()))
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>, InputError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(InputError::field(name, "must be true or false")),
        }
    }

    /// A whole number within `range` (`60` and `60.0` alike, as JSON Schema's `integer`).
    pub fn integer(
        &self,
        name: &str,
        range: RangeInclusive<u64>,
    ) -> Result<Option<u64>, InputError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let out_of_range = || {
            InputError::field(
                name,
                format!(
                    "must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )
        };
        let n = match value {
            Value::Number(n) => match (n.as_u64(), n.as_f64()) {
                (Some(n), _) => n,
                (None, Some(f)) if f.fract() == 0.0 && f >= 0.0 && f <= u64::MAX as f64 => f as u64,
                _ => return Err(out_of_range()),
            },
            _ => return Err(out_of_range()),
        };
        if range.contains(&n) {
            Ok(Some(n))
        } else {
            Err(out_of_range())
        }
    }

    /// An array of strings, each mapped by `parse` (its error message names the value), without
    /// duplicates.
    pub fn string_set<T: PartialEq>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<Vec<T>>, InputError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let items = value
            .as_array()
            .ok_or_else(|| InputError::field(name, "must be an array of strings"))?;
        let mut out: Vec<T> = Vec::with_capacity(items.len());
        for item in items {
            let s = item
                .as_str()
                .ok_or_else(|| InputError::field(name, "must be an array of strings"))?;
            let parsed = parse(s).map_err(|message| InputError::field(name, message))?;
            if out.contains(&parsed) {
                return Err(InputError::field(name, format!("lists {s:?} twice")));
            }
            out.push(parsed);
        }
        Ok(Some(out))
    }
}

/// 1 to `max` characters (Unicode scalar values), none of them a control character.
pub fn check_text(name: &str, s: &str, max: usize) -> Result<(), InputError> {
    let count = s.chars().count();
    if count == 0 || count > max {
        return Err(InputError::field(
            name,
            format!("must be 1 to {max} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(InputError::field(
            name,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Applies a JSON Merge Patch (RFC 7396 §2) to `target`: members of a patch object replace or
/// (when `null`) remove the target's, recursively; any other patch value replaces the target.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let target = target.as_object_mut().expect("made an object above");
    for (name, value) in patch {
        if value.is_null() {
            target.remove(name);
        } else {
            merge_patch(target.entry(name.clone()).or_insert(Value::Null), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SCHEMA: Schema = Schema {
        fields: &["name", "count", "flag", "tags"],
        fixed: &[("id", "is set by the server")],
    };

    #[test]
    fn merge_patch_follows_the_rfc_7396_examples() {
        // RFC 7396 Appendix A, every row.
        let cases = [
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (
                json!({"a":"b","b":"c"}),
                json!({"a":null}),
                json!({"b":"c"}),
            ),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
            (
                json!({"a":{"b":"c"}}),
                json!({"a":{"b":"d","c":null}}),
                json!({"a":{"b":"d"}}),
            ),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a":"b"}), json!(["c"]), json!(["c"])),
            (json!({"a":"foo"}), json!(null), json!(null)),
            (json!({"a":"foo"}), json!("bar"), json!("bar")),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
            (
                json!({}),
                json!({"a":{"bb":{"ccc":null}}}),
                json!({"a":{"bb":{}}}),
            ),
        ];
        for (mut target, patch, expected) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, expected, "patch {patch}");
        }
    }

    #[test]
    fn names_unknown_and_fixed_fields() {
        let err = Fields::new(&json!({"name": "x", "colour": 1}), &SCHEMA).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("colour"));
        let err = Fields::new(&json!({"id": "x"}), &SCHEMA).unwrap_err();
        assert_eq!(err.to_string(), "id: is set by the server");
        let err = Fields::new(&json!(["name"]), &SCHEMA).unwrap_err();
        assert_eq!(err.field, None);
    }

    #[test]
    fn names_the_field_of_a_wrong_type() {
        let value = json!({"name": 5, "count": "5", "flag": "yes", "tags": ["a", 1]});
        let fields = Fields::new(&value, &SCHEMA).unwrap();
        assert_eq!(fields.text("name", 10).unwrap_err().field.unwrap(), "name");
        assert_eq!(
            fields.integer("count", 0..=9).unwrap_err().field.unwrap(),
            "count"
        );
        assert_eq!(fields.boolean("flag").unwrap_err().field.unwrap(), "flag");
        let tags = fields.string_set("tags", |s| Ok::<_, String>(s.to_owned()));
        assert_eq!(tags.unwrap_err().field.unwrap(), "tags");
    }

    #[test]
    fn null_and_absent_read_as_unset() {
        let value = json!({"name": null});
        let fields = Fields::new(&value, &SCHEMA).unwrap();
        assert_eq!(fields.optional_text("name", 5).unwrap(), None);
        assert_eq!(fields.integer("count", 0..=1).unwrap(), None);
        assert_eq!(fields.text("name", 5).unwrap_err().message, "is required");
    }

    #[test]
    fn integers_are_whole_and_in_range() {
        let value = json!({"count": 60.0});
        let fields = Fields::new(&value, &SCHEMA).unwrap();
        assert_eq!(fields.integer("count", 0..=300).unwrap(), Some(60));
        for bad in [json!(-1), json!(1.5), json!(301), json!(1e30)] {
            let value = json!({ "count": bad });
            let fields = Fields::new(&value, &SCHEMA).unwrap();
            assert!(fields.integer("count", 0..=300).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_is_bounded_and_free_of_control_characters() {
        assert!(check_text("name", "Okta – production", 128).is_ok());
        assert!(check_text("name", &"é".repeat(128), 128).is_ok());
        assert!(check_text("name", &"é".repeat(129), 128).is_err());
        assert!(check_text("name", "", 128).is_err());
        assert!(check_text("name", "a\nb", 128).is_err());
        assert!(check_text("name", "a\u{85}b", 128).is_err());
    }

    #[test]
    fn string_sets_refuse_duplicates_and_unknown_values() {
        let value = json!({"tags": ["a", "a"]});
        let fields = Fields::new(&value, &SCHEMA).unwrap();
        let parse = |s: &str| {
            if s.len() == 1 {
                Ok(s.to_owned())
            } else {
                Err(format!("{s:?} is not allowed"))
            }
        };
        assert!(
            fields
                .string_set("tags", parse)
                .unwrap_err()
                .message
                .contains("twice")
        );
        let value = json!({"tags": ["abc"]});
        let fields = Fields::new(&value, &SCHEMA).unwrap();
        assert!(fields.string_set("tags", parse).is_err());
    }
}
