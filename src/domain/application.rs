//! Applications (OAuth clients) and their credentials.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

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
}
