//! Explain: the token exchange as a dry run, for operators asking "why was this refused?". It
//! runs the very steps of [`TokenService::exchange`] (the same functions, in the same order)
//! but consumes nothing (no `jti` recorded), stores nothing and signs nothing, and reports each
//! named check: the ones before the first failure pass, that one fails, the rest are skipped.
//! The client is named, not authenticated: an operator never holds its secret.

use std::sync::Arc;

use serde_json::Value;

use super::{TokenError, TokenService};
use crate::domain::access_token::Principal;
use crate::domain::exchange_policy::Grant;
use crate::domain::ids::ClientId;
use crate::domain::organization::OrgName;
use crate::domain::refresh_token::{RefreshFamily, RefreshToken};
use crate::domain::signing_key::SigningKey;
use crate::oauth::request::ExchangeRequest;
use crate::ports::{
    BoxFuture, FailureLog, PortError, Read, RefreshReads, RefreshSnapshot, RefreshStore, Signer,
};

/// Every check of the token path, in the order it runs them. `actor.*` are the subject token's
/// checks for an actor token (skipped without one).
pub const CHECKS: [&str; 34] = [
    "client",
    "grant",
    "format",
    "issuer",
    "algorithm",
    "key",
    "signature",
    "expiry",
    "not_before",
    "issued_at",
    "audience",
    "max_age",
    "jti",
    "revocation",
    "condition",
    "subject",
    "application_policy",
    "targets",
    "scopes",
    "actor.format",
    "actor.issuer",
    "actor.algorithm",
    "actor.key",
    "actor.signature",
    "actor.expiry",
    "actor.not_before",
    "actor.issued_at",
    "actor.audience",
    "actor.max_age",
    "actor.jti",
    "actor.revocation",
    "actor.condition",
    "delegation",
    "claim_mappings",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Skip,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckReport {
    pub check: &'static str,
    pub result: Outcome,
    pub detail: String,
}

/// What an exchange with these inputs would do now.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub checks: Vec<CheckReport>,
    /// Why the token endpoint would refuse, `None` when it would issue a token.
    pub denial: Option<TokenError>,
    /// The claims the access token would carry (without its `jti`), when it would be issued.
    pub claims: Option<Value>,
}

impl Explanation {
    /// Checks before `failed` pass, `failed` fails with `detail`, later ones are skipped;
    /// without a failure every check passes but the actor's when there is no actor token.
    pub fn new(failed: Option<(&str, String)>, with_actor: bool) -> Explanation {
        let failed_at = failed
            .as_ref()
            .and_then(|(check, _)| CHECKS.iter().position(|c| c == check));
        let checks = CHECKS
            .iter()
            .enumerate()
            .map(|(i, &check)| {
                let (result, detail) = match failed_at {
                    Some(at) if i == at => {
                        let detail = failed.as_ref().map(|(_, d)| d.clone()).unwrap_or_default();
                        (Outcome::Fail, detail)
                    }
                    Some(at) if i > at => (Outcome::Skip, "not reached".to_owned()),
                    _ if !with_actor && check.starts_with("actor.") => {
                        (Outcome::Skip, "no actor token".to_owned())
                    }
                    _ if with_actor && check == "delegation" => {
                        let detail = "the application may act for others, and for this subject";
                        (Outcome::Pass, detail.to_owned())
                    }
                    _ => (Outcome::Pass, passed(check).to_owned()),
                };
                CheckReport {
                    check,
                    result,
                    detail,
                }
            })
            .collect();
        Explanation {
            checks,
            denial: None,
            claims: None,
        }
    }

    /// The token endpoint refuses the request's parameters before any check runs: `check`
    /// fails with `detail`, every other check is skipped.
    pub fn refused_request(check: &str, detail: String) -> Explanation {
        let mut explanation = Explanation::new(Some((check, detail)), false);
        for report in &mut explanation.checks {
            if report.result == Outcome::Pass {
                report.result = Outcome::Skip;
                report.detail = "not reached: the request's parameters were refused".to_owned();
            }
        }
        explanation
    }

    fn denied(check: &str, error: TokenError, with_actor: bool) -> Explanation {
        Explanation {
            denial: Some(error.clone()),
            ..Explanation::new(Some((check, error.to_string())), with_actor)
        }
    }
}

/// What a passed check established.
fn passed(check: &str) -> &'static str {
    match check {
        "client" => "the application exists and is enabled",
        "grant" => "the application has the token-exchange grant",
        "format" => "a compact JWS within the size limit, with an accepted header",
        "issuer" => "iss is an enabled trusted issuer of the organization",
        "algorithm" => "the algorithm is on the issuer's allow-list",
        "key" => "the issuer has a key for this kid and algorithm",
        "signature" => "the signature verifies",
        "expiry" => "exp is present and not past",
        "not_before" => "nbf is absent or not in the future",
        "issued_at" => "iat is absent or not in the future",
        "audience" => "aud holds the organization's issuer value or the issuer's alias",
        "max_age" => "the token's age and lifetime are within the limits",
        "jti" => "the jti rule holds (explain records nothing)",
        "revocation" => "not revoked (only the organization's own tokens can be)",
        "condition" => "the issuer's condition holds (or it has none)",
        "subject" => "the issued sub is a non-empty string",
        "application_policy" => "the application may exchange this issuer's tokens",
        "targets" => "every audience and resource asked for is allowed",
        "scopes" => "every scope asked for is allowed",
        "delegation" => "no actor token, so no delegation",
        "claim_mappings" => "the issuer's claim mappings evaluate",
        _ => "passed",
    }
}

