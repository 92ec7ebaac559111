//! Introspection (RFC 7662), revocation (RFC 7009) and the admin API's revocations through
//! the real endpoints against the emulator: the DynamoDB records (revoked jti, family links,
//! subject and client revocations); the AWS calls of a warm introspection are in aws_calls.rs.

use crate::common;

use common::keys::RSA_2048;
use common::stack::*;
use lambda_http::http::StatusCode;
use serde_json::{Value, json};
use trustgate::config::{self, Config, Function};
use trustgate::domain::application::{AppType, Application, GrantType};
use trustgate::domain::issuer::Algorithm;
use trustgate::domain::random_hex;
use trustgate::http::admin::AdminApp;

/// A stack with a second confidential application (`web`, both grants) beside the stack's own
/// (`client_id`, exchange only), which plays the resource server that introspects.
struct Fixture {
    stack: Stack,
    web: Application,
    web_secret: String,
}

impl Fixture {
    async fn new() -> Fixture {
        let stack = Stack::new().await;
        let web_secret = random_hex(32);
        let web = application(
            AppType::Web,
            &[GrantType::TokenExchange, GrantType::RefreshToken],
            Some(&web_secret),
        );
        stack.add_application(&web).await;
        Fixture {
            stack,
            web,
            web_secret,
        }
    }

    fn web(&self) -> (&str, &str) {
        (&self.web.client_id, &self.web_secret)
    }

    fn resource_server(&self) -> (&str, &str) {
        (&self.stack.client_id, &self.stack.secret)
    }

    fn path(&self, endpoint: &str) -> String {
        format!("/t/{}/oauth2/{endpoint}", self.stack.org)
    }

    /// An exchange by `web`: its access and refresh tokens.
    async fn tokens(&self) -> (String, String) {
        let subject = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &self.stack.claims());
        let params = [
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", subject.as_str()),
            ("subject_token_type", JWT_TYPE),
        ];
        let request = form_request(&self.stack.token_path(), &params, Some(self.web()));
        let reply = call(&self.stack.token, request).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let field = |name: &str| reply.body[name].as_str().unwrap().to_owned();
        (field("access_token"), field("refresh_token"))
    }

    async fn introspect(&self, client: (&str, &str), token: &str) -> Reply {
        let request = form_request(&self.path("introspect"), &[("token", token)], Some(client));
        call(&self.stack.token, request).await
    }

    async fn active(&self, token: &str) -> bool {
        let reply = self.introspect(self.resource_server(), token).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.headers["cache-control"], "no-store");
        reply.body["active"].as_bool().unwrap()
    }

    async fn revoke(&self, client: (&str, &str), token: &str) -> Reply {
        let request = form_request(&self.path("revoke"), &[("token", token)], Some(client));
        call(&self.stack.token, request).await
    }

    async fn refresh(&self, token: &str) -> Reply {
        let params = [("grant_type", "refresh_token"), ("refresh_token", token)];
        let request = form_request(&self.stack.token_path(), &params, Some(self.web()));
        call(&self.stack.token, request).await
    }

    /// `POST /t/{org}/api/revocations` through the admin function on the same table.
    async fn admin_revoke(&self, body: Value) -> (u16, Value) {
        let vars = [
            (config::TABLE, self.stack.app.table_name.clone()),
            (config::PUBLIC_URL, PUBLIC_URL.to_owned()),
            (config::ADMIN_AUTH, "none".to_owned()),
            (config::SIGNING_KEY, common::admin::signing_key()),
        ];
        let lookup = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        };
        let config = Config::from_lookup(Function::Admin, lookup).unwrap();
        let own_keys = std::sync::Arc::new(kms_signer(&self.stack.app, &config));
        let admin = AdminApp::new(config, self.stack.app.table.clone(), own_keys);
        let request = lambda_http::http::Request::builder()
            .method("POST")
            .uri(format!("/t/{}/api/revocations", self.stack.org))
            .header("content-type", "application/json")
            .body(lambda_http::Body::Text(body.to_string()))
            .unwrap();
        let response = admin.handle(request).await;
        let status = response.status().as_u16();
        let body: &[u8] = response.body().as_ref();
        (status, serde_json::from_slice(body).unwrap())
    }
}

