//! The admin API's trusted token issuer routes against the emulator: every route, every rule of an
//! issuer record (openapi/admin.yaml), uniqueness of name and `iss` under parallel requests, and
//! that a delete or rename leaves no stale guard behind.

use crate::common;

use common::admin::{Admin, Settings};
use serde_json::{Value, json};
use trustgate::aws::table_keys::{ISSUER_PREFIX, Key, organization_pk};
use trustgate::domain::certificate::certificate_key;
use trustgate::domain::issuer::TrustedIssuer;

const CERT: &str = include_str!("fixtures/certificates/rsa2048.pem");
const CERT_B64_DER: &str = include_str!("fixtures/certificates/rsa2048.der.b64");
const CERT_SHA256: &str = "958d8221513417c239fbad8b3f0b4ae6507d3423d0f9463e40e00e1dd3f9bcbe";

fn issuers(org: &str) -> String {
    format!("/t/{org}/api/trusted-token-issuers")
}

fn issuer_path(org: &str, id: &str) -> String {
    format!("/t/{org}/api/trusted-token-issuers/{id}")
}

fn jwks_issuer(name: &str) -> Value {
    json!({
        "name": name,
        "issuer": format!("https://{}.example.com", name.to_lowercase().replace(' ', "-")),
        "jwks_uri": "https://idp.example.com/.well-known/jwks.json"
    })
}

async fn create(admin: &Admin, org: &str, body: Value) -> Value {
    let reply = admin.post(&issuers(org), body).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    reply.body
}

#[tokio::test]
async fn creates_a_jwks_issuer_with_the_contracts_defaults() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let reply = admin.post(&issuers(&org), jwks_issuer("Okta")).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    let body = &reply.body;
    let id = body["id"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    assert_eq!(
        reply.header("location"),
        Some(issuer_path(&org, id).as_str())
    );
    assert_eq!(body["name"], "Okta");
    assert_eq!(body["issuer"], "https://okta.example.com");
    assert_eq!(
        body["jwks_uri"],
        "https://idp.example.com/.well-known/jwks.json"
    );
    assert_eq!(body["certificate"], Value::Null);
    assert_eq!(body["alias"], Value::Null);
    assert_eq!(
        body["allowed_algorithms"],
        json!([
            "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"
        ])
    );
    assert_eq!(body["clock_skew_seconds"], 60);
    assert_eq!(body["max_token_age_seconds"], Value::Null);
    assert_eq!(body["require_jti"], false);
    assert_eq!(body["enabled"], true);
    assert_eq!(body["condition"], Value::Null);
    assert_eq!(body["subject"], Value::Null);
    assert_eq!(body["claim_mappings"], json!({}));
    assert_eq!(body["created_at"], body["updated_at"]);

    let got = admin.get(&issuer_path(&org, id)).await;
    assert_eq!(got.status, 200);
    assert_eq!(&got.body, body);
}

#[tokio::test]
async fn creates_a_certificate_issuer_from_pem_or_base64_der_and_shows_its_details() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    for (name, input) in [("pem", CERT), ("der", CERT_B64_DER)] {
        let body = create(
            &admin,
            &org,
            json!({
                "name": name,
                "issuer": format!("https://{name}.example.com"),
                "alias": "https://api.example.com",
                "certificate": input,
                "allowed_algorithms": ["RS256", "PS256"],
                "clock_skew_seconds": 0,
                "max_token_age_seconds": 600,
                "require_jti": true,
                "enabled": false
            }),
        )
        .await;
        assert_eq!(
            body["certificate"],
            json!({
                "pem": CERT,
                "subject": "CN=RSA 2048 issuer,O=Trustgate Test,C=DE",
                "not_after": "2036-11-23T02:32:12Z",
                "sha256_fingerprint": CERT_SHA256
            }),
            "{name}"
        );
        assert_eq!(body["jwks_uri"], Value::Null);
        assert_eq!(body["alias"], "https://api.example.com");
        assert_eq!(body["allowed_algorithms"], json!(["RS256", "PS256"]));
        assert_eq!(body["clock_skew_seconds"], 0);
        assert_eq!(body["max_token_age_seconds"], 600);
        assert_eq!(body["require_jti"], true);
        assert_eq!(body["enabled"], false);
    }
}

