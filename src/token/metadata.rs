//! The token function's public documents: the JWK Set of the signing keys (RFC 7517 §5) and
//! the authorization server metadata (RFC 8414, OpenID Connect Discovery).

use serde::Serialize;

use super::{TokenError, TokenService};
use crate::domain::application::GrantType;
use crate::domain::organization::OrgName;
use crate::domain::signing_key::Jwk;
use crate::oauth::request::TokenType;

/// RFC 8414 / OpenID Connect Discovery metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Metadata {
    pub issuer: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub grant_types_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// RFC 7662 (RFC 8414 §2).
    pub introspection_endpoint: String,
    /// Only confidential clients introspect.
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    /// RFC 7009 (RFC 8414 §2).
    pub revocation_endpoint: String,
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// RFC 8693 has no metadata of its own (RFC 8414 §2 allows more): the `subject_token_type`
    /// values the token endpoint accepts, `actor_token_type` likewise, and the
    /// `requested_token_type` values it can issue.
    pub token_exchange_subject_token_types_supported: &'static [&'static str],
    pub token_exchange_actor_token_types_supported: &'static [&'static str],
    pub token_exchange_requested_token_types_supported: &'static [&'static str],
}

/// RFC 7517 §5 JWK Set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

impl TokenService {
    /// Whether `org` exists (cached like the other records).
    pub async fn organization_exists(&self, org: &OrgName) -> Result<bool, TokenError> {
        Ok(self.ports.config_store.organization_exists(org).await?)
    }

    /// The signing keys to publish: the current one and those still valid after a rotation.
    pub async fn jwks(&self) -> Result<JwkSet, TokenError> {
        let keys = self.ports.signer.published_keys().await?;
        Ok(JwkSet {
            keys: keys.iter().map(|k| k.jwk.clone()).collect(),
        })
    }

    pub fn metadata(&self, org: &OrgName) -> Metadata {
        let issuer = self.config.organization_issuer(org.as_str());
        let endpoint = |name: &str| format!("{}/t/{}/oauth2/{name}", self.config.public_url, org);
        Metadata {
            token_endpoint: issuer.clone(),
            jwks_uri: endpoint("jwks"),
            introspection_endpoint: endpoint("introspect"),
            introspection_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
            ],
            revocation_endpoint: endpoint("revoke"),
            revocation_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            issuer,
            grant_types_supported: vec![GrantType::TOKEN_EXCHANGE, GrantType::REFRESH_TOKEN],
            token_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            token_exchange_subject_token_types_supported: TokenType::PRESENTED,
            token_exchange_actor_token_types_supported: TokenType::PRESENTED,
            token_exchange_requested_token_types_supported: TokenType::REQUESTED,
        }
    }
}
