//! One list of routes, four places that must agree: infra/template.yaml's API routes (what is
//! deployed), `[workspace.metadata.lambda.watch.router]` in Cargo.toml (what `make dev` serves
//! through `cargo lambda watch`), and the functions' own route tables
//! (`trustgate::http::token::PATHS`, `trustgate::http::admin::routes::ROUTES`). Also the
//! `cargo lambda build`/`deploy` defaults in Cargo.toml against the template's function
//! settings, and every example event's path against the router. No AWS needed.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;
use trustgate::http::admin::routes::{self, Match};
use trustgate::http::token::{self, Route};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The `key = value` lines of Cargo.toml's section `[name]`, keys unquoted. Only the shapes the
/// lambda sections use (quoted or bare keys; strings, integers, booleans): anything else in the
/// section fails the test rather than being skipped.
fn cargo_section(name: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(format!("{ROOT}/Cargo.toml")).unwrap();
    let header = format!("[{name}]");
    let mut lines = text.lines().skip_while(|l| l.trim() != header);
    assert!(lines.next().is_some(), "Cargo.toml has no {header}");
    let mut entries = BTreeMap::new();
    for line in lines.map(str::trim).filter(|l| !l.starts_with('#')) {
        if line.is_empty() || line.starts_with('[') {
            break;
        }
        let (key, value) = line
            .split_once(" = ")
            .unwrap_or_else(|| panic!("{header}: not a `key = value` line: {line}"));
        let key = key.trim_matches('"').to_owned();
        let value = value.trim_matches('"').to_owned();
        assert!(
            !value.contains(['{', '[', '"']),
            "{header}: {key}: only plain values are read here"
        );
        assert!(entries.insert(key, value).is_none(), "{header}: twice");
    }
    entries
}

fn template() -> Value {
    let text = std::fs::read_to_string(format!("{ROOT}/infra/template.yaml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// A tagged value's content (`!Sub x` → `x`).
fn untagged(value: &Value) -> &Value {
    match value {
        Value::Tagged(tagged) => &tagged.value,
        other => other,
    }
}

/// The template's API routes: path → the function its integration invokes.
fn template_routes() -> BTreeMap<String, String> {
    let t = template();
    let mut routes = BTreeMap::new();
    for (_, resource) in t["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::ApiGatewayV2::Route") {
            continue;
        }
        let key = resource["Properties"]["RouteKey"].as_str().unwrap();
        let path = key
            .strip_prefix("ANY ")
            .expect("every route takes ANY method");
        let target = untagged(&resource["Properties"]["Target"])
            .as_str()
            .unwrap();
        let function = match target {
            "integrations/${TokenIntegration}" => "token",
            "integrations/${AdminIntegration}" => "admin",
            other => panic!("{key}: unknown target {other}"),
        };
        assert!(
            routes
                .insert(path.to_owned(), function.to_owned())
                .is_none()
        );
    }
    routes
}

fn router() -> BTreeMap<String, String> {
    cargo_section("workspace.metadata.lambda.watch.router")
}

/// The code's tables: the token function's path templates and the admin function's.
fn code_routes() -> BTreeMap<String, String> {
    let mut routes = BTreeMap::new();
    for path in token::PATHS {
        routes.insert(path.to_string(), "token".to_owned());
    }
    for route in routes::ROUTES {
        routes.insert(route.path.to_owned(), "admin".to_owned());
    }
    routes
}

/// A path template with its parameters filled in, as a request would carry it.
fn instance(template: &str) -> String {
    template
        .replace("{org}", "acme")
        .replace("{id}", "i1")
        .replace("{client_id}", "c1")
}

/// matchit's rule for our templates: a `{param}` is one non-empty segment, the rest literal.
fn router_function<'r>(router: &'r BTreeMap<String, String>, path: &str) -> Option<&'r str> {
    let matches = |template: &str| {
        let (t, p): (Vec<_>, Vec<_>) = (template.split('/').collect(), path.split('/').collect());
        t.len() == p.len()
            && t.iter()
                .zip(&p)
                .all(|(t, p)| t == p || (t.starts_with('{') && !p.is_empty()))
    };
    let mut found = router.iter().filter(|(t, _)| matches(t));
    let (_, function) = found.next()?;
    assert!(found.next().is_none(), "{path}: two routes");
    Some(function)
}

