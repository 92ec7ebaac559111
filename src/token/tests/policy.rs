//! The trust policy step through the token endpoint, in-process: conditions refuse, `subject`
//! and `claim_mappings` shape the issued token, a refresh keeps them, explain names the step,
//! and a hostile expression is stopped without taking the service down.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::domain::ids::ClientId;
use crate::oauth::request::{ExchangeRequest, TokenType};

fn with_policy(
    h: &Harness,
    condition: Option<&str>,
    subject: Option<&str>,
    mappings: &[(&str, &str)],
) {
    let mut record = issuer(true);
    record.settings.condition = condition.map(str::to_owned);
    record.settings.subject = subject.map(str::to_owned);
    record.settings.claim_mappings = mappings
        .iter()
        .map(|(name, expression)| (name.to_string(), expression.to_string()))
        .collect::<BTreeMap<_, _>>();
    h.memory.config_store.put_issuer(&org(), record);
}

fn github_subject(h: &Harness, owner: &str, git_ref: &str) -> String {
    let mut claims = h.claims();
    claims["repository_owner"] = json!(owner);
    claims["ref"] = json!(git_ref);
    claims["repository"] = json!(format!("{owner}/app"));
    h.idp.sign(&claims)
}

const GITHUB: &str = r#"claims.repository_owner == "acme" && claims.ref == "refs/heads/main""#;

#[tokio::test]
async fn a_false_or_failing_condition_refuses_with_invalid_request() {
    let h = Harness::new();
    with_policy(&h, Some(GITHUB), None, &[]);
    let reply = h
        .exchange(WEB, &github_subject(&h, "acme", "refs/heads/main"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    let reply = h
        .exchange(WEB, &github_subject(&h, "evil", "refs/heads/main"))
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    let description = reply.body["error_description"].as_str().unwrap();
    assert!(description.contains("condition"), "{description}");
    assert!(
        !description.contains("evil"),
        "no claim value is echoed: {description}"
    );

    // A claim the condition reads is missing: an evaluation error, which refuses too.
    let reply = h.exchange(WEB, &h.subject()).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn subject_and_claim_mappings_shape_the_issued_token_and_a_refresh_keeps_them() {
    let h = Harness::new();
    let mappings = [
        ("repository", "claims.repository"),
        ("team", "has(claims.team) ? claims.team : null"),
    ];
    with_policy(
        &h,
        Some(GITHUB),
        Some(r#""github|" + claims.sub"#),
        &mappings,
    );
    let reply = h
        .exchange(WEB, &github_subject(&h, "acme", "refs/heads/main"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let claims = verified_claims(&h, reply.body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "github|alice");
    assert_eq!(claims["idp"], ISSUER);
    assert_eq!(claims["repository"], "acme/app");
    assert!(
        claims.get("team").is_none(),
        "a null result omits the claim"
    );
    assert!(claims.get("ref").is_none(), "nothing unmapped is copied");

    let refresh = reply.body["refresh_token"].as_str().unwrap();
    let reply = h.refresh(WEB, refresh).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let refreshed = verified_claims(&h, reply.body["access_token"].as_str().unwrap());
    assert_eq!(refreshed["sub"], "github|alice");
    assert_eq!(refreshed["repository"], "acme/app");
}

#[tokio::test]
async fn a_changed_policy_is_compiled_again() {
    // Without the record cache, each exchange sees the stored record as it is.
    let memory_harness = Harness::new();
    let mut uncached = config();
    uncached.config_cache_ttl = std::time::Duration::ZERO;
    let h = Harness {
        app: TokenApp {
            service: TokenService::new(uncached, memory_harness.memory.ports()),
        },
        ..memory_harness
    };
    with_policy(&h, None, Some(r#""one|" + claims.sub"#), &[]);
    let reply = h.exchange(WEB, &h.subject()).await;
    let claims = verified_claims(&h, reply.body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "one|alice");
    with_policy(&h, None, Some(r#""two|" + claims.sub"#), &[]);
    let reply = h.exchange(WEB, &h.subject()).await;
    let claims = verified_claims(&h, reply.body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "two|alice");
}

#[tokio::test]
async fn a_mapping_that_fails_refuses_naming_the_mapping_and_explain_agrees() {
    let h = Harness::new();
    with_policy(&h, None, None, &[("owner", "claims.repository_owner")]);
    let subject = h.subject();
    let request = ExchangeRequest {
        subject_token: &subject,
        subject_token_type: TokenType::Jwt,
        requested_token_type: TokenType::AccessToken,
        audiences: vec![],
        resources: vec![],
        scope: None,
        actor: None,
    };
    let explained = h
        .app
        .service
        .explain(&org(), &ClientId::new("web"), &request)
        .await;
    assert_eq!(super::explain::failed(&explained), ["claim_mappings"]);
    let reply = h.exchange(WEB, &subject).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    let description = reply.body["error_description"].as_str().unwrap();
    assert!(
        description.contains("owner"),
        "names the mapping: {description}"
    );
    let expected = crate::oauth::OAuthError::from(explained.denial.unwrap());
    assert_eq!(description, expected.description);
}

#[tokio::test]
async fn a_hostile_expression_is_stopped_and_the_service_keeps_serving() {
    let h = Harness::new();
    let mut claims = h.claims();
    claims["groups"] = json!((0..1000).map(|i| format!("g{i}")).collect::<Vec<_>>());
    let token = h.idp.sign(&claims);
    // A million iterations if it ran: stopped by the evaluation budget.
    with_policy(
        &h,
        Some("claims.groups.exists(a, claims.groups.exists(b, a + b == \"x\"))"),
        None,
        &[],
    );
    let started = std::time::Instant::now();
    let reply = h.exchange(WEB, &token).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    let description = reply.body["error_description"].as_str().unwrap();
    assert!(
        description.contains("more than 10000 elements"),
        "{description}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // The same service, with the same policy, serves the next request.
    claims["groups"] = json!(["", "x"]);
    claims["jti"] = json!("another");
    let reply = h.exchange(WEB, &h.idp.sign(&claims)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}
