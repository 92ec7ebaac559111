//! Chained exchange (contract, "Token exchange: … chaining"): one of the organization's own
//! access tokens as the subject token, and the lineage that lets revoking a token revoke every
//! token exchanged from it.
//!
//! Our own token is accepted only with `subject_token_type` access_token, verified with the
//! organization's published keys (current and previous) and `iss`, unexpired, presented by the
//! client it was issued to or one named in its `aud`, and not revoked (one `BatchGetItem`, as
//! introspection reads). Each chained exchange records its token as a child of the subject
//! token ([`crate::ports::Lineage`]); revoking a token walks its descendants, and the refresh
//! families they started.

use std::collections::HashSet;

use serde_json::Value;

use super::subject::{Presented, ValidatedSubject};
use super::{TokenError, TokenService};
use crate::domain::organization::OrgName;
use crate::domain::presented_token::{NotOurs, PresentedToken};
use crate::domain::revocation::RevocationQuery;
use crate::domain::subject_token::Rejection;
use crate::oauth::request::TokenType;

/// Most descendants one revocation walks; a longer lineage is logged and left to expire.
const MAX_DESCENDANTS: usize = 1_000;

/// A refusal and the explain check it fails.
type Checked = (&'static str, TokenError);

impl TokenService {
    /// Our own access token `token` as a subject (or actor) token.
    pub(super) async fn validate_own(
        &self,
        org: &OrgName,
        token: &str,
        presented: Presented<'_>,
    ) -> Result<ValidatedSubject, Checked> {
        let refused = |rejection: Rejection| (rejection.check().as_str(), rejection.into());
        if presented.token_type != TokenType::AccessToken {
            return Err(refused(Rejection::NotAccessTokenType));
        }
        let keys = (self.ports.signer.published_keys().await).map_err(|e| ("key", e.into()))?;
        let issuer = self.config.organization_issuer(org.as_str());
        let own = PresentedToken::verify(token, &keys, &issuer).map_err(|e| {
            refused(match e {
                NotOurs::Malformed => Rejection::Malformed,
                NotOurs::Unverified => Rejection::BadSignature,
                NotOurs::OtherOrganization => Rejection::UntrustedIssuer,
            })
        })?;
        if !own.unexpired(self.ports.clock.now()) {
            return Err(refused(Rejection::Expired));
        }
        if !is_for(&own, presented.client_id) {
            return Err(refused(Rejection::NotForClient));
        }
        let query = RevocationQuery {
            jti: Some(&own.jti),
            sub: &own.sub,
            idp: &own.idp,
            client_id: &own.client_id,
        };
        let state = (self.ports.revocations.state(org, query).await)
            .map_err(|e| ("revocation", e.into()))?;
        if state.revokes(own.issued_ms()) {
            return Err(refused(Rejection::Revoked));
        }
        Ok(ValidatedSubject::own_token(own))
    }

    /// Revokes every token exchanged from the access tokens `roots`, at any depth, and the
    /// refresh families they started (with those families' access tokens and their
    /// descendants).
    pub(super) async fn revoke_descendants(
        &self,
        org: &OrgName,
        roots: Vec<String>,
    ) -> Result<(), TokenError> {
        let mut seen: HashSet<String> = roots.iter().cloned().collect();
        let mut pending = roots;
        while let Some(parent) = pending.pop() {
            for child in self.ports.lineage.children(org, &parent).await? {
                if !seen.insert(child.jti.clone()) {
                    continue;
                }
                if seen.len() > MAX_DESCENDANTS {
                    tracing::warn!(%org, "lineage longer than the revocation walk: the rest expires on its own");
                    return Ok(());
                }
                let revocations = &self.ports.revocations;
                revocations
                    .revoke_access_token(org, &child.jti, child.exp)
                    .await?;
                let store = &self.ports.refresh_store;
                if let Some(family_id) = store.family_of(&child.jti).await? {
                    if let Some(family) = store.family(&family_id).await? {
                        let issued = family.access_tokens.into_iter().map(|t| t.jti);
                        pending.extend(issued.filter(|jti| seen.insert(jti.clone())));
                    }
                    store.revoke(&family_id).await?;
                }
                pending.push(child.jti);
            }
        }
        Ok(())
    }
}

/// Whether `token` may be presented by `client_id`: issued to it, or naming it in `aud`
/// (contract: a downstream API exchanges further only when it was asked for as an audience).
fn is_for(token: &PresentedToken, client_id: &str) -> bool {
    if token.client_id.as_bytes() == client_id.as_bytes() {
        return true;
    }
    match token.claims.get("aud") {
        Some(Value::String(aud)) => aud.as_bytes() == client_id.as_bytes(),
        Some(Value::Array(auds)) => auds
            .iter()
            .any(|aud| aud.as_str().map(str::as_bytes) == Some(client_id.as_bytes())),
        _ => false,
    }
}