#[tokio::test]
async fn the_token_endpoint_reads_exactly_the_issuers_the_api_stored() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let a = create(&admin, &org, jwks_issuer("A")).await;
    let b = create(
        &admin,
        &org,
        json!({"name": "B", "issuer": "b", "certificate": CERT}),
    )
    .await;
    let mut stored: Vec<TrustedIssuer> = admin
        .test
        .table
        .query_all(&organization_pk(&org), ISSUER_PREFIX)
        .await
        .unwrap();
    stored.sort_by(|x, y| x.name.cmp(&y.name));
    assert_eq!(stored.len(), 2, "guards are not issuers");
    assert_eq!(serde_json::to_value(&stored[0]).unwrap(), a);
    assert_eq!(serde_json::to_value(&stored[1]).unwrap(), b);
}

/// Each rule of an issuer record (openapi/admin.yaml), broken once, through the API: 400 naming the
/// field.
#[tokio::test]
async fn refuses_every_broken_rule_with_400_naming_the_field() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let cert = |file: &str| -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/certificates/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    let jwks = |uri: &str| json!({"name": "n", "issuer": "i", "jwks_uri": uri});
    let with_cert = |c: String| json!({"name": "n", "issuer": "i", "certificate": c});
    let mut cases = vec![
        // exactly one of jwks_uri and certificate
        (json!({"name": "n", "issuer": "i"}), "jwks_uri"),
        (
            json!({"name": "n", "issuer": "i", "jwks_uri": "https://idp.example.com/k", "certificate": CERT}),
            "jwks_uri",
        ),
        // jwks_uri: https, public host
        (jwks("http://idp.example.com/jwks"), "jwks_uri"),
        (jwks("https://127.0.0.1/jwks"), "jwks_uri"),
        (jwks("https://localhost/jwks"), "jwks_uri"),
        (jwks("https://[::1]/jwks"), "jwks_uri"),
        (jwks("https://10.0.0.8/jwks"), "jwks_uri"),
        (jwks("https://192.168.1.1/jwks"), "jwks_uri"),
        (jwks("https://172.20.0.1/jwks"), "jwks_uri"),
        (jwks("https://169.254.169.254/latest/meta-data"), "jwks_uri"),
        (jwks("https://[fe80::1]/jwks"), "jwks_uri"),
        (jwks("https://[fd00:ec2::254]/jwks"), "jwks_uri"),
        (jwks("https://metadata.google.internal/jwks"), "jwks_uri"),
        (jwks("not a url"), "jwks_uri"),
        // not ASCII (RFC 3986); with an upper-case letter it once panicked debug builds
        (jwks("https://Bücher.example/jwks"), "jwks_uri"),
        // certificate
        (with_cert(cert("rsa2048-key.pem")), "certificate"),
        (
            with_cert(cert("rsa2048-key-traditional.pem")),
            "certificate",
        ),
        (with_cert(cert("rsa2048-key.der.b64")), "certificate"),
        (with_cert(cert("rsa1024.pem")), "certificate"),
        (with_cert(cert("ed25519.pem")), "certificate"),
        (with_cert(cert("ec-p521.pem")), "certificate"),
        (with_cert("not a certificate".into()), "certificate"),
        (with_cert(CERT.replace("MII", "MIJ")), "certificate"),
        (
            with_cert(format!("{CERT}{}", cert("ec-p256.pem"))),
            "certificate",
        ),
        (
            json!({"name": "n", "issuer": "i", "certificate": 42}),
            "certificate",
        ),
        // certificate key and algorithms must fit
        (
            json!({"name": "n", "issuer": "i", "certificate": cert("ec-p256.pem"), "allowed_algorithms": ["RS256"]}),
            "allowed_algorithms",
        ),
    ];
    let field_cases: Vec<(&str, Value)> = vec![
        ("name", json!("")),
        ("name", json!("n".repeat(129))),
        ("name", json!("line\nbreak")),
        ("name", json!(null)),
        ("name", json!(["n"])),
        ("issuer", json!("")),
        ("issuer", json!("i".repeat(2049))),
        ("issuer", json!(null)),
        ("alias", json!("")),
        ("alias", json!(5)),
        ("allowed_algorithms", json!([])),
        ("allowed_algorithms", json!(["HS256"])),
        ("allowed_algorithms", json!(["none"])),
        ("allowed_algorithms", json!(["rs256"])),
        ("allowed_algorithms", json!(["RS256", "RS256"])),
        ("allowed_algorithms", json!("RS256")),
        ("clock_skew_seconds", json!(-1)),
        ("clock_skew_seconds", json!(301)),
        ("clock_skew_seconds", json!(1.5)),
        ("clock_skew_seconds", json!("60")),
        ("max_token_age_seconds", json!(0)),
        ("max_token_age_seconds", json!(31_536_001)),
        ("require_jti", json!("yes")),
        ("enabled", json!(0)),
        ("id", json!("0123456789abcdef0123456789abcdef")),
        ("created_at", json!("2026-01-01T00:00:00Z")),
        ("updated_at", json!("2026-01-01T00:00:00Z")),
        ("secret", json!("x")),
    ];
    for (field, value) in field_cases {
        let mut body = jwks_issuer("n");
        body[field] = value;
        cases.push((body, field));
    }
    for (body, field) in cases {
        let reply = admin.post(&issuers(&org), body.clone()).await;
        assert_eq!(reply.status, 400, "{field}: {body} → {:#}", reply.body);
        reply.assert_problem(400, Some(field));
    }
    // Nothing of all that was stored.
    assert_eq!(admin.partition(&org).await, Vec::<String>::new());
    // At the bounds, the same fields are accepted.
    let mut edge = jwks_issuer(&"n".repeat(128));
    edge["clock_skew_seconds"] = json!(300);
    edge["max_token_age_seconds"] = json!(31_536_000);
    edge["issuer"] = json!("i".repeat(2048));
    create(&admin, &org, edge).await;
}

