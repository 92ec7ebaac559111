//! The exchange's decision once the subject token is validated: the trusted issuer's policy
//! ([`super::policy`]) and the application's exchange policy
//! ([`crate::domain::exchange_policy`]), in the order explain reports them — `condition`,
//! `subject`, `application_policy`, `targets`, `scopes`, then `claim_mappings`. The token
//! endpoint and explain both decide here, so they cannot disagree.

use serde_json::Value;

use super::{TokenError, TokenService, ValidatedSubject};
use crate::domain::access_token::Principal;
use crate::domain::application::Application;
use crate::domain::exchange_policy::{Grant, Refused};
use crate::domain::organization::OrgName;
use crate::domain::policy::PolicyStep;
use crate::oauth::request::ExchangeRequest;

/// A refusal and the explain check it fails.
pub(super) type Checked = (&'static str, TokenError);

/// What an exchange decided to issue.
pub(super) struct Decision {
    pub principal: Principal,
    pub grant: Grant,
    /// The validated actor token, when delegated (its `jti` is recorded with the subject's).
    pub actor: Option<ValidatedSubject>,
}

impl TokenService {
    /// Whom the token speaks for, what it grants and who acts (delegation), or the first
    /// check that refuses.
    pub(super) async fn decide(
        &self,
        org: &OrgName,
        application: &Application,
        subject: &ValidatedSubject,
        request: &ExchangeRequest<'_>,
    ) -> Result<Decision, Checked> {
        // The policy is evaluated in one pass; a claim mapping's refusal comes after the
        // application's checks and the actor's, where the contract lists it.
        let principal = match self.principal(subject) {
            Err(TokenError::PolicyRefused(refusal))
                if refusal.step == PolicyStep::ClaimMappings =>
            {
                Err(TokenError::PolicyRefused(refusal))
            }
            Err(e) => return Err((check_of(&e, "condition"), e)),
            Ok(principal) => Ok(principal),
        };
        let mut grant = self.grant(application, subject, request)?;
        let delegated = match &request.actor {
            None => None,
            Some(actor) => {
                let principal = principal.as_ref().ok();
                Some((self.delegate(org, application, subject, principal, actor)).await?)
            }
        };
        let mut principal = principal.map_err(|e| ("claim_mappings", e))?;
        let actor = delegated.map(|delegated| {
            principal.act = Some(delegated.act);
            grant.actor_issuer = Some(delegated.actor.issuer_id.to_string());
            // Nothing the actor's token says outlives it.
            let ends = delegated.actor.expires_at;
            grant.not_after = Some(grant.not_after.map_or(ends, |at| at.min(ends)));
            delegated.actor
        });
        Ok(Decision {
            principal,
            grant,
            actor,
        })
    }

    /// `application_policy`, `targets`, `scopes`: the application may exchange tokens of the
    /// subject's issuer and ask for these targets and this scope — within the subject token's
    /// own scope when it is one of ours, whose `exp` the new token never passes.
    fn grant(
        &self,
        application: &Application,
        subject: &ValidatedSubject,
        request: &ExchangeRequest<'_>,
    ) -> Result<Grant, Checked> {
        let policy = application.exchange_policy();
        if !policy.permits_issuer(subject.issuer_id.as_str()) {
            return Err(("application_policy", Refused::Issuer.into()));
        }
        let targets = (policy.targets(&request.audiences, &request.resources))
            .map_err(|e| ("targets", e.into()))?;
        let own = subject.own();
        let within = own.map(|own| {
            own.claims
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or("")
        });
        let scope = (policy.scope(request.scope, within)).map_err(|e| ("scopes", e.into()))?;
        Ok(Grant {
            targets,
            scope,
            not_after: own.map(|own| own.exp),
            actor_issuer: None,
        })
    }
}

/// The check a refusal names, or `otherwise` for a dependency failure.
pub(super) fn check_of(error: &TokenError, otherwise: &'static str) -> &'static str {
    match error {
        TokenError::SubjectRefused(rejection) => rejection.check().as_str(),
        TokenError::PolicyRefused(refusal) => refusal.step.as_str(),
        _ => otherwise,
    }
}
