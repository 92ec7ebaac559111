//! One JSON object of a JOSE header or a JWT claims set, read in a single pass: the members the
//! caller names are kept, every other member is checked to be JSON and skipped without being
//! kept, and an object with a member name twice is refused (RFC 7519 §4 and RFC 7515 §4 allow
//! refusing it; taking one of the two would let a token mean different things to different
//! readers).
//!
//! This runs on every token exchange, so it keeps only what is read: a subject token's 14
//! claims cost one allocation per kept string, not a map of owned names and values.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A member's value, as far as header and claim rules care.
#[derive(Debug, Clone, PartialEq)]
pub enum Member {
    Absent,
    String(String),
    /// A JSON number (always finite: JSON has no infinities).
    Number(f64),
    /// An array whose elements are all strings (possibly none).
    Strings(Vec<String>),
    /// Anything else: `null`, a boolean, an object, an array holding a non-string.
    Other,
}

/// Why an object was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectError {
    NotAnObject,
    DuplicateName,
}

impl ObjectError {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectError::NotAnObject => "not a JSON object",
            ObjectError::DuplicateName => "duplicate member names",
        }
    }
}

const DUPLICATE: &str = "duplicate member name";

/// Reads `bytes` as one JSON object and returns the values of `names`, in their order.
pub fn read<const N: usize>(bytes: &[u8], names: &[&str; N]) -> Result<[Member; N], ObjectError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let members = Members { names }
        .deserialize(&mut deserializer)
        .and_then(|members| deserializer.end().map(|()| members));
    members.map_err(|e| {
        // serde_json appends the position to a custom message.
        if e.is_data() && e.to_string().starts_with(DUPLICATE) {
            ObjectError::DuplicateName
        } else {
            ObjectError::NotAnObject
        }
    })
}

struct Members<'n, const N: usize> {
    names: &'n [&'n str; N],
}

impl<'de, const N: usize> DeserializeSeed<'de> for Members<'_, N> {
    type Value = [Member; N];

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for Members<'_, N> {
    type Value = [Member; N];

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut found: [Member; N] = std::array::from_fn(|_| Member::Absent);
        // Every name, borrowed from the input unless it had escapes (`"\u0069ss"` is `iss`).
        let mut seen: Vec<Cow<'de, str>> = Vec::with_capacity(16);
        while let Some(Name(name)) = access.next_key()? {
            match self.names.iter().position(|wanted| *wanted == name) {
                Some(i) => found[i] = access.next_value()?,
                None => {
                    access.next_value::<IgnoredAny>()?;
                }
            }
            seen.push(name);
        }
        seen.sort_unstable();
        if seen.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(de::Error::custom(DUPLICATE));
        }
        Ok(found)
    }
}

/// A member name, borrowed when it can be.
struct Name<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

impl<'de> de::Deserialize<'de> for Member {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MemberVisitor)
    }
}

struct MemberVisitor;

impl<'de> Visitor<'de> for MemberVisitor {
    type Value = Member;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Member, E> {
        Ok(Member::Other)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Member, E> {
        Ok(Member::Number(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Member, E> {
        Ok(Member::Number(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Member, E> {
        Ok(if v.is_finite() {
            Member::Number(v)
        } else {
            Member::Other
        })
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Member, E> {
        Ok(Member::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Member, E> {
        Ok(Member::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Member, E> {
        Ok(Member::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Member, A::Error> {
        let mut strings = Vec::new();
        let mut all_strings = true;
        while let Some(element) = seq.next_element::<Member>()? {
            match element {
                Member::String(s) if all_strings => strings.push(s),
                _ => all_strings = false,
            }
        }
        Ok(if all_strings {
            Member::Strings(strings)
        } else {
            Member::Other
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Member, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Member::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 3] = ["a", "b", "c"];

    #[test]
    fn keeps_the_named_members_and_skips_the_rest() {
        let [a, b, c] = read(
            br#"{"x":{"y":[1,{"z":null}]},"b":"two","a":1.5,"w":true}"#,
            &NAMES,
        )
        .unwrap();
        assert_eq!(a, Member::Number(1.5));
        assert_eq!(b, Member::String("two".into()));
        assert_eq!(c, Member::Absent);
    }

    #[test]
    fn sorts_values_into_their_kinds() {
        let [a, b, c] = read(br#"{"a":["x","y"],"b":["x",2],"c":null}"#, &NAMES).unwrap();
        assert_eq!(a, Member::Strings(vec!["x".into(), "y".into()]));
        assert_eq!(b, Member::Other);
        assert_eq!(c, Member::Other, "null is present, not absent");
        let [a, b, c] = read(br#"{"a":[],"b":{},"c":18446744073709551615}"#, &NAMES).unwrap();
        assert_eq!(a, Member::Strings(vec![]));
        assert_eq!(b, Member::Other);
        assert_eq!(c, Member::Number(18446744073709551615.0));
    }

    #[test]
    fn refuses_duplicate_names_kept_or_not_and_however_spelled() {
        for json in [
            &br#"{"a":1,"a":2}"#[..],
            br#"{"q":1,"q":1}"#,
            br#"{"a":1,"\u0061":2}"#,
        ] {
            assert_eq!(
                read(json, &NAMES).unwrap_err(),
                ObjectError::DuplicateName,
                "{}",
                String::from_utf8_lossy(json)
            );
        }
    }

    #[test]
    fn refuses_anything_but_one_object() {
        for json in [
            &b""[..],
            b"[]",
            b"\"a\"",
            b"{",
            br#"{"a":1} {}"#,
            br#"{"a":1,}"#,
            b"{\"a\":\"\xff\"}",
            br#"{"a":1e999}"#,
        ] {
            assert_eq!(
                read(json, &NAMES).unwrap_err(),
                ObjectError::NotAnObject,
                "{}",
                String::from_utf8_lossy(json)
            );
        }
        assert!(read(b" {} ", &NAMES).is_ok(), "whitespace around is JSON");
    }
}
