//! Property tests of every parser of untrusted input: the token request form and the
//! Basic header, the subject token's header and payload, JWK Set documents, certificates and
//! the admin JSON bodies. For any input: no panic, bounded work, and an answer that is either a
//! value or a documented error (400/401 OAuth errors, field-naming admin errors). The same
//! entry points are fuzzed by `fuzz/` (see SECURITY.md); these run in `make test` with bounded
//! case counts and sizes so they stay fast. No emulator needed.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use lambda_http::http::StatusCode;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use trustgate::domain::application::ApplicationSettings;
use trustgate::domain::certificate::{certificate_key, parse_certificate};
use trustgate::domain::input::{Settings, merge_patch};
use trustgate::domain::issuer::{Algorithm, IssuerRules, IssuerSettings, TrustedIssuer};
use trustgate::domain::organization::Organization;
use trustgate::domain::subject_token::{MAX_TOKEN_BYTES, Rejection, UnverifiedToken};
use trustgate::keys::jwks::parse_jwks;
use trustgate::oauth::client_auth::extract;
use trustgate::oauth::form::Form;
use trustgate::oauth::{ErrorCode, OAuthError};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        // No persisted regressions file: failures print their minimal input instead.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A token endpoint error allowed for bad input (RFC 6749 §5.2): 400 `invalid_request` or
/// 401 `invalid_client`, never a 5xx.
fn is_contract_input_error(error: &OAuthError) -> bool {
    matches!(
        (error.status, &error.code),
        (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest)
            | (StatusCode::UNAUTHORIZED, ErrorCode::InvalidClient)
    )
}

/// Strings that mix form syntax, percent escapes, Unicode and control characters.
fn form_text() -> impl Strategy<Value = String> {
    proptest::string::string_regex(
        r"([a-z_]{1,12}|client_id|client_secret|grant_type|%[0-9A-Fa-f]{0,2}|[=&+;%]|\PC|[\x00-\x1f]|é|\u{202e}){0,40}",
    )
    .unwrap()
}

/// Any JSON value, nested a few levels, with member names that the admin schemas know.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,20}".prop_map(Value::String),
        Just(json!("https://idp.example.com")),
        // URL-shaped, any case, any script: what reaches the URL parser (src/domain/uri.rs).
        "(https|hTTp|http)://\\PC{0,16}".prop_map(Value::String),
        Just(json!("' OR 1=1 --")),
        Just(json!("<script>alert(1)</script>")),
        Just(json!("RS256")),
        Just(json!("oidc")),
        Just(json!("refresh_token")),
        Just(json!("x".repeat(3000))),
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((member_name(), inner), 0..10)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn member_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "name",
            "issuer",
            "alias",
            "jwks_uri",
            "certificate",
            "allowed_algorithms",
            "clock_skew_seconds",
            "max_token_age_seconds",
            "require_jti",
            "enabled",
            "type",
            "grant_types",
            "access_token_ttl_seconds",
            "refresh_token_ttl_seconds",
            "id",
            "client_id",
            "client_secret",
            "created_at",
            "$ne",
            "__proto__",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,10}",
    ]
}

fn rules(allow_insecure_jwks: bool) -> IssuerRules<'static> {
    IssuerRules {
        allow_insecure_jwks,
        public_url: "https://sts.example.com",
    }
}

fn a_trusted_issuer() -> TrustedIssuer {
    TrustedIssuer {
        id: "i1".into(),
        settings: IssuerSettings {
            name: "idp".into(),
            issuer: "https://idp.example.com".into(),
            alias: None,
            jwks_uri: Some("https://idp.example.com/jwks".into()),
            certificate: None,
            allowed_algorithms: Algorithm::ALL.to_vec(),
            clock_skew_seconds: 60,
            max_token_age_seconds: None,
            require_jti: false,
            enabled: true,
            condition: None,
            subject: None,
            claim_mappings: Default::default(),
        },
        created_at: String::new(),
        updated_at: String::new(),
    }
}

