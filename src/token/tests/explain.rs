//! Explain against the token endpoint, in-process: the same inputs at the same moment get the
//! same decision and error, and the failing check is the one the refusal names.

use serde_json::json;

use super::*;
use crate::domain::ids::ClientId;
use crate::oauth::request::{ActorToken, ExchangeRequest, TokenType};
use crate::token::TokenError;
use crate::token::explain::{CHECKS, Explanation, Outcome};

async fn explain(h: &Harness, client_id: &str, subject: &str) -> Explanation {
    explain_with(h, client_id, subject, &Targets::default()).await
}

/// What an exchange asks for besides the subject token.
#[derive(Debug, Clone, Default)]
pub(super) struct Targets {
    /// The subject token is one of ours, sent as an access token (chained exchange).
    pub(super) own: bool,
    pub(super) audiences: Vec<&'static str>,
    pub(super) resources: Vec<&'static str>,
    pub(super) scope: Option<&'static str>,
    /// An actor token and its type (delegation).
    pub(super) actor: Option<(String, TokenType)>,
}

impl Targets {
    pub(super) fn params(&self) -> Vec<(&'static str, &str)> {
        let audiences = self.audiences.iter().map(|a| ("audience", *a));
        let resources = self.resources.iter().map(|r| ("resource", *r));
        let scope = self.scope.map(|s| ("scope", s));
        let actor = (self.actor.iter()).flat_map(|(token, token_type)| {
            [
                ("actor_token", token.as_str()),
                ("actor_token_type", token_type.as_str()),
            ]
        });
        audiences
            .chain(resources)
            .chain(scope)
            .chain(actor)
            .collect()
    }
}

pub(super) async fn explain_with(
    h: &Harness,
    client_id: &str,
    subject: &str,
    targets: &Targets,
) -> Explanation {
    let request = ExchangeRequest {
        subject_token: subject,
        subject_token_type: if targets.own {
            TokenType::AccessToken
        } else {
            TokenType::Jwt
        },
        requested_token_type: TokenType::AccessToken,
        audiences: targets.audiences.clone(),
        resources: targets.resources.clone(),
        scope: targets.scope,
        actor: (targets.actor.as_ref()).map(|(token, token_type)| ActorToken {
            token,
            token_type: *token_type,
        }),
    };
    h.app
        .service
        .explain(&org(), &ClientId::new(client_id), &request)
        .await
}

pub(super) fn failed(explanation: &Explanation) -> Vec<&'static str> {
    explanation
        .checks
        .iter()
        .filter(|c| c.result == Outcome::Fail)
        .map(|c| c.check)
        .collect()
}

#[tokio::test]
async fn allows_what_the_token_endpoint_issues_and_shows_the_claims() {
    let h = Harness::new();
    let subject = h.subject();
    let explained = explain(&h, "web", &subject).await;
    assert_eq!(explained.denial, None);
    assert!(failed(&explained).is_empty());
    let names: Vec<_> = explained.checks.iter().map(|c| c.check).collect();
    assert_eq!(names, CHECKS);
    for check in &explained.checks {
        let expected = if check.check.starts_with("actor.") {
            Outcome::Skip
        } else {
            Outcome::Pass
        };
        assert_eq!(check.result, expected, "{}", check.check);
    }
    let claims = explained.claims.unwrap();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["idp"], ISSUER);
    assert_eq!(claims["exp"], NOW + 600);
    assert!(claims.get("jti").is_none());

    // It consumed nothing: the same subject token (require_jti) still exchanges once.
    assert_eq!(h.exchange(WEB, &subject).await.status, StatusCode::OK);
    assert_eq!(h.memory.refresh_store.families(), 1);
}

#[tokio::test]
async fn names_the_failing_check_and_skips_the_rest() {
    let h = Harness::new();
    let mut expired = h.claims();
    expired["exp"] = json!(NOW - 61);
    let explained = explain(&h, "web", &h.idp.sign(&expired)).await;
    assert_eq!(failed(&explained), ["expiry"]);
    let at = CHECKS.iter().position(|c| *c == "expiry").unwrap();
    assert!(
        explained.checks[..at]
            .iter()
            .all(|c| c.result == Outcome::Pass)
    );
    assert!(
        explained.checks[at + 1..]
            .iter()
            .all(|c| c.result == Outcome::Skip)
    );

    let explained = explain(&h, "nobody", &h.subject()).await;
    assert_eq!(failed(&explained), ["client"]);
    assert_eq!(explained.denial, Some(TokenError::InvalidClient));
    let explained = explain(&h, "spa", &h.subject()).await;
    assert_eq!(failed(&explained), ["grant"]);
}
