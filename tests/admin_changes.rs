//! Admin changes take effect at once (contract, "Admin changes take effect at once"; issue
//! #16): through the admin API and the token endpoint against the emulator, with
//! `TRUSTGATE_CONFIG_CACHE_SECONDS=3600` and warm token functions, each change applies to the
//! very next token request. Two warm Lambda execution environments are shown two ways: as two
//! `token` processes (the binary, configured from its environment, polling a fake Lambda
//! Runtime API as in Lambda: `two_token_processes_…`), and, for every kind of change, as two
//! services built in-process, each with its own record cache, JWKS cache and lockout state,
//! sharing the table and the signing key.

use crate::common;

use std::sync::Arc;

use base64::Engine;
use common::admin::{self, Admin};
use common::keys::RSA_2048;
use common::lambda_runtime::{Function, exchange_event};
use common::stack::*;
use lambda_http::http::StatusCode;
use serde_json::{Value, json};
use trustgate::config;
use trustgate::domain::issuer::Algorithm;
use trustgate::domain::now_epoch;
use trustgate::http::token::TokenApp;

const AN_HOUR: &[(&str, &str)] = &[(config::CONFIG_CACHE_SECONDS, "3600")];

/// A stack whose token function caches for an hour, a second token function like it, and the
/// admin API; both token functions warmed by one exchange each.
struct World {
    stack: Stack,
    second: TokenApp,
    admin: Admin,
}

impl World {
    async fn new() -> World {
        let stack = Stack::with_config(AN_HOUR).await;
        let config = config(&stack.app, AN_HOUR);
        let signer = Arc::new(kms_signer(&stack.app, &config));
        let table = Arc::new(stack.app.table.clone());
        let second = token_app(&stack.app, config, table, signer);
        let admin = Admin::with(admin::Settings {
            auth_iam: true,
            allow_insecure_jwks: true,
        })
        .await;
        let world = World {
            stack,
            second,
            admin,
        };
        for function in world.functions() {
            let reply = world
                .exchange(function, &world.credentials(), &world.subject())
                .await;
            assert_eq!(reply.status, StatusCode::OK, "warm-up: {}", reply.body);
        }
        world
    }

    fn functions(&self) -> [&TokenApp; 2] {
        [&self.stack.token, &self.second]
    }

    fn credentials(&self) -> (String, String) {
        (self.stack.client_id.clone(), self.stack.secret.clone())
    }

    fn subject(&self) -> String {
        RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &self.stack.claims())
    }

    async fn exchange(
        &self,
        function: &TokenApp,
        (client_id, secret): &(String, String),
        subject_token: &str,
    ) -> Reply {
        let request = form_request(
            &self.stack.token_path(),
            &[
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token", subject_token),
                ("subject_token_type", JWT_TYPE),
            ],
            Some((client_id, secret)),
        );
        call(function, request).await
    }

    fn application_path(&self) -> String {
        format!(
            "/t/{}/api/applications/{}",
            self.stack.org, self.stack.client_id
        )
    }

    fn issuer_path(&self) -> String {
        format!(
            "/t/{}/api/trusted-token-issuers/{}",
            self.stack.org, self.stack.issuer.id
        )
    }
}

#[tokio::test]
async fn after_a_secret_rotation_two_warm_functions_refuse_the_old_secret_and_accept_the_new() {
    let w = World::new().await;
    let reply = w
        .admin
        .post(&format!("{}/secret", w.application_path()), json!({}))
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    let new_secret = reply.body["client_secret"].as_str().unwrap().to_owned();
    let new = (w.stack.client_id.clone(), new_secret);
    for function in w.functions() {
        let reply = w.exchange(function, &w.credentials(), &w.subject()).await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
        let reply = w.exchange(function, &new, &w.subject()).await;
        assert_eq!(reply.status, StatusCode::OK, "new secret: {}", reply.body);
    }
}

#[tokio::test]
async fn a_disabled_application_is_refused_at_once_by_two_warm_functions() {
    let w = World::new().await;
    let reply = w
        .admin
        .patch(&w.application_path(), json!({"enabled": false}))
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    for function in w.functions() {
        let reply = w.exchange(function, &w.credentials(), &w.subject()).await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
    }
    // And enabled again: accepted at once too.
    let reply = w
        .admin
        .patch(&w.application_path(), json!({"enabled": true}))
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    for function in w.functions() {
        let reply = w.exchange(function, &w.credentials(), &w.subject()).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
}

#[tokio::test]
async fn an_issuer_registered_right_after_a_refused_exchange_is_accepted_on_the_next_request() {
    let w = World::new().await;
    let late_issuer = format!("https://late.example.com/{}", w.stack.org);
    let now = now_epoch();
    let claims = json!({"iss": late_issuer, "sub": "late-user", "aud": w.stack.org_issuer(),
                        "exp": now + 300, "iat": now});
    let token = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims);
    let reply = w.exchange(&w.stack.token, &w.credentials(), &token).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");

    let body = json!({"name": "Late IdP", "issuer": late_issuer, "jwks_uri": w.stack.jwks.url()});
    let path = format!("/t/{}/api/trusted-token-issuers", w.stack.org);
    let reply = w.admin.post(&path, body).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);

    let reply = w.exchange(&w.stack.token, &w.credentials(), &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let (_, claims) = w
        .stack
        .verify_issued(reply.body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["sub"], "late-user");
    assert_eq!(claims["idp"], late_issuer);
}

