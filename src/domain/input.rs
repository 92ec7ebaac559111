//! Admin input: JSON documents → a record's settings, with errors that name the offending
//! member, and JSON Merge Patch (RFC 7396). Pure: the HTTP layer hands in parsed JSON.
//!
//! A settings struct declares its members once, with serde (names, types, contract defaults,
//! `deny_unknown_fields`); [`Settings::validate`] holds the rules a type can't say. A create
//! body is read by serde and then validated; a patch is merged onto the serialized settings and
//! the result read the same way, so every rule applies again.

use std::fmt;
use std::ops::RangeInclusive;

use serde::Serialize;
use serde::de::{self, DeserializeOwned, Visitor};
use serde_json::{Map, Value};
use serde_path_to_error::Segment;

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

/// What an administrator sets on a record: a serde struct plus the rules serde can't express.
pub trait Settings: Serialize + DeserializeOwned {
    /// Members of the stored record the server sets, each with why a body can't set it.
    const SERVER_SET: &'static [(&'static str, &'static str)];
    /// Members a create sets once and a patch may not change, each with why.
    const FIXED: &'static [(&'static str, &'static str)] = &[];

    /// What the rules depend on besides the input (configuration).
    type Context<'a>: Copy;

    /// Every rule beyond the types. May normalize (e.g. a certificate to PEM).
    fn validate(&mut self, context: Self::Context<'_>) -> Result<(), InputError>;

    /// Defaults that depend on another member, filled into the document before serde reads
    /// it (serde defaults can only be constants).
    fn dependent_defaults(_document: &mut Map<String, Value>) {}

    /// Reads a create body: every member known, the defaults applied, every rule checked.
    fn from_json(body: &Value, context: Self::Context<'_>) -> Result<Self, InputError> {
        check_members::<Self>(body, &[])?;
        read(body.clone(), context)
    }

    /// Applies a JSON Merge Patch (RFC 7396) to these settings and reads the result as a
    /// create body: every rule applies again, and a member patched to `null` returns to its
    /// default.
    fn patched(&self, patch: &Value, context: Self::Context<'_>) -> Result<Self, InputError> {
        check_members::<Self>(patch, Self::FIXED)?;
        let mut document = serde_json::to_value(self)
            .map_err(|e| InputError::body(format!("the record can't be patched: {e}")))?;
        merge_patch(&mut document, patch);
        read(document, context)
    }
}

/// `value` is an object of known members: none set by the server, none in `fixed`.
fn check_members<S: Settings>(
    value: &Value,
    fixed: &[(&'static str, &'static str)],
) -> Result<(), InputError> {
    let map = value
        .as_object()
        .ok_or_else(|| InputError::body("the body must be a JSON object"))?;
    let known = field_names::<S>();
    for key in map.keys() {
        if let Some((_, why)) = S::SERVER_SET.iter().chain(fixed).find(|(n, _)| n == key) {
            return Err(InputError::field(key, *why));
        }
        if !known.contains(&key.as_str()) {
            return Err(InputError::field(key, "is not a known field"));
        }
    }
    Ok(())
}

fn read<S: Settings>(mut document: Value, context: S::Context<'_>) -> Result<S, InputError> {
    if let Value::Object(map) = &mut document {
        // `null` means unset (RFC 7396), so the serde default applies.
        map.retain(|_, v| !v.is_null());
        for value in map.values_mut() {
            whole_numbers_as_integers(value);
        }
        S::dependent_defaults(map);
    }
    let mut settings: S = serde_path_to_error::deserialize(document).map_err(serde_error)?;
    settings.validate(context)?;
    Ok(settings)
}

/// `60.0` reads as `60`, as JSON Schema's `integer` allows.
fn whole_numbers_as_integers(value: &mut Value) {
    match value {
        Value::Number(n) if !n.is_u64() && !n.is_i64() => {
            if let Some(f) = n
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 2f64.powi(63))
            {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

/// A serde error as the member at fault and a message an administrator can act on. serde's
/// own text names Rust types (`expected u32`) and, for missing members, no path at all.
fn serde_error(error: serde_path_to_error::Error<serde_json::Error>) -> InputError {
    let keys: Vec<String> = (error.path().iter())
        .filter_map(|segment| match segment {
            Segment::Map { key } => Some(key.clone()),
            _ => None,
        })
        .collect();
    let field = keys.first().cloned();
    // A member of a nested object is named by its path (`delegation.max_depth`).
    let member = |name: String| match keys.as_slice() {
        [] => name,
        outer => format!("{}.{name}", outer.join(".")),
    };
    let message = error.into_inner().to_string();
    let quoted = |prefix: &str| {
        let rest = message.strip_prefix(prefix)?;
        Some(rest[..rest.find('`')?].to_owned())
    };
    if let Some(name) = quoted("missing field `") {
        return InputError::field(&member(name), "is required");
    }
    if let Some(name) = quoted("unknown field `") {
        // The path already ends with the unknown member.
        let path = if keys.is_empty() {
            name
        } else {
            keys.join(".")
        };
        return InputError::field(&path, "is not a known field");
    }
    let message = humanize(&message);
    match field {
        Some(field) => InputError::field(&field, message),
        None => InputError::body(message),
    }
}

fn humanize(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown variant `")
        && let Some((value, expected)) = rest.split_once("`, expected ")
    {
        let expected = expected.trim_start_matches("one of ").replace(['`'], "");
        return format!("{value:?} is not one of {}", expected.replace(" or ", ", "));
    }
    if message.starts_with("invalid ")
        && let Some((_, expected)) = message.rsplit_once(", expected ")
    {
        let expected = match expected {
            "a boolean" => "true or false",
            "a sequence" => "an array",
            // serde_json's word for an enum given a non-string.
            "string or map" => "a string",
            "u8" | "u16" | "u32" | "u64" | "i32" | "i64" => "a whole number",
            other => other,
        };
        return format!("must be {expected}");
    }
    message.to_owned()
}

/// The member names a derived `Deserialize` struct accepts, renames applied: serde hands them
/// to `deserialize_struct`, and a probe that records them is all it takes. Empty for a type
/// that is not a plain struct.
pub fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    match T::deserialize(Probe) {
        Err(Probed(Some(fields))) => fields,
        _ => &[],
    }
}

struct Probe;

#[derive(Debug)]
struct Probed(Option<&'static [&'static str]>);

impl fmt::Display for Probed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field name probe")
    }
}

