//! Organizations: the tenant every issuer and application belongs to.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::application::ApplicationSettings;
use super::input::{InputError, Settings};

/// How long the name of a deleted organization cannot be created again: the longest access
/// token lifetime (24 h). A new organization of the same name has the same issuer value, so a
/// token of the old one still valid then would be valid for the new tenant.
pub const NAME_QUARANTINE_SECONDS: i64 = *ApplicationSettings::ACCESS_TOKEN_TTL_RANGE.end() as i64;

/// An organization name: `[a-z0-9][a-z0-9-]{0,62}` (it appears in URLs and issuer values).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrgName(String);

impl OrgName {
    pub fn parse(raw: &str) -> Result<OrgName, String> {
        let bytes = raw.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= 63
            && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
        if valid {
            Ok(OrgName(raw.to_owned()))
        } else {
            Err(
                "must be 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit"
                    .into(),
            )
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `value` is the issuer value of an organization of any name under `public_url`:
/// `{public_url}/t/{org}/oauth2/token` (as [`crate::config::Config::organization_issuer`]
/// makes it), compared byte for byte as `iss` and `aud` are.
pub fn is_organization_issuer(public_url: &str, value: &str) -> bool {
    value
        .strip_prefix(public_url)
        .and_then(|rest| rest.strip_prefix("/t/"))
        .and_then(|rest| rest.strip_suffix("/oauth2/token"))
        .is_some_and(|name| OrgName::parse(name).is_ok())
}

/// The stored organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
}

/// A create body: `{"name": "acme"}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrganization {
    name: String,
}

impl Settings for NewOrganization {
    const SERVER_SET: &'static [(&'static str, &'static str)] = &[
        ("issuer", "is derived from the name"),
        ("created_at", "is set by the server"),
    ];
    type Context<'a> = ();

    fn validate(&mut self, (): ()) -> Result<(), InputError> {
        OrgName::parse(&self.name).map_err(|why| InputError::field("name", why))?;
        Ok(())
    }
}

impl Organization {
    /// Reads a create body: `{"name": "acme"}`.
    pub fn name_from_json(value: &Value) -> Result<OrgName, InputError> {
        Ok(OrgName(NewOrganization::from_json(value, ())?.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_contracts_names_and_refuses_others() {
        for good in ["acme", "a", "0rg", "a-b-c", &"a".repeat(63)] {
            assert!(OrgName::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-acme",
            "Acme",
            "ac_me",
            "ac.me",
            "acmé",
            &"a".repeat(64),
            "a/b",
            "a#b",
        ] {
            assert!(OrgName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn knows_the_issuer_value_of_every_organization_name_and_nothing_else() {
        let url = "https://sts.example.com";
        for value in [
            "https://sts.example.com/t/acme/oauth2/token",
            "https://sts.example.com/t/not-created-yet/oauth2/token",
        ] {
            assert!(is_organization_issuer(url, value), "{value}");
        }
        for value in [
            "https://sts.example.com/t/acme/oauth2/token/",
            "https://sts.example.com/t/Acme/oauth2/token",
            "https://sts.example.com/t//oauth2/token",
            "https://sts.example.com/t/a/b/oauth2/token",
            "https://other.example.com/t/acme/oauth2/token",
            "https://sts.example.com/t/acme/oauth2/jwks",
            "https://login.example.com",
        ] {
            assert!(!is_organization_issuer(url, value), "{value}");
        }
    }

    #[test]
    fn reads_a_create_body_and_names_the_field_at_fault() {
        use serde_json::json;
        let name = Organization::name_from_json(&json!({"name": "acme"})).unwrap();
        assert_eq!(name.as_str(), "acme");
        for (body, field) in [
            (json!({}), Some("name")),
            (json!({"name": "Acme"}), Some("name")),
            (json!({"name": 1}), Some("name")),
            (json!({"name": "acme", "x": 1}), Some("x")),
            (json!({"name": "acme", "issuer": "x"}), Some("issuer")),
            (json!("acme"), None),
        ] {
            let err = Organization::name_from_json(&body).unwrap_err();
            assert_eq!(err.field.as_deref(), field, "{body}");
        }
    }
}
