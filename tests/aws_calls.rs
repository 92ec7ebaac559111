//! AWS calls per request, as counted by the SDK interceptor on the functions' own clients
//! (see `trustgate::metrics`), against the emulator: what a warm function costs on AWS.

use crate::common;

use std::collections::HashSet;
use std::sync::Arc;

use common::keys::RSA_2048;
use common::stack::*;
use lambda_http::http::StatusCode;
use trustgate::aws::admin_store::AdminStore;
use trustgate::domain::application::{AppType, GrantType};
use trustgate::domain::issuer::Algorithm;
use trustgate::domain::random_hex;
use trustgate::metrics::AwsCalls;

fn calls(dynamodb_reads: u32, dynamodb_writes: u32, kms_calls: u32) -> AwsCalls {
    AwsCalls {
        dynamodb_reads,
        dynamodb_writes,
        kms_calls,
    }
}

fn subject_token(stack: &Stack) -> String {
    RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &stack.claims())
}

/// The contract's budget: a plain warm exchange makes at most one DynamoDB read, the
/// organization's configuration generation, read concurrently with the KMS `Sign`.
#[tokio::test]
async fn a_warm_exchange_makes_one_dynamodb_read_and_one_kms_call() {
    let stack = Stack::new().await;
    let cold = stack.exchange(&subject_token(&stack)).await;
    assert_eq!(cold.status, StatusCode::OK, "{}", cold.body);
    assert_eq!(
        cold.calls,
        calls(3, 0, 2),
        "cold: GetItem organization (its generation), then GetItem application + Query \
         issuers; GetPublicKey + Sign"
    );

    let warm = stack.exchange(&subject_token(&stack)).await;
    assert_eq!(warm.status, StatusCode::OK, "{}", warm.body);
    assert_eq!(
        warm.calls,
        calls(1, 0, 1),
        "warm: GetItem organization (the generation) while KMS signs"
    );
    assert_eq!(stack.jwks.requests(), 1, "issuer keys are cached too");
}

#[tokio::test]
async fn a_warm_exchange_with_a_refresh_token_adds_one_dynamodb_write() {
    let stack = Stack::new().await;
    let secret = random_hex(32);
    let app = application(
        AppType::Web,
        &[GrantType::TokenExchange, GrantType::RefreshToken],
        Some(&secret),
    );
    stack.add_application(&app).await;
    let exchange = || {
        let token = subject_token(&stack);
        let request = form_request(
            &stack.token_path(),
            &[
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token", &token),
                ("subject_token_type", JWT_TYPE),
            ],
            Some((&app.client_id, &secret)),
        );
        call(&stack.token, request)
    };
    let cold = exchange().await;
    assert_eq!(cold.status, StatusCode::OK, "{}", cold.body);
    let warm = exchange().await;
    assert_eq!(warm.status, StatusCode::OK, "{}", warm.body);
    assert!(warm.body["refresh_token"].is_string());
    assert_eq!(
        warm.calls,
        calls(1, 1, 1),
        "warm: the generation read and the refresh family written while KMS signs"
    );
}