#[tokio::test]
async fn introspection_describes_an_active_access_token_and_refuses_public_clients() {
    let f = Fixture::new().await;
    let (access, refresh) = f.tokens().await;
    let (_, claims) = f.stack.verify_issued_to(&access, &f.web.client_id).await;
    let reply = f.introspect(f.resource_server(), &access).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.headers["cache-control"], "no-store");
    let mut expected = json!({"active": true, "token_type": "Bearer"});
    for name in ["iss", "sub", "idp", "aud", "client_id", "exp", "iat", "jti"] {
        expected[name] = claims[name].clone();
    }
    assert_eq!(reply.body, expected);

    // A refresh token: to its own client only.
    assert!(!f.active(&refresh).await);
    let own = f.introspect(f.web(), &refresh).await;
    assert_eq!(own.body["active"], true, "{}", own.body);
    assert_eq!(own.body["token_type"], "refresh_token");
    assert_eq!(own.body["client_id"], f.web.client_id.as_str());

    let mobile = application(AppType::Mobile, &[GrantType::TokenExchange], None);
    f.stack.add_application(&mobile).await;
    let public = form_request(
        &f.path("introspect"),
        &[("token", access.as_str()), ("client_id", &mobile.client_id)],
        None,
    );
    let reply = call(&f.stack.token, public).await;
    assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(!f.active("not-a-token").await);
    assert!(!f.active("a.b.c").await);
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_family_and_its_access_tokens() {
    let f = Fixture::new().await;
    let (first, refresh) = f.tokens().await;
    let reply = f.refresh(&refresh).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let second = reply.body["access_token"].as_str().unwrap().to_owned();
    let refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();
    let (unrelated, _) = f.tokens().await;

    let reply = f.revoke(f.web(), &refresh).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["cache-control"], "no-store");
    assert!(!f.active(&first).await);
    assert!(!f.active(&second).await);
    assert!(f.active(&unrelated).await);
    assert_error(
        &f.refresh(&refresh).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
}

#[tokio::test]
async fn revoking_an_access_token_revokes_its_refresh_family_and_not_another_clients() {
    let f = Fixture::new().await;
    let (access, refresh) = f.tokens().await;
    let other = f.revoke(f.resource_server(), &access).await;
    assert_error(&other, StatusCode::BAD_REQUEST, "unauthorized_client");
    assert!(
        f.active(&access).await,
        "another client's revocation changes nothing"
    );
    for unknown in ["unknown", "a.b.c"] {
        assert_eq!(f.revoke(f.web(), unknown).await.status, StatusCode::OK);
    }

    assert_eq!(f.revoke(f.web(), &access).await.status, StatusCode::OK);
    assert!(!f.active(&access).await);
    assert_error(
        &f.refresh(&refresh).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
}

#[tokio::test]
async fn an_admin_revocation_refuses_what_was_issued_before_it_and_nothing_after() {
    let f = Fixture::new().await;
    let (access, refresh) = f.tokens().await;
    let (status, body) = f.admin_revoke(json!({"sub": "user-42"})).await;
    assert_eq!(status, 201, "{body}");
    assert!(body["revoked_before"].as_str().unwrap().ends_with('Z'));
    assert!(!f.active(&access).await);
    assert_error(
        &f.refresh(&refresh).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    let (after, after_refresh) = f.tokens().await;
    assert!(f.active(&after).await, "issued after the revocation");
    assert_eq!(f.refresh(&after_refresh).await.status, StatusCode::OK);

    let (status, _) = f.admin_revoke(json!({"client_id": f.web.client_id})).await;
    assert_eq!(status, 201);
    assert!(!f.active(&after).await);

    let (status, problem) = f.admin_revoke(json!({"sub": "a", "client_id": "b"})).await;
    assert_eq!(status, 400);
    assert_eq!(problem["field"], "client_id");
}

#[tokio::test]
async fn the_example_events_reach_introspection_and_revocation() {
    let f = Fixture::new().await;
    let load = |text: &str| {
        let text = text.replace("/t/acme/", &format!("/t/{}/", f.stack.org));
        lambda_http::request::from_str(&text).expect("a valid API Gateway v2 event")
    };
    // The events hold example credentials: 401 until a real client's are put in.
    for event in [
        include_str!("../events/token-introspect.json"),
        include_str!("../events/token-revoke.json"),
    ] {
        let reply = call(&f.stack.token, load(event)).await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
        let mut request = load(event);
        let own = form_request("/", &[], Some(f.resource_server()));
        request
            .headers_mut()
            .insert("authorization", own.headers()["authorization"].clone());
        let reply = call(&f.stack.token, request).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.headers["cache-control"], "no-store");
    }
}
