//! Subject token validation as the token path's first typed step: from the presented string to
//! a [`ValidatedSubject`], or the [`Rejection`] whose [`Check`](crate::domain::subject_token::Check)
//! names the step that failed. The rules themselves are in [`crate::domain::subject_token`];
//! this step fetches what they need through the ports (the organization's issuers, the
//! issuer's keys, the clock, the replay log).

use std::sync::Arc;

use super::{TokenError, TokenService};
use crate::domain::exchange_policy::SELF;
use crate::domain::ids::IssuerId;
use crate::domain::issuer::TrustedIssuer;
use crate::domain::organization::OrgName;
use crate::domain::presented_token::PresentedToken;
use crate::domain::subject_token::{ClaimRules, Rejection, UnverifiedToken};
use crate::oauth::request::TokenType;

/// How a token was presented: its declared type and the client presenting it (what our own
/// access tokens are checked against).
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    pub token_type: TokenType,
    pub client_id: &'a str,
}

/// A subject token that passed every check, and what later steps take from it.
#[derive(Debug, Clone)]
pub struct ValidatedSubject {
    /// The subject token's `sub`.
    pub sub: String,
    /// The trusted issuer that vouched for it, or `"self"` for our own access token.
    pub issuer_id: IssuerId,
    /// The subject token's `jti`, when it has one.
    pub jti: Option<String>,
    /// The subject token's `exp` plus the issuer's skew, whole seconds (our own: its `exp`).
    pub expires_at: i64,
    vouched: Vouched,
}

/// Who vouches for the subject.
#[derive(Debug, Clone)]
enum Vouched {
    /// A trusted issuer of the organization; the verified claims as JSON.
    Trusted {
        issuers: Arc<Vec<TrustedIssuer>>,
        index: usize,
        claims_json: Vec<u8>,
    },
    /// The organization itself: one of its access tokens (chained exchange).
    Own(Box<PresentedToken>),
}

impl ValidatedSubject {
    /// The trusted issuer record that vouched for the subject (`None`: our own token).
    pub fn issuer(&self) -> Option<&TrustedIssuer> {
        match &self.vouched {
            Vouched::Trusted { issuers, index, .. } => Some(&issuers[*index]),
            Vouched::Own(_) => None,
        }
    }

    /// Our own access token, verified, when it is the subject (chained exchange).
    pub fn own(&self) -> Option<&PresentedToken> {
        match &self.vouched {
            Vouched::Own(token) => Some(token),
            Vouched::Trusted { .. } => None,
        }
    }

    /// The verified claims set as JSON (RFC 7519 §4), for steps that read more than the
    /// registered claims (empty for our own token, whose claims [`Self::own`] has).
    pub fn claims_json(&self) -> &[u8] {
        match &self.vouched {
            Vouched::Trusted { claims_json, .. } => claims_json,
            Vouched::Own(_) => &[],
        }
    }

    /// The validated subject our own access token `token` is.
    pub(super) fn own_token(token: PresentedToken) -> ValidatedSubject {
        ValidatedSubject {
            sub: token.sub.clone(),
            issuer_id: IssuerId::new(SELF),
            jti: Some(token.jti.clone()),
            expires_at: token.exp,
            vouched: Vouched::Own(Box::new(token)),
        }
    }
}

impl TokenService {
    /// Format, issuer, algorithm, key, signature, then the claims (cheapest check first). The
    /// `jti` is not recorded here: see [`TokenService::record_jti`].
    pub(super) async fn validate_subject(
        &self,
        org: &OrgName,
        token: &str,
        presented: Presented<'_>,
    ) -> Result<ValidatedSubject, TokenError> {
        self.validate_subject_checked(org, token, presented)
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
        presented: Presented<'_>,
    ) -> Result<ValidatedSubject, (&'static str, TokenError)> {
        let refused = |rejection: Rejection| (rejection.check().as_str(), rejection.into());
        let unverified = UnverifiedToken::parse(token).map_err(refused)?;
        let organization_issuer = self.config.organization_issuer(org.as_str());
        if unverified.unverified_issuer() == Ok(organization_issuer.as_str()) {
            return self.validate_own(org, token, presented).await;
        }
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
            vouched: Vouched::Trusted {
                claims_json: subject.claims_json,
                issuers: Arc::clone(&issuers),
                index,
            },
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
    // Our own access tokens may be exchanged again (each child is recorded in the lineage).
    if !subject.issuer().is_some_and(|issuer| issuer.require_jti) {
        return Ok(None);
    }
    let jti = subject.jti.as_deref().ok_or(Rejection::BadClaim("jti"))?;
    Ok(Some(jti))
}
