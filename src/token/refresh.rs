//! Refresh (RFC 6749 §6): a new access token and a rotated refresh token. A rotated token that
//! comes back ends its family (RFC 9700 §4.14.2). Everything is read fresh, so deleting or
//! disabling the application or the trusted issuer, and an admin revocation of the subject or
//! the client, end its refresh tokens at once; and within the contract's read budget: the
//! refresh token (one `GetItem`), then the organization, the application, the issuer, the
//! family and the revocations in one `BatchGetItem` ([`crate::ports::RefreshReads`]).

use std::sync::Arc;

use super::{Caller, Issued, TokenError, TokenService};
use crate::domain::access_token::Principal;
use crate::domain::application::{Application, GrantType, hash_secret};
use crate::domain::exchange_policy::{Grant, SELF};
use crate::domain::ids::ClientId;
use crate::domain::organization::OrgName;
use crate::domain::refresh_token::{RefreshToken, new_refresh_token};
use crate::domain::revocation::RevocationQuery;
use crate::oauth::request::{RefreshRequest, TokenType};
use crate::ports::RefreshSnapshot;

impl TokenService {
    pub async fn refresh(
        &self,
        org: &OrgName,
        caller: &Caller,
        request: &RefreshRequest,
    ) -> Result<Issued, TokenError> {
        let presented_hash = hash_secret(&request.refresh_token);
        let store = &self.ports.refresh_store;
        let (token, snapshot) = self
            .refresh_token_snapshot(org, caller, &presented_hash)
            .await?;
        let application = self.authenticate_on(org, caller, &snapshot).await?;
        if !application.allows(GrantType::RefreshToken) {
            return Err(TokenError::GrantNotAllowed(GrantType::RefreshToken));
        }
        let invalid = |why: &'static str| {
            tracing::info!(client_id = %application.client_id, reason = why, "refresh token refused");
            TokenError::InvalidGrant
        };
        let token = token.ok_or_else(|| invalid("unknown"))?;
        if token.org != org.as_str() || token.client_id != application.client_id {
            return Err(invalid("issued to another client"));
        }
        let family = snapshot.family.ok_or_else(|| invalid("revoked"))?;
        if family.active_hash != presented_hash {
            // A rotated token came back, so one of its holders is an attacker.
            tracing::warn!(client_id = %application.client_id, family_id = %token.family_id, "refresh token reuse: family revoked");
            store.revoke(&token.family_id).await?;
            return Err(invalid("reused"));
        }
        // A family of a chained exchange has no trusted issuer: its subject was our own token.
        let issuer = snapshot.issuer.filter(|issuer| issuer.enabled);
        if issuer.is_none() && family.issuer_id != SELF {
            store.revoke(&token.family_id).await?;
            return Err(invalid("trusted issuer deleted or disabled"));
        }
        let now = self.ports.clock.now();
        let next = family
            .rotate(&token.family_id, now, application.refresh_token_ttl_seconds)
            .ok_or_else(|| invalid("family lifetime over"))?;
        let idp = (family.idp.clone()).or_else(|| issuer.map(|issuer| issuer.issuer.clone()));
        let principal = Principal {
            sub: family.sub.clone(),
            idp: idp.unwrap_or_default(),
            claims: family.claims.clone(),
            act: family.act.clone(),
        };
        // The admin API's revocations of the subject or the client (contract, "Introspection
        // and revocation"): a family started before one is refused. A token stored before it
        // carried its idp was read without the idp's revocation: that one is read now.
        let revocations = match token.idp {
            Some(_) => snapshot.revocations,
            None => {
                let query = RevocationQuery {
                    jti: None,
                    sub: &principal.sub,
                    idp: &principal.idp,
                    client_id: &family.client_id,
                };
                self.ports.revocations.state(org, query).await?
            }
        };
        if revocations.revokes(family.started_ms) {
            return Err(invalid("subject or client revoked"));
        }
        // What the exchange granted is granted again only while the application's policy still
        // allows it (contract, "Token exchange": else the family is revoked).
        let policy = application.exchange_policy();
        let grant = family.grant();
        if !policy.still_permits(&family.issuer_id, &grant) {
            store.revoke(&token.family_id).await?;
            return Err(invalid("no longer allowed by the application's policy"));
        }
        // RFC 6749 §6: a scope asked for narrows the family's, never widens it.
        let grant = match request.scope.as_deref() {
            None => grant,
            Some(requested) => {
                let within = Some(grant.scope.as_deref().unwrap_or_default());
                let scope = policy.scope(Some(requested), within)?;
                Grant { scope, ..grant }
            }
        };

        // Signed first, stored second: if either fails, nothing was handed out and the
        // presented token stays active.
        let next_access_token = self.next_access_token(&application, &grant);
        let access_token =
            (self.mint(org, &principal, &grant, &application, &next_access_token)).await?;
        let secret = new_refresh_token();
        let next_hash = hash_secret(&secret);
        let family = family.with_access_token(next_access_token, now);
        if !store
            .rotate(&family, &presented_hash, &next_hash, &next)
            .await?
        {
            return Err(invalid("rotated concurrently"));
        }
        Ok(Issued::new(
            access_token,
            TokenType::AccessToken,
            &application,
            Some(secret),
            grant.scope,
        ))
    }

    /// The refresh token stored under `hash` (one `GetItem`) and, read after it in one
    /// request, what its use depends on (see [`crate::ports::RefreshReads`]).
    pub(super) async fn refresh_token_snapshot(
        &self,
        org: &OrgName,
        caller: &Caller,
        hash: &str,
    ) -> Result<(Option<RefreshToken>, RefreshSnapshot), TokenError> {
        let token = self.ports.refresh_store.token(hash).await?;
        let client_id = ClientId::new(caller.credentials.client_id());
        let snapshot = (self.ports.refresh_reads)
            .refresh_snapshot(org, &client_id, token.as_ref())
            .await?;
        Ok((token, snapshot))
    }

    /// The caller authenticated on the application the snapshot read fresh, in a live
    /// organization.
    pub(super) async fn authenticate_on(
        &self,
        org: &OrgName,
        caller: &Caller,
        snapshot: &RefreshSnapshot,
    ) -> Result<Arc<Application>, TokenError> {
        if snapshot.generation.is_none() {
            tracing::info!(%org, "token request for an organization that is deleted or being deleted");
            return Err(TokenError::InvalidClient);
        }
        let application = (snapshot.application.clone())
            .filter(|a| a.enabled)
            .ok_or(TokenError::InvalidClient)?;
        Ok(self.prove(org, caller, application, true).await?)
    }
}
