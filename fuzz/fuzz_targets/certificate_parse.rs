//! Issuer certificates as pasted into the admin API: the text itself, and the bytes as base64
//! DER and as a PEM block (so the fuzzer reaches the DER and X.509 readers), and the token
//! function's reader of a certificate's key.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use trustgate::domain::certificate::{certificate_key, parse_certificate};
use trustgate::domain::public_key::PublicKey;

fuzz_target!(|data: &[u8]| {
    let _ = parse_certificate(&String::from_utf8_lossy(data));
    let b64 = STANDARD.encode(data);
    let _ = parse_certificate(&b64);
    let pem = format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n");
    let _ = parse_certificate(&pem);
    // The token function's reading of a stored certificate's verification key: the same
    // answer as the admin API's.
    let key = certificate_key(&pem);
    assert_eq!(key, parse_certificate(&pem).map(|(_, key)| key));
    let _ = PublicKey::from_spki_der(data);
});
