//! The admin function as API Gateway calls it: IAM authentication, routing (404, 405), common
//! headers, the audit log, the example events under `events/`, and the OpenAPI document kept
//! in step with the router and with the responses.

use crate::common;

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Arc, Mutex};

use common::admin::{Admin, CALLER_ARN, Event, Reply, Settings};
use common::unique;
use serde_json::{Value, json};
use trustgate::domain::application::ApplicationSettings;
use trustgate::domain::input::{Settings as RecordSettings, field_names};
use trustgate::domain::issuer::IssuerSettings;
use trustgate::http::admin::ANONYMOUS_ACTOR;
use trustgate::http::admin::routes::{self, ROUTES};

// ---- authentication ----

#[tokio::test]
async fn with_iam_auth_a_request_without_an_iam_identity_is_401() {
    let admin = Admin::new().await;
    let org = unique("org");
    for event in [
        Event::new("GET", "/api/organizations")
            .without_iam()
            .build(),
        Event::new("POST", "/api/organizations")
            .json(Some(json!({ "name": org })))
            .without_iam()
            .build(),
        Event::new("GET", "/no/such/route").without_iam().build(),
    ] {
        let reply = admin.send(&event).await;
        reply.assert_problem(401, None);
        assert_eq!(reply.header("www-authenticate"), Some("AWS4-HMAC-SHA256"));
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
    // Nothing was created by the refused request.
    admin
        .get(&format!("/api/organizations/{org}"))
        .await
        .assert_problem(404, None);
}

#[tokio::test]
async fn with_iam_auth_an_iam_block_without_a_caller_is_401() {
    let admin = Admin::new().await;
    let mut event = Event::new("GET", "/api/organizations").build();
    event["requestContext"]["authorizer"]["iam"]["userArn"] = json!("");
    event["requestContext"]["authorizer"]["iam"]["callerId"] = json!(null);
    admin.send(&event).await.assert_problem(401, None);
    // A JWT authorizer's claims are no IAM identity.
    let mut jwt = Event::new("GET", "/api/organizations")
        .without_iam()
        .build();
    jwt["requestContext"]["authorizer"] = json!({"jwt": {"claims": {"sub": "x"}, "scopes": []}});
    admin.send(&jwt).await.assert_problem(401, None);
}

#[tokio::test]
async fn with_iam_auth_an_iam_caller_is_served() {
    let admin = Admin::new().await;
    let reply = admin.get("/api/organizations?limit=1").await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn with_auth_none_a_request_without_an_iam_identity_is_served() {
    let admin = Admin::with(Settings {
        auth_iam: false,
        ..Settings::default()
    })
    .await;
    let org = unique("org");
    let event = Event::new("POST", "/api/organizations")
        .json(Some(json!({ "name": org })))
        .without_iam()
        .build();
    assert_eq!(admin.send(&event).await.status, 201);
}

// ---- routing ----

#[tokio::test]
async fn a_known_path_with_another_method_is_405_with_allow() {
    let admin = Admin::new().await;
    for (method, path, allow) in [
        ("PUT", "/api/organizations", "POST, GET"),
        ("PATCH", "/api/organizations/acme", "GET, DELETE"),
        (
            "PUT",
            "/t/acme/api/trusted-token-issuers/abc",
            "GET, PATCH, DELETE",
        ),
        ("GET", "/t/acme/api/applications/abc/secret", "POST"),
        ("HEAD", "/t/acme/api/applications", "POST, GET"),
    ] {
        let reply = admin.send(&Event::new(method, path).build()).await;
        reply.assert_problem(405, None);
        assert_eq!(reply.header("allow"), Some(allow), "{method} {path}");
    }
}

#[tokio::test]
async fn an_unknown_path_is_404() {
    let admin = Admin::new().await;
    for path in [
        "/",
        "/api",
        "/api/organizations/",
        "/t/acme/oauth2/token",
        "/t/acme/api/other",
    ] {
        admin.get(path).await.assert_problem(404, None);
    }
}

// ---- audit ----

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

impl Captured {
    fn lines(&self) -> Vec<Value> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// The (action, record, actor) of each audit event among the captured log lines.
fn audit_events(lines: &[Value]) -> Vec<(String, String, String)> {
    lines
        .iter()
        .filter(|l| l["target"] == "audit")
        .map(|l| {
            let f = &l["fields"];
            (
                f["action"].as_str().unwrap().to_owned(),
                f["record"].as_str().unwrap().to_owned(),
                f["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_change_is_an_audit_event_with_actor_and_record_and_no_secret() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .json()
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let admin = Admin::new().await;
    let org = admin.organization().await;
    let issuer = admin
        .post(
            &format!("/t/{org}/api/trusted-token-issuers"),
            json!({"name": "I", "issuer": "https://i", "jwks_uri": "https://i.example.com/k"}),
        )
        .await
        .body;
    let id = issuer["id"].as_str().unwrap().to_owned();
    admin
        .patch(
            &format!("/t/{org}/api/trusted-token-issuers/{id}"),
            json!({"enabled": false}),
        )
        .await;
    let app = admin
        .post(
            &format!("/t/{org}/api/applications"),
            json!({"name": "A", "type": "web"}),
        )
        .await
        .body;
    let client_id = app["client_id"].as_str().unwrap().to_owned();
    let first_secret = app["client_secret"].as_str().unwrap().to_owned();
    let app_path = format!("/t/{org}/api/applications/{client_id}");
    let second_secret = admin
        .call("POST", &format!("{app_path}/secret"), None)
        .await
        .body["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    admin.patch(&app_path, json!({"name": "B"})).await;
    admin.delete(&app_path).await;
    admin
        .delete(&format!("/t/{org}/api/trusted-token-issuers/{id}"))
        .await;
    admin.delete(&format!("/api/organizations/{org}")).await;
    // Reads and refused requests are no changes.
    admin.get(&format!("/api/organizations/{org}")).await;

    let lines = logs.lines();
    let events = audit_events(&lines);
    let actions: Vec<(&str, &str)> = events
        .iter()
        .map(|(action, record, actor)| {
            assert_eq!(actor, CALLER_ARN);
            (action.as_str(), record.as_str())
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("organization.create", org.as_str()),
            ("trusted_issuer.create", id.as_str()),
            ("trusted_issuer.update", id.as_str()),
            ("application.create", client_id.as_str()),
            ("application.secret.rotate", client_id.as_str()),
            ("application.update", client_id.as_str()),
            ("application.delete", client_id.as_str()),
            ("trusted_issuer.delete", id.as_str()),
            ("organization.delete", org.as_str()),
        ]
    );
    let all = serde_json::to_string(&lines).unwrap();
    for secret in [&first_secret, &second_secret] {
        assert!(!all.contains(secret.as_str()), "a secret was logged");
        let hash = trustgate::domain::application::hash_secret(&trustgate::secret::Secret::new(
            secret.as_str(),
        ));
        assert!(!all.contains(&hash), "a secret hash was logged");
    }
}

#[tokio::test]
async fn with_auth_none_the_audit_actor_is_anonymous_local() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .json()
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let admin = Admin::with(Settings {
        auth_iam: false,
        ..Settings::default()
    })
    .await;
    let org = unique("org");
    let event = Event::new("POST", "/api/organizations")
        .json(Some(json!({ "name": org })))
        .without_iam()
        .build();
    assert_eq!(admin.send(&event).await.status, 201);
    let events = audit_events(&logs.lines());
    assert_eq!(
        events,
        vec![("organization.create".into(), org, ANONYMOUS_ACTOR.into())]
    );
}

// ---- events/ ----

const ISSUER_PLACEHOLDER: &str = "0123456789abcdef0123456789abcdef";
const CLIENT_PLACEHOLDER: &str = "fedcba9876543210fedcba9876543210";

/// Every event under events/, by file name.
const EVENTS: &[(&str, &str)] = &[
    (
        "admin-create-organization",
        include_str!("../events/admin-create-organization.json"),
    ),
    (
        "admin-list-organizations",
        include_str!("../events/admin-list-organizations.json"),
    ),
    (
        "admin-get-organization",
        include_str!("../events/admin-get-organization.json"),
    ),
    (
        "admin-create-trusted-issuer",
        include_str!("../events/admin-create-trusted-issuer.json"),
    ),
    (
        "admin-create-trusted-issuer-certificate",
        include_str!("../events/admin-create-trusted-issuer-certificate.json"),
    ),
    (
        "admin-create-trusted-issuer-github-actions",
        include_str!("../events/admin-create-trusted-issuer-github-actions.json"),
    ),
    (
        "admin-list-trusted-issuers",
        include_str!("../events/admin-list-trusted-issuers.json"),
    ),
    (
        "admin-get-trusted-issuer",
        include_str!("../events/admin-get-trusted-issuer.json"),
    ),
    (
        "admin-patch-trusted-issuer",
        include_str!("../events/admin-patch-trusted-issuer.json"),
    ),
    (
        "admin-create-application",
        include_str!("../events/admin-create-application.json"),
    ),
    (
        "admin-create-application-agent",
        include_str!("../events/admin-create-application-agent.json"),
    ),
    (
        "admin-list-applications",
        include_str!("../events/admin-list-applications.json"),
    ),
    (
        "admin-get-application",
        include_str!("../events/admin-get-application.json"),
    ),
    (
        "admin-patch-application",
        include_str!("../events/admin-patch-application.json"),
    ),
    (
        "admin-new-application-secret",
        include_str!("../events/admin-new-application-secret.json"),
    ),
    (
        "admin-explain-token-exchange",
        include_str!("../events/admin-explain-token-exchange.json"),
    ),
    (
        "admin-revoke-subject",
        include_str!("../events/admin-revoke-subject.json"),
    ),
    (
        "admin-revoke-client",
        include_str!("../events/admin-revoke-client.json"),
    ),
    (
        "admin-delete-application",
        include_str!("../events/admin-delete-application.json"),
    ),
    (
        "admin-delete-trusted-issuer",
        include_str!("../events/admin-delete-trusted-issuer.json"),
    ),
    (
        "admin-delete-organization",
        include_str!("../events/admin-delete-organization.json"),
    ),
];

/// The event with the organization `acme` and the placeholder ids replaced.
fn event(name: &str, org: &str, issuer_id: &str, client_id: &str) -> Value {
    let (_, text) = EVENTS.iter().find(|(n, _)| *n == name).unwrap();
    let mut event: Value = serde_json::from_str(text).unwrap();
    let rewrite = |path: &str| {
        path.replace("/acme", &format!("/{org}"))
            .replace(ISSUER_PLACEHOLDER, issuer_id)
            .replace(CLIENT_PLACEHOLDER, client_id)
    };
    let path = rewrite(event["rawPath"].as_str().unwrap());
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["path"] = json!(path);
    if name == "admin-create-organization" {
        event["body"] = json!(json!({ "name": org }).to_string());
    }
    if let Some(body) = event["body"].as_str() {
        let body = body.replace(CLIENT_PLACEHOLDER, client_id);
        event["body"] = json!(body.replace(ISSUER_PLACEHOLDER, issuer_id));
    }
    event
}

#[test]
fn every_admin_event_file_is_exercised_and_is_for_a_route() {
    // events/admin-*.json are the admin function's; the token function's are tested beside it.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/events");
    let files: BTreeSet<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("admin-"))
        .filter_map(|n| n.strip_suffix(".json").map(str::to_owned))
        .collect();
    let listed: BTreeSet<String> = EVENTS.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(files, listed);

    let mut covered = BTreeSet::new();
    for (name, text) in EVENTS {
        let event: Value = serde_json::from_str(text).unwrap();
        assert_eq!(event["requestContext"]["stage"], "$default", "{name}");
        assert!(event["requestContext"]["authorizer"]["iam"]["userArn"].is_string());
        let method = event["requestContext"]["http"]["method"].as_str().unwrap();
        let path = event["rawPath"].as_str().unwrap();
        match routes::find(method, path) {
            routes::Match::Found(route, _) => covered.insert((route.method, route.path)),
            other => panic!("{name}: {other:?}"),
        };
    }
    let all: BTreeSet<_> = ROUTES.iter().map(|r| (r.method, r.path)).collect();
    assert_eq!(covered, all, "an event for every route");
}

#[tokio::test]
async fn the_example_events_drive_every_route_and_match_the_openapi_document() {
    let admin = Admin::new().await;
    let api = openapi();
    let org = unique("acme");
    let none = "-";
    let send = |name: &'static str, issuer_id: String, client_id: String| {
        let admin = &admin;
        let org = org.clone();
        async move {
            let event = event(name, &org, &issuer_id, &client_id);
            let reply = admin.send(&event).await;
            (event, reply)
        }
    };
    let check = |name: &str, event: &Value, reply: &Reply, status: u16| {
        assert_eq!(reply.status, status, "{name}: {:#}", reply.body);
        let method = event["requestContext"]["http"]["method"].as_str().unwrap();
        let path = event["rawPath"].as_str().unwrap();
        assert_documented(&api, method, path, reply);
    };

    let (e, r) = send("admin-create-organization", none.into(), none.into()).await;
    check("create org", &e, &r, 201);
    let (e, r) = send("admin-list-organizations", none.into(), none.into()).await;
    check("list orgs", &e, &r, 200);
    let (e, r) = send("admin-get-organization", none.into(), none.into()).await;
    check("get org", &e, &r, 200);

    let (e, r) = send("admin-create-trusted-issuer", none.into(), none.into()).await;
    check("create issuer", &e, &r, 201);
    let issuer_id = r.body["id"].as_str().unwrap().to_owned();
    let (e, r) = send(
        "admin-create-trusted-issuer-certificate",
        none.into(),
        none.into(),
    )
    .await;
    check("create cert issuer", &e, &r, 201);
    assert_eq!(
        r.body["certificate"]["subject"],
        "CN=RSA 2048 issuer,O=Trustgate Test,C=DE"
    );
    let (e, r) = send(
        "admin-create-trusted-issuer-github-actions",
        none.into(),
        none.into(),
    )
    .await;
    check("create issuer with a policy", &e, &r, 201);
    assert_eq!(r.body["subject"], "\"github|\" + claims.sub");
    assert_eq!(r.body["claim_mappings"]["repository"], "claims.repository");
    let (e, r) = send("admin-list-trusted-issuers", none.into(), none.into()).await;
    check("list issuers", &e, &r, 200);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 3);
    let (e, r) = send("admin-get-trusted-issuer", issuer_id.clone(), none.into()).await;
    check("get issuer", &e, &r, 200);
    let (e, r) = send("admin-patch-trusted-issuer", issuer_id.clone(), none.into()).await;
    check("patch issuer", &e, &r, 200);
    assert_eq!(r.body["clock_skew_seconds"], 30);
    assert_eq!(r.body["enabled"], false);

    let (e, r) = send("admin-create-application", none.into(), none.into()).await;
    check("create app", &e, &r, 201);
    let client_id = r.body["client_id"].as_str().unwrap().to_owned();
    let (e, r) = send(
        "admin-create-application-agent",
        issuer_id.clone(),
        none.into(),
    )
    .await;
    check("create app with an exchange policy", &e, &r, 201);
    assert_eq!(r.body["allowed_issuers"], json!([issuer_id]));
    assert_eq!(r.body["delegation"]["max_depth"], 2);
    let (e, r) = send("admin-list-applications", none.into(), none.into()).await;
    check("list apps", &e, &r, 200);
    let (e, r) = send("admin-get-application", none.into(), client_id.clone()).await;
    check("get app", &e, &r, 200);
    let (e, r) = send("admin-patch-application", none.into(), client_id.clone()).await;
    check("patch app", &e, &r, 200);
    assert_eq!(r.body["name"], "Customer portal (EU)");
    let (e, r) = send(
        "admin-new-application-secret",
        none.into(),
        client_id.clone(),
    )
    .await;
    check("new secret", &e, &r, 200);
    let (e, r) = send(
        "admin-explain-token-exchange",
        none.into(),
        client_id.clone(),
    )
    .await;
    check("explain", &e, &r, 200);
    // The example's issuer was disabled by the patch above: refused at the `issuer` check.
    assert_eq!(r.body["decision"], "deny", "{:#}", r.body);
    assert_eq!(r.body["error"]["error"], "invalid_request");
    let failed: Vec<&Value> = r.body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["result"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["check"], "issuer");
    for name in ["admin-revoke-subject", "admin-revoke-client"] {
        let (e, r) = send(name, none.into(), client_id.clone()).await;
        check(name, &e, &r, 201);
        let at = r.body["revoked_before"].as_str().unwrap();
        // RFC 3339 with milliseconds: 2026-12-01T18:45:41.123Z
        assert_eq!(at.len(), 24, "{at}");
        assert!(at.ends_with('Z') && at.as_bytes()[19] == b'.', "{at}");
    }
    let (e, r) = send("admin-delete-application", none.into(), client_id.clone()).await;
    check("delete app", &e, &r, 204);
    let (e, r) = send(
        "admin-delete-trusted-issuer",
        issuer_id.clone(),
        none.into(),
    )
    .await;
    check("delete issuer", &e, &r, 204);
    let (e, r) = send("admin-delete-organization", none.into(), none.into()).await;
    check("delete org", &e, &r, 204);

    // The documented error responses, too.
    let (e, r) = send("admin-get-organization", none.into(), none.into()).await;
    check("get deleted org", &e, &r, 404);
    let (e, r) = send("admin-create-trusted-issuer", none.into(), none.into()).await;
    check("issuer of a deleted org", &e, &r, 404);
    let mut bad = event("admin-create-application", &org, none, none);
    bad["body"] = json!("{\"name\": \"\", \"type\": \"web\"}");
    let reply = admin.send(&bad).await;
    assert_eq!(reply.status, 400);
    assert_documented(&api, "POST", bad["rawPath"].as_str().unwrap(), &reply);
    let mut unauthenticated = event("admin-list-organizations", &org, none, none);
    unauthenticated["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    let reply = admin.send(&unauthenticated).await;
    assert_eq!(reply.status, 401);
    assert_documented(&api, "GET", "/api/organizations", &reply);
}

// ---- OpenAPI ----

fn openapi() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/admin.yaml"))
        .unwrap();
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    serde_json::to_value(yaml).unwrap()
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

#[test]
fn the_openapi_document_lists_exactly_the_routes_the_router_serves() {
    let api = openapi();
    assert_eq!(api["openapi"].as_str().map(|v| &v[..3]), Some("3.1"));
    let mut documented = BTreeSet::new();
    for (path, item) in api["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                let upper = method.to_uppercase();
                let route = ROUTES
                    .iter()
                    .find(|r| r.method == upper && r.path == path)
                    .unwrap_or_else(|| panic!("{upper} {path} is documented but not routed"));
                assert_eq!(
                    operation["operationId"], route.operation_id,
                    "{upper} {path}"
                );
                assert!(
                    operation["responses"]["401"].is_object(),
                    "{upper} {path} documents 401"
                );
                documented.insert((route.method, route.path));
            }
        }
    }
    let routed: BTreeSet<_> = ROUTES.iter().map(|r| (r.method, r.path)).collect();
    let missing: Vec<_> = routed.difference(&documented).collect();
    assert!(missing.is_empty(), "routed but not documented: {missing:?}");
    assert!(api["security"][0]["sigv4"].is_array());
    assert_eq!(
        api["components"]["securitySchemes"]["sigv4"]["x-amazon-apigateway-authtype"],
        "awsSigv4"
    );
}

/// A record's members are declared once, by its settings struct: the OpenAPI document's create
/// body lists exactly its fields, the patch the same but for the fixed ones, and the view those
/// plus the members the server sets.
#[test]
fn the_openapi_records_list_exactly_the_settings_structs_fields() {
    fn check<S: RecordSettings>(api: &Value, create: &str, patch: &str, view: &str) {
        let members = |schema: &str| -> BTreeSet<&str> {
            api["components"]["schemas"][schema]["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("{schema} has properties"))
                .keys()
                .map(String::as_str)
                .collect()
        };
        let declared: BTreeSet<&str> = field_names::<S>().iter().copied().collect();
        let fixed: BTreeSet<&str> = S::FIXED.iter().map(|(name, _)| *name).collect();
        let server: BTreeSet<&str> = S::SERVER_SET.iter().map(|(name, _)| *name).collect();
        assert!(!declared.is_empty());
        assert_eq!(members(create), declared, "{create}");
        assert_eq!(members(patch), &declared - &fixed, "{patch}");
        assert_eq!(members(view), &declared | &server, "{view}");
    }
    let api = openapi();
    check::<ApplicationSettings>(&api, "ApplicationCreate", "ApplicationPatch", "Application");
    check::<IssuerSettings>(
        &api,
        "TrustedIssuerCreate",
        "TrustedIssuerPatch",
        "TrustedIssuer",
    );
}

#[test]
fn every_reference_in_the_openapi_document_resolves() {
    let api = openapi();
    let mut refs = Vec::new();
    collect_refs(&api, &mut refs);
    assert!(refs.len() > 50);
    for r in refs {
        assert!(resolve(&api, &r).is_some(), "{r} does not resolve");
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

fn resolve<'a>(api: &'a Value, reference: &str) -> Option<&'a Value> {
    api.pointer(reference.strip_prefix('#')?)
}

/// Checks `reply` against the document: its status is documented for the operation (or
/// `default`), its content type is, and its body fits the schema.
#[track_caller]
fn assert_documented(api: &Value, method: &str, path: &str, reply: &Reply) {
    let template = match routes::find(method, path) {
        routes::Match::Found(route, _) => route.path,
        other => panic!("{method} {path}: {other:?}"),
    };
    let operation = &api["paths"][template][method.to_lowercase()];
    let responses = &operation["responses"];
    let mut response = responses
        .get(reply.status.to_string())
        .or_else(|| responses.get("default"))
        .unwrap_or_else(|| panic!("{method} {template}: {} is not documented", reply.status));
    if let Some(r) = response.get("$ref") {
        response = resolve(api, r.as_str().unwrap()).unwrap();
    }
    let Some(content) = response.get("content") else {
        assert_eq!(
            reply.body,
            Value::Null,
            "{method} {template} {}",
            reply.status
        );
        return;
    };
    let content_type = reply.header("content-type").unwrap();
    let schema = &content
        .get(content_type)
        .unwrap_or_else(|| panic!("{method} {template}: {content_type} not documented"))["schema"];
    let mut errors = Vec::new();
    validate(api, schema, &reply.body, "$", &mut errors);
    assert!(
        errors.is_empty(),
        "{method} {template} {}: {errors:#?}\n{:#}",
        reply.status,
        reply.body
    );
}

/// The part of JSON Schema 2020-12 the document uses for responses (patterns aside).
fn validate(api: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let target = resolve(api, r).unwrap_or_else(|| panic!("{r}"));
        validate(api, target, value, at, errors);
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            validate(api, s, value, at, errors);
        }
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
        let fits = any.iter().any(|s| {
            let mut e = Vec::new();
            validate(api, s, value, at, &mut e);
            e.is_empty()
        });
        if !fits {
            errors.push(format!("{at}: fits no anyOf branch"));
        }
    }
    if let Some(types) = schema.get("type") {
        let names: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let fits = names.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        });
        if !fits {
            errors.push(format!("{at}: {value} is not of type {names:?}"));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        errors.push(format!("{at}: {value} not in enum"));
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        errors.push(format!("{at}: {value} is not {c}"));
    }
    if let Some(n) = value.as_f64() {
        if schema
            .get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n < m)
        {
            errors.push(format!("{at}: {n} below minimum"));
        }
        if schema
            .get("maximum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n > m)
        {
            errors.push(format!("{at}: {n} above maximum"));
        }
    }
    if let Some(s) = value.as_str() {
        let len = s.chars().count() as u64;
        if schema
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| len < m)
        {
            errors.push(format!("{at}: shorter than minLength"));
        }
        if schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| len > m)
        {
            errors.push(format!("{at}: longer than maxLength"));
        }
    }
    if let Some(items) = value.as_array() {
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                validate(api, item_schema, item, &format!("{at}[{i}]"), errors);
            }
        }
        let len = items.len() as u64;
        if schema
            .get("minItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| len < m)
        {
            errors.push(format!("{at}: fewer than minItems"));
        }
        if schema
            .get("maxItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| len > m)
        {
            errors.push(format!("{at}: more than maxItems"));
        }
        if schema.get("uniqueItems") == Some(&Value::Bool(true)) {
            let mut seen = Vec::new();
            for item in items {
                if seen.contains(&item) {
                    errors.push(format!("{at}: {item} twice"));
                }
                seen.push(item);
            }
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !object.contains_key(name.as_str().unwrap()) {
                errors.push(format!("{at}: missing required {name}"));
            }
        }
        for (name, member) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(s) => validate(api, s, member, &format!("{at}.{name}"), errors),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{at}: {name} is not documented"));
                }
                None => {}
            }
        }
    }
}

