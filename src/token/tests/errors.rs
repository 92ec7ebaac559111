//! Every error the token endpoint answers (RFC 6749 §5.2, RFC 8693 §2.2.2), in-process.

use lambda_http::Body;
use lambda_http::http::StatusCode;
use serde_json::json;

use super::*;
use crate::keys::KeyError;
use crate::ports::PortError;
use crate::testing::TestIdp;

#[tokio::test]
async fn parameter_errors_are_invalid_request() {
    let h = Harness::new();
    let subject = h.subject();
    let cases: [&[(&str, &str)]; 4] = [
        &[("grant_type", EXCHANGE), ("subject_token_type", JWT)],
        &[
            ("grant_type", EXCHANGE),
            ("subject_token", &subject),
            ("subject_token", &subject),
            ("subject_token_type", JWT),
        ],
        &[
            ("grant_type", EXCHANGE),
            ("subject_token", &subject),
            ("subject_token_type", "urn:x"),
        ],
        &[
            ("grant_type", EXCHANGE),
            ("subject_token", &subject),
            ("subject_token_type", JWT),
            ("actor_token", &subject),
        ],
    ];
    for params in cases {
        assert_error(
            &h.call(post(params, WEB)).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }
    let mut json_body = post(&[("grant_type", EXCHANGE)], WEB);
    json_body
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    assert_error(
        &h.call(json_body).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

#[tokio::test]
async fn refused_subject_tokens_are_invalid_request_and_name_the_reason() {
    let h = Harness::new();
    let other = TestIdp::new("idp-key");
    let mut expired = h.claims();
    expired["exp"] = json!(NOW - 61);
    let mut foreign = h.claims();
    foreign["aud"] = json!("https://elsewhere.example.com");
    let mut untrusted = h.claims();
    untrusted["iss"] = json!("https://evil.example.com");
    let replayed = h.subject();
    assert_eq!(h.exchange(WEB, &replayed).await.status, StatusCode::OK);
    let cases = [
        ("not a jws".to_owned(), "compact JWS"),
        (other.sign(&h.claims()), "signature is invalid"),
        (h.idp.sign(&expired), "expired"),
        (h.idp.sign(&foreign), "audience"),
        (h.idp.sign(&untrusted), "not trusted"),
        (replayed, "already used"),
    ];
    for (token, reason) in cases {
        let reply = h.exchange(WEB, &token).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
        let description = reply.body["error_description"].as_str().unwrap();
        assert!(description.contains(reason), "{description} lacks {reason}");
    }
}

#[tokio::test]
async fn a_subject_token_living_over_a_day_is_refused_without_a_max_age() {
    let h = Harness::new();
    let mut ten_years = h.claims();
    ten_years["exp"] = json!(NOW + 10 * 365 * 86_400);
    ten_years.as_object_mut().unwrap().remove("iat");
    let reply = h.exchange(WEB, &h.idp.sign(&ten_years)).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(
        reply.body["error_description"],
        "subject token expires more than 24 hours from now"
    );
    let mut a_day = h.claims();
    a_day["exp"] = json!(NOW + 86_400);
    assert_eq!(
        h.exchange(WEB, &h.idp.sign(&a_day)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_subject_token_with_a_trailing_newline_exchanges_fine() {
    let h = Harness::new();
    // What `curl --data-urlencode 'subject_token=<jwt>\n'` sends.
    let reply = h.exchange(WEB, &format!("{}\n", h.subject())).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = h.exchange(WEB, &format!(" \t{}\r\n", h.subject())).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    // Trimmed before the 16 KiB limit: a token just under it, with whitespace beyond it.
    let mut claims = h.claims();
    let mut pad = 12_000;
    let token = loop {
        claims["pad"] = json!("x".repeat(pad));
        let token = h.idp.sign(&claims);
        if token.len() > 16_380 {
            break token;
        }
        pad += 1;
    };
    assert!(token.len() <= 16 * 1024, "{}", token.len());
    let reply = h
        .exchange(WEB, &format!("{token}{}", "\n".repeat(64)))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    // Only whitespace is a missing subject token.
    let reply = h.exchange(WEB, " \n").await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(
        reply.body["error_description"],
        "parameter subject_token is missing"
    );
}

#[tokio::test]
async fn a_failed_exchange_forgets_the_jti_it_recorded() {
    let h = Harness::new();
    let subject = h.subject();
    h.memory
        .signer
        .fail_with(Some(PortError::Unavailable("kms".into())));
    let reply = h.exchange(WEB, &subject).await;
    assert_error(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
    assert_eq!(
        h.memory.refresh_store.families(),
        0,
        "the unused family is discarded"
    );
    h.memory.signer.fail_with(None);
    assert_eq!(h.exchange(WEB, &subject).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_organization_deleted_or_being_deleted_refuses_exchange_and_refresh() {
    let h = Harness::new();
    let refresh_token = h.exchange(WEB, &h.subject()).await.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Half-deleted: marked, its issuers and applications still stored. A function that has
    // not cached the organization (cold, or past TRUSTGATE_CONFIG_CACHE_SECONDS) sees it.
    h.memory.config_store.mark_deleting(&org());
    let cold = TokenApp {
        service: TokenService::new(config(), h.memory.ports()),
    };
    let h = Harness { app: cold, ..h };
    let reply = h.exchange(WEB, &h.subject()).await;
    assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
    let reply = h.refresh(WEB, &refresh_token).await;
    assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_error(
        &h.exchange(("mobile", None), &h.subject()).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );

    // Gone altogether.
    h.memory.config_store.remove_organization(&org());
    let reply = h.exchange(WEB, &h.subject()).await;
    assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn an_unknown_grant_type_is_unsupported_grant_type() {
    let h = Harness::new();
    let reply = h.call(post(&[("grant_type", "password")], WEB)).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "unsupported_grant_type");
}

#[tokio::test]
async fn client_authentication_failures_are_invalid_client() {
    let h = Harness::new();
    let subject = h.subject();
    for client in [
        ("nobody", Some(SECRET)),
        ("disabled", Some(SECRET)),
        ("web", Some("wrong")),
        ("web", None),
        ("mobile", Some(SECRET)),
    ] {
        let reply = h.exchange(client, &subject).await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
        assert!(
            reply.headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
    }
    let params = [
        ("grant_type", EXCHANGE),
        ("subject_token", &subject),
        ("subject_token_type", JWT),
    ];
    let mut anonymous = post(&params, ("x", None));
    *anonymous.body_mut() = Body::Text(format!(
        "grant_type={EXCHANGE}&subject_token={subject}&subject_token_type={JWT}"
    ));
    assert_error(
        &h.call(anonymous).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
}

#[tokio::test]
async fn repeated_failures_lock_the_client_out_of_that_source() {
    let h = Harness::new();
    let subject = h.subject();
    for _ in 0..crate::domain::lockout::MAX_FAILURES {
        let reply = h.exchange(("web", Some("wrong")), &subject).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = h.exchange(("web", Some("wrong")), &subject).await;
    assert_error(&reply, StatusCode::TOO_MANY_REQUESTS, "invalid_client");
    assert!(reply.headers.contains_key("retry-after"));
    // Locked: even the right secret waits for the window to end.
    let reply = h.exchange(WEB, &subject).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_grant_the_application_lacks_is_unauthorized_client() {
    let h = Harness::new();
    let reply = h
        .exchange(("refresh-only", Some(SECRET)), &h.subject())
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "unauthorized_client");
    let reply = h.exchange(("spa", None), &h.subject()).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "unauthorized_client");
}

#[tokio::test]
async fn other_methods_are_method_not_allowed() {
    let h = Harness::new();
    let mut request = post(&[], WEB);
    *request.method_mut() = lambda_http::http::Method::GET;
    let reply = h.call(request).await;
    assert_error(&reply, StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    assert_eq!(reply.headers["allow"], "POST");
}

#[tokio::test]
async fn unavailable_dependencies_are_503_with_retry_after() {
    let unavailable = || Some(PortError::Unavailable("throttled".into()));
    let h = Harness::new();
    h.memory.config_store.fail_with(unavailable());
    let reply = h.exchange(WEB, &h.subject()).await;
    assert_error(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
    assert!(reply.headers.contains_key("retry-after"));

    let h = Harness::new();
    h.memory.keys.set(
        "issuer-1",
        Err(KeyError::Unavailable {
            retry_after_seconds: 7,
        }),
    );
    let reply = h.exchange(WEB, &h.subject()).await;
    assert_error(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
    assert_eq!(reply.headers["retry-after"], "7");

    let h = Harness::new();
    h.memory.refresh_store.fail_with(unavailable());
    let reply = h.exchange(WEB, &h.subject()).await;
    assert_error(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
}

#[tokio::test]
async fn anything_unexpected_is_a_bare_server_error() {
    let h = Harness::new();
    h.memory.signer.fail_with(Some(PortError::Internal(
        "disabled key arn:aws:kms:…".into(),
    )));
    let reply = h.exchange(WEB, &h.subject()).await;
    assert_error(&reply, StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    assert!(
        !reply.body.to_string().contains("arn:aws"),
        "no internals in the body"
    );

    let h = Harness::new();
    h.memory
        .keys
        .set("issuer-1", Err(KeyError::Misconfigured("no key".into())));
    let reply = h.exchange(WEB, &h.subject()).await;
    assert_error(&reply, StatusCode::INTERNAL_SERVER_ERROR, "server_error");
}
