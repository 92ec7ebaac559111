//! JWK Set documents as fetched from a trusted issuer: keys or an error, at most `max_keys`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trustgate::keys::jwks::parse_jwks;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = parse_jwks(data, 3) {
        assert!(parsed.keys.len() <= 3);
    }
});
