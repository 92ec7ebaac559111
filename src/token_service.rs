//! The token endpoint's use cases: the RFC 8693 exchange, the JWKS and the discovery metadata.
//! Ports in, OAuth results out; HTTP framing lives in [`crate::http::token`].
//!
//! Refresh tokens (RFC 6749 §6) are rotated on every use; a reused one ends its family
//! (RFC 9700 §4.14.2).
//!
//! Issuer and application records are cached for `TRUSTGATE_CONFIG_CACHE_SECONDS`, and the
//! signing key after its first `GetPublicKey`, so a warm exchange reads nothing from DynamoDB
//! and makes one KMS call (`Sign`).

use std::sync::Arc;

use serde::Serialize;

use crate::cache::TtlCache;
use crate::config::Config;
use crate::domain::access_token::{self, AccessTokenClaims};
use crate::domain::application::{AppType, Application, GrantType, hash_secret};
use crate::domain::issuer::TrustedIssuer;
use crate::domain::lockout::{self, Lockouts};
use crate::domain::now_epoch;
use crate::domain::organization::OrgName;
use crate::domain::refresh_token::{RefreshFamily, RefreshToken, new_refresh_token};
use crate::domain::signing_key::Jwk;
use crate::domain::subject_token::{ClaimRules, Rejection, UnverifiedToken};
use crate::keys::{KeyError, KeySource};
use crate::oauth::OAuthError;
use crate::oauth::client_auth::ClientCredentials;
use crate::oauth::form::Form;
use crate::ports::{ConfigStore, FailureLog, PortError, RefreshStore, Signer};
use crate::secret::Secret;

/// RFC 8693 §3 token type identifiers.
pub const TOKEN_TYPE_JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
pub const TOKEN_TYPE_ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
pub const TOKEN_TYPE_ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Seconds a client is asked to wait after a 503.
pub const RETRY_AFTER_SECONDS: u64 = 5;
/// Entries per record cache.
const CACHE_CAPACITY: usize = 10_000;

/// RFC 8693 §2.2.1 response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub issued_token_type: &'static str,
    pub token_type: &'static str,
    pub expires_in: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// RFC 8414 / OpenID Connect Discovery metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Metadata {
    pub issuer: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub grant_types_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
}

/// RFC 7517 §5 JWK Set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

/// Who is calling: the client's credentials and the address the request came from.
#[derive(Debug, Clone)]
pub struct Caller {
    pub credentials: ClientCredentials,
    /// The source IP address as API Gateway saw it (brute-force counting is per source).
    pub source: String,
}

/// What the token service talks to.
pub struct Ports {
    pub config_store: Arc<dyn ConfigStore>,
    pub refresh_store: Arc<dyn RefreshStore>,
    pub failure_log: Arc<dyn FailureLog>,
    pub signer: Arc<dyn Signer>,
    pub keys: Arc<KeySource>,
}

pub struct TokenService {
    config: Config,
    store: Arc<dyn ConfigStore>,
    refresh: Arc<dyn RefreshStore>,
    failures: Arc<dyn FailureLog>,
    lockouts: Lockouts,
    signer: Arc<dyn Signer>,
    keys: Arc<KeySource>,
    issuers: TtlCache<String, Arc<Vec<TrustedIssuer>>>,
    applications: TtlCache<(String, String), Option<Arc<Application>>>,
    organizations: TtlCache<String, bool>,
}

impl TokenService {
    pub fn new(config: Config, ports: Ports) -> Self {
        let ttl = config.config_cache_ttl;
        TokenService {
            config,
            store: ports.config_store,
            refresh: ports.refresh_store,
            failures: ports.failure_log,
            lockouts: Lockouts::default(),
            signer: ports.signer,
            keys: ports.keys,
            issuers: TtlCache::new(ttl, CACHE_CAPACITY),
            applications: TtlCache::new(ttl, CACHE_CAPACITY),
            organizations: TtlCache::new(ttl, CACHE_CAPACITY),
        }
    }

