//! Minting: the signed access token (RFC 9068 profile) and, where the application has the
//! grant, the first refresh token of a new family. Nothing is handed out unless every part
//! succeeds.

use super::{Issued, TokenError, TokenService, ValidatedSubject};
use crate::domain::access_token::{self, AccessTokenClaims, Principal};
use crate::domain::application::{Application, GrantType, hash_secret};
use crate::domain::exchange_policy::Grant;
use crate::domain::organization::OrgName;
use crate::domain::refresh_token::{RefreshFamily, RefreshToken, new_refresh_token};
use crate::domain::revocation::{AccessTokenRef, new_jti};
use crate::oauth::request::TokenType;

/// A signed access token, its `jti` and its lifetime.
pub(super) struct Minted {
    pub token: String,
    pub jti: String,
    pub expires_in: u32,
}

impl TokenService {
    /// A new access token's `jti` and `exp` (never past the grant's end): the `jti` tells its
    /// issue time to the millisecond (see [`crate::domain::revocation`]). One reading of the
    /// clock, so the `jti`'s time falls within the token's `iat` second.
    pub(super) fn next_access_token(
        &self,
        application: &Application,
        grant: &Grant,
    ) -> AccessTokenRef {
        let now_ms = self.ports.clock.now_ms();
        AccessTokenRef {
            jti: new_jti(now_ms),
            exp: grant.expiry(
                now_ms.div_euclid(1000),
                application.access_token_ttl_seconds,
            ),
        }
    }

    /// The access token `next` for `principal` issued to `application`, signed by the
    /// [`crate::ports::Signer`]. Not yet handed out: see [`TokenService::token`].
    pub(super) async fn mint(
        &self,
        org: &OrgName,
        principal: &Principal,
        grant: &Grant,
        application: &Application,
        next: &AccessTokenRef,
    ) -> Result<Minted, TokenError> {
        let organization_issuer = self.config.organization_issuer(org.as_str());
        let claims =
            self.access_token_claims(&organization_issuer, principal, grant, application, next);
        let key = self.ports.signer.current_key().await?;
        let input = access_token::signing_input(&key, &claims);
        let signature = self.ports.signer.sign(input.as_bytes()).await?;
        tracing::debug!(
            client_id = application.client_id.as_str(),
            jti = claims.jti,
            "access token signed"
        );
        let expires_in = u32::try_from(claims.exp - claims.iat).unwrap_or(0);
        Ok(Minted {
            token: access_token::assemble(input, &signature),
            jti: next.jti.clone(),
            expires_in,
        })
    }

    /// The claims of the access token `next` for `principal` issued to `application` (explain
    /// shows the same, without the `jti`). Issued when `next` was made: `iat` is its `exp`
    /// less the application's lifetime.
    pub(super) fn access_token_claims<'a>(
        &self,
        organization_issuer: &'a str,
        principal: &'a Principal,
        grant: &'a Grant,
        application: &'a Application,
        next: &'a AccessTokenRef,
    ) -> AccessTokenClaims<'a> {
        let iat = next.issued_at().unwrap_or_else(|| self.ports.clock.now());
        AccessTokenClaims::new(
            organization_issuer,
            principal,
            grant,
            &application.client_id,
            iat,
            next,
        )
    }

    /// The tokens of a validated exchange: an access token, and a refresh token when the
    /// application has that grant. The refresh family is stored, and a chained exchange's
    /// lineage recorded, while the token is signed; if signing fails the family is discarded.
    pub(super) async fn issue(
        &self,
        org: &OrgName,
        principal: &Principal,
        grant: &Grant,
        subject: &ValidatedSubject,
        application: &Application,
        issued_token_type: TokenType,
    ) -> Result<Issued, TokenError> {
        let next = self.next_access_token(application, grant);
        let scope = grant.scope.clone();
        let lineage = async {
            match subject.own() {
                Some(parent) => (self.ports.lineage.record_child(org, &parent.jti, &next)).await,
                None => Ok(()),
            }
        };
        if !application.allows(GrantType::RefreshToken) {
            let (access_token, recorded) = tokio::join!(
                self.mint(org, principal, grant, application, &next),
                lineage
            );
            recorded?;
            return Ok(Issued::new(
                access_token?,
                issued_token_type,
                application,
                None,
                scope,
            ));
        }
        let secret = new_refresh_token();
        let token_hash = hash_secret(&secret);
        let first = RefreshToken {
            family_id: crate::domain::random_hex(16),
            org: org.as_str().to_owned(),
            client_id: application.client_id.clone(),
            issuer_id: subject.issuer_id.to_string(),
            sub: principal.sub.clone(),
            valid_until: grant.expiry(
                self.ports.clock.now(),
                application.refresh_token_ttl_seconds,
            ),
            iat: self.ports.clock.now(),
            idp: Some(principal.idp.clone()),
        };
        let now = self.ports.clock.now();
        let family = RefreshFamily {
            started_ms: self.ports.clock.now_ms(),
            ..RefreshFamily::start(&first, &token_hash, principal, grant)
        }
        .with_access_token(next.clone(), now);
        let refresh = &self.ports.refresh_store;
        let (access_token, stored, recorded) = tokio::join!(
            self.mint(org, principal, grant, application, &next),
            refresh.start_family(&token_hash, &first, &family),
            lineage
        );
        let access_token = recorded.map_err(TokenError::from).and(access_token);
        match (access_token, stored) {
            (Ok(access_token), Ok(())) => Ok(Issued {
                family_id: Some(first.family_id.clone()),
                ..Issued::new(
                    access_token,
                    issued_token_type,
                    application,
                    Some(secret),
                    scope,
                )
            }),
            (Err(error), Ok(())) => {
                if let Err(e) = refresh.discard(&token_hash, &first.family_id).await {
                    tracing::warn!(detail = %e, "could not discard an unused refresh token family");
                }
                Err(error)
            }
            (_, Err(e)) => Err(e.into()),
        }
    }

    /// Takes back what [`Self::issue`] stored for tokens that are not handed out after all.
    pub(super) async fn discard_issued(&self, issued: &Issued) {
        if let (Some(secret), Some(family_id)) = (&issued.refresh_token, &issued.family_id)
            && let Err(e) = (self.ports.refresh_store)
                .discard(&hash_secret(secret), family_id)
                .await
        {
            tracing::warn!(detail = %e, "could not discard an unused refresh token family");
        }
    }
}