#[tokio::test]
async fn the_insecure_jwks_flag_admits_local_http_targets() {
    let admin = Admin::with(Settings {
        allow_insecure_jwks: true,
        ..Settings::default()
    })
    .await;
    let org = admin.organization().await;
    let body = json!({"name": "local", "issuer": "http://127.0.0.1:8080", "jwks_uri": "http://127.0.0.1:8080/jwks"});
    create(&admin, &org, body).await;
}

#[tokio::test]
async fn the_insecure_jwks_flag_never_admits_link_local_or_metadata_targets() {
    let admin = Admin::with(Settings {
        allow_insecure_jwks: true,
        ..Settings::default()
    })
    .await;
    let org = admin.organization().await;
    for uri in [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://169.254.170.2/v2/credentials",
        "http://[::ffff:169.254.169.254]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[fe80::1]/jwks",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://0xa9fea9fe/",
    ] {
        let body = json!({"name": "metadata", "issuer": "https://m.example.com", "jwks_uri": uri});
        admin
            .post(&issuers(&org), body)
            .await
            .assert_problem(400, Some("jwks_uri"));
    }
}

#[tokio::test]
async fn name_and_issuer_value_are_each_unique_in_an_organization() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    create(
        &admin,
        &org,
        json!({"name": "A", "issuer": "https://a", "jwks_uri": "https://a.example.com/k"}),
    )
    .await;

    let same_name =
        json!({"name": "A", "issuer": "https://other", "jwks_uri": "https://a.example.com/k"});
    admin
        .post(&issuers(&org), same_name)
        .await
        .assert_problem(409, Some("name"));
    let same_iss =
        json!({"name": "B", "issuer": "https://a", "jwks_uri": "https://a.example.com/k"});
    admin
        .post(&issuers(&org), same_iss)
        .await
        .assert_problem(409, Some("issuer"));

    // Byte for byte: a different case or a trailing slash is another value.
    create(
        &admin,
        &org,
        json!({"name": "a", "issuer": "https://a/", "jwks_uri": "https://a.example.com/k"}),
    )
    .await;

    // Another organization may reuse both.
    let other = admin.organization().await;
    create(
        &admin,
        &other,
        json!({"name": "A", "issuer": "https://a", "jwks_uri": "https://a.example.com/k"}),
    )
    .await;
}