    /// RFC 8693 token exchange for an authenticated client.
    pub async fn exchange(
        &self,
        org: &OrgName,
        caller: &Caller,
        form: &Form<'_>,
    ) -> Result<TokenResponse, OAuthError> {
        let application = self.authenticate(org, caller).await?;
        if !application.allows(GrantType::TokenExchange) || application.app_type == AppType::Spa {
            return Err(OAuthError::unauthorized_client(
                "the token-exchange grant is not enabled for this application",
            ));
        }

        let subject_token = form.require("subject_token")?;
        let subject_token_type = form.require("subject_token_type")?;
        if ![TOKEN_TYPE_JWT, TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_ACCESS_TOKEN]
            .contains(&subject_token_type)
        {
            return Err(OAuthError::invalid_request(
                "unsupported subject_token_type",
            ));
        }
        let issued_token_type = match form.get("requested_token_type")? {
            None | Some(TOKEN_TYPE_ACCESS_TOKEN) => TOKEN_TYPE_ACCESS_TOKEN,
            Some(TOKEN_TYPE_JWT) => TOKEN_TYPE_JWT,
            Some(_) => {
                return Err(OAuthError::invalid_request(
                    "unsupported requested_token_type",
                ));
            }
        };
        if form.get("actor_token")?.is_some() || form.get("actor_token_type")?.is_some() {
            return Err(OAuthError::invalid_request(
                "delegation (actor_token) is not supported",
            ));
        }

        let (sub, issuer_id, recorded_jti) =
            self.validate_subject_token(org, subject_token).await.map_err(|refusal| match refusal {
                Refusal::Rejected(rejection) => {
                    tracing::info!(client_id = %application.client_id, reason = %rejection, "subject token refused");
                    OAuthError::invalid_request(rejection.to_string())
                }
                Refusal::Failed(error) => error,
            })?;

        let issued = self
            .issue(
                org,
                &sub,
                issuer_id.clone(),
                &application,
                issued_token_type,
            )
            .await;
        // The jti was recorded before any token was made: a request that fails now made no
        // token, so its jti is forgotten and the client's retry (503 says retry) is served.
        if issued.is_err()
            && let Some(jti) = recorded_jti
            && let Err(e) = self.store.forget_jti(org.as_str(), &issuer_id, &jti).await
        {
            tracing::warn!(detail = %e, "could not forget the jti of a failed exchange");
        }
        issued
    }

    /// The tokens of a validated exchange: an access token, and a refresh token when the
    /// application has that grant; nothing unless every part succeeds.
    async fn issue(
        &self,
        org: &OrgName,
        sub: &str,
        issuer_id: String,
        application: &Application,
        issued_token_type: &'static str,
    ) -> Result<TokenResponse, OAuthError> {
        if !application.allows(GrantType::RefreshToken) {
            let access_token = self.mint(org, sub, application).await?;
            return Ok(self.response(access_token, issued_token_type, application, None));
        }
        // The refresh token is stored while KMS signs; no token is returned unless both succeed.
        let secret = new_refresh_token();
        let token_hash = hash_secret(&secret);
        let first = RefreshToken {
            family_id: crate::domain::random_hex(16),
            org: org.as_str().to_owned(),
            client_id: application.client_id.clone(),
            issuer_id,
            sub: sub.to_owned(),
            valid_until: now_epoch() + i64::from(application.refresh_token_ttl_seconds),
        };
        let family = RefreshFamily::start(&first, &token_hash);
        let (access_token, stored) = tokio::join!(
            self.mint(org, sub, application),
            self.refresh.start_family(&token_hash, &first, &family)
        );
        match (access_token, stored) {
            (Ok(access_token), Ok(())) => {
                Ok(self.response(access_token, issued_token_type, application, Some(secret)))
            }
            (Err(error), Ok(())) => {
                if let Err(e) = self.refresh.discard(&token_hash, &first.family_id).await {
                    tracing::warn!(detail = %e, "could not discard an unused refresh token family");
                }
                Err(error)
            }
            (_, Err(e)) => Err(port_failure(e)),
        }
    }

