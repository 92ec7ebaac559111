//! Applications (OAuth clients) and their credentials.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::input::{Fields, InputError, Schema, merge_patch};
use crate::secret::Secret;

/// Application types of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppType {
    /// Standard-based (OIDC) application: confidential.
    Oidc,
    /// Traditional web application: confidential.
    Web,
    /// Native application: public client (RFC 6749 §2.1).
    Mobile,
    /// Single-page application: public, and refused with the token-exchange grant.
    Spa,
}

impl AppType {
    pub const ALL: [AppType; 4] = [AppType::Oidc, AppType::Web, AppType::Mobile, AppType::Spa];

    pub fn as_str(self) -> &'static str {
        match self {
            AppType::Oidc => "oidc",
            AppType::Web => "web",
            AppType::Mobile => "mobile",
            AppType::Spa => "spa",
        }
    }

    pub fn parse(raw: &str) -> Option<AppType> {
        AppType::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    /// Confidential clients authenticate with a secret (RFC 6749 §2.1).
    pub fn is_confidential(self) -> bool {
        matches!(self, AppType::Oidc | AppType::Web)
    }
}

/// Grant types an application may be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GrantType {
    /// RFC 8693.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:token-exchange")]
    TokenExchange,
    /// RFC 6749 §6.
    #[serde(rename = "refresh_token")]
    RefreshToken,
}

impl GrantType {
    pub const TOKEN_EXCHANGE: &'static str = "urn:ietf:params:oauth:grant-type:token-exchange";
    pub const REFRESH_TOKEN: &'static str = "refresh_token";

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::TokenExchange => GrantType::TOKEN_EXCHANGE,
            GrantType::RefreshToken => GrantType::REFRESH_TOKEN,
        }
    }

    pub fn parse(raw: &str) -> Option<GrantType> {
        match raw {
            GrantType::TOKEN_EXCHANGE => Some(GrantType::TokenExchange),
            GrantType::REFRESH_TOKEN => Some(GrantType::RefreshToken),
            _ => None,
        }
    }
}

/// The stored application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    /// Server-made (32 hex characters).
    pub client_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub app_type: AppType,
    pub grant_types: Vec<GrantType>,
    /// 60-86400, default 3600.
    pub access_token_ttl_seconds: u32,
    /// 300-31536000, default 86400.
    pub refresh_token_ttl_seconds: u32,
    /// Hex SHA-256 of the client secret; `None` for public clients. The secret itself is
    /// never stored (it has 256 bits of entropy, so a fast hash suffices).
    pub secret_hash: Option<String>,
    pub enabled: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

impl Application {
    pub const DEFAULT_ACCESS_TOKEN_TTL: u32 = 3600;
    pub const ACCESS_TOKEN_TTL_RANGE: std::ops::RangeInclusive<u32> = 60..=86_400;
    pub const DEFAULT_REFRESH_TOKEN_TTL: u32 = 86_400;
    pub const REFRESH_TOKEN_TTL_RANGE: std::ops::RangeInclusive<u32> = 300..=31_536_000;

    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Compares `presented` with the stored hash in constant time. Public clients have no
    /// secret, so nothing verifies for them.
    pub fn verify_secret(&self, presented: &Secret) -> bool {
        let Some(stored) = self.secret_hash.as_deref() else {
            return false;
        };
        let presented = hash_secret(presented);
        verify_slices_are_equal(presented.as_bytes(), stored.as_bytes()).is_ok()
    }
}

/// A new client secret: 256 bits from the OS CSPRNG, base64url (43 characters).
pub fn new_client_secret() -> Secret {
    Secret::new(URL_SAFE_NO_PAD.encode(super::random_bytes(32)))
}

/// What is stored for a secret: lower-case hex SHA-256.
pub fn hash_secret(secret: &Secret) -> String {
    super::sha256_hex(secret.expose().as_bytes())
}

/// What an administrator sets on an application: the checked input of a create or a patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationSettings {
    pub name: String,
    pub app_type: AppType,
    pub grant_types: Vec<GrantType>,
    pub access_token_ttl_seconds: u32,
    pub refresh_token_ttl_seconds: u32,
    pub enabled: bool,
}

impl ApplicationSettings {
    pub const MAX_NAME_CHARS: usize = 128;

    /// The members of a create body.
    pub const SCHEMA: Schema = Schema {
        fields: &[
            "name",
            "type",
            "grant_types",
            "access_token_ttl_seconds",
            "refresh_token_ttl_seconds",
            "enabled",
        ],
        fixed: &[
            ("client_id", "is made by the server and cannot be set"),
            (
                "client_secret",
                "is made by the server; POST .../{client_id}/secret issues a new one",
            ),
            ("created_at", "is set by the server"),
            ("updated_at", "is set by the server"),
        ],
    };