#[tokio::test]
async fn parallel_identical_creates_give_one_201_and_one_409() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let body = jwks_issuer("Twin");
    let path = issuers(&org);
    let (a, b) = tokio::join!(
        admin.post(&path, body.clone()),
        admin.post(&path, body.clone())
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{:#} {:#}", a.body, b.body);
    // One issuer and its two guards, nothing of the loser.
    assert_eq!(admin.partition(&org).await.len(), 3);
}

#[tokio::test]
async fn parallel_creates_with_one_issuer_value_and_different_names_give_one_409_on_issuer() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let first =
        json!({"name": "First", "issuer": "https://shared", "jwks_uri": "https://s.example.com/k"});
    let second = json!({"name": "Second", "issuer": "https://shared", "jwks_uri": "https://s.example.com/k"});
    let path = issuers(&org);
    let (a, b) = tokio::join!(admin.post(&path, first), admin.post(&path, second));
    let (won, lost) = if a.status == 201 { (a, b) } else { (b, a) };
    assert_eq!(won.status, 201, "{:#}", won.body);
    lost.assert_problem(409, Some("issuer"));
    assert_eq!(admin.partition(&org).await.len(), 3);
}

#[tokio::test]
async fn parallel_creates_with_one_name_and_different_issuer_values_give_one_409_on_name() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let first =
        json!({"name": "Same", "issuer": "https://one", "jwks_uri": "https://s.example.com/k"});
    let second =
        json!({"name": "Same", "issuer": "https://two", "jwks_uri": "https://s.example.com/k"});
    let path = issuers(&org);
    let (a, b) = tokio::join!(admin.post(&path, first), admin.post(&path, second));
    let (won, lost) = if a.status == 201 { (a, b) } else { (b, a) };
    assert_eq!(won.status, 201, "{:#}", won.body);
    lost.assert_problem(409, Some("name"));
}

#[tokio::test]
async fn creating_an_issuer_needs_an_existing_organization() {
    let admin = Admin::new().await;
    let missing = common::unique("missing");
    admin
        .post(&issuers(&missing), jwks_issuer("X"))
        .await
        .assert_problem(404, None);
    admin
        .get(&issuers(&missing))
        .await
        .assert_problem(404, None);
    assert_eq!(admin.partition(&missing).await, Vec::<String>::new());
}