    /// RFC 6749 §6: a new access token and a rotated refresh token for an authenticated client.
    pub async fn refresh(
        &self,
        org: &OrgName,
        caller: &Caller,
        form: &Form<'_>,
    ) -> Result<TokenResponse, OAuthError> {
        // Read fresh: deleting or disabling the application ends its refresh tokens at once.
        let application = self.authenticate_fresh(org, caller).await?;
        if !application.allows(GrantType::RefreshToken) {
            return Err(OAuthError::unauthorized_client(
                "the refresh_token grant is not enabled for this application",
            ));
        }
        let presented = Secret::new(form.require("refresh_token")?);
        let presented_hash = hash_secret(&presented);
        let invalid = |why: &'static str| {
            tracing::info!(client_id = %application.client_id, reason = why, "refresh token refused");
            OAuthError::invalid_grant("the refresh token is invalid, expired or revoked")
        };

        let token = self
            .refresh
            .token(&presented_hash)
            .await
            .map_err(port_failure)?
            .ok_or_else(|| invalid("unknown"))?;
        if token.org != org.as_str() || token.client_id != application.client_id {
            return Err(invalid("issued to another client"));
        }
        let family = self
            .refresh
            .family(&token.family_id)
            .await
            .map_err(port_failure)?
            .ok_or_else(|| invalid("revoked"))?;
        if family.active_hash != presented_hash {
            // RFC 9700 §4.14.2: a rotated token came back, so one of its holders is an attacker.
            tracing::warn!(client_id = %application.client_id, family_id = %token.family_id, "refresh token reuse: family revoked");
            self.refresh
                .revoke(&token.family_id)
                .await
                .map_err(port_failure)?;
            return Err(invalid("reused"));
        }
        let issuer = self
            .store
            .issuer(org.as_str(), &family.issuer_id)
            .await
            .map_err(port_failure)?;
        if !issuer.is_some_and(|issuer| issuer.enabled) {
            self.refresh
                .revoke(&token.family_id)
                .await
                .map_err(port_failure)?;
            return Err(invalid("trusted issuer deleted or disabled"));
        }
        let now = now_epoch();
        let next = family
            .rotate(&token.family_id, now, application.refresh_token_ttl_seconds)
            .ok_or_else(|| invalid("family lifetime over"))?;

