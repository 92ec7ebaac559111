//! The token endpoint's use cases, one module each, every one a small `impl` of
//! [`TokenService`] over the [`crate::ports`]:
//!
//! - [`client_auth`]: client authentication and lockout (RFC 6749 §2.3.1);
//! - [`subject`]: subject token validation, giving a [`ValidatedSubject`] (RFC 8693 §2.1);
//! - [`exchange`]: the token exchange (RFC 8693 §2); [`refresh`]: refresh with rotation
//!   (RFC 6749 §6, RFC 9700 §4.14.2); [`mint`]: signing and the first refresh token;
//! - [`introspect`]: token introspection (RFC 7662); [`revoke`]: revocation (RFC 7009);
//! - [`metadata`]: the JWK Set and the discovery metadata;
//! - [`cached_store`]: the warm function's record cache, a decorator of the `ConfigStore`.
//!
//! Requests come typed from [`crate::oauth::request`]; answers are [`Issued`] or a
//! [`TokenError`], which [`crate::oauth`] maps to the wire in one place.

pub mod cached_store;
mod chained;
pub mod client_auth;
mod delegation;
pub mod error;
pub mod exchange;
pub mod explain;
mod grant;
pub mod introspect;
pub mod metadata;
pub mod mint;
pub mod policy;
pub mod refresh;
pub mod revoke;
pub mod subject;

use std::sync::Arc;

pub use cached_store::CachedConfigStore;
pub use client_auth::Caller;
pub use error::{RETRY_AFTER_SECONDS, TokenError};
pub use metadata::{JwkSet, Metadata};
pub use subject::ValidatedSubject;

use crate::config::Config;
use crate::domain::application::Application;
use crate::domain::lockout::Lockouts;
use crate::domain::organization::OrgName;
use crate::oauth::request::{TokenRequest, TokenType};
use crate::ports::{
    Clock, ConfigStore, FailureLog, KeySource, Lineage, RefreshReads, RefreshStore, ReplayLog,
    Revocations, Signer,
};
use crate::secret::Secret;

/// What the token service talks to.
#[derive(Clone)]
pub struct Ports {
    pub config_store: Arc<dyn ConfigStore>,
    pub replay_log: Arc<dyn ReplayLog>,
    pub refresh_store: Arc<dyn RefreshStore>,
    pub revocations: Arc<dyn Revocations>,
    pub lineage: Arc<dyn Lineage>,
    pub refresh_reads: Arc<dyn RefreshReads>,
    pub failure_log: Arc<dyn FailureLog>,
    pub signer: Arc<dyn Signer>,
    pub keys: Arc<dyn KeySource>,
    pub clock: Arc<dyn Clock>,
}

/// The tokens a successful request hands out (RFC 8693 §2.2.1, RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub access_token: String,
    pub issued_token_type: TokenType,
    pub expires_in: u32,
    pub refresh_token: Option<Secret>,
    /// The granted scope, when not empty (RFC 8693 §2.2.1).
    pub scope: Option<String>,
    /// The refresh family stored for `refresh_token`, so an exchange decided again can
    /// discard it.
    family_id: Option<String>,
    /// For the log line of a token handed out (never the token itself).
    client_id: String,
    jti: String,
}

impl Issued {
    fn new(
        access_token: mint::Minted,
        issued_token_type: TokenType,
        application: &Application,
        refresh_token: Option<Secret>,
        scope: Option<String>,
    ) -> Issued {
        Issued {
            access_token: access_token.token,
            issued_token_type,
            expires_in: access_token.expires_in,
            refresh_token,
            scope,
            family_id: None,
            client_id: application.client_id.clone(),
            jti: access_token.jti,
        }
    }
}

pub struct TokenService {
    config: Config,
    ports: Ports,
    /// The same object as `ports.config_store`, for the generation bookkeeping.
    cache: Arc<CachedConfigStore>,
    lockouts: Lockouts,
    policies: policy::PolicyCache,
}

impl TokenService {
    /// The service over `ports`, with the configuration store behind the warm function's
    /// record cache (`TRUSTGATE_CONFIG_CACHE_SECONDS`; checked against the organization's
    /// configuration generation on every exchange, see [`cached_store`]).
    pub fn new(config: Config, mut ports: Ports) -> TokenService {
        let cache = Arc::new(CachedConfigStore::new(
            ports.config_store,
            config.config_cache_ttl,
        ));
        ports.config_store = cache.clone();
        TokenService {
            config,
            ports,
            cache,
            lockouts: Lockouts::default(),
            policies: policy::PolicyCache::default(),
        }
    }

    /// Serves one token request of an organization.
    pub async fn token(
        &self,
        org: &OrgName,
        caller: &Caller,
        request: &TokenRequest<'_>,
    ) -> Result<Issued, TokenError> {
        let issued = match request {
            TokenRequest::Exchange(exchange) => self.exchange(org, caller, exchange).await,
            TokenRequest::Refresh(refresh) => self.refresh(org, caller, refresh).await,
        };
        // Logged here, once handed out: a token signed by an attempt decided again is not.
        if let Ok(issued) = &issued {
            tracing::info!(
                client_id = issued.client_id.as_str(),
                jti = issued.jti.as_str(),
                "access token issued"
            );
        }
        issued
    }
}

#[cfg(test)]
mod tests;