#[tokio::test]
async fn lists_issuers_in_pages() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let mut ids = Vec::new();
    for name in ["One", "Two", "Three"] {
        ids.push(
            create(&admin, &org, jwks_issuer(name)).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    ids.sort();

    let first = admin.get(&format!("{}?limit=2", issuers(&org))).await;
    assert_eq!(first.status, 200);
    let page: Vec<&str> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(page, ids[..2]);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = admin
        .get(&format!("{}?limit=2&cursor={cursor}", issuers(&org)))
        .await;
    let page: Vec<&str> = second.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(page, ids[2..]);
    assert_eq!(second.body["next_cursor"], Value::Null);

    let all = admin.get(&issuers(&org)).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 3);
    assert_eq!(all.body["next_cursor"], Value::Null);

    // A cursor from the applications list does not continue this one.
    let apps_cursor = "QVBQIzAxMjM"; // base64url("APP#0123")
    admin
        .get(&format!("{}?cursor={apps_cursor}", issuers(&org)))
        .await
        .assert_problem(400, Some("cursor"));
    // Nor does this list's real cursor continue another organization's list, another kind of
    // list, or anything once tampered with: each is a 400 naming it, never a storage error.
    let other = admin.organization().await;
    let mut tampered = cursor.to_owned();
    let last = if tampered.ends_with('A') { "B" } else { "A" };
    tampered.replace_range(tampered.len() - 1.., last);
    for path in [
        format!("{}?cursor={cursor}", issuers(&other)),
        format!("/t/{org}/api/applications?cursor={cursor}"),
        format!("/api/organizations?cursor={cursor}"),
        format!("{}?cursor={tampered}", issuers(&org)),
        format!("{}?cursor={}", issuers(&org), &cursor[1..]),
    ] {
        admin.get(&path).await.assert_problem(400, Some("cursor"));
    }
    admin
        .get(&format!("{}?limit=500", issuers(&org)))
        .await
        .assert_problem(400, Some("limit"));
}

#[tokio::test]
async fn patch_merges_and_reapplies_every_rule() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let created = create(&admin, &org, jwks_issuer("Okta")).await;
    let path = issuer_path(&org, created["id"].as_str().unwrap());

    // Switch the key source: remove jwks_uri and set a certificate in one patch.
    let reply = admin
        .patch(&path, json!({"jwks_uri": null, "certificate": CERT_B64_DER, "alias": "aud-x", "clock_skew_seconds": 5}))
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.body["jwks_uri"], Value::Null);
    assert_eq!(reply.body["certificate"]["sha256_fingerprint"], CERT_SHA256);
    assert_eq!(reply.body["alias"], "aud-x");
    assert_eq!(reply.body["clock_skew_seconds"], 5);
    assert_eq!(reply.body["name"], "Okta");
    assert_eq!(reply.body["id"], created["id"]);
    assert_eq!(reply.body["created_at"], created["created_at"]);
    assert_eq!(admin.get(&path).await.body, reply.body);

    // null resets to the default.
    let reply = admin
        .patch(&path, json!({"clock_skew_seconds": null, "alias": null}))
        .await;
    assert_eq!(reply.body["clock_skew_seconds"], 60);
    assert_eq!(reply.body["alias"], Value::Null);

    // Both key sources at once, none, and every other rule: 400, and nothing changes.
    let before = admin.get(&path).await.body;
    for (patch, field) in [
        (
            json!({"jwks_uri": "https://idp.example.com/jwks"}),
            "jwks_uri",
        ),
        (json!({"certificate": null}), "jwks_uri"),
        (json!({"name": null}), "name"),
        (json!({"name": ""}), "name"),
        (
            json!({"allowed_algorithms": ["ES256"]}),
            "allowed_algorithms",
        ),
        (json!({"clock_skew_seconds": 1000}), "clock_skew_seconds"),
        (json!({"id": "0123456789abcdef0123456789abcdef"}), "id"),
        (json!({"created_at": "x"}), "created_at"),
        (json!({"updated_at": "x"}), "updated_at"),
        (json!({"unknown": 1}), "unknown"),
    ] {
        admin
            .patch(&path, patch)
            .await
            .assert_problem(400, Some(field));
    }
    admin
        .patch(&path, json!(["not", "an", "object"]))
        .await
        .assert_problem(400, None);
    assert_eq!(admin.get(&path).await.body, before);
}

