//! `POST /t/{org}/api/token-exchange/explain` through the admin function against the emulator,
//! beside the token function over the same table: the same inputs get the same answer.

use crate::common;

use common::admin::{Admin, Settings};
use common::keys::RSA_2048;
use common::stack::Stack;
use lambda_http::http::StatusCode;
use serde_json::{Value, json};
use trustgate::domain::issuer::Algorithm;

const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

async fn admin() -> Admin {
    // The stack's issuer serves its JWKS over plain HTTP on 127.0.0.1.
    Admin::with(Settings {
        auth_iam: false,
        allow_insecure_jwks: true,
    })
    .await
}

async fn explain(admin: &Admin, stack: &Stack, client_id: &str, token: &str) -> Value {
    let path = format!("/t/{}/api/token-exchange/explain", stack.org);
    let body = json!({"client_id": client_id, "subject_token": token, "subject_token_type": JWT});
    let reply = admin.post(&path, body).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    reply.body
}

fn failed(explained: &Value) -> Vec<&str> {
    explained["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["result"] == "fail")
        .map(|c| c["check"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn explains_an_allowed_exchange_with_the_would_be_claims_and_consumes_nothing() {
    let stack = Stack::new().await;
    let admin = admin().await;
    let token = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &stack.claims());
    let explained = explain(&admin, &stack, &stack.client_id, &token).await;
    assert_eq!(explained["decision"], "allow", "{explained:#}");
    assert_eq!(explained["error"], Value::Null);
    assert!(failed(&explained).is_empty());
    assert_eq!(explained["claims"]["sub"], "user-42");
    assert_eq!(explained["claims"]["idp"], stack.issuer.issuer.as_str());
    assert_eq!(explained["claims"]["aud"], stack.client_id.as_str());
    assert!(explained["claims"].get("jti").is_none());
    assert_eq!(explained["checks"].as_array().unwrap().len(), 34);

    // Nothing was consumed or issued: the token endpoint still exchanges the same token.
    let reply = stack.exchange(&token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn a_refusal_names_its_check_and_gives_the_token_endpoints_error() {
    let stack = Stack::new().await;
    let admin = admin().await;
    let mut claims = stack.claims();
    claims["aud"] = json!("https://elsewhere.example.com");
    let token = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims);
    let explained = explain(&admin, &stack, &stack.client_id, &token).await;
    assert_eq!(explained["decision"], "deny");
    assert_eq!(failed(&explained), ["audience"]);
    let reply = stack.exchange(&token).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(explained["error"]["error"], reply.body["error"]);
    assert_eq!(
        explained["error"]["error_description"],
        reply.body["error_description"]
    );

    let explained = explain(&admin, &stack, "0123456789abcdef0123456789abcdef", &token).await;
    assert_eq!(failed(&explained), ["client"]);
    assert_eq!(explained["error"]["error"], "invalid_client");
}

#[tokio::test]
async fn parameters_the_token_endpoint_refuses_fail_before_any_check_runs() {
    let stack = Stack::new().await;
    let admin = admin().await;
    let path = format!("/t/{}/api/token-exchange/explain", stack.org);
    let body = json!({"client_id": stack.client_id, "subject_token": "a.b.c",
                      "subject_token_type": "urn:example:unsupported"});
    let reply = admin.post(&path, body).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.body["decision"], "deny");
    assert_eq!(reply.body["error"]["error"], "invalid_request");
    assert_eq!(failed(&reply.body), ["format"]);
    let results: Vec<&str> = reply.body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["result"].as_str().unwrap())
        .collect();
    assert!(
        !results.contains(&"pass"),
        "nothing ran, so nothing passed: {results:?}"
    );
}

#[tokio::test]
async fn refuses_a_malformed_body_and_an_unknown_organization() {
    let stack = Stack::new().await;
    let admin = admin().await;
    let path = format!("/t/{}/api/token-exchange/explain", stack.org);
    let reply = admin.post(&path, json!({"client_id": "x"})).await;
    reply.assert_problem(400, None);
    let reply = admin
        .post(
            "/t/no-such-org-anywhere/api/token-exchange/explain",
            json!({"client_id": "x", "subject_token": "a.b.c", "subject_token_type": JWT}),
        )
        .await;
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn explains_the_applications_policy_checks_as_the_token_endpoint_decides_them() {
    use common::stack::{TOKEN_EXCHANGE, call, form_request};
    use trustgate::domain::application::{AppType, GrantType};
    let stack = Stack::new().await;
    let admin = admin().await;
    let secret = trustgate::domain::random_hex(32);
    let mut app =
        common::stack::application(AppType::Web, &[GrantType::TokenExchange], Some(&secret));
    app.allowed_issuers = Some(vec![stack.issuer.id.clone()]);
    app.allowed_audiences = vec!["billing".into(), "https://api.example.com/".into()];
    app.allowed_scopes = vec!["read".into()];
    stack.add_application(&app).await;
    let path = format!("/t/{}/api/token-exchange/explain", stack.org);

    for (audience, resource, scope, check, error) in [
        (
            vec!["billing"],
            vec!["https://api.example.com/"],
            Some("read"),
            None,
            None,
        ),
        (
            vec!["other"],
            vec![],
            None,
            Some("targets"),
            Some("invalid_target"),
        ),
        (
            vec![],
            vec!["https://api.example.com/#x"],
            None,
            Some("targets"),
            Some("invalid_target"),
        ),
        (
            vec![],
            vec![],
            Some("write"),
            Some("scopes"),
            Some("invalid_scope"),
        ),
    ] {
        let token = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &stack.claims());
        let body = json!({"client_id": app.client_id, "subject_token": token,
                          "subject_token_type": JWT, "audience": audience,
                          "resource": resource, "scope": scope});
        let explained = admin.post(&path, body).await.body;
        let failed_checks: Vec<&str> = check.into_iter().collect();
        assert_eq!(failed(&explained), failed_checks, "{explained:#}");
        assert_eq!(explained["error"]["error"], json!(error));

        let mut params = vec![
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", token.as_str()),
            ("subject_token_type", JWT),
        ];
        params.extend(audience.iter().map(|a| ("audience", *a)));
        params.extend(resource.iter().map(|r| ("resource", *r)));
        params.extend(scope.map(|s| ("scope", s)));
        let request = form_request(
            &stack.token_path(),
            &params,
            Some((&app.client_id, &secret)),
        );
        let reply = call(&stack.token, request).await;
        match error {
            None => {
                assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
                let claims = &explained["claims"];
                assert_eq!(
                    claims["aud"],
                    json!(["billing", "https://api.example.com/"])
                );
                assert_eq!(claims["scope"], "read");
            }
            Some(error) => {
                assert_eq!(reply.body["error"], error);
                assert_eq!(
                    reply.body["error_description"],
                    explained["error"]["error_description"]
                );
            }
        }
    }

    // An issuer the application may not exchange: application_policy.
    app.allowed_issuers = Some(vec!["self".into()]);
    stack.replace_application(&app).await;
    let token = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &stack.claims());
    let explained = explain(&admin, &stack, &app.client_id, &token).await;
    assert_eq!(failed(&explained), ["application_policy"]);
    assert_eq!(explained["error"]["error"], "invalid_request");
}
