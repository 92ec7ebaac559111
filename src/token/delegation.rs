//! Delegation (RFC 8693 §4.1, §4.4): an actor token validated by the very steps of a subject
//! token (explain's `actor.*` checks), then the application's `delegation` policy, `may_act`
//! and the depth limit. The issued token's `act` is the actor's `{sub, idp}`, with the subject
//! token's own `act` (prior actors) nested inside; the actor token's `act` is not copied.

use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use super::explain::CHECKS;
use super::grant::Checked;
use super::subject::{Presented, ValidatedSubject};
use super::{TokenError, TokenService};
use crate::domain::access_token::Principal;
use crate::domain::application::Application;
use crate::domain::organization::OrgName;
use crate::oauth::request::ActorToken;

/// What delegation adds to a token: its `act`, and the actor's trusted issuer (a refresh checks
/// it is still allowed).
#[derive(Debug, Clone)]
pub(super) struct Delegated {
    pub actor: ValidatedSubject,
    pub act: Value,
}

impl TokenService {
    /// The `actor.*` checks and `delegation` for `actor` acting for `subject` (whose
    /// principal is `principal`).
    pub(super) async fn delegate(
        &self,
        org: &OrgName,
        application: &Application,
        subject: &ValidatedSubject,
        principal: Option<&Principal>,
        actor: &ActorToken<'_>,
    ) -> Result<Delegated, Checked> {
        let as_actor = |(check, error): Checked| (actor_check(check), actor_error(error));
        let presented = Presented {
            token_type: actor.token_type,
            client_id: &application.client_id,
        };
        let validated = (self
            .validate_subject_checked(org, actor.token, presented)
            .await)
            .map_err(as_actor)?;
        (self.check_jti(org, &validated).await).map_err(|e| as_actor(("jti", e)))?;
        let actor_principal = (self.principal(&validated))
            .map_err(|e| as_actor((super::grant::check_of(&e, "condition"), e)))?;

        let refused = |why: &str| ("delegation", TokenError::DelegationRefused(why.to_owned()));
        let Some(policy) = &application.delegation else {
            return Err(refused("the application may not act for others"));
        };
        let actor_issuer = validated.issuer_id.as_str();
        if !policy
            .allowed_actor_issuers
            .iter()
            .any(|id| id == actor_issuer)
        {
            return Err(refused("the actor token's issuer is not allowed to act"));
        }
        let subject_claims = delegation_claims(subject);
        if let Some(may_act) = &subject_claims.may_act
            && !may_act_allows(
                may_act,
                &validated,
                &self.config.organization_issuer(org.as_str()),
            )
        {
            return Err(refused(
                "the subject token's may_act does not name this actor",
            ));
        }
        let prior = match principal {
            Some(principal) => principal.act.clone(),
            None => subject_claims.act,
        };
        let mut act = json!({"sub": actor_principal.sub, "idp": actor_principal.idp});
        if let Some(prior) = prior {
            act["act"] = prior;
        }
        if depth(&act) > usize::from(policy.max_depth) {
            return Err(refused(
                "the delegation chain is deeper than the application allows",
            ));
        }
        Ok(Delegated {
            actor: validated,
            act,
        })
    }
}

/// The subject token's `may_act` and `act` (prior actors), from its verified claims. A member
/// that is present is kept as it is, `null` included (a `may_act` that is not an object names
/// no actor).
#[derive(Debug, Default, Deserialize)]
struct DelegationClaims {
    #[serde(default, deserialize_with = "present")]
    may_act: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    act: Option<Value>,
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// The delegation claims of `subject`: only those two are read from its claims (the others
/// are skipped, not built).
fn delegation_claims(subject: &ValidatedSubject) -> DelegationClaims {
    match subject.own() {
        Some(own) => DelegationClaims {
            may_act: own.claims.get("may_act").cloned(),
            act: own.claims.get("act").cloned(),
        },
        None => serde_json::from_slice(subject.claims_json()).unwrap_or_default(),
    }
}

/// RFC 8693 §4.4: each member of `may_act` (`sub`, and `iss` when present) equals the actor's.
fn may_act_allows(may_act: &Value, actor: &ValidatedSubject, organization_issuer: &str) -> bool {
    let Some(may_act) = may_act.as_object() else {
        return false;
    };
    let actor_iss = actor
        .issuer()
        .map_or(organization_issuer, |issuer| issuer.issuer.as_str());
    let sub_matches = may_act.get("sub").and_then(Value::as_str) == Some(actor.sub.as_str());
    let iss_matches = match may_act.get("iss") {
        None => true,
        Some(iss) => iss.as_str() == Some(actor_iss),
    };
    sub_matches && iss_matches
}

/// The number of `act` levels: `act` itself, then each nested `act`.
fn depth(act: &Value) -> usize {
    let mut depth = 1;
    let mut current = act;
    while let Some(inner) = current.get("act") {
        depth += 1;
        current = inner;
    }
    depth
}

/// The explain check of the actor token for a subject token's `check`.
fn actor_check(check: &str) -> &'static str {
    (CHECKS.iter())
        .find(|c| c.strip_prefix("actor.") == Some(check))
        .copied()
        .unwrap_or("actor.condition")
}

/// A subject token's refusal, said of the actor token ("actor token is expired", not "actor
/// token refused: subject token is expired"): the texts name the token they were written for.
fn actor_error(error: TokenError) -> TokenError {
    match error {
        TokenError::SubjectRefused(rejection) => {
            let text = rejection.to_string();
            TokenError::DelegationRefused(if text.contains("subject token") {
                text.replace("subject token", "actor token")
            } else {
                format!("actor token refused: {text}")
            })
        }
        TokenError::PolicyRefused(refusal) => TokenError::DelegationRefused(format!(
            "actor token refused by the trusted issuer's policy: {refusal}"
        )),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_every_act_level() {
        assert_eq!(depth(&json!({"sub": "a"})), 1);
        assert_eq!(
            depth(&json!({"sub": "a", "act": {"sub": "b", "act": {"sub": "c"}}})),
            3
        );
    }

    #[test]
    fn delegation_claims_keep_present_members_null_included_and_skip_the_rest() {
        let read = |json: &str| serde_json::from_str::<DelegationClaims>(json).unwrap();
        let claims = read(r#"{"sub":"u","may_act":{"sub":"agent"},"act":{"sub":"p"},"x":[1]}"#);
        assert_eq!(claims.may_act, Some(json!({"sub": "agent"})));
        assert_eq!(claims.act, Some(json!({"sub": "p"})));
        let null = read(r#"{"may_act":null}"#);
        assert_eq!(
            null.may_act,
            Some(Value::Null),
            "present, so it refuses every actor"
        );
        let absent = read(r#"{"sub":"u"}"#);
        assert_eq!((absent.may_act, absent.act), (None, None));
    }

    #[test]
    fn actor_checks_are_the_subject_checks_prefixed() {
        assert_eq!(actor_check("signature"), "actor.signature");
        assert_eq!(actor_check("revocation"), "actor.revocation");
        assert_eq!(actor_check("subject"), "actor.condition");
    }
}