/// The bug: the admin API stored certificates whose keys the token endpoint refuses (a
/// 16,384-bit RSA key, RSA exponent 1), so every exchange for the issuer was a 500. Create and
/// patch now refuse them with 400 naming `certificate`, with the token endpoint's own reason.
#[tokio::test]
async fn refuses_certificates_whose_key_the_token_endpoint_cannot_verify_with() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let good = create(
        &admin,
        &org,
        json!({"name": "good", "issuer": "good", "certificate": CERT}),
    )
    .await;
    let path = issuer_path(&org, good["id"].as_str().unwrap());
    for (file, reason) in [
        ("rsa16384.pem", "an RSA key of 16384 bits"),
        ("rsa2048-e1.pem", "an RSA key with exponent 1;"),
        ("rsa2048-e3.pem", "an RSA key with exponent 3;"),
    ] {
        let pem = std::fs::read_to_string(format!(
            "{}/tests/fixtures/certificates/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let token_side = certificate_key(&pem).expect_err("the token endpoint refuses it");
        for reply in [
            admin
                .post(
                    &issuers(&org),
                    json!({"name": file, "issuer": file, "certificate": pem}),
                )
                .await,
            admin.patch(&path, json!({"certificate": pem})).await,
        ] {
            reply.assert_problem(400, Some("certificate"));
            let detail = reply.body["detail"].as_str().unwrap();
            assert_eq!(detail, format!("certificate: {token_side}"));
            assert!(detail.contains(reason), "{file}: {detail}");
        }
    }
    assert_eq!(
        admin.get(&path).await.body,
        good,
        "the patches changed nothing"
    );
    let listed = admin.get(&issuers(&org)).await.body;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "{listed:#}"
    );
}

#[tokio::test]
async fn patch_moves_the_uniqueness_guards_with_the_name_and_issuer_value() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let a = create(
        &admin,
        &org,
        json!({"name": "A", "issuer": "https://a", "jwks_uri": "https://a.example.com/k"}),
    )
    .await;
    create(
        &admin,
        &org,
        json!({"name": "B", "issuer": "https://b", "jwks_uri": "https://b.example.com/k"}),
    )
    .await;
    let path = issuer_path(&org, a["id"].as_str().unwrap());

    admin
        .patch(&path, json!({"name": "B"}))
        .await
        .assert_problem(409, Some("name"));
    admin
        .patch(&path, json!({"issuer": "https://b"}))
        .await
        .assert_problem(409, Some("issuer"));

    let renamed = admin
        .patch(&path, json!({"name": "A2", "issuer": "https://a2"}))
        .await;
    assert_eq!(renamed.status, 200, "{:#}", renamed.body);
    // The old values are free again, the new ones taken.
    create(
        &admin,
        &org,
        json!({"name": "A", "issuer": "https://a", "jwks_uri": "https://a.example.com/k"}),
    )
    .await;
    admin
        .post(
            &issuers(&org),
            json!({"name": "A2", "issuer": "https://new", "jwks_uri": "https://a.example.com/k"}),
        )
        .await
        .assert_problem(409, Some("name"));
    // Three issuers, each with exactly two guards.
    let sks = admin.partition(&org).await;
    assert_eq!(sks.iter().filter(|s| s.starts_with("TTI#")).count(), 3);
    assert_eq!(sks.iter().filter(|s| s.starts_with("TTI-NAME#")).count(), 3);
    assert_eq!(sks.iter().filter(|s| s.starts_with("TTI-ISS#")).count(), 3);

    // Patching a name to itself is no conflict.
    let same = admin.patch(&path, json!({"name": "A2"})).await;
    assert_eq!(same.status, 200);
}

#[tokio::test]
async fn deleting_an_issuer_removes_it_and_its_guards() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let keep = create(&admin, &org, jwks_issuer("Keep")).await;
    let gone = create(&admin, &org, jwks_issuer("Gone")).await;
    let path = issuer_path(&org, gone["id"].as_str().unwrap());

    let reply = admin.delete(&path).await;
    assert_eq!(reply.status, 204);
    assert_eq!(reply.body, Value::Null);
    admin.get(&path).await.assert_problem(404, None);
    admin.delete(&path).await.assert_problem(404, None);
    admin
        .patch(&path, json!({"enabled": false}))
        .await
        .assert_problem(404, None);

    let keep_id = keep["id"].as_str().unwrap();
    let mut expected = vec![
        Key::trusted_issuer(&org, keep_id).sk,
        Key::issuer_name_guard(&org, "Keep").sk,
        Key::issuer_value_guard(&org, "https://keep.example.com").sk,
    ];
    expected.sort();
    let mut sks = admin.partition(&org).await;
    sks.sort();
    assert_eq!(sks, expected, "no orphaned guard of the deleted issuer");
    // Its name and issuer value can be used again.
    create(&admin, &org, jwks_issuer("Gone")).await;
}

