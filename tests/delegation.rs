//! Delegation through the token endpoint against the emulator: an agent acting for a user
//! (actor_token), a two-hop chain producing nested `act`, `may_act` match and mismatch, and a
//! chain deeper than `max_depth` refused — with explain (admin function, same table) agreeing.

use crate::common;

use common::admin::{Admin, Settings};
use common::keys::RSA_2048;
use common::stack::*;
use lambda_http::http::StatusCode;
use serde_json::{Value, json};
use trustgate::domain::application::{AppType, Application, GrantType};
use trustgate::domain::exchange_policy::Delegation;
use trustgate::domain::issuer::Algorithm;
use trustgate::domain::random_hex;

const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

async fn client(stack: &Stack, configure: impl FnOnce(&mut Application)) -> (Application, String) {
    let secret = random_hex(32);
    let mut app = application(AppType::Web, &[GrantType::TokenExchange], Some(&secret));
    configure(&mut app);
    stack.add_application(&app).await;
    (app, secret)
}

fn token_of(stack: &Stack, sub: &str, extra: Value) -> String {
    let mut claims = stack.claims();
    claims["sub"] = json!(sub);
    for (name, value) in extra.as_object().unwrap() {
        claims[name] = value.clone();
    }
    RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims)
}

async fn delegated(
    stack: &Stack,
    (app, secret): &(Application, String),
    subject: (&str, &str),
    actor: &str,
    more: &[(&str, &str)],
) -> Reply {
    let mut params = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", subject.0),
        ("subject_token_type", subject.1),
        ("actor_token", actor),
        ("actor_token_type", JWT_TYPE),
    ];
    params.extend_from_slice(more);
    let path = stack.token_path();
    call(
        &stack.token,
        form_request(&path, &params, Some((&app.client_id, secret))),
    )
    .await
}

fn delegation(stack: &Stack, max_depth: u8) -> Option<Delegation> {
    Some(Delegation {
        allowed_actor_issuers: vec![stack.issuer.id.clone()],
        max_depth,
    })
}

#[tokio::test]
async fn a_two_hop_chain_nests_act_and_a_deeper_one_than_max_depth_is_refused() {
    let stack = Stack::new().await;
    let tickets = client(&stack, |app| {
        app.allowed_issuers = Some(vec!["self".into()]);
        app.delegation = delegation(&stack, 2);
    })
    .await;
    let shallow = client(&stack, |app| {
        app.allowed_issuers = Some(vec!["self".into()]);
        app.delegation = delegation(&stack, 1);
    })
    .await;
    let tickets_id = tickets.0.client_id.clone();
    let shallow_id = shallow.0.client_id.clone();
    let agent = client(&stack, |app| {
        app.allowed_audiences = vec![tickets_id, shallow_id];
        app.delegation = delegation(&stack, 1);
    })
    .await;

    let user = token_of(&stack, "alice", json!({}));
    let actor = token_of(&stack, "agent-7", json!({}));
    let audience = tickets.0.client_id.as_str();
    let more = [
        ("audience", audience),
        ("audience", shallow.0.client_id.as_str()),
    ];
    let reply = delegated(&stack, &agent, (&user, JWT_TYPE), &actor, &more).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let first = reply.body["access_token"].as_str().unwrap().to_owned();
    let (_, claims) = stack.verify_issued_to(&first, audience).await;
    let idp = stack.issuer.issuer.as_str();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["act"], json!({"sub": "agent-7", "idp": idp}));

    let second_actor = token_of(&stack, "agent-8", json!({}));
    let reply = delegated(&stack, &tickets, (&first, ACCESS_TOKEN), &second_actor, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let token = reply.body["access_token"].as_str().unwrap();
    let (_, claims) = stack.verify_issued_to(token, audience).await;
    assert_eq!(claims["sub"], "alice");
    assert_eq!(
        claims["act"],
        json!({"sub": "agent-8", "idp": idp, "act": {"sub": "agent-7", "idp": idp}})
    );

    let third_actor = token_of(&stack, "agent-9", json!({}));
    let reply = delegated(&stack, &shallow, (&first, ACCESS_TOKEN), &third_actor, &[]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn may_act_allows_only_the_named_actor_and_explain_agrees() {
    let stack = Stack::new().await;
    let agent = client(&stack, |app| app.delegation = delegation(&stack, 1)).await;
    let may_act = json!({"may_act": {"sub": "agent-7", "iss": stack.issuer.issuer}});

    let user = token_of(&stack, "alice", may_act.clone());
    let actor = token_of(&stack, "agent-7", json!({}));
    let reply = delegated(&stack, &agent, (&user, JWT_TYPE), &actor, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    let user = token_of(&stack, "alice", may_act);
    let other = token_of(&stack, "agent-8", json!({}));
    let reply = delegated(&stack, &agent, (&user, JWT_TYPE), &other, &[]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");

    let admin = Admin::with(Settings {
        auth_iam: false,
        allow_insecure_jwks: true,
    })
    .await;
    let path = format!("/t/{}/api/token-exchange/explain", stack.org);
    let body = json!({"client_id": agent.0.client_id, "subject_token": user,
                      "subject_token_type": JWT_TYPE, "actor_token": other,
                      "actor_token_type": JWT_TYPE});
    let explained = admin.post(&path, body).await.body;
    assert_eq!(explained["decision"], "deny", "{explained:#}");
    assert_eq!(
        explained["error"]["error_description"],
        reply.body["error_description"]
    );
    let result = |name: &str| {
        let checks = explained["checks"].as_array().unwrap();
        checks.iter().find(|c| c["check"] == name).unwrap()["result"].clone()
    };
    assert_eq!(result("actor.signature"), "pass");
    assert_eq!(result("delegation"), "fail");
    assert_eq!(result("claim_mappings"), "skip");

    // Without a delegation policy: refused.
    let plain = client(&stack, |_| {}).await;
    let user = token_of(&stack, "alice", json!({}));
    let actor = token_of(&stack, "agent-7", json!({}));
    let reply = delegated(&stack, &plain, (&user, JWT_TYPE), &actor, &[]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}
