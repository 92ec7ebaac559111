//! Applications (OAuth clients) and their credentials.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::ops::{Deref, DerefMut, RangeInclusive};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::exchange_policy::{Delegation, ExchangePolicy};
use super::input::{InputError, Settings, check_range, check_text, check_unique, yes};
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

/// The stored application: the settings an administrator chose, flattened into the same
/// attributes (and view members) as its server-made fields. Reads through to the settings, so
/// `application.enabled` is the setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    /// Server-made (32 hex characters).
    pub client_id: String,
    #[serde(flatten)]
    pub settings: ApplicationSettings,
    /// Hex SHA-256 of the client secret; `None` for public clients. The secret itself is
    /// never stored (it has 256 bits of entropy, so a fast hash suffices).
    pub secret_hash: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

impl Deref for Application {
    type Target = ApplicationSettings;

    fn deref(&self) -> &ApplicationSettings {
        &self.settings
    }
}

impl DerefMut for Application {
    fn deref_mut(&mut self) -> &mut ApplicationSettings {
        &mut self.settings
    }
}

impl Application {
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

/// What an administrator sets on an application (openapi/admin.yaml, `ApplicationCreate`), declared once:
/// the create body, the patch, the stored attributes and the API view all are these members.
/// The serde defaults are the contract's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationSettings {
    /// 1-128 characters.
    pub name: String,
    /// Fixed once created: a client can't turn from public to confidential or back.
    #[serde(rename = "type")]
    pub app_type: AppType,
    /// Defaults to token exchange; for `spa`, which can't have it, to none.
    #[serde(default = "token_exchange_only")]
    pub grant_types: Vec<GrantType>,
    /// 60-86400, default 3600.
    #[serde(default = "default_access_token_ttl")]
    pub access_token_ttl_seconds: u32,
    /// 300-31536000, default 86400.
    #[serde(default = "default_refresh_token_ttl")]
    pub refresh_token_ttl_seconds: u32,
    /// Default true.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The exchange policy ([`ExchangePolicy`]): trusted-issuer ids and `"self"`; absent:
    /// every enabled trusted issuer, not `"self"`.
    #[serde(default)]
    pub allowed_issuers: Option<Vec<String>>,
    /// Values `audience` and `resource` may take; default none.
    #[serde(default)]
    pub allowed_audiences: Vec<String>,
    /// Scope tokens `scope` may hold; default none.
    #[serde(default)]
    pub allowed_scopes: Vec<String>,
    /// Absent: delegation refused.
    #[serde(default)]
    pub delegation: Option<Delegation>,
}

fn token_exchange_only() -> Vec<GrantType> {
    vec![GrantType::TokenExchange]
}

fn default_access_token_ttl() -> u32 {
    ApplicationSettings::DEFAULT_ACCESS_TOKEN_TTL
}

fn default_refresh_token_ttl() -> u32 {
    ApplicationSettings::DEFAULT_REFRESH_TOKEN_TTL
}

impl ApplicationSettings {
    pub const MAX_NAME_CHARS: usize = 128;
    pub const DEFAULT_ACCESS_TOKEN_TTL: u32 = 3600;
    pub const ACCESS_TOKEN_TTL_RANGE: RangeInclusive<u32> = 60..=86_400;
    pub const DEFAULT_REFRESH_TOKEN_TTL: u32 = 86_400;
    pub const REFRESH_TOKEN_TTL_RANGE: RangeInclusive<u32> = 300..=31_536_000;

    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// The exchange policy members, where its rules are.
    pub fn exchange_policy(&self) -> ExchangePolicy<'_> {
        ExchangePolicy {
            allowed_issuers: self.allowed_issuers.as_deref(),
            allowed_audiences: &self.allowed_audiences,
            allowed_scopes: &self.allowed_scopes,
            delegation: self.delegation.as_ref(),
        }
    }
}