#[tokio::test]
async fn ids_that_the_server_cannot_have_made_are_not_found() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    for id in [
        "x",
        "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcdef",
    ] {
        let path = issuer_path(&org, id);
        admin.get(&path).await.assert_problem(404, None);
        admin.delete(&path).await.assert_problem(404, None);
    }
}

const GITHUB_CONDITION: &str =
    r#"claims.repository_owner == "acme" && claims.ref == "refs/heads/main""#;

fn with_policy(name: &str, policy: Value) -> Value {
    let mut body = jwks_issuer(name);
    for (key, value) in policy.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

#[tokio::test]
async fn stores_and_shows_a_condition_a_subject_and_claim_mappings() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let policy = json!({
        "condition": GITHUB_CONDITION,
        "subject": r#""github|" + claims.sub"#,
        "claim_mappings": {
            "repository": "claims.repository",
            "email": "has(claims.email) ? claims.email : null",
        },
    });
    let created = create(&admin, &org, with_policy("GitHub", policy.clone())).await;
    for key in ["condition", "subject", "claim_mappings"] {
        assert_eq!(created[key], policy[key], "{key}");
    }
    let id = created["id"].as_str().unwrap();
    assert_eq!(admin.get(&issuer_path(&org, id)).await.body, created);
    // What the token function loads compiles again.
    let stored: Vec<TrustedIssuer> = admin
        .test
        .table
        .query_all(&organization_pk(&org), ISSUER_PREFIX)
        .await
        .unwrap();
    assert_eq!(serde_json::to_value(&stored[0]).unwrap(), created);
    let decision = stored[0]
        .policy()
        .unwrap()
        .evaluate(br#"{"sub": "1", "repository_owner": "acme", "ref": "refs/heads/main", "repository": "acme/app"}"#, "1")
        .unwrap();
    assert_eq!(decision.sub, "github|1");
    assert_eq!(
        serde_json::Value::Object(decision.claims),
        json!({"repository": "acme/app"})
    );
}

#[tokio::test]
async fn refuses_a_policy_that_does_not_compile_naming_the_field_and_the_position() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let reply = admin
        .post(
            &issuers(&org),
            with_policy("A", json!({"condition": "claims.ref = 'main'"})),
        )
        .await;
    reply.assert_problem(400, Some("condition"));
    let detail = reply.body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("condition: syntax error at 1:12: "),
        "{detail}"
    );

    for (policy, field) in [
        (json!({"subject": "'github|' +"}), "subject"),
        (
            json!({"claim_mappings": {"sub": "claims.email"}}),
            "claim_mappings.sub",
        ),
        (
            json!({"claim_mappings": {"idp": "'x'"}}),
            "claim_mappings.idp",
        ),
        (
            json!({"claim_mappings": {"team": "claims.("}}),
            "claim_mappings.team",
        ),
        (
            json!({"claim_mappings": {"not a name": "1"}}),
            "claim_mappings",
        ),
        (json!({"condition": "x".repeat(4097)}), "condition"),
        (json!({"condition": 42}), "condition"),
    ] {
        let reply = admin
            .post(&issuers(&org), with_policy("B", policy.clone()))
            .await;
        reply.assert_problem(400, Some(field));
    }
}