impl TokenService {
    /// The dry run of an exchange of `request` by the application `client_id`.
    pub async fn explain(
        &self,
        org: &OrgName,
        client_id: &ClientId,
        request: &ExchangeRequest<'_>,
    ) -> Explanation {
        match self.dry_run(org, client_id, request).await {
            Ok(claims) => Explanation {
                claims: Some(claims),
                ..Explanation::new(None, request.actor.is_some())
            },
            Err((check, error)) => Explanation::denied(check, error, request.actor.is_some()),
        }
    }

    /// The steps of [`TokenService::exchange`], each failure tagged with its check.
    async fn dry_run(
        &self,
        org: &OrgName,
        client_id: &ClientId,
        request: &ExchangeRequest<'_>,
    ) -> Result<Value, (&'static str, TokenError)> {
        let application = self
            .enabled_application(org, client_id, Read::Fresh)
            .await
            .map_err(|e| ("client", e))?;
        super::exchange::require_exchange_grant(&application).map_err(|e| ("grant", e))?;
        let presented = super::subject::Presented {
            token_type: request.subject_token_type,
            client_id: &application.client_id,
        };
        let subject = self
            .validate_subject_checked(org, request.subject_token, presented)
            .await?;
        self.check_jti(org, &subject)
            .await
            .map_err(|e| (super::grant::check_of(&e, "jti"), e))?;
        let decision = (self.decide(org, &application, &subject, request)).await?;
        let (principal, grant) = (decision.principal, decision.grant);
        Ok(self.would_be_claims(org, &principal, &grant, &application))
    }

    /// The access token's claims as [`TokenService::mint`] would make them, without `jti`.
    fn would_be_claims(
        &self,
        org: &OrgName,
        principal: &Principal,
        grant: &Grant,
        application: &crate::domain::application::Application,
    ) -> Value {
        let organization_issuer = self.config.organization_issuer(org.as_str());
        let next = self.next_access_token(application, grant);
        let claims =
            self.access_token_claims(&organization_issuer, principal, grant, application, &next);
        let mut claims = serde_json::to_value(claims).expect("claims serialize");
        if let Some(object) = claims.as_object_mut() {
            object.remove("jti");
        }
        claims
    }
}

/// The ports explain never uses, for a function that serves only explain (admin): it signs
/// nothing, refreshes nothing and counts no authentication failures (the client is named,
/// not authenticated). Any use is a bug, answered as an internal error. Not wiring the table's
/// implementations keeps their code out of the admin binary.
pub struct Unused;

impl Unused {
    fn refuse<'a, T: Send + 'a>() -> BoxFuture<'a, Result<T, PortError>> {
        let refused = PortError::Internal("explain does not use this port".into());
        Box::pin(std::future::ready(Err(refused)))
    }
}

/// The signer explain is given where it runs apart from the token function (admin): the
/// organization's published keys, to verify its own tokens (a chained exchange's subject or a
/// `"self"` actor) exactly as the token endpoint does, and no signing.
pub struct VerifyOnly(pub Arc<dyn Signer>);

impl Signer for VerifyOnly {
    fn current_key(&self) -> BoxFuture<'_, Result<Arc<SigningKey>, PortError>> {
        self.0.current_key()
    }

    fn published_keys(&self) -> BoxFuture<'_, Result<Vec<Arc<SigningKey>>, PortError>> {
        self.0.published_keys()
    }

    fn sign<'a>(&'a self, _: &'a [u8]) -> BoxFuture<'a, Result<Vec<u8>, PortError>> {
        Unused::refuse()
    }
}

impl Signer for Unused {
    fn current_key(&self) -> BoxFuture<'_, Result<Arc<SigningKey>, PortError>> {
        Unused::refuse()
    }

    fn published_keys(&self) -> BoxFuture<'_, Result<Vec<Arc<SigningKey>>, PortError>> {
        Unused::refuse()
    }

    fn sign<'a>(&'a self, _: &'a [u8]) -> BoxFuture<'a, Result<Vec<u8>, PortError>> {
        Unused::refuse()
    }
}

impl RefreshStore for Unused {
    fn start_family<'a>(
        &'a self,
        _: &'a str,
        _: &'a RefreshToken,
        _: &'a RefreshFamily,
    ) -> BoxFuture<'a, Result<(), PortError>> {
        Unused::refuse()
    }

    fn token<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<RefreshToken>, PortError>> {
        Unused::refuse()
    }

    fn family<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<RefreshFamily>, PortError>> {
        Unused::refuse()
    }

    fn rotate<'a>(
        &'a self,
        _: &'a RefreshFamily,
        _: &'a str,
        _: &'a str,
        _: &'a RefreshToken,
    ) -> BoxFuture<'a, Result<bool, PortError>> {
        Unused::refuse()
    }

    fn revoke<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<(), PortError>> {
        Unused::refuse()
    }

    fn family_of<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<String>, PortError>> {
        Unused::refuse()
    }

    fn discard<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<(), PortError>> {
        Unused::refuse()
    }
}

impl RefreshReads for Unused {
    fn refresh_snapshot<'a>(
        &'a self,
        _: &'a OrgName,
        _: &'a ClientId,
        _: Option<&'a RefreshToken>,
    ) -> BoxFuture<'a, Result<RefreshSnapshot, PortError>> {
        Unused::refuse()
    }
}

impl FailureLog for Unused {
    fn record_failure<'a>(
        &'a self,
        _: &'a OrgName,
        _: &'a ClientId,
        _: &'a str,
        _: i64,
        _: i64,
    ) -> BoxFuture<'a, Result<u64, PortError>> {
        Unused::refuse()
    }
}
