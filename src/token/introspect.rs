//! Token introspection (RFC 7662): a confidential client of the organization asks whether a
//! token is active. Either way one `GetItem` and one `BatchGetItem` (contract's read budget):
//! an access token is verified with the organization's own published keys (no read), then its
//! revocation records are one `BatchGetItem`, while the client is authenticated on the warm
//! records against the configuration generation (one `GetItem`). A refresh token is one
//! `GetItem`, then the client's application, the family and the revocations one
//! `BatchGetItem`, as for a refresh; it is active only to the client it was issued to, while
//! it is its family's current token and its trusted issuer is enabled (what a refresh would
//! accept). Anything else — expired, revoked, malformed, another organization's or another
//! client's — is `{"active": false}`, never an error (RFC 7662 §2.2).

use serde_json::{Map, Value, json};

use super::{Caller, TokenError, TokenService};
use crate::domain::application::{Application, hash_secret};
use crate::domain::exchange_policy::SELF;
use crate::domain::organization::OrgName;
use crate::domain::presented_token::PresentedToken;
use crate::domain::refresh_token::RefreshToken;
use crate::domain::revocation::RevocationQuery;
use crate::oauth::presented::looks_like_jws;
use crate::ports::RefreshSnapshot;
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

impl TokenService {
    /// The RFC 7662 §2.2 response for `token`, asked by `caller`.
    pub async fn introspect(
        &self,
        org: &OrgName,
        caller: &Caller,
        token: &Secret,
    ) -> Result<Value, TokenError> {
        let token = token.expose();
        let response = if looks_like_jws(token) {
            let (application, found) = tokio::join!(
                self.authenticate_current(org, caller),
                self.active_access_token(org, token)
            );
            confidential(&*application?)?;
            found?.map(access_token_response)
        } else {
            let hash = hash_secret(&Secret::new(token));
            let (stored, snapshot) = self.refresh_token_snapshot(org, caller, &hash).await?;
            let application = self.authenticate_on(org, caller, &snapshot).await?;
            confidential(&application)?;
            match stored {
                Some(stored)
                    if stored.org == org.as_str() && stored.client_id == application.client_id =>
                {
                    self.refresh_token_response(org, &hash, stored, snapshot)
                        .await?
                }
                _ => None,
            }
        };
        Ok(response.map_or_else(|| json!({"active": false}), Value::Object))
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

    /// The response for the refresh token `stored` (under `hash`, issued to the caller) if
    /// it is its family's current token, its issuer is enabled, and neither it nor its
    /// subject or client is revoked.
    async fn refresh_token_response(
        &self,
        org: &OrgName,
        hash: &str,
        stored: RefreshToken,
        snapshot: RefreshSnapshot,
    ) -> Result<Option<Map<String, Value>>, TokenError> {
        let Some(family) = snapshot.family.filter(|f| f.active_hash == hash) else {
            return Ok(None);
        };
        // A chained exchange's family has no trusted issuer (its subject was our own token).
        let issuer_enabled = snapshot.issuer.is_some_and(|issuer| issuer.enabled);
        if !issuer_enabled && family.issuer_id != SELF {
            return Ok(None);
        }
        let idp = family.idp.clone().unwrap_or_default();
        let revocations = match stored.idp {
            Some(_) => snapshot.revocations,
            // Stored before tokens carried their idp: that revocation was not read with the rest.
            None => {
                let query = RevocationQuery {
                    jti: None,
                    sub: &family.sub,
                    idp: &idp,
                    client_id: &family.client_id,
                };
                self.ports.revocations.state(org, query).await?
            }
        };
        if revocations.revokes(family.started_ms) {
            return Ok(None);
        }
        let mut response = Map::new();
        response.insert("active".into(), true.into());
        response.insert("token_type".into(), "refresh_token".into());
        response.insert("client_id".into(), stored.client_id.into());
        response.insert("sub".into(), family.sub.into());
        if !idp.is_empty() {
            response.insert("idp".into(), idp.into());
        }
        if let Some(scope) = family.scope {
            response.insert("scope".into(), scope.into());
        }
        response.insert("exp".into(), stored.valid_until.into());
        response.insert("iat".into(), stored.iat.into());
        Ok(Some(response))
    }
}

/// Only confidential clients introspect (contract).
fn confidential(application: &Application) -> Result<(), TokenError> {
    if application.app_type.is_confidential() {
        Ok(())
    } else {
        tracing::info!(client_id = %application.client_id, "introspection by a public client refused");
        Err(TokenError::InvalidClient)
    }
}

fn access_token_response(presented: PresentedToken) -> Map<String, Value> {
    let mut response = Map::new();
    response.insert("active".into(), true.into());
    response.insert("token_type".into(), "Bearer".into());
    for name in ACCESS_TOKEN_MEMBERS {
        if let Some(value) = presented.claims.get(name) {
            response.insert(name.into(), value.clone());
        }
    }
    response
}
