//! The integration tests, one test binary (`cargo test --test it`; one module with
//! `cargo test --test it keys::`): each file of tests/ is a module of it, so the library and the
//! AWS SDK are linked once, not once per file. tests/panics.rs stays a binary of its own: it
//! sets the process's environment for the Lambda runtime it starts.
//!
//! Cargo.toml turns off the discovery of test files (`autotests = false`), so a new file must
//! be listed below; `every_test_file_is_a_module_or_a_binary` fails until it is.

mod common;

mod admin_applications;
mod admin_changes;
mod admin_explain;
mod admin_http;
mod admin_issuers;
mod admin_organizations;
mod adversarial;
mod aws_calls;
mod chained_exchange;
mod delegation;
mod envelope_signing;
mod exchange_policy;
mod faults;
mod infra_template;
mod introspection;
mod keys;
mod kms_signer;
mod port_contracts;
mod properties;
mod refresh_tokens;
mod routes;
mod sdk_endpoints;
mod storage;
mod table_schema;
mod token_exchange;
mod workspace;

/// A file of tests/ that is neither a module here nor a `[[test]]` of Cargo.toml would never run.
#[test]
fn every_test_file_is_a_module_or_a_binary() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests");
    let this = include_str!("it.rs");
    let manifest = include_str!("../Cargo.toml");
    let mut unlisted = Vec::new();
    for entry in std::fs::read_dir(dir).expect("tests/ is readable") {
        let path = entry.expect("a directory entry").path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name.strip_suffix(".rs") else {
            continue;
        };
        if stem == "it" {
            continue;
        }
        let module = this.lines().any(|line| line == format!("mod {stem};"));
        let binary = manifest.contains(&format!("path = \"tests/{name}\""));
        if !module && !binary {
            unlisted.push(name.to_owned());
        }
    }
    assert!(
        unlisted.is_empty(),
        "not run by any test binary: {unlisted:?}"
    );
}