#[tokio::test]
async fn revocations_refuse_bad_input_naming_the_field_and_unknown_organizations() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let path = format!("/t/{org}/api/revocations");
    for (body, field) in [
        (json!({}), "sub"),
        (json!({"sub": ""}), "sub"),
        (json!({"sub": ["alice"]}), "sub"),
        (json!({"idp": "https://idp.example.com"}), "idp"),
        (json!({"sub": "alice", "client_id": "c"}), "client_id"),
        (json!({"client_id": "c\u{0007}"}), "client_id"),
        (
            json!({"sub": "alice", "revoked_before": "2020-01-01T00:00:00.000Z"}),
            "revoked_before",
        ),
        (json!({"sub": "alice", "scope": "x"}), "scope"),
    ] {
        admin
            .post(&path, body)
            .await
            .assert_problem(400, Some(field));
    }
    let revocation_items = || async {
        let output = admin
            .test
            .dynamodb
            .scan()
            .table_name(&admin.test.table_name)
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        let ours = [
            format!("REVOKED-SUB#{org}#"),
            format!("REVOKED-CLIENT#{org}#"),
        ];
        output
            .items
            .unwrap_or_default()
            .iter()
            .filter(|item| {
                ours.iter()
                    .any(|p| item["pk"].as_s().unwrap().starts_with(p))
            })
            .count()
    };
    assert_eq!(revocation_items().await, 0, "bad input changes nothing");
    let unknown = admin
        .post(
            &format!("/t/{}/api/revocations", unique("none")),
            json!({"sub": "alice"}),
        )
        .await;
    unknown.assert_problem(404, None);

    let first = admin.post(&path, json!({"sub": "alice"})).await;
    assert_eq!(first.status, 201, "{:#}", first.body);
    let second = admin.post(&path, json!({"sub": "alice"})).await;
    assert_eq!(second.status, 201, "{:#}", second.body);
    let at = |r: &Reply| r.body["revoked_before"].as_str().unwrap().to_owned();
    assert!(at(&second) >= at(&first), "RFC 3339 in UTC orders as text");
    assert_eq!(
        revocation_items().await,
        1,
        "one item per subject, moved forward"
    );
}
