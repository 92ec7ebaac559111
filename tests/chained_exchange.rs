//! Chained exchange through the token endpoint against the emulator: a downstream API
//! exchanges the token it was sent (KMS-signed, verified with the published keys), within the
//! subject's scope and lifetime; another client's attempt, a beyond-scope request and a revoked
//! token are refused, and revoking a token revokes what was exchanged from it.

use crate::common;

use common::keys::RSA_2048;
use common::stack::*;
use lambda_http::http::StatusCode;
use serde_json::json;
use trustgate::domain::application::{AppType, Application, GrantType};
use trustgate::domain::issuer::Algorithm;
use trustgate::domain::random_hex;

const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

struct Chain {
    stack: Stack,
    /// Exchanges the IdP's tokens, may ask for `downstream` (read, write).
    agent: (Application, String),
    /// Exchanges our own tokens, may ask for `api` (read, admin).
    downstream: (Application, String),
    /// Lists "self" but is neither issued the agent's token nor in its aud.
    bystander: (Application, String),
}

async fn client(stack: &Stack, configure: impl FnOnce(&mut Application)) -> (Application, String) {
    let secret = random_hex(32);
    let grants = [GrantType::TokenExchange, GrantType::RefreshToken];
    let mut app = application(AppType::Web, &grants, Some(&secret));
    configure(&mut app);
    stack.add_application(&app).await;
    (app, secret)
}

impl Chain {
    async fn new() -> Chain {
        let stack = Stack::new().await;
        let downstream = client(&stack, |app| {
            app.allowed_issuers = Some(vec!["self".into()]);
            app.allowed_audiences = vec!["api".into()];
            app.allowed_scopes = vec!["read".into(), "admin".into()];
        })
        .await;
        let downstream_id = downstream.0.client_id.clone();
        let agent = client(&stack, |app| {
            app.allowed_audiences = vec![downstream_id];
            app.allowed_scopes = vec!["read".into(), "write".into()];
        })
        .await;
        let bystander = client(&stack, |app| {
            app.allowed_issuers = Some(vec!["self".into()]);
        })
        .await;
        Chain {
            stack,
            agent,
            downstream,
            bystander,
        }
    }

    async fn send(&self, (app, secret): &(Application, String), params: &[(&str, &str)]) -> Reply {
        let path = self.stack.token_path();
        call(
            &self.stack.token,
            form_request(&path, params, Some((&app.client_id, secret))),
        )
        .await
    }

    /// The agent's token for the downstream API, with read and write.
    async fn parent(&self) -> Reply {
        let subject = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &self.stack.claims());
        let downstream = self.downstream.0.client_id.as_str();
        let params = [
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", subject.as_str()),
            ("subject_token_type", JWT_TYPE),
            ("audience", downstream),
            ("scope", "read write"),
        ];
        let reply = self.send(&self.agent, &params).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply
    }

    async fn chained(
        &self,
        client: &(Application, String),
        token: &str,
        more: &[(&str, &str)],
    ) -> Reply {
        let mut params = vec![
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", token),
            ("subject_token_type", ACCESS_TOKEN),
        ];
        params.extend_from_slice(more);
        self.send(client, &params).await
    }

    async fn post(&self, endpoint: &str, client: &(Application, String), token: &str) -> Reply {
        let path = format!("/t/{}/oauth2/{endpoint}", self.stack.org);
        let (app, secret) = client;
        let request = form_request(&path, &[("token", token)], Some((&app.client_id, secret)));
        call(&self.stack.token, request).await
    }

    async fn active(&self, token: &str) -> bool {
        let reply = self.post("introspect", &self.bystander, token).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["active"].as_bool().unwrap()
    }
}

