//! Admin JSON bodies: every create and patch reader, and RFC 7396 merge patch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use trustgate::domain::application::ApplicationSettings;
use trustgate::domain::input::{Settings, merge_patch};
use trustgate::domain::issuer::{IssuerRules, IssuerSettings};
use trustgate::domain::organization::Organization;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for allow_insecure_jwks in [false, true] {
        let rules = IssuerRules {
            allow_insecure_jwks,
            public_url: "https://sts.example.com",
        };
        let _ = IssuerSettings::from_json(&value, rules);
    }
    let _ = ApplicationSettings::from_json(&value, ());
    let _ = Organization::name_from_json(&value);
    let mut target = serde_json::json!({"name": "n", "issuer": "https://i.example.com"});
    merge_patch(&mut target, &value);
    let once = target.clone();
    merge_patch(&mut target, &value);
    assert_eq!(once, target);
});
