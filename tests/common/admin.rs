//! Driving the admin function as API Gateway does: each call is an API Gateway v2 (payload 2.0)
//! event, turned into a `lambda_http::Request` by lambda_http's own deserialization and handed
//! to `AdminApp::handle`. No HTTP server is involved.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use trustgate::config::{self, Config, Function};
use trustgate::http::admin::AdminApp;

use super::{TestApp, unique};

/// The IAM caller the events and these helpers present.
pub const CALLER_ARN: &str = "arn:aws:sts::123456789012:assumed-role/TrustgateAdmin/alice";
pub const PUBLIC_URL: &str = "https://sts.example.com";

/// The signing key `make test` bootstrapped, whose public key the admin function reads.
pub fn signing_key() -> String {
    std::env::var("TRUSTGATE_SIGNING_KEY").expect("TRUSTGATE_SIGNING_KEY is set by make test")
}

/// How the admin function under test is configured.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub auth_iam: bool,
    pub allow_insecure_jwks: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            auth_iam: true,
            allow_insecure_jwks: false,
        }
    }
}

pub struct Admin {
    pub app: AdminApp,
    pub test: TestApp,
}

/// A response, its body parsed as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 9457 problem with `status` whose `field` member is `field`.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, field: Option<&str>) {
        assert_eq!(self.status, status, "{:#}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{:#}",
            self.body
        );
        assert_eq!(self.body["status"], json!(status));
        assert!(self.body["title"].is_string() && self.body["type"].is_string());
        assert!(self.body["detail"].is_string());
        assert_eq!(self.body["field"].as_str(), field, "{:#}", self.body);
        if let Some(field) = field {
            let detail = self.body["detail"].as_str().unwrap();
            assert!(detail.contains(field), "detail names {field}: {detail}");
        }
    }
}

impl Admin {
    pub async fn new() -> Admin {
        Admin::with(Settings::default()).await
    }

    pub async fn with(settings: Settings) -> Admin {
        // Warnings and errors (e.g. the cause of a 500) show in a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_max_level(tracing::Level::WARN)
            .try_init();
        let test = TestApp::new().await;
        let vars = HashMap::from([
            (config::TABLE, test.table_name.clone()),
            (config::PUBLIC_URL, PUBLIC_URL.to_owned()),
            (
                config::ADMIN_AUTH,
                if settings.auth_iam { "iam" } else { "none" }.to_owned(),
            ),
            (
                config::ALLOW_INSECURE_JWKS,
                settings.allow_insecure_jwks.to_string(),
            ),
            (config::SIGNING_KEY, signing_key()),
        ]);
        let config = Config::from_lookup(Function::Admin, |name| vars.get(name).cloned()).unwrap();
        let own_keys = Arc::new(super::stack::kms_signer(&test, &config));
        Admin {
            app: AdminApp::new(config, test.table.clone(), own_keys),
            test,
        }
    }

    /// Sends an API Gateway v2 event.
    pub async fn send(&self, event: &Value) -> Reply {
        let request =
            lambda_http::request::from_str(&event.to_string()).expect("an API Gateway v2 event");
        let response = self.app.handle(request).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes: &[u8] = response.body().as_ref();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(bytes).expect("a JSON body")
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `method path` with a JSON body (if any), as the IAM caller.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.send(&Event::new(method, path).json(body).build())
            .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call("POST", path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(
            &Event::new("PATCH", path)
                .header("content-type", "application/merge-patch+json")
                .body(&body.to_string())
                .build(),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call("DELETE", path, None).await
    }

    /// A new organization with a unique name.
    pub async fn organization(&self) -> String {
        let org = unique("org");
        let reply = self
            .post("/api/organizations", json!({ "name": org }))
            .await;
        assert_eq!(reply.status, 201, "{:#}", reply.body);
        org
    }

    /// Every `sk` in the organization's partition, straight from DynamoDB.
    pub async fn partition(&self, org: &str) -> Vec<String> {
        let output = self
            .test
            .dynamodb
            .query()
            .table_name(&self.test.table_name)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(
                ":pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("ORG#{org}")),
            )
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        assert!(
            output.last_evaluated_key.is_none(),
            "one page is enough here"
        );
        output
            .items
            .unwrap_or_default()
            .iter()
            .map(|item| item["sk"].as_s().unwrap().clone())
            .collect()
    }
}

/// Builds an API Gateway v2 (HTTP API / function URL, payload 2.0) event.
pub struct Event {
    method: String,
    path: String,
    query: String,
    headers: serde_json::Map<String, Value>,
    body: Option<String>,
    base64: bool,
    iam: bool,
}

impl Event {
    pub fn new(method: &str, path_and_query: &str) -> Event {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let mut headers = serde_json::Map::new();
        headers.insert("host".into(), json!("admin.example.com"));
        Event {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers,
            body: None,
            base64: false,
            iam: true,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Event {
        self.headers.insert(name.into(), json!(value));
        self
    }

    pub fn body(mut self, body: &str) -> Event {
        self.body = Some(body.into());
        self
    }

    /// A body API Gateway passes base64-encoded (`isBase64Encoded`), as it does for bytes
    /// that are not UTF-8.
    pub fn binary_body(mut self, bytes: &[u8]) -> Event {
        use base64::Engine;
        self.body = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
        self.base64 = true;
        self
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json(self, body: Option<Value>) -> Event {
        match body {
            None => self,
            Some(body) => self
                .header("content-type", "application/json")
                .body(&body.to_string()),
        }
    }

    /// Leaves the IAM identity out of the request context (no `AWS_IAM` authorizer ran).
    pub fn without_iam(mut self) -> Event {
        self.iam = false;
        self
    }

    pub fn build(self) -> Value {
        let mut context = json!({
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "domainName": "admin.example.com",
            "domainPrefix": "admin",
            "http": {
                "method": self.method,
                "path": self.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "trustgate-tests"
            },
            "requestId": "test-request",
            "routeKey": "$default",
            "stage": "$default",
            "time": "26/Nov/2026:02:00:00 +0000",
            "timeEpoch": 1795658400000i64
        });
        if self.iam {
            context["authorizer"] = json!({
                "iam": {
                    "accessKey": "ASIAEXAMPLEACCESSKEY",
                    "accountId": "123456789012",
                    "callerId": "AROAEXAMPLEROLEID:alice",
                    "cognitoIdentity": null,
                    "principalOrgId": null,
                    "userArn": CALLER_ARN,
                    "userId": "AROAEXAMPLEROLEID:alice"
                }
            });
        }
        json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": self.path,
            "rawQueryString": self.query,
            "headers": self.headers,
            "requestContext": context,
            "body": self.body,
            "isBase64Encoded": self.base64
        })
    }
}