#[tokio::test]
async fn the_audience_exchanges_the_token_within_its_scope_and_lifetime() {
    let chain = Chain::new().await;
    let parent = chain.parent().await;
    let parent_token = parent.body["access_token"].as_str().unwrap();
    let downstream = chain.downstream.0.client_id.as_str();
    let (_, parent_claims) = chain.stack.verify_issued_to(parent_token, downstream).await;

    let more = [("audience", "api"), ("scope", "read")];
    let reply = chain.chained(&chain.downstream, parent_token, &more).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["scope"], "read");
    let child_token = reply.body["access_token"].as_str().unwrap();
    let (_, child) = chain.stack.verify_issued_to(child_token, "api").await;
    assert_eq!(child["sub"], parent_claims["sub"]);
    assert_eq!(child["idp"], parent_claims["idp"]);
    assert_eq!(child["client_id"], downstream);
    assert!(child["exp"].as_i64() <= parent_claims["exp"].as_i64());

    // Beyond the subject's scope: invalid_scope, though the downstream API may ask for admin.
    let reply = chain
        .chained(&chain.downstream, parent_token, &[("scope", "admin")])
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_scope");
    // Another client, even one that lists "self": refused.
    let reply = chain.chained(&chain.bystander, parent_token, &[]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    // As a JWT rather than an access token: refused.
    let params = [
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", parent_token),
        ("subject_token_type", JWT_TYPE),
    ];
    let reply = chain.send(&chain.downstream, &params).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    // The agent itself does not list "self".
    let reply = chain.chained(&chain.agent, parent_token, &[]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn revoking_a_token_revokes_its_descendants_and_refuses_them_as_subjects() {
    let chain = Chain::new().await;
    let parent = chain.parent().await;
    let parent_token = parent.body["access_token"].as_str().unwrap();
    let reply = chain.chained(&chain.downstream, parent_token, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let child = reply.body["access_token"].as_str().unwrap().to_owned();
    let child_refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();
    assert!(chain.active(&child).await);

    let revoked = chain.post("revoke", &chain.agent, parent_token).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert!(!chain.active(parent_token).await);
    assert!(!chain.active(&child).await, "revoked with its parent");
    let reply = chain.chained(&chain.downstream, parent_token, &[]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(
        reply.body["error_description"],
        json!("the access token is revoked")
    );
    // The child's refresh family ended with it.
    let params = [
        ("grant_type", "refresh_token"),
        ("refresh_token", child_refresh.as_str()),
    ];
    let reply = chain.send(&chain.downstream, &params).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");
}

/// Explain through the admin function verifies the organization's own tokens with the same
/// published keys (KMS `GetPublicKey`, never `Sign`): its decision and error are the token
/// endpoint's for the audience, for a scope beyond the subject's and for another client.
#[tokio::test]
async fn explain_in_the_admin_function_decides_a_chained_exchange_as_the_token_endpoint() {
    use common::admin::{Admin, Settings};
    let chain = Chain::new().await;
    let admin = Admin::with(Settings {
        auth_iam: false,
        allow_insecure_jwks: true,
    })
    .await;
    let parent = chain.parent().await;
    let parent_token = parent.body["access_token"].as_str().unwrap();
    let path = format!("/t/{}/api/token-exchange/explain", chain.stack.org);
    for (client, scope, error) in [
        (&chain.downstream, Some("read"), None),
        (&chain.downstream, Some("admin"), Some("invalid_scope")),
        (&chain.bystander, None, Some("invalid_request")),
    ] {
        let body = json!({"client_id": client.0.client_id, "subject_token": parent_token,
                          "subject_token_type": ACCESS_TOKEN, "scope": scope});
        let explained = admin.post(&path, body).await;
        assert_eq!(explained.status, 200, "{:#}", explained.body);
        let explained = explained.body;
        let more: Vec<(&str, &str)> = scope.map(|s| ("scope", s)).into_iter().collect();
        let reply = chain.chained(client, parent_token, &more).await;
        match error {
            None => {
                assert_eq!(explained["decision"], "allow", "{explained:#}");
                assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
                let token = reply.body["access_token"].as_str().unwrap();
                let (_, issued) = chain
                    .stack
                    .verify_issued_to(token, &client.0.client_id)
                    .await;
                assert_eq!(explained["claims"]["sub"], issued["sub"]);
                assert_eq!(explained["claims"]["scope"], issued["scope"]);
            }
            Some(error) => {
                assert_eq!(explained["decision"], "deny", "{explained:#}");
                assert_eq!(explained["error"]["error"], error);
                assert_error(&reply, StatusCode::BAD_REQUEST, error);
                assert_eq!(
                    explained["error"]["error_description"],
                    reply.body["error_description"]
                );
            }
        }
    }
}
