//! Subject token validation as the token path's first typed step: from the presented string to
//! a [`ValidatedSubject`], or the [`Rejection`] whose [`Check`](crate::domain::subject_token::Check)
//! names the step that failed. The rules themselves are in [`crate::domain::subject_token`];
//! this step fetches what they need through the ports (the organization's issuers, the
//! issuer's keys, the clock, the replay log).

use std::sync::Arc;

use super::{TokenError, TokenService};
use crate::domain::ids::IssuerId;
use crate::domain::issuer::TrustedIssuer;
use crate::domain::organization::OrgName;
use crate::domain::subject_token::{ClaimRules, Rejection, UnverifiedToken};

/// A subject token that passed every check, and what later steps take from it.
#[derive(Debug, Clone)]
pub struct ValidatedSubject {
    /// The subject token's `sub`.
    pub sub: String,
    /// The trusted issuer that vouched for it.
    pub issuer_id: IssuerId,
    /// The subject token's `jti`, when it has one.
    pub jti: Option<String>,
    /// The subject token's `exp` plus the issuer's skew, whole seconds.
    pub expires_at: i64,
    issuers: Arc<Vec<TrustedIssuer>>,
    index: usize,
    claims_json: Vec<u8>,
}

impl ValidatedSubject {
    /// The trusted issuer record that vouched for the subject.
    pub fn issuer(&self) -> &TrustedIssuer {
        &self.issuers[self.index]
    }

    /// The verified claims set as JSON (RFC 7519 §4), for steps that read more than the
    /// registered claims.
    pub fn claims_json(&self) -> &[u8] {
        &self.claims_json
    }
}

impl TokenService {
    /// Format, issuer, algorithm, key, signature, then the claims (cheapest check first). The
    /// `jti` is not recorded here: see [`TokenService::record_jti`].
    pub(super) async fn validate_subject(
        &self,
        org: &OrgName,
        token: &str,
    ) -> Result<ValidatedSubject, TokenError> {
        self.validate_subject_checked(org, token)
            .await
            .map_err(|(_, error)| error)
    }

    /// [`TokenService::validate_subject`], each failure with the name of the check it fails
    /// (explain): a refusal names its own; a dependency failure is `issuer`'s while the
    /// organization's issuers are read and `key`'s while the issuer's keys are.
    pub(super) async fn validate_subject_checked(
        &self,
        org: &OrgName,
        token: &str,
    ) -> Result<ValidatedSubject, (&'static str, TokenError)> {
        let refused = |rejection: Rejection| (rejection.check().as_str(), rejection.into());
        let unverified = UnverifiedToken::parse(token).map_err(refused)?;
        let issuers = (self.ports.config_store.issuers(org).await)
            .map_err(|e| ("issuer", TokenError::from(e)))?;
        let index = unverified.route(&issuers).map_err(refused)?;
        let issuer = &issuers[index];
        let header = unverified.header();
        let keys = self
            .ports
            .keys
            .keys_for(issuer, header.kid.as_deref(), header.alg)
            .await
            .map_err(|e| ("key", TokenError::from_keys(e, &issuer.id)))?;
        let decoding: Vec<_> = keys.iter().map(|k| &k.key).collect();
        let organization_issuer = self.config.organization_issuer(org.as_str());
        let subject = unverified
            .verify(&decoding)
            .and_then(|verified| {
                verified.validate(&ClaimRules {
                    organization_issuer: &organization_issuer,
                    issuer,
                    now: self.ports.clock.now(),
                })
            })
            .map_err(refused)?;
        Ok(ValidatedSubject {
            sub: subject.sub,
            issuer_id: IssuerId::new(issuer.id.as_str()),
            jti: subject.jti,
            expires_at: subject.expires_at,
            claims_json: subject.claims_json,
            issuers: Arc::clone(&issuers),
            index,
        })
    }

    /// The `jti` rule's second half (RFC 7519 §4.1.7): with `require_jti`, records the `jti`
    /// until the token expires and refuses one seen before. Returns the recorded `jti`, which
    /// the caller forgets again if no token is issued.
    pub(super) async fn record_jti(
        &self,
        org: &OrgName,
        subject: &ValidatedSubject,
    ) -> Result<Option<String>, TokenError> {
        let Some(jti) = required_jti(subject)? else {
            return Ok(None);
        };
        let first_use = self
            .ports
            .replay_log
            .record_jti(org, &subject.issuer_id, jti, subject.expires_at)
            .await?;
        if !first_use {
            return Err(Rejection::Replayed.into());
        }
        Ok(Some(jti.to_owned()))
    }

    /// The same rule as [`TokenService::record_jti`], recording nothing (explain).
    pub(super) async fn check_jti(
        &self,
        org: &OrgName,
        subject: &ValidatedSubject,
    ) -> Result<(), TokenError> {
        let Some(jti) = required_jti(subject)? else {
            return Ok(());
        };
        let replay_log = &self.ports.replay_log;
        if replay_log.seen(org, &subject.issuer_id, jti).await? {
            return Err(Rejection::Replayed.into());
        }
        Ok(())
    }
}

/// The `jti` the replay rule keeps: `None` when the issuer does not require one; refused when
/// it does and the token has none.
fn required_jti(subject: &ValidatedSubject) -> Result<Option<&str>, TokenError> {
    if !subject.issuer().require_jti {
        return Ok(None);
    }
    let jti = subject.jti.as_deref().ok_or(Rejection::BadClaim("jti"))?;
    Ok(Some(jti))
}