proptest! {
    #![proptest_config(config())]

    /// Any body parses or is refused as too large; any parameter read is a value or a 400.
    #[test]
    fn form_parsing_answers_every_body(body in prop::collection::vec(any::<u8>(), 0..512), text in form_text()) {
        for body in [body, text.into_bytes()] {
            let form = Form::parse(&body).expect("bodies under 64 KiB parse");
            for name in ["grant_type", "client_id", "subject_token", "", "a"] {
                if let Err(e) = form.get(name) {
                    prop_assert!(is_contract_input_error(&e), "{e:?}");
                }
                if let Err(e) = form.require(name) {
                    prop_assert!(is_contract_input_error(&e), "{e:?}");
                }
            }
        }
    }

    /// Any `Authorization` value with any form: credentials, or a 400/401 OAuth error, and
    /// never a client id or secret beyond the bounds.
    #[test]
    fn client_authentication_answers_every_header(
        raw in prop::collection::vec(any::<u8>(), 0..300),
        credentials in form_text(),
        scheme in prop::sample::select(vec!["Basic ", "basic  ", "Bearer ", "", "Basic"]),
        body in form_text(),
    ) {
        let form = Form::parse(body.as_bytes()).unwrap();
        let encoded = format!("{scheme}{}", STANDARD.encode(credentials.as_bytes())).into_bytes();
        for header in [None, Some(raw.as_slice()), Some(encoded.as_slice())] {
            match extract(header, &form) {
                Ok(creds) => {
                    prop_assert!(!creds.client_id().is_empty());
                    prop_assert!(creds.client_id().len() <= 256);
                    prop_assert!(creds.secret().is_none_or(|s| s.expose().len() <= 512));
                }
                Err(e) => prop_assert!(is_contract_input_error(&e), "{e:?}"),
            }
        }
    }

    /// Bodies over the limit are refused before any parsing work.
    #[test]
    fn oversized_form_bodies_are_a_400(extra in 1usize..4096) {
        let body = vec![b'a'; trustgate::oauth::form::MAX_BODY_BYTES + extra];
        let e = Form::parse(&body).unwrap_err();
        prop_assert!(is_contract_input_error(&e));
    }

    /// Any string is refused or parsed; a parsed token routes to a trusted issuer or is refused.
    #[test]
    fn subject_token_parsing_answers_every_string(token in "[A-Za-z0-9_.=+/ -]{0,200}") {
        if let Ok(parsed) = UnverifiedToken::parse(&token) {
            let _ = parsed.route(&[a_trusted_issuer()]);
        }
    }

    /// Any JSON (or non-JSON) header and payload, well encoded: the cheap checks answer
    /// without panic, and anything accepted names an algorithm of the allow-list (never
    /// `none` or HMAC) and a bounded `kid`.
    #[test]
    fn subject_token_header_and_payload_are_checked_for_any_json(
        header in json_value(),
        payload in json_value(),
        alg in prop::sample::select(vec!["RS256", "ES256", "PS512", "none", "HS256", "", "RSA-OAEP"]),
        raw_header in prop::collection::vec(any::<u8>(), 0..64),
        signature in "[A-Za-z0-9_-]{1,90}",
    ) {
        let mut with_alg = header.clone();
        if let Value::Object(map) = &mut with_alg {
            map.insert("alg".into(), json!(alg));
        }
        let payloads = [payload.to_string().into_bytes(), b"{\"iss\":\"https://idp.example.com\"}".to_vec()];
        for header_bytes in [header.to_string().into_bytes(), with_alg.to_string().into_bytes(), raw_header.clone()] {
            for payload_bytes in &payloads {
                let token = format!(
                    "{}.{}.{signature}",
                    URL_SAFE_NO_PAD.encode(&header_bytes),
                    URL_SAFE_NO_PAD.encode(payload_bytes)
                );
                if let Ok(parsed) = UnverifiedToken::parse(&token) {
                    let alg = parsed.header().alg;
                    prop_assert!(Algorithm::ALL.contains(&alg));
                    prop_assert!(parsed.header().kid.as_ref().is_none_or(|k| k.len() <= 256));
                    let issuers = [a_trusted_issuer()];
                    if let Ok(index) = parsed.route(&issuers) {
                        prop_assert_eq!(&issuers[index].issuer, "https://idp.example.com");
                    }
                }
            }
        }
    }

    /// Tokens over 16 KiB are refused whatever they hold.
    #[test]
    fn oversized_subject_tokens_are_refused(extra in 1usize..2048) {
        let token = "a".repeat(MAX_TOKEN_BYTES + extra);
        prop_assert!(UnverifiedToken::parse(&token).is_err());
    }

    /// Any bytes, and any JSON document shaped like a JWK Set, parse to at most `max_keys`
    /// keys or a JwksError.
    #[test]
    fn jwks_parsing_answers_every_document(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        members in prop::collection::vec(json_value(), 0..12),
        kty in prop::sample::select(vec!["RSA", "EC", "oct", "OKP", ""]),
        crv in prop::sample::select(vec!["P-256", "P-384", "P-521", "secp256k1"]),
        n in "[A-Za-z0-9_=+/-]{0,400}",
        xy in "[A-Za-z0-9_-]{0,90}",
        max_keys in 0usize..4,
    ) {
        let _ = parse_jwks(&bytes, max_keys);
        let mut keys = members;
        keys.push(json!({"kty": kty, "n": n, "e": "AQAB", "kid": "k"}));
        keys.push(json!({"kty": kty, "crv": crv, "x": xy, "y": xy, "use": "sig"}));
        let document = json!({ "keys": keys }).to_string();
        if let Ok(parsed) = parse_jwks(document.as_bytes(), max_keys) {
            prop_assert!(parsed.keys.len() <= max_keys);
        }
    }

    /// Any text, PEM-looking or base64, is a certificate or an error that does not repeat it.
    #[test]
    fn certificate_parsing_answers_every_input(
        text in "\\PC{0,200}",
        der in prop::collection::vec(any::<u8>(), 0..400),
        label in prop::sample::select(vec!["CERTIFICATE", "PRIVATE KEY", "PUBLIC KEY", "X"]),
    ) {
        let pem = format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            STANDARD.encode(&der)
        );
        let secret_marker = STANDARD.encode(&der);
        for input in [text.clone(), pem, STANDARD.encode(&der), format!("-----BEGIN{text}")] {
            let parsed = parse_certificate(&input);
            if let Err(message) = &parsed {
                prop_assert!(!message.is_empty());
                prop_assert!(secret_marker.len() < 16 || !message.contains(&secret_marker));
            }
            // The token function's reader of the stored certificate's key answers the same.
            prop_assert_eq!(certificate_key(&input), parsed.map(|(_, key)| key));
        }
    }

    /// Any JSON body for every admin create and patch: a record or an error naming a field
    /// (or the whole body), never a panic.
    #[test]
    fn admin_inputs_answer_every_json_body(body in json_value(), patch in json_value()) {
        for value in [&body, &patch] {
            for insecure in [false, true] {
                if let Err(e) = IssuerSettings::from_json(value, rules(insecure)) {
                    prop_assert!(!e.message.is_empty());
                }
            }
            if let Err(e) = ApplicationSettings::from_json(value, ()) {
                prop_assert!(!e.message.is_empty());
            }
            if let Err(e) = Organization::name_from_json(value) {
                prop_assert!(!e.message.is_empty());
            }
        }
        let _ = IssuerSettings::patched(&a_trusted_issuer(), &patch, rules(false));
        let mut target = body.clone();
        merge_patch(&mut target, &patch);
        // RFC 7396: applying the same patch twice changes nothing more.
        let once = target.clone();
        merge_patch(&mut target, &patch);
        prop_assert_eq!(once, target);
    }

    /// Any string as a trusted issuer's `jwks_uri`, patched into a valid issuer: the record or
    /// an error naming `jwks_uri`, never a panic. (A non-ASCII host with an upper-case letter,
    /// `https://Eõ/`, made debug builds panic in the URL parser; src/domain/uri.rs.)
    #[test]
    fn jwks_uri_patches_answer_every_string(raw in "(https|hTTp|http)://\\PC{0,24}|\\PC{0,24}") {
        let patch = json!({ "jwks_uri": raw });
        for insecure in [false, true] {
            if let Err(e) = IssuerSettings::patched(&a_trusted_issuer(), &patch, rules(insecure)) {
                prop_assert_eq!(e.field.as_deref(), Some("jwks_uri"), "{}", e.message);
            }
        }
    }

    /// Raw bytes as an admin body, the way the HTTP layer reads them.
    #[test]
    fn admin_inputs_answer_every_byte_string(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
            let _ = IssuerSettings::from_json(&value, rules(false));
            let _ = ApplicationSettings::from_json(&value, ());
            let _ = Organization::name_from_json(&value);
        }
    }
}

/// Nesting far deeper than serde_json's recursion limit is an error, not a stack overflow, for
/// every JSON entry point (subject token payload, JWKS, admin bodies). In a subject token, a
/// claim the rules read is refused; any other claim is skipped by serde_json's iterative
/// skipper, which keeps no stack per level, so the token parses and that claim is ignored.
#[test]
fn deeply_nested_json_is_refused_without_overflowing_the_stack() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let object = format!("{{\"keys\":{deep}}}");
    assert!(parse_jwks(object.as_bytes(), 10).is_err());
    let token_with = |claim: &str| {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(format!(
                "{{\"{claim}\":{}{},\"iss\":\"https://idp.example.com\"}}",
                "[".repeat(5000),
                "]".repeat(5000)
            ))
        )
    };
    assert_eq!(
        UnverifiedToken::parse(&token_with("aud")).unwrap_err(),
        Rejection::BadPayload("not a JSON object")
    );
    let skipped = token_with("x-nested");
    let parsed = UnverifiedToken::parse(&skipped).unwrap();
    assert_eq!(parsed.unverified_issuer(), Ok("https://idp.example.com"));
    assert!(serde_json::from_str::<Value>(&deep).is_err());
}