/// Expressions nested far beyond what the parser survives on a small stack are refused before
/// parsing, and the function keeps serving.
#[tokio::test]
async fn a_hostile_deep_expression_is_refused_and_the_function_answers_the_next_request() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    for hostile in [
        format!("{}true{}", "(".repeat(2_000), ")".repeat(2_000)),
        format!("{}1{}", "[".repeat(2_000), "]".repeat(2_000)),
        format!("claims{}", ".a".repeat(2_000)),
        format!("{}1", "true ? 1 : ".repeat(400)),
        "(".repeat(4_096),
    ] {
        let reply = admin
            .post(
                &issuers(&org),
                with_policy("Deep", json!({"condition": hostile})),
            )
            .await;
        reply.assert_problem(400, Some("condition"));
        let mappings = json!({"claim_mappings": {"deep": hostile}});
        let reply = admin
            .post(&issuers(&org), with_policy("Deep", mappings))
            .await;
        reply.assert_problem(400, Some("claim_mappings.deep"));
    }
    let created = create(
        &admin,
        &org,
        with_policy("Next", json!({"condition": GITHUB_CONDITION})),
    )
    .await;
    assert_eq!(created["condition"], GITHUB_CONDITION);
}

#[tokio::test]
async fn patch_recompiles_the_policy_and_merges_the_mappings() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let policy = json!({
        "condition": GITHUB_CONDITION,
        "claim_mappings": {"repository": "claims.repository", "actor": "claims.actor"},
    });
    let created = create(&admin, &org, with_policy("GitHub", policy)).await;
    let path = issuer_path(&org, created["id"].as_str().unwrap());

    for (patch, field) in [
        (json!({"condition": "claims.ref =="}), "condition"),
        (json!({"subject": "("}), "subject"),
        (
            json!({"claim_mappings": {"exp": "1"}}),
            "claim_mappings.exp",
        ),
        (
            json!({"claim_mappings": {"actor": "claims.actor +"}}),
            "claim_mappings.actor",
        ),
    ] {
        let reply = admin.patch(&path, patch.clone()).await;
        reply.assert_problem(400, Some(field));
    }
    assert_eq!(admin.get(&path).await.body, created);

    // RFC 7396: a null member removes that mapping, the others stay.
    let reply = admin
        .patch(
            &path,
            json!({"subject": "claims.actor", "claim_mappings": {"actor": null, "ref": "claims.ref"}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.body["subject"], "claims.actor");
    assert_eq!(
        reply.body["claim_mappings"],
        json!({"repository": "claims.repository", "ref": "claims.ref"})
    );
    let reply = admin
        .patch(
            &path,
            json!({"condition": null, "subject": null, "claim_mappings": null}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.body["condition"], Value::Null);
    assert_eq!(reply.body["subject"], Value::Null);
    assert_eq!(reply.body["claim_mappings"], json!({}));
}

/// Another organization's issuer value as `issuer` or `alias` would let this organization
/// accept subject tokens minted for that one: refused on create and on patch, naming the
/// field, and nothing is written.
#[tokio::test]
async fn refuses_an_organizations_issuer_value_as_issuer_or_alias() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let victim = admin.organization().await;
    let victim_issuer = format!("{}/t/{victim}/oauth2/token", common::admin::PUBLIC_URL);
    let before = admin.partition(&org).await;
    for field in ["issuer", "alias"] {
        let mut body = jwks_issuer("Sneaky");
        body[field] = json!(victim_issuer);
        let reply = admin.post(&issuers(&org), body).await;
        reply.assert_problem(400, Some(field));
    }
    assert_eq!(
        admin.partition(&org).await,
        before,
        "a refused create writes nothing"
    );

    let created = create(&admin, &org, jwks_issuer("Honest")).await;
    let path = issuer_path(&org, created["id"].as_str().unwrap());
    for field in ["issuer", "alias"] {
        let reply = admin.patch(&path, json!({ field: victim_issuer })).await;
        reply.assert_problem(400, Some(field));
    }
    let got = admin.get(&path).await;
    assert_eq!(got.body, created, "a refused patch changes nothing");
}
