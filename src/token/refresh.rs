//! Refresh (RFC 6749 §6): a new access token and a rotated refresh token. A rotated token that
//! comes back ends its family (RFC 9700 §4.14.2). Records are read fresh, so deleting or
//! disabling the application or the trusted issuer ends its refresh tokens at once.

use super::{Caller, Issued, TokenError, TokenService};
use crate::domain::access_token::Principal;
use crate::domain::application::{GrantType, hash_secret};
use crate::domain::ids::IssuerId;
use crate::domain::organization::OrgName;
use crate::domain::refresh_token::new_refresh_token;
use crate::domain::revocation::RevocationQuery;
use crate::oauth::request::{RefreshRequest, TokenType};
use crate::ports::Read;

impl TokenService {
    pub async fn refresh(
        &self,
        org: &OrgName,
        caller: &Caller,
        request: &RefreshRequest,
    ) -> Result<Issued, TokenError> {
        let application = self
            .authenticate_fresh_in_live_organization(org, caller)
            .await?;
        if !application.allows(GrantType::RefreshToken) {
            return Err(TokenError::GrantNotAllowed(GrantType::RefreshToken));
        }
        let presented_hash = hash_secret(&request.refresh_token);
        let invalid = |why: &'static str| {
            tracing::info!(client_id = %application.client_id, reason = why, "refresh token refused");
            TokenError::InvalidGrant
        };
        let store = &self.ports.refresh_store;

        let token = store
            .token(&presented_hash)
            .await?
            .ok_or_else(|| invalid("unknown"))?;
        if token.org != org.as_str() || token.client_id != application.client_id {
            return Err(invalid("issued to another client"));
        }
        let family = store
            .family(&token.family_id)
            .await?
            .ok_or_else(|| invalid("revoked"))?;
        if family.active_hash != presented_hash {
            // A rotated token came back, so one of its holders is an attacker.
            tracing::warn!(client_id = %application.client_id, family_id = %token.family_id, "refresh token reuse: family revoked");
            store.revoke(&token.family_id).await?;
            return Err(invalid("reused"));
        }
        let issuer_id = IssuerId::new(family.issuer_id.as_str());
        let issuer = self
            .ports
            .config_store
            .issuer(org, &issuer_id, Read::Fresh)
            .await?;
        let Some(issuer) = issuer.filter(|issuer| issuer.enabled) else {
            store.revoke(&token.family_id).await?;
            return Err(invalid("trusted issuer deleted or disabled"));
        };
        let now = self.ports.clock.now();
        let next = family
            .rotate(&token.family_id, now, application.refresh_token_ttl_seconds)
            .ok_or_else(|| invalid("family lifetime over"))?;
        let principal = Principal {
            sub: family.sub.clone(),
            idp: family.idp.clone().unwrap_or_else(|| issuer.issuer.clone()),
            claims: family.claims.clone(),
        };
        // The admin API's revocations of the subject or the client (contract, "Introspection
        // and revocation"): a family started before one is refused.
        let query = RevocationQuery {
            jti: None,
            sub: &principal.sub,
            idp: &principal.idp,
            client_id: &family.client_id,
        };
        if self
            .ports
            .revocations
            .state(org, query)
            .await?
            .revokes(family.started_ms)
        {
            return Err(invalid("subject or client revoked"));
        }

        // Signed first, stored second: if either fails, nothing was handed out and the
        // presented token stays active.
        let next_access_token = self.next_access_token(&application);
        let access_token = (self.mint(org, &principal, &application, &next_access_token)).await?;
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
        ))
    }
}