        // Signed first, stored second: if either fails, nothing was handed out and the presented
        // token stays active.
        let access_token = self.mint(org, &family.sub, &application).await?;
        let secret = new_refresh_token();
        let next_hash = hash_secret(&secret);
        if !self
            .refresh
            .rotate(&family, &presented_hash, &next_hash, &next)
            .await
            .map_err(port_failure)?
        {
            return Err(invalid("rotated concurrently"));
        }
        Ok(self.response(
            access_token,
            TOKEN_TYPE_ACCESS_TOKEN,
            &application,
            Some(secret),
        ))
    }

    /// A KMS-signed access token for `sub`, issued to `application`.
    async fn mint(
        &self,
        org: &OrgName,
        sub: &str,
        application: &Application,
    ) -> Result<String, OAuthError> {
        let claims = AccessTokenClaims::new(
            &self.config.organization_issuer(org.as_str()),
            sub,
            &application.client_id,
            now_epoch(),
            application.access_token_ttl_seconds,
        );
        let key = self.signer.current_key().await.map_err(port_failure)?;
        let input = access_token::signing_input(&key, &claims);
        let signature = self
            .signer
            .sign(input.as_bytes())
            .await
            .map_err(port_failure)?;
        tracing::info!(
            client_id = application.client_id.as_str(),
            jti = claims.jti.as_str(),
            "access token issued"
        );
        Ok(access_token::assemble(input, &signature))
    }

    fn response(
        &self,
        access_token: String,
        issued_token_type: &'static str,
        application: &Application,
        refresh_token: Option<Secret>,
    ) -> TokenResponse {
        TokenResponse {
            access_token,
            issued_token_type,
            token_type: "Bearer",
            expires_in: application.access_token_ttl_seconds,
            refresh_token: refresh_token.map(|s| s.expose().to_owned()),
        }
    }

    /// RFC 6749 §2.3.1 / §3.2.1: the application the credentials belong to (cached record).
    async fn authenticate(
        &self,
        org: &OrgName,
        caller: &Caller,
    ) -> Result<Arc<Application>, OAuthError> {
        let credentials = &caller.credentials;
        let key = (org.as_str().to_owned(), credentials.client_id().to_owned());
        let application = self
            .applications
            .get_or_load(&key, async {
                Ok(self
                    .store
                    .application(org.as_str(), credentials.client_id())
                    .await?
                    .map(Arc::new))
            })
            .await
            .map_err(port_failure)?;
        self.check_credentials(org, application, caller).await
    }

    /// Like [`Self::authenticate`], reading the record fresh (and refreshing the cache).
    async fn authenticate_fresh(
        &self,
        org: &OrgName,
        caller: &Caller,
    ) -> Result<Arc<Application>, OAuthError> {
        let credentials = &caller.credentials;
        let application = self
            .store
            .application(org.as_str(), credentials.client_id())
            .await
            .map_err(port_failure)?
            .map(Arc::new);
        let key = (org.as_str().to_owned(), credentials.client_id().to_owned());
        self.applications.insert(key, application.clone());
        self.check_credentials(org, application, caller).await
    }

    /// Checks presented credentials against the application record (RFC 6749 §2.3.1): a
    /// confidential client proves its secret (compared in constant time), a public one presents
    /// none. Failures of a known client are counted per source; past the limit the client is
    /// refused from that source until the window ends (see [`lockout`]).
    async fn check_credentials(
        &self,
        org: &OrgName,
        application: Option<Arc<Application>>,
        caller: &Caller,
    ) -> Result<Arc<Application>, OAuthError> {
        let credentials = &caller.credentials;
        let refused = || OAuthError::invalid_client("client authentication failed");
        let application = application.filter(|a| a.enabled).ok_or_else(refused)?;
        let now = now_epoch();
        let subject = lockout::Subject {
            org: org.as_str().to_owned(),
            client_id: application.client_id.clone(),
            source: caller.source.clone(),
        };
        if let Some(retry_after) = self.lockouts.retry_after(&subject, now) {
            return Err(OAuthError::too_many_attempts(retry_after));
        }
        let authenticated = match credentials.secret() {
            Some(secret) => {
                application.app_type.is_confidential() && application.verify_secret(secret)
            }
            None => !application.app_type.is_confidential(),
        };
        if authenticated {
            return Ok(application);
        }
        tracing::info!(client_id = %application.client_id, source = %caller.source, "client authentication failed");
        let (start, end) = lockout::window(now);
        match self
            .failures
            .record_failure(
                org.as_str(),
                &application.client_id,
                &caller.source,
                start,
                end,
            )
            .await
        {
            Ok(count) if count > lockout::MAX_FAILURES => {
                tracing::warn!(client_id = %application.client_id, source = %caller.source, "client locked out after repeated failures");
                self.lockouts.lock(subject, end, now);
                Err(OAuthError::too_many_attempts((end - now) as u64))
            }
            Ok(_) => Err(refused()),
            Err(e) => {
                tracing::warn!(detail = %e, "could not count a failed client authentication");
                Err(refused())
            }
        }
    }

    /// The subject token's `sub` and the id of the trusted issuer that vouched for it, or why
    /// the token is refused.
    async fn validate_subject_token(
        &self,
        org: &OrgName,
        token: &str,
    ) -> Result<(String, String, Option<String>), Refusal> {
        let unverified = UnverifiedToken::parse(token)?;
        let issuers = self.org_issuers(org).await?;
        let issuer = unverified.route(&issuers)?;
        let header = unverified.header();
        let keys = match self
            .keys
            .keys_for(issuer, header.kid.as_deref(), header.alg)
            .await
        {
            Ok(keys) => keys,
            Err(KeyError::NoMatchingKey) => return Err(Rejection::NoMatchingKey.into()),
            Err(KeyError::Unavailable {
                retry_after_seconds,
            }) => {
                tracing::warn!(issuer_id = %issuer.id, "no verification key available for the issuer");
                return Err(OAuthError::temporarily_unavailable(retry_after_seconds).into());
            }
            Err(KeyError::Misconfigured(detail)) => {
                tracing::error!(issuer_id = %issuer.id, %detail, "trusted issuer keys are misconfigured");
                return Err(OAuthError::server_error().into());
            }
        };
        let decoding: Vec<_> = keys.iter().map(|k| &k.key).collect();
        let organization_issuer = self.config.organization_issuer(org.as_str());
        let subject = unverified.verify(&decoding)?.validate(&ClaimRules {
            organization_issuer: &organization_issuer,
            issuer,
            now: now_epoch(),
        })?;
        if issuer.require_jti {
            let jti = subject.jti.as_deref().ok_or(Rejection::BadClaim("jti"))?;
            let first_use = self
                .store
                .record_jti(org.as_str(), &issuer.id, jti, subject.expires_at)
                .await
                .map_err(port_failure)?;
            if !first_use {
                return Err(Rejection::Replayed.into());
            }
        }
        let recorded_jti = subject.jti.filter(|_| issuer.require_jti);
        Ok((subject.sub, issuer.id.clone(), recorded_jti))
    }

    async fn org_issuers(&self, org: &OrgName) -> Result<Arc<Vec<TrustedIssuer>>, OAuthError> {
        self.issuers
            .get_or_load(&org.as_str().to_owned(), async {
                Ok(Arc::new(self.store.issuers(org.as_str()).await?))
            })
            .await
            .map_err(port_failure)
    }

    /// Whether `org` exists (cached like the other records).
    pub async fn organization_exists(&self, org: &OrgName) -> Result<bool, OAuthError> {
        self.organizations
            .get_or_load(
                &org.as_str().to_owned(),
                self.store.organization_exists(org.as_str()),
            )
            .await
            .map_err(port_failure)
    }

    /// The signing keys to publish: the current one and those still valid after a rotation.
    pub async fn jwks(&self) -> Result<JwkSet, OAuthError> {
        let keys = self.signer.published_keys().await.map_err(port_failure)?;
        Ok(JwkSet {
            keys: keys.iter().map(|k| k.jwk.clone()).collect(),
        })
    }

    pub fn metadata(&self, org: &OrgName) -> Metadata {
        let issuer = self.config.organization_issuer(org.as_str());
        Metadata {
            token_endpoint: issuer.clone(),
            jwks_uri: format!("{}/t/{}/oauth2/jwks", self.config.public_url, org),
            issuer,
            grant_types_supported: vec![GrantType::TOKEN_EXCHANGE, GrantType::REFRESH_TOKEN],
            token_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
        }
    }
}

/// Why a subject token did not yield a subject: refused (400), or a dependency failed.
enum Refusal {
    Rejected(Rejection),
    Failed(OAuthError),
}

impl From<Rejection> for Refusal {
    fn from(rejection: Rejection) -> Refusal {
        Refusal::Rejected(rejection)
    }
}

impl From<OAuthError> for Refusal {
    fn from(error: OAuthError) -> Refusal {
        Refusal::Failed(error)
    }
}

/// Logs a port failure and maps it: retryable → 503 with `Retry-After`, anything else → 500.
fn port_failure(error: PortError) -> OAuthError {
    match error {
        PortError::Unavailable(detail) => {
            tracing::warn!(%detail, "dependency unavailable");
            OAuthError::temporarily_unavailable(RETRY_AFTER_SECONDS)
        }
        PortError::Internal(detail) => {
            tracing::error!(%detail, "dependency failed");
            OAuthError::server_error()
        }
    }
}