#[test]
fn the_dev_router_serves_exactly_the_deployed_routes() {
    assert_eq!(router(), template_routes());
}

#[test]
fn the_deployed_routes_are_the_functions_route_tables() {
    assert_eq!(template_routes(), code_routes());
    assert_eq!(template_routes().len(), 15);
}

#[test]
fn every_routed_path_reaches_a_route_of_its_function_and_no_other() {
    for (template, function) in router() {
        let path = instance(&template);
        let token_route = Route::parse(&path);
        let admin_route = routes::find("GET", &path);
        match function.as_str() {
            "token" => {
                assert!(
                    token_route.is_some(),
                    "{path}: the token function has no route"
                );
                assert_eq!(admin_route, Match::NotFound, "{path}");
            }
            "admin" => {
                assert_ne!(admin_route, Match::NotFound, "{path}: the admin function");
                assert_eq!(token_route, None, "{path}");
            }
            other => panic!("{template}: routed to {other}, which is no function"),
        }
    }
}

#[test]
fn every_example_event_is_routed_to_the_function_it_is_for() {
    let router = router();
    let mut seen = BTreeSet::new();
    for entry in std::fs::read_dir(format!("{ROOT}/events")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let function = name.split('-').next().unwrap();
        let event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let raw_path = event["rawPath"].as_str().unwrap();
        assert_eq!(
            router_function(&router, raw_path),
            Some(function),
            "{name}: {raw_path}"
        );
        seen.insert(function.to_owned());
    }
    assert_eq!(seen, BTreeSet::from(["admin".into(), "token".into()]));
}

#[test]
fn paths_outside_the_table_are_not_routed() {
    let router = router();
    for path in [
        "/",
        "/t/acme",
        "/t//oauth2/token",
        "/t/acme/oauth2/token/extra",
        "/api/organizations/acme/extra",
        "/lambda-url/token/t/acme/oauth2/token",
    ] {
        assert_eq!(router_function(&router, path), None, "{path}");
    }
}

#[test]
fn cargo_lambda_deploy_defaults_are_the_templates_settings() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    let retention = t["Parameters"]["LogRetentionDays"]["Default"]
        .as_i64()
        .unwrap();
    assert_eq!(globals["Architectures"][0].as_str(), Some("arm64"));
    let rotate_timeout = t["Resources"]["RotateFunction"]["Properties"]["Timeout"]
        .as_i64()
        .unwrap();
    for (section, timeout) in [
        (
            "package.metadata.lambda",
            globals["Timeout"].as_i64().unwrap(),
        ),
        ("package.metadata.lambda.bin.rotate", rotate_timeout),
    ] {
        let deploy = cargo_section(&format!("{section}.deploy"));
        let expected = BTreeMap::from([
            ("memory".to_owned(), globals["MemorySize"].as_i64().unwrap()),
            ("timeout".to_owned(), timeout),
            ("log_retention".to_owned(), retention),
        ]);
        let actual: BTreeMap<String, i64> = deploy
            .iter()
            .map(|(k, v)| (k.clone(), v.parse().unwrap()))
            .collect();
        assert_eq!(actual, expected, "[{section}.deploy]");
        // The architecture is the built binary's: cargo lambda deploy reads it from the file.
        let build = cargo_section(&format!("{section}.build"));
        assert_eq!(
            build.get("arm64").map(String::as_str),
            Some("true"),
            "{section}"
        );
        assert_eq!(
            build.get("release").map(String::as_str),
            Some("true"),
            "{section}"
        );
    }
    // Only rotate has settings of its own; every other function takes the package's.
    for function in ["token", "admin"] {
        let text = std::fs::read_to_string(format!("{ROOT}/Cargo.toml")).unwrap();
        assert!(!text.contains(&format!("[package.metadata.lambda.bin.{function}")));
    }
}