impl Settings for ApplicationSettings {
    const SERVER_SET: &'static [(&'static str, &'static str)] = &[
        ("client_id", "is made by the server and cannot be set"),
        (
            "client_secret",
            "is made by the server; POST .../{client_id}/secret issues a new one",
        ),
        ("created_at", "is set by the server"),
        ("updated_at", "is set by the server"),
    ];
    const FIXED: &'static [(&'static str, &'static str)] = &[(
        "type",
        "cannot be changed; create a new application of the other type",
    )];
    type Context<'a> = ();

    fn validate(&mut self, (): ()) -> Result<(), InputError> {
        check_text("name", &self.name, Self::MAX_NAME_CHARS)?;
        check_unique("grant_types", &self.grant_types, |g| g.as_str())?;
        if self.app_type == AppType::Spa && self.allows(GrantType::TokenExchange) {
            return Err(InputError::field(
                "grant_types",
                "token exchange is not supported for single-page applications (type spa)",
            ));
        }
        check_range(
            "access_token_ttl_seconds",
            self.access_token_ttl_seconds,
            &Self::ACCESS_TOKEN_TTL_RANGE,
        )?;
        check_range(
            "refresh_token_ttl_seconds",
            self.refresh_token_ttl_seconds,
            &Self::REFRESH_TOKEN_TTL_RANGE,
        )?;
        self.exchange_policy().validate()
    }

    fn dependent_defaults(document: &mut Map<String, Value>) {
        if document.get("type").and_then(Value::as_str) == Some(AppType::Spa.as_str()) {
            document
                .entry("grant_types")
                .or_insert_with(|| Value::Array(Vec::new()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn app(secret: Option<&Secret>) -> Application {
        Application {
            client_id: "c".into(),
            settings: ApplicationSettings::from_json(&json!({"name": "n", "type": "web"}), ())
                .unwrap(),
            secret_hash: secret.map(hash_secret),
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

    /// The stored attributes are the flat ones records were always stored with, so items
    /// written before the settings were a struct of their own read back unchanged.
    #[test]
    fn the_record_keeps_its_flat_attributes() {
        let stored = json!({
            "client_id": "c", "name": "n", "type": "web",
            "grant_types": [GrantType::TOKEN_EXCHANGE],
            "access_token_ttl_seconds": 3600, "refresh_token_ttl_seconds": 86400,
            "secret_hash": null, "enabled": true, "created_at": "", "updated_at": ""
        });
        let read: Application = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(read, app(None));
        // The exchange policy came later: its members read as their defaults.
        let mut written = stored.clone();
        for (name, default) in [
            ("allowed_issuers", json!(null)),
            ("allowed_audiences", json!([])),
            ("allowed_scopes", json!([])),
            ("delegation", json!(null)),
        ] {
            written[name] = default;
        }
        assert_eq!(serde_json::to_value(&read).unwrap(), written);
        assert!(read.enabled && read.allows(GrantType::TokenExchange));
    }

    fn field_of(body: serde_json::Value) -> String {
        ApplicationSettings::from_json(&body, ())
            .unwrap_err()
            .field
            .expect("names a field")
    }

    #[test]
    fn applies_the_contracts_defaults() {
        let s =
            ApplicationSettings::from_json(&json!({"name": "Portal", "type": "web"}), ()).unwrap();
        assert_eq!(s.grant_types, vec![GrantType::TokenExchange]);
        assert_eq!(s.access_token_ttl_seconds, 3600);
        assert_eq!(s.refresh_token_ttl_seconds, 86400);
        assert!(s.enabled);
        let spa =
            ApplicationSettings::from_json(&json!({"name": "SPA", "type": "spa"}), ()).unwrap();
        assert!(spa.grant_types.is_empty());
    }

    #[test]
    fn refuses_token_exchange_for_single_page_applications() {
        let err = ApplicationSettings::from_json(
            &json!({
                "name": "SPA", "type": "spa",
                "grant_types": [GrantType::TOKEN_EXCHANGE]
            }),
            (),
        )
        .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("grant_types"));
        assert!(
            err.message
                .contains("not supported for single-page applications")
        );
        let refresh_only = json!({"name": "SPA", "type": "spa", "grant_types": ["refresh_token"]});
        assert!(ApplicationSettings::from_json(&refresh_only, ()).is_ok());
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
            ("access_token_ttl_seconds", json!(1e10)),
            ("refresh_token_ttl_seconds", json!(299)),
            ("refresh_token_ttl_seconds", json!(31_536_001)),
            ("enabled", json!("no")),
            ("allowed_issuers", json!("self")),
            ("allowed_audiences", json!(["a", "a"])),
            ("client_id", json!("x")),
            ("client_secret", json!("x")),
            ("secret_hash", json!("x")),
        ];
        for (field, value) in cases {
            let mut body = json!({"name": "App", "type": "oidc"});
            body[field] = value.clone();
            assert_eq!(field_of(body), field, "{field} = {value}");
        }
        // The exchange policy's rules name the element at fault.
        for (member, field, value) in [
            ("allowed_issuers", "allowed_issuers[0]", json!(["issuer"])),
            ("allowed_scopes", "allowed_scopes[0]", json!(["a b"])),
            (
                "delegation",
                "delegation.max_depth",
                json!({"allowed_actor_issuers": [], "max_depth": 6}),
            ),
            (
                "delegation",
                "delegation.allowed_actor_issuers",
                json!({"max_depth": 1}),
            ),
            (
                "delegation",
                "delegation.x",
                json!({"allowed_actor_issuers": [], "max_depth": 1, "x": 1}),
            ),
        ] {
            let mut body = json!({"name": "App", "type": "oidc"});
            body[member] = value.clone();
            assert_eq!(field_of(body), field, "{member} = {value}");
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
                ApplicationSettings::from_json(&body, ()).is_ok(),
                "{field} {value}"
            );
        }
    }

    #[test]
    fn patch_keeps_the_type_and_reapplies_every_rule() {
        let current =
            ApplicationSettings::from_json(&json!({"name": "App", "type": "spa"}), ()).unwrap();
        let renamed = current.patched(&json!({"name": "New"}), ()).unwrap();
        assert_eq!(renamed.name, "New");
        assert_eq!(renamed.app_type, AppType::Spa);
        let te = current.patched(&json!({"grant_types": [GrantType::TOKEN_EXCHANGE]}), ());
        assert_eq!(te.unwrap_err().field.as_deref(), Some("grant_types"));
        let reset = current.patched(&json!({"grant_types": null}), ()).unwrap();
        assert!(reset.grant_types.is_empty(), "spa's default");
        for fixed in [
            "type",
            "client_id",
            "client_secret",
            "created_at",
            "updated_at",
        ] {
            let err = current.patched(&json!({ fixed: "web" }), ());
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
