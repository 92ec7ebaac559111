//! Token introspection (RFC 7662): a confidential client of the organization asks whether a
//! token is active. An access token is verified with the organization's own published keys
//! (no read), then its revocation records are one `BatchGetItem`; the client is authenticated
//! on the warm records against the configuration generation (one `GetItem`), concurrently.
//! A refresh token is active only to the client it was issued to, while it is its family's
//! current token. Anything else — expired, revoked, malformed, another organization's or
//! another client's — is `{"active": false}`, never an error (RFC 7662 §2.2).

use serde_json::{Map, Value, json};

use super::{Caller, TokenError, TokenService};
use crate::domain::application::hash_secret;
use crate::domain::organization::OrgName;
use crate::domain::presented_token::PresentedToken;
use crate::domain::revocation::RevocationQuery;
use crate::oauth::presented::looks_like_jws;
use crate::secret::Secret;

/// The members of an access token an introspection response repeats (contract).
const ACCESS_TOKEN_MEMBERS: [&str; 10] = [
    "iss",
    "sub",
    "idp",
    "aud",
    "client_id",
    "scope",
    "exp",
    "iat",
    "jti",
    "act",
];

/// An active token as found, before knowing who asks.
enum Found {
    Access(Map<String, Value>),
    /// Active only to `client_id`.
    Refresh {
        client_id: String,
        response: Map<String, Value>,
    },
}

impl TokenService {
    /// The RFC 7662 §2.2 response for `token`, asked by `caller`.
    pub async fn introspect(
        &self,
        org: &OrgName,
        caller: &Caller,
        token: &Secret,
    ) -> Result<Value, TokenError> {
        let (application, found) = tokio::join!(
            self.authenticate_current(org, caller),
            self.find_active(org, token.expose())
        );
        let application = application?;
        if !application.app_type.is_confidential() {
            tracing::info!(client_id = %application.client_id, "introspection by a public client refused");
            return Err(TokenError::InvalidClient);
        }
        let response = match found? {
            Some(Found::Access(response)) => Some(response),
            Some(Found::Refresh {
                client_id,
                response,
            }) if client_id == application.client_id => Some(response),
            _ => None,
        };
        Ok(match response {
            Some(response) => Value::Object(response),
            None => json!({"active": false}),
        })
    }

    async fn find_active(&self, org: &OrgName, token: &str) -> Result<Option<Found>, TokenError> {
        if looks_like_jws(token) {
            let Some(presented) = self.active_access_token(org, token).await? else {
                return Ok(None);
            };
            let mut response = Map::new();
            response.insert("active".into(), true.into());
            response.insert("token_type".into(), "Bearer".into());
            for name in ACCESS_TOKEN_MEMBERS {
                if let Some(value) = presented.claims.get(name) {
                    response.insert(name.into(), value.clone());
                }
            }
            return Ok(Some(Found::Access(response)));
        }
        self.active_refresh_token(org, token).await
    }

    /// `token` as an unexpired, unrevoked access token of `org`, else `None`.
    pub(super) async fn active_access_token(
        &self,
        org: &OrgName,
        token: &str,
    ) -> Result<Option<PresentedToken>, TokenError> {
        let Some(presented) = self.own_access_token(org, token).await? else {
            return Ok(None);
        };
        if !presented.unexpired(self.ports.clock.now()) {
            return Ok(None);
        }
        let query = RevocationQuery {
            jti: Some(&presented.jti),
            sub: &presented.sub,
            idp: &presented.idp,
            client_id: &presented.client_id,
        };
        let state = self.ports.revocations.state(org, query).await?;
        Ok((!state.revokes(presented.issued_ms())).then_some(presented))
    }

    /// `token` verified as an access token of `org` (expired or not), else `None`.
    pub(super) async fn own_access_token(
        &self,
        org: &OrgName,
        token: &str,
    ) -> Result<Option<PresentedToken>, TokenError> {
        let keys = self.ports.signer.published_keys().await?;
        let issuer = self.config.organization_issuer(org.as_str());
        Ok(PresentedToken::verify(token, &keys, &issuer).ok())
    }

    async fn active_refresh_token(
        &self,
        org: &OrgName,
        token: &str,
    ) -> Result<Option<Found>, TokenError> {
        let hash = hash_secret(&Secret::new(token));
        let store = &self.ports.refresh_store;
        let Some(stored) = store.token(&hash).await? else {
            return Ok(None);
        };
        if stored.org != org.as_str() {
            return Ok(None);
        }
        let Some(family) = store.family(&stored.family_id).await? else {
            return Ok(None);
        };
        if family.active_hash != hash {
            return Ok(None);
        }
        let idp = family.idp.clone().unwrap_or_default();
        let query = RevocationQuery {
            jti: None,
            sub: &family.sub,
            idp: &idp,
            client_id: &family.client_id,
        };
        if self
            .ports
            .revocations
            .state(org, query)
            .await?
            .revokes(family.started_ms)
        {
            return Ok(None);
        }
        let mut response = Map::new();
        response.insert("active".into(), true.into());
        response.insert("token_type".into(), "refresh_token".into());
        response.insert("client_id".into(), stored.client_id.clone().into());
        response.insert("sub".into(), family.sub.into());
        if !idp.is_empty() {
            response.insert("idp".into(), idp.into());
        }
        response.insert("exp".into(), stored.valid_until.into());
        response.insert("iat".into(), stored.iat.into());
        Ok(Some(Found::Refresh {
            client_id: stored.client_id,
            response,
        }))
    }
}
