//! The Lambda functions are built without the operator CLI's features (issue #17): the CLI
//! (cli/) is a workspace member but not a default one, so `cargo build` and `cargo lambda build
//! --release` at the root (which SAM and `make bench` run) resolve the functions' dependencies
//! as if it did not exist, and `cli-features` (the CLI's features, for development builds only)
//! is off unless asked for.

use std::process::Command;

/// `cargo tree` as a build with `extra` arguments resolves it: each crate's name, version and
/// features, one per line.
fn resolved(extra: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["tree", "--locked", "--offline", "-e", "normal,build"])
        .args(["--prefix", "none", "-f", "{p} [{f}]"])
        .args(extra)
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

fn features_of<'a>(tree: &'a str, krate: &str) -> Vec<&'a str> {
    let line = tree
        .lines()
        .find(|line| line.starts_with(&format!("{krate} v")))
        .unwrap_or_else(|| panic!("{krate} is in the tree"));
    let list = line.rsplit_once('[').expect("features listed").1;
    list.trim_end_matches([']', ' ', '*', '(', ')'])
        .split(',')
        .collect()
}

fn has_crate(tree: &str, krate: &str) -> bool {
    tree.lines()
        .any(|line| line.starts_with(&format!("{krate} v")))
}

#[test]
fn a_build_at_the_root_has_none_of_the_clis_features() {
    let functions = resolved(&[]);
    for absent in ["trustgate-cli", "clap", "aws-sdk-sso", "aws-sdk-ssooidc"] {
        assert!(
            !has_crate(&functions, absent),
            "{absent} reaches the functions"
        );
    }
    let tokio = features_of(&functions, "tokio");
    assert!(tokio.contains(&"rt-multi-thread"), "{tokio:?}");
    assert!(!tokio.contains(&"process"), "{tokio:?}");
    let aws_config = features_of(&functions, "aws-config");
    assert!(aws_config.contains(&"rt-tokio"), "{aws_config:?}");
    for feature in ["sso", "credentials-process"] {
        assert!(!aws_config.contains(&feature), "{aws_config:?}");
    }
    // The console's server.
    let hyper = features_of(&functions, "hyper");
    assert!(
        hyper.contains(&"client") && !hyper.contains(&"server"),
        "{hyper:?}"
    );

    // What the development builds resolve, as the check above would see it.
    let workspace = resolved(&["--workspace", "--features", "trustgate/cli-features"]);
    assert!(has_crate(&workspace, "trustgate-cli") && has_crate(&workspace, "aws-sdk-sso"));
    assert!(features_of(&workspace, "tokio").contains(&"process"));
    assert!(features_of(&workspace, "hyper").contains(&"server"));
}