    /// The members of a patch: as a create, but the type is fixed (a client can't turn from
    /// public to confidential or back: create a new application instead).
    pub const PATCH_SCHEMA: Schema = Schema {
        fields: &[
            "name",
            "grant_types",
            "access_token_ttl_seconds",
            "refresh_token_ttl_seconds",
            "enabled",
        ],
        fixed: &[
            ("client_id", "is made by the server and cannot be set"),
            (
                "client_secret",
                "is made by the server; POST .../{client_id}/secret issues a new one",
            ),
            ("created_at", "is set by the server"),
            ("updated_at", "is set by the server"),
            (
                "type",
                "cannot be changed; create a new application of the other type",
            ),
        ],
    };

    /// Reads a create body (or a patched document): applies the defaults and every rule.
    /// `grant_types` defaults to token exchange, except for `spa`, where it defaults to none.
    pub fn from_json(value: &Value) -> Result<Self, InputError> {
        let fields = Fields::new(value, &Self::SCHEMA)?;
        let name = fields.text("name", Self::MAX_NAME_CHARS)?;
        let app_type = match fields.string("type")? {
            None => return Err(InputError::field("type", "is required")),
            Some(raw) => AppType::parse(raw).ok_or_else(|| {
                InputError::field("type", "must be one of oidc, web, mobile, spa")
            })?,
        };
        let grant_types = fields
            .string_set("grant_types", |s| {
                GrantType::parse(s).ok_or_else(|| {
                    format!(
                        "{s:?} is not one of {}, {}",
                        GrantType::TOKEN_EXCHANGE,
                        GrantType::REFRESH_TOKEN
                    )
                })
            })?
            .unwrap_or_else(|| match app_type {
                AppType::Spa => Vec::new(),
                _ => vec![GrantType::TokenExchange],
            });
        if app_type == AppType::Spa && grant_types.contains(&GrantType::TokenExchange) {
            return Err(InputError::field(
                "grant_types",
                "token exchange is not supported for single-page applications (type spa)",
            ));
        }
        let range = |r: &std::ops::RangeInclusive<u32>| u64::from(*r.start())..=u64::from(*r.end());
        let access_token_ttl_seconds = fields
            .integer(
                "access_token_ttl_seconds",
                range(&Application::ACCESS_TOKEN_TTL_RANGE),
            )?
            .map_or(Application::DEFAULT_ACCESS_TOKEN_TTL, |n| n as u32);
        let refresh_token_ttl_seconds = fields
            .integer(
                "refresh_token_ttl_seconds",
                range(&Application::REFRESH_TOKEN_TTL_RANGE),
            )?
            .map_or(Application::DEFAULT_REFRESH_TOKEN_TTL, |n| n as u32);
        let enabled = fields.boolean("enabled")?.unwrap_or(true);
        Ok(ApplicationSettings {
            name,
            app_type,
            grant_types,
            access_token_ttl_seconds,
            refresh_token_ttl_seconds,
            enabled,
        })
    }

    /// Applies a JSON Merge Patch (RFC 7396) to the editable fields of `current`, then every
    /// rule again.
    pub fn patched(current: &Application, patch: &Value) -> Result<Self, InputError> {
        Fields::new(patch, &Self::PATCH_SCHEMA)?;
        let mut document = Self::editable_json(current);
        merge_patch(&mut document, patch);
        Self::from_json(&document)
    }

    /// The editable fields of a stored application (with its type), as a create body.
    pub fn editable_json(app: &Application) -> Value {
        let mut map = Map::new();
        map.insert("name".into(), json!(app.name));
        map.insert("type".into(), json!(app.app_type));
        map.insert("grant_types".into(), json!(app.grant_types));
        map.insert(
            "access_token_ttl_seconds".into(),
            json!(app.access_token_ttl_seconds),
        );
        map.insert(
            "refresh_token_ttl_seconds".into(),
            json!(app.refresh_token_ttl_seconds),
        );
        map.insert("enabled".into(), json!(app.enabled));
        Value::Object(map)
    }

