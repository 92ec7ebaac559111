//! The subject token's cheap checks: the raw string, and the bytes as header and payload JSON
//! (base64url-encoded here so the fuzzer reaches the JSON readers directly).
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use trustgate::domain::issuer::{Algorithm, IssuerSettings, TrustedIssuer};
use trustgate::domain::subject_token::UnverifiedToken;

fn issuer() -> TrustedIssuer {
    TrustedIssuer {
        id: "i".into(),
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

fn check(token: &str) {
    if let Ok(parsed) = UnverifiedToken::parse(token) {
        assert!(Algorithm::ALL.contains(&parsed.header().alg));
        let _ = parsed.route(&[issuer()]);
    }
}

fuzz_target!(|data: &[u8]| {
    check(&String::from_utf8_lossy(data));
    let mid = data.iter().position(|b| *b == 0).unwrap_or(data.len() / 2);
    let (header, payload) = data.split_at(mid);
    let token = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload.get(1..).unwrap_or_default())
    );
    check(&token);
});