/// After an admin change the next exchange reads the generation, sees it moved and reads the
/// records again; the one after that is back to the warm budget.
#[tokio::test]
async fn an_admin_change_costs_the_next_exchange_one_reload() {
    let stack = Stack::new().await;
    let first = stack.exchange(&subject_token(&stack)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let other = application(AppType::Web, &[GrantType::TokenExchange], Some("x"));
    let admin = AdminStore::new(&stack.app.table);
    admin.create_application(&stack.org, &other).await.unwrap();
    let changed = stack.exchange(&subject_token(&stack)).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(
        changed.calls,
        calls(1 + 2, 0, 2),
        "the generation, then application and issuers again; the first token is signed \
         before the change is known and dropped, the second one is handed out"
    );
    let warm = stack.exchange(&subject_token(&stack)).await;
    assert_eq!(warm.calls, calls(1, 0, 1));
}

#[tokio::test]
async fn a_warm_jwks_or_discovery_request_makes_no_aws_call() {
    let stack = Stack::new().await;
    let jwks = format!("/t/{}/oauth2/jwks", stack.org);
    let cold = call(&stack.token, get(&jwks)).await;
    assert_eq!(cold.status, StatusCode::OK, "{}", cold.body);
    assert_eq!(
        cold.calls,
        calls(1, 0, 1),
        "cold: GetItem organization; GetPublicKey"
    );

    let warm = call(&stack.token, get(&jwks)).await;
    assert_eq!(warm.status, StatusCode::OK, "{}", warm.body);
    assert_eq!(warm.calls, calls(0, 0, 0));
    let discovery = format!(
        "/t/{}/oauth2/token/.well-known/openid-configuration",
        stack.org
    );
    let warm = call(&stack.token, get(&discovery)).await;
    assert_eq!(warm.status, StatusCode::OK, "{}", warm.body);
    assert_eq!(warm.calls, calls(0, 0, 0));
}

/// The contract's budget for an introspection: one read plus one `BatchGetItem`. The access
/// token is verified with the cached public key, so no KMS call either.
#[tokio::test]
async fn a_warm_introspection_makes_one_read_and_one_batch_read() {
    let stack = Stack::new().await;
    let issued = stack.exchange(&subject_token(&stack)).await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    let token = issued.body["access_token"].as_str().unwrap();
    let introspect = || {
        let request = form_request(
            &format!("/t/{}/oauth2/introspect", stack.org),
            &[("token", token)],
            Some((&stack.client_id, &stack.secret)),
        );
        call(&stack.token, request)
    };
    let first = introspect().await;
    assert_eq!(first.body["active"], true, "{}", first.body);
    let warm = introspect().await;
    assert_eq!(warm.body["active"], true, "{}", warm.body);
    assert_eq!(
        warm.calls,
        calls(2, 0, 0),
        "GetItem organization (the generation) and BatchGetItem of the token's revoked-jti,          subject and client records"
    );
}

/// The contract's budget for a refresh, and for introspecting a refresh token: the token (one
/// `GetItem`), then the organization, the application, the issuer, the family and the
/// revocations in one `BatchGetItem`.
#[tokio::test]
async fn a_refresh_and_a_refresh_tokens_introspection_make_one_read_and_one_batch_read() {
    let stack = Stack::new().await;
    let secret = random_hex(32);
    let app = application(
        AppType::Web,
        &[GrantType::TokenExchange, GrantType::RefreshToken],
        Some(&secret),
    );
    stack.add_application(&app).await;
    let client = Some((app.client_id.as_str(), secret.as_str()));
    let token = subject_token(&stack);
    let params = [
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", token.as_str()),
        ("subject_token_type", JWT_TYPE),
    ];
    let issued = call(
        &stack.token,
        form_request(&stack.token_path(), &params, client),
    )
    .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    let mut refresh_token = issued.body["refresh_token"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        let params = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
        ];
        let refreshed = call(
            &stack.token,
            form_request(&stack.token_path(), &params, client),
        )
        .await;
        assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
        assert_eq!(
            refreshed.calls,
            calls(2, 1, 1),
            "GetItem refresh token, BatchGetItem of the rest; the rotation's transaction; Sign"
        );
        refresh_token = refreshed.body["refresh_token"].as_str().unwrap().to_owned();
    }
    let path = format!("/t/{}/oauth2/introspect", stack.org);
    let introspected = call(
        &stack.token,
        form_request(&path, &[("token", refresh_token.as_str())], client),
    )
    .await;
    assert_eq!(introspected.body["active"], true, "{}", introspected.body);
    assert_eq!(introspected.calls, calls(2, 0, 0));
}

/// One execution environment serves concurrent requests (`lambda_http::run_concurrent`): the
/// caches stay correct and every request's counts are its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_exchanges_through_one_function_each_count_their_own_calls() {
    let stack = Arc::new(Stack::new().await);

    // Cold and concurrent: every request succeeds and signs once; the public key is loaded
    // once for all of them, so exactly one request also counts the `GetPublicKey`.
    let replies = exchanges(&stack, 16).await;
    for reply in &replies {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert!(reply.calls.dynamodb_reads <= 3, "{:?}", reply.calls);
    }
    let mut kms: Vec<u32> = replies.iter().map(|r| r.calls.kms_calls).collect();
    kms.sort();
    assert_eq!(kms, [[1; 15].as_slice(), &[2]].concat());

    // Warm and concurrent: exactly one KMS call and one read (the generation) each, distinct
    // tokens.
    let replies = exchanges(&stack, 32).await;
    let mut tokens = HashSet::new();
    for reply in &replies {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.calls, calls(1, 0, 1));
        tokens.insert(reply.body["access_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(tokens.len(), replies.len());
    assert_eq!(
        stack.jwks.requests(),
        1,
        "concurrent misses share one fetch"
    );
}

async fn exchanges(stack: &Arc<Stack>, n: usize) -> Vec<Reply> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let stack = Arc::clone(stack);
        tasks.spawn(async move { stack.exchange(&subject_token(&stack)).await });
    }
    tasks.join_all().await
}
