//! The application's exchange policy through the token endpoint against the emulator:
//! `audience`/`resource` and `scope` granted into `aud` and `scope`, each refusal with its
//! exact error code, and refresh keeping, narrowing and re-checking what was granted.

use crate::common;

use common::keys::RSA_2048;
use common::stack::*;
use lambda_http::http::StatusCode;
use serde_json::json;
use trustgate::domain::application::{AppType, Application, GrantType};
use trustgate::domain::issuer::Algorithm;
use trustgate::domain::random_hex;

const API: &str = "https://api.example.com/v1";

/// A web application with both grants and this policy (`None`: any issuer).
async fn agent(
    stack: &Stack,
    issuers: Option<Vec<String>>,
    audiences: &[&str],
    scopes: &[&str],
) -> (Application, String) {
    let secret = random_hex(32);
    let grants = [GrantType::TokenExchange, GrantType::RefreshToken];
    let mut app = application(AppType::Web, &grants, Some(&secret));
    app.allowed_issuers = issuers;
    app.allowed_audiences = audiences.iter().map(|s| s.to_string()).collect();
    app.allowed_scopes = scopes.iter().map(|s| s.to_string()).collect();
    stack.add_application(&app).await;
    (app, secret)
}

async fn exchange(
    stack: &Stack,
    (app, secret): &(Application, String),
    more: &[(&str, &str)],
) -> Reply {
    let subject = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &stack.claims());
    let mut params = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", subject.as_str()),
        ("subject_token_type", JWT_TYPE),
    ];
    params.extend_from_slice(more);
    let request = form_request(&stack.token_path(), &params, Some((&app.client_id, secret)));
    call(&stack.token, request).await
}

async fn refresh(
    stack: &Stack,
    (app, secret): &(Application, String),
    token: &str,
    scope: Option<&str>,
) -> Reply {
    let mut params = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    params.extend(scope.map(|s| ("scope", s)));
    let request = form_request(&stack.token_path(), &params, Some((&app.client_id, secret)));
    call(&stack.token, request).await
}

#[tokio::test]
async fn grants_audiences_resources_and_scope_into_aud_and_scope() {
    let stack = Stack::new().await;
    let issuer = Some(vec![stack.issuer.id.clone()]);
    let client = agent(&stack, issuer, &["billing", API], &["read", "write"]).await;
    let more = [
        ("audience", "billing"),
        ("resource", API),
        ("audience", "billing"),
        ("scope", "write read"),
    ];
    let reply = exchange(&stack, &client, &more).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["scope"], "write read");
    let token = reply.body["access_token"].as_str().unwrap();
    let (_, claims) = stack.verify_issued_to(token, "billing").await;
    assert_eq!(claims["aud"], json!(["billing", API]));
    assert_eq!(claims["scope"], "write read");
    assert_eq!(claims["client_id"], client.0.client_id.as_str());

    let reply = exchange(&stack, &client, &[]).await;
    let token = reply.body["access_token"].as_str().unwrap();
    let (_, claims) = stack.verify_issued_to(token, &client.0.client_id).await;
    assert_eq!(
        claims["aud"],
        client.0.client_id.as_str(),
        "no target: the client"
    );
    assert!(claims.get("scope").is_none() && reply.body.get("scope").is_none());
}

#[tokio::test]
async fn each_policy_refusal_has_its_exact_error_code() {
    let stack = Stack::new().await;
    let client = agent(
        &stack,
        None,
        &["billing", "https://r.example/#f", "https://Eõ/"],
        &["read"],
    )
    .await;
    for (more, status, error) in [
        (
            &[("audience", "Billing")][..],
            StatusCode::BAD_REQUEST,
            "invalid_target",
        ),
        (
            &[("resource", API)],
            StatusCode::BAD_REQUEST,
            "invalid_target",
        ),
        (
            &[("resource", "https://r.example/#f")],
            StatusCode::BAD_REQUEST,
            "invalid_target",
        ),
        // Allowed, but not an RFC 3986 URI (not ASCII).
        (
            &[("resource", "https://Eõ/")],
            StatusCode::BAD_REQUEST,
            "invalid_target",
        ),
        (
            &[("scope", "read write")],
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
        (
            &[("scope", "read"), ("scope", "read")],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ] {
        assert_error(&exchange(&stack, &client, more).await, status, error);
    }
    for issuers in [vec![], vec!["self".to_owned()], vec![random_hex(16)]] {
        let refused = agent(&stack, Some(issuers), &[], &[]).await;
        let reply = exchange(&stack, &refused, &[]).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(
            (reply.body["error_description"].as_str().unwrap()).contains("issuer"),
            "{}",
            reply.body
        );
    }
}

#[tokio::test]
async fn refresh_keeps_the_grant_narrows_scope_and_ends_once_the_policy_stops_allowing_it() {
    let stack = Stack::new().await;
    let client = agent(&stack, None, &["billing"], &["read", "write"]).await;
    let more = [("audience", "billing"), ("scope", "read write")];
    let reply = exchange(&stack, &client, &more).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let first = reply.body["refresh_token"].as_str().unwrap().to_owned();

    let reply = refresh(&stack, &client, &first, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["scope"], "read write");
    let token = reply.body["access_token"].as_str().unwrap();
    let (_, claims) = stack.verify_issued_to(token, "billing").await;
    assert_eq!(
        (&claims["aud"], &claims["scope"]),
        (&json!("billing"), &json!("read write"))
    );
    assert_eq!(claims["idp"], stack.issuer.issuer.as_str());
    let second = reply.body["refresh_token"].as_str().unwrap().to_owned();

    let reply = refresh(&stack, &client, &second, Some("read admin")).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_scope");
    let reply = refresh(&stack, &client, &second, Some("read")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["scope"], "read");
    let token = reply.body["access_token"].as_str().unwrap();
    let (_, claims) = stack.verify_issued_to(token, "billing").await;
    assert_eq!(claims["scope"], "read");
    let third = reply.body["refresh_token"].as_str().unwrap().to_owned();

    // The policy no longer allows write: the family is refused and revoked.
    let (mut app, secret) = client;
    app.allowed_scopes = vec!["read".into()];
    stack.replace_application(&app).await;
    let client = (app, secret);
    let reply = refresh(&stack, &client, &third, None).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");
    // Allowed again, the family stays revoked.
    let (mut app, secret) = client;
    app.allowed_scopes = vec!["read".into(), "write".into()];
    stack.replace_application(&app).await;
    let reply = refresh(&stack, &(app, secret), &third, None).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");
}