#[tokio::test]
async fn a_changed_condition_applies_at_once() {
    let w = World::new().await;
    let reply = w
        .admin
        .patch(
            &w.issuer_path(),
            json!({"condition": "claims.sub == \"someone-else\""}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    for function in w.functions() {
        let reply = w.exchange(function, &w.credentials(), &w.subject()).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
        let description = reply.body["error_description"].as_str().unwrap();
        assert!(description.contains("condition"), "{description}");
    }
    let reply = w
        .admin
        .patch(
            &w.issuer_path(),
            json!({"condition": "claims.sub == \"user-42\""}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    let reply = w
        .exchange(&w.stack.token, &w.credentials(), &w.subject())
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn a_deleted_organization_is_refused_at_once() {
    let w = World::new().await;
    let reply = w
        .admin
        .delete(&format!("/api/organizations/{}", w.stack.org))
        .await;
    assert_eq!(reply.status, 204, "{:#}", reply.body);
    for function in w.functions() {
        let reply = w.exchange(function, &w.credentials(), &w.subject()).await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
    }
}

/// `require_jti` turned on applies at once on every function: the first function records the
/// `jti` (it decided again on the changed issuer, not on its cached one), and the second one,
/// warm with the old record, refuses the replay.
#[tokio::test]
async fn require_jti_turned_on_applies_at_once_on_every_function() {
    let w = World::new().await;
    let reply = w
        .admin
        .patch(&w.issuer_path(), json!({"require_jti": true}))
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    let mut claims = w.stack.claims();
    claims["jti"] = Value::from(common::unique("jti"));
    let token = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims);
    let reply = w.exchange(&w.stack.token, &w.credentials(), &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let replay = w.exchange(&w.second, &w.credentials(), &token).await;
    assert_error(&replay, StatusCode::BAD_REQUEST, "invalid_request");
}

/// The exchange form of `subject_token` and the Basic authorization of `(client_id, secret)`.
fn exchange_parts(subject_token: &str, (client_id, secret): &(String, String)) -> (String, String) {
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", TOKEN_EXCHANGE)
        .append_pair("subject_token", subject_token)
        .append_pair("subject_token_type", JWT_TYPE)
        .finish();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    (form, format!("Basic {basic}"))
}

/// Sends an exchange to a function process; its status and parsed body.
async fn exchange_in(
    function: &Function,
    org: &str,
    subject_token: &str,
    credentials: &(String, String),
) -> (u64, Value) {
    let (form, basic) = exchange_parts(subject_token, credentials);
    let (_, reply) = function.invoke(&exchange_event(org, &form, &basic)).await;
    let status = reply["statusCode"].as_u64().unwrap_or_default();
    let body = reply["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, body)
}

/// Two `token` processes, each configured as a deployment would be
/// (`TRUSTGATE_CONFIG_CACHE_SECONDS=3600`), both warm: a secret rotation and then a disabled
/// application are seen by each on its next request.
#[tokio::test]
async fn two_token_processes_warm_with_an_hour_of_cache_see_a_rotation_and_a_disable_at_once() {
    let w = World::new().await;
    let org = &w.stack.org;
    let env = [
        (config::CONFIG_CACHE_SECONDS, "3600".to_owned()),
        (config::PUBLIC_URL, PUBLIC_URL.to_owned()),
        (config::ALLOW_INSECURE_JWKS, "true".to_owned()),
    ];
    let binary = env!("CARGO_BIN_EXE_token");
    let processes = [
        Function::start(binary, &env, "target/admin-changes-token-1.log").await,
        Function::start(binary, &env, "target/admin-changes-token-2.log").await,
    ];
    for process in &processes {
        let (status, body) = exchange_in(process, org, &w.subject(), &w.credentials()).await;
        assert_eq!(status, 200, "warm-up: {body}");
    }

    let reply = w
        .admin
        .post(&format!("{}/secret", w.application_path()), json!({}))
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    let new = (
        w.stack.client_id.clone(),
        reply.body["client_secret"].as_str().unwrap().to_owned(),
    );
    for process in &processes {
        let (status, body) = exchange_in(process, org, &w.subject(), &w.credentials()).await;
        assert_eq!(
            (status, &body["error"]),
            (401, &json!("invalid_client")),
            "{body}"
        );
        let (status, body) = exchange_in(process, org, &w.subject(), &new).await;
        assert_eq!(status, 200, "the new secret: {body}");
    }

    let reply = w
        .admin
        .patch(&w.application_path(), json!({"enabled": false}))
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    for process in &processes {
        let (status, body) = exchange_in(process, org, &w.subject(), &new).await;
        assert_eq!(
            (status, &body["error"]),
            (401, &json!("invalid_client")),
            "{body}"
        );
    }
    for process in processes {
        process.stop().await;
    }
}