    /// The record these settings make. `secret_hash` is `Some` exactly for confidential types.
    pub fn into_application(
        self,
        client_id: String,
        secret_hash: Option<String>,
        created_at: String,
        updated_at: String,
    ) -> Application {
        Application {
            client_id,
            name: self.name,
            app_type: self.app_type,
            grant_types: self.grant_types,
            access_token_ttl_seconds: self.access_token_ttl_seconds,
            refresh_token_ttl_seconds: self.refresh_token_ttl_seconds,
            secret_hash,
            enabled: self.enabled,
            created_at,
            updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(secret: Option<&Secret>) -> Application {
        Application {
            client_id: "c".into(),
            name: "n".into(),
            app_type: AppType::Web,
            grant_types: vec![GrantType::TokenExchange],
            access_token_ttl_seconds: 3600,
            refresh_token_ttl_seconds: 86400,
            secret_hash: secret.map(hash_secret),
            enabled: true,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn verifies_only_the_issued_secret() {
        let secret = new_client_secret();
        assert_eq!(secret.expose().len(), 43);
        let application = app(Some(&secret));
        assert!(application.verify_secret(&secret));
        assert!(!application.verify_secret(&Secret::new("wrong")));
        assert!(!application.verify_secret(&Secret::new("")));
        assert!(!app(None).verify_secret(&Secret::new("")));
    }

    #[test]
    fn grant_types_serialize_as_their_wire_names() {
        let json =
            serde_json::to_string(&[GrantType::TokenExchange, GrantType::RefreshToken]).unwrap();
        assert_eq!(
            json,
            r#"["urn:ietf:params:oauth:grant-type:token-exchange","refresh_token"]"#
        );
        assert_eq!(
            GrantType::parse("refresh_token"),
            Some(GrantType::RefreshToken)
        );
        assert_eq!(GrantType::parse("password"), None);
    }

    fn field_of(body: serde_json::Value) -> String {
        ApplicationSettings::from_json(&body)
            .unwrap_err()
            .field
            .expect("names a field")
    }

    #[test]
    fn applies_the_contracts_defaults() {
        let s = ApplicationSettings::from_json(&json!({"name": "Portal", "type": "web"})).unwrap();
        assert_eq!(s.grant_types, vec![GrantType::TokenExchange]);
        assert_eq!(s.access_token_ttl_seconds, 3600);
        assert_eq!(s.refresh_token_ttl_seconds, 86400);
        assert!(s.enabled);
        let spa = ApplicationSettings::from_json(&json!({"name": "SPA", "type": "spa"})).unwrap();
        assert!(spa.grant_types.is_empty());
    }

    #[test]
    fn refuses_token_exchange_for_single_page_applications() {
        let err = ApplicationSettings::from_json(&json!({
            "name": "SPA", "type": "spa",
            "grant_types": [GrantType::TOKEN_EXCHANGE]
        }))
        .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("grant_types"));
        assert!(
            err.message
                .contains("not supported for single-page applications")
        );
        let refresh_only = json!({"name": "SPA", "type": "spa", "grant_types": ["refresh_token"]});
        assert!(ApplicationSettings::from_json(&refresh_only).is_ok());
    }

    #[test]
    fn names_each_field_that_breaks_a_rule() {
        let cases = [
            ("name", json!("")),
            ("name", json!("n".repeat(129))),
            ("type", json!("native")),
            ("type", json!(null)),
            ("grant_types", json!(["password"])),
            ("grant_types", json!(["refresh_token", "refresh_token"])),
            ("grant_types", json!("refresh_token")),
            ("access_token_ttl_seconds", json!(59)),
            ("access_token_ttl_seconds", json!(86401)),
            ("refresh_token_ttl_seconds", json!(299)),
            ("refresh_token_ttl_seconds", json!(31_536_001)),
            ("enabled", json!("no")),
            ("client_id", json!("x")),
            ("client_secret", json!("x")),
            ("secret_hash", json!("x")),
        ];
        for (field, value) in cases {
            let mut body = json!({"name": "App", "type": "oidc"});
            body[field] = value.clone();
            assert_eq!(field_of(body), field, "{field} = {value}");
        }
        for (field, value) in [
            ("access_token_ttl_seconds", 60),
            ("access_token_ttl_seconds", 86400),
            ("refresh_token_ttl_seconds", 300),
            ("refresh_token_ttl_seconds", 31_536_000),
        ] {
            let mut body = json!({"name": "App", "type": "mobile"});
            body[field] = json!(value);
            assert!(
                ApplicationSettings::from_json(&body).is_ok(),
                "{field} {value}"
            );
        }
    }

    #[test]
    fn patch_keeps_the_type_and_reapplies_every_rule() {
        let current = ApplicationSettings::from_json(&json!({"name": "App", "type": "spa"}))
            .unwrap()
            .into_application("c".into(), None, "t".into(), "t".into());
        let renamed = ApplicationSettings::patched(&current, &json!({"name": "New"})).unwrap();
        assert_eq!(renamed.name, "New");
        assert_eq!(renamed.app_type, AppType::Spa);
        let te = ApplicationSettings::patched(
            &current,
            &json!({"grant_types": [GrantType::TOKEN_EXCHANGE]}),
        );
        assert_eq!(te.unwrap_err().field.as_deref(), Some("grant_types"));
        for fixed in [
            "type",
            "client_id",
            "client_secret",
            "created_at",
            "updated_at",
        ] {
            let err = ApplicationSettings::patched(&current, &json!({ fixed: "web" }));
            assert_eq!(err.unwrap_err().field.as_deref(), Some(fixed));
        }
    }

    #[test]
    fn app_type_names_round_trip() {
        for t in AppType::ALL {
            assert_eq!(AppType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
        }
        assert_eq!(AppType::parse("SPA"), None);
    }
}
