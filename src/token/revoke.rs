//! Token revocation (RFC 7009): an authenticated client revokes a token issued to it. A
//! refresh token ends its family, and with it the access tokens the family issued; an access
//! token is revoked until it expires, with the refresh family it came with (and so that
//! family's other access tokens). An unknown, malformed, expired or other organization's token
//! is answered like a revoked one (RFC 7009 §2.2); another client's token is refused with
//! `unauthorized_client` and stays active. Every token exchanged from a revoked one (chained
//! exchange), at any depth, is revoked with it ([`super::chained`]).

use super::{Caller, TokenError, TokenService};
use crate::domain::application::hash_secret;
use crate::domain::organization::OrgName;
use crate::oauth::presented::looks_like_jws;
use crate::secret::Secret;

impl TokenService {
    pub async fn revoke(
        &self,
        org: &OrgName,
        caller: &Caller,
        token: &Secret,
    ) -> Result<(), TokenError> {
        let application = self
            .authenticate_fresh_in_live_organization(org, caller)
            .await?;
        let client_id = application.client_id.as_str();
        if looks_like_jws(token.expose()) {
            let Some(presented) = self.own_access_token(org, token.expose()).await? else {
                return Ok(());
            };
            if presented.client_id != client_id {
                tracing::info!(client_id, jti = %presented.jti, "revocation of another client's access token refused");
                return Err(TokenError::NotIssuedToClient);
            }
            if !presented.unexpired(self.ports.clock.now()) {
                return Ok(());
            }
            let (revoked, family) = tokio::join!(
                (self.ports.revocations).revoke_access_token(org, &presented.jti, presented.exp),
                self.ports.refresh_store.family_of(&presented.jti)
            );
            revoked?;
            let mut roots = vec![presented.jti.clone()];
            if let Some(family_id) = family? {
                roots.extend(self.revoke_family(&family_id).await?);
            }
            self.revoke_descendants(org, roots).await?;
            tracing::info!(client_id, jti = %presented.jti, "access token revoked");
            return Ok(());
        }
        let store = &self.ports.refresh_store;
        let Some(stored) = store.token(&hash_secret(token)).await? else {
            return Ok(());
        };
        if stored.org != org.as_str() {
            return Ok(());
        }
        if stored.client_id != client_id {
            tracing::info!(
                client_id,
                "revocation of another client's refresh token refused"
            );
            return Err(TokenError::NotIssuedToClient);
        }
        let issued = self.revoke_family(&stored.family_id).await?;
        self.revoke_descendants(org, issued).await?;
        tracing::info!(client_id, family_id = %stored.family_id, "refresh token family revoked");
        Ok(())
    }

    /// Revokes the refresh family `family_id` (and the access tokens it issued); returns
    /// their `jti`s, whose descendants are to be revoked too.
    async fn revoke_family(&self, family_id: &str) -> Result<Vec<String>, TokenError> {
        let store = &self.ports.refresh_store;
        let family = store.family(family_id).await?;
        store.revoke(family_id).await?;
        let issued = family.into_iter().flat_map(|f| f.access_tokens);
        Ok(issued.map(|t| t.jti).collect())
    }
}