impl std::error::Error for Probed {}

impl de::Error for Probed {
    fn custom<T: fmt::Display>(_: T) -> Probed {
        Probed(None)
    }
}

impl<'de> de::Deserializer<'de> for Probe {
    type Error = Probed;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probed> {
        Err(Probed(None))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Probed> {
        Err(Probed(Some(fields)))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
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

/// `value` lies within `range`.
pub fn check_range<T: PartialOrd + fmt::Display>(
    name: &str,
    value: T,
    range: &RangeInclusive<T>,
) -> Result<(), InputError> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(InputError::field(
            name,
            format!(
                "must be a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        ))
    }
}

/// No value listed twice (`show` names a value in the message).
pub fn check_unique<T: PartialEq>(
    name: &str,
    items: &[T],
    show: impl Fn(&T) -> &str,
) -> Result<(), InputError> {
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) {
            return Err(InputError::field(
                name,
                format!("lists {:?} twice", show(item)),
            ));
        }
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

/// serde's `default = "…"` for members that default to `true`.
pub(crate) fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    /// A record with one member of each kind the real ones use.
    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Example {
        name: String,
        #[serde(default)]
        count: u32,
        #[serde(default = "yes")]
        flag: bool,
        #[serde(default)]
        tags: Vec<Colour>,
        #[serde(rename = "type", default)]
        kind: Option<String>,
    }

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Colour {
        Red,
        Blue,
    }

    impl Settings for Example {
        const SERVER_SET: &'static [(&'static str, &'static str)] =
            &[("id", "is set by the server")];
        const FIXED: &'static [(&'static str, &'static str)] = &[("type", "is fixed")];
        type Context<'a> = ();

        fn validate(&mut self, (): ()) -> Result<(), InputError> {
            check_text("name", &self.name, 10)?;
            check_range("count", self.count, &(0..=300))
        }
    }

    fn field_of(body: Value) -> String {
        Example::from_json(&body, ())
            .unwrap_err()
            .field
            .expect("names a field")
    }

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
    fn field_names_come_from_the_derive_with_renames() {
        assert_eq!(
            field_names::<Example>(),
            ["name", "count", "flag", "tags", "type"]
        );
        assert!(field_names::<Colour>().is_empty());
    }

    #[test]
    fn names_unknown_server_set_and_missing_members() {
        assert_eq!(field_of(json!({"name": "x", "colour": 1})), "colour");
        let err = Example::from_json(&json!({"id": "x"}), ()).unwrap_err();
        assert_eq!(err.to_string(), "id: is set by the server");
        let err = Example::from_json(&json!({}), ()).unwrap_err();
        assert_eq!(err.to_string(), "name: is required");
        let err = Example::from_json(&json!(["name"]), ()).unwrap_err();
        assert_eq!(err.field, None);
    }

    #[test]
    fn names_the_field_of_a_wrong_type_in_words_not_rust_types() {
        let cases = [
            ("name", json!(5), "must be a string"),
            ("count", json!("5"), "must be a whole number"),
            ("count", json!(-1), "must be a whole number"),
            ("count", json!(1.5), "must be a whole number"),
            ("count", json!(1e30), "must be a whole number"),
            ("flag", json!("yes"), "must be true or false"),
            ("tags", json!("red"), "must be an array"),
            (
                "tags",
                json!(["red", "green"]),
                "\"green\" is not one of red, blue",
            ),
            ("tags", json!(["red", 1]), "must be a string"),
        ];
        for (field, value, message) in cases {
            let mut body = json!({"name": "x"});
            body[field] = value.clone();
            let err = Example::from_json(&body, ()).unwrap_err();
            assert_eq!(err.field.as_deref(), Some(field), "{value}");
            assert!(err.message.starts_with(message), "{value}: {}", err.message);
        }
    }

    #[test]
    fn null_means_the_default_and_whole_floats_are_integers() {
        let read = Example::from_json(
            &json!({"name": "x", "count": 60.0, "flag": null, "tags": null}),
            (),
        )
        .unwrap();
        assert_eq!((read.count, read.flag, read.tags.len()), (60, true, 0));
        assert_eq!(field_of(json!({"name": null})), "name");
    }

    #[test]
    fn validate_runs_after_serde_and_on_every_patch() {
        assert_eq!(field_of(json!({"name": "x", "count": 301})), "count");
        let current = Example::from_json(&json!({"name": "x", "count": 5}), ()).unwrap();
        let patched = current
            .patched(&json!({"count": null, "flag": false}), ())
            .unwrap();
        assert_eq!((patched.count, patched.flag), (0, false));
        let err = current.patched(&json!({"name": ""}), ()).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("name"));
        for fixed in ["type", "id", "colour"] {
            let err = current.patched(&json!({ fixed: "x" }), ()).unwrap_err();
            assert_eq!(err.field.as_deref(), Some(fixed));
        }
        assert_eq!(current.patched(&json!([1]), ()).unwrap_err().field, None);
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
    fn lists_refuse_duplicates() {
        let err = check_unique("tags", &["a", "b", "a"], |s| s).unwrap_err();
        assert_eq!(err.to_string(), "tags: lists \"a\" twice");
        assert!(check_unique("tags", &["a", "b"], |s| s).is_ok());
    }
}
