//! The contract's rules for condition, subject and claim mappings, over GitHub Actions-like
//! claims. The bounds have their own tests (limits/tests.rs).

use std::collections::BTreeMap;

use serde_json::json;

use super::limits::*;
use super::*;

pub(super) fn policy(
    condition: Option<&str>,
    subject: Option<&str>,
    mappings: &[(&str, &str)],
) -> IssuerPolicy {
    let mappings: BTreeMap<String, String> = mappings
        .iter()
        .map(|(n, e)| (n.to_string(), e.to_string()))
        .collect();
    IssuerPolicy::compile(condition, subject, &mappings).unwrap()
}

pub(super) fn condition(expr: &str) -> IssuerPolicy {
    policy(Some(expr), None, &[])
}

pub(super) fn compile_error(condition: &str) -> PolicyError {
    IssuerPolicy::compile(Some(condition), None, &BTreeMap::new()).unwrap_err()
}

pub(super) fn github_claims() -> Vec<u8> {
    json!({
        "iss": "https://token.actions.githubusercontent.com",
        "sub": "repo:acme/app:ref:refs/heads/main",
        "repository_owner": "acme",
        "ref": "refs/heads/main",
        "run_number": 42,
        "groups": ["team-a", "team-b", "admins"],
        "secret": "s3cret-value",
        "motto": "m".repeat(1_500),
    })
    .to_string()
    .into_bytes()
}

pub(super) fn run(policy: &IssuerPolicy) -> Result<Decision, Refusal> {
    policy.evaluate(&github_claims(), "repo:acme/app:ref:refs/heads/main")
}

pub(super) const GITHUB_MAIN: &str =
    r#"claims.repository_owner == "acme" && claims.ref == "refs/heads/main""#;

#[test]
fn a_github_actions_condition_admits_the_main_branch_of_the_owner_only() {
    let p = condition(GITHUB_MAIN);
    let decision = run(&p).unwrap();
    assert_eq!(decision.sub, "repo:acme/app:ref:refs/heads/main");
    assert!(decision.claims.is_empty());
    let other = json!({"repository_owner": "acme", "ref": "refs/heads/dev"}).to_string();
    let refusal = p.evaluate(other.as_bytes(), "x").unwrap_err();
    assert_eq!(refusal.step, PolicyStep::Condition);
    assert_eq!(refusal.detail, "the condition is false");
}

#[test]
fn a_condition_that_fails_to_evaluate_refuses_naming_only_what_the_expression_wrote() {
    let refusal = run(&condition(r#"claims.environment == "prod""#)).unwrap_err();
    assert_eq!(refusal.step, PolicyStep::Condition);
    assert_eq!(
        refusal.detail,
        "the condition failed: no such key 'environment'"
    );
    // A key taken from a claim's value is not echoed, nor are values in type errors.
    for expr in [
        "claims[claims.secret] == 1",
        "claims.secret + 1 == 2",
        "claims.secret / 0 == 1",
    ] {
        let refusal = run(&condition(expr)).unwrap_err();
        assert_eq!(refusal.step, PolicyStep::Condition, "{expr}");
        assert!(
            !refusal.detail.contains("s3cret"),
            "{expr}: {}",
            refusal.detail
        );
    }
}

#[test]
fn a_condition_must_give_a_bool() {
    for (expr, got) in [
        ("claims.ref", "a string"),
        ("claims.run_number", "an int"),
        ("null", "null"),
    ] {
        let refusal = run(&condition(expr)).unwrap_err();
        assert_eq!(refusal.step, PolicyStep::Condition);
        assert_eq!(
            refusal.detail,
            format!("the condition gave {got}, not a bool")
        );
    }
}

#[test]
fn the_standard_library_functions_and_macros_policies_need_work() {
    for expr in [
        r#"claims.ref.startsWith("refs/heads/") && claims.ref.endsWith("main")"#,
        r#"claims.sub.contains("acme/app") && "admins" in claims.groups"#,
        r#"has(claims.groups) && !has(claims.email) && size(claims.groups) == 3"#,
        r#"claims.groups.exists(g, g == "admins") && claims.groups.all(g, size(g) > 2)"#,
        r#"claims.groups.filter(g, g.startsWith("team-")).map(g, g + "!") == ["team-a!", "team-b!"]"#,
        r#"claims.run_number > 40 ? true : false"#,
    ] {
        assert!(run(&condition(expr)).is_ok(), "{expr}");
    }
}

/// Optional values have no JSON form: neither their syntax nor their library is offered.
#[test]
fn optional_values_are_not_part_of_the_language() {
    let error = compile_error("claims.?email == 'x'");
    assert!(
        error.message.starts_with("syntax error at 1:"),
        "{}",
        error.message
    );
    let refusal = run(&condition("optional.of(true).hasValue()")).unwrap_err();
    assert_eq!(refusal.step, PolicyStep::Condition);
}

#[test]
fn the_subject_expression_shapes_the_issued_sub() {
    let p = policy(None, Some(r#""github|" + claims.sub"#), &[]);
    assert_eq!(
        run(&p).unwrap().sub,
        "github|repo:acme/app:ref:refs/heads/main"
    );
    // Without one, the token's own `sub`.
    let p = policy(Some("true"), None, &[]);
    assert_eq!(p.evaluate(b"{}", "abc").unwrap().sub, "abc");
}

#[test]
fn a_subject_that_is_not_a_non_empty_string_refuses() {
    let long = format!("'{}'", "x".repeat(MAX_SUBJECT_BYTES + 1));
    for (expr, detail) in [
        (
            "claims.run_number",
            "the subject expression gave an int, not a string",
        ),
        ("''", "the subject expression gave an empty string"),
        (
            long.as_str(),
            "the subject expression gave a string longer than 1024 bytes",
        ),
        (
            "claims.login",
            "the subject expression failed: no such key 'login'",
        ),
    ] {
        let refusal = run(&policy(None, Some(expr), &[])).unwrap_err();
        assert_eq!(refusal.step, PolicyStep::Subject);
        assert_eq!(refusal.detail, detail);
    }
}

#[test]
fn claim_mappings_add_claims_and_omit_null_results() {
    let p = policy(
        None,
        None,
        &[
            ("repo_owner", "claims.repository_owner"),
            ("email", "has(claims.email) ? claims.email : null"),
            ("teams", r#"claims.groups.filter(g, g.startsWith("team-"))"#),
            (
                "build",
                r#"{"run": claims.run_number, "main": claims.ref == "refs/heads/main", "ratio": 0.5}"#,
            ),
            ("https://example.com/roles", "['reader']"),
        ],
    );
    let decision = run(&p).unwrap();
    assert_eq!(
        serde_json::Value::Object(decision.claims),
        json!({
            "repo_owner": "acme",
            "teams": ["team-a", "team-b"],
            "build": {"run": 42, "main": true, "ratio": 0.5},
            "https://example.com/roles": ["reader"],
        })
    );
}

#[test]
fn a_mapping_that_fails_refuses_naming_the_mapping() {
    for (expr, detail) in [
        (
            "claims.team.name",
            "claim_mappings.team failed: no such key 'team'",
        ),
        (
            "b'abc'",
            "claim_mappings.team gave bytes, which JSON cannot hold",
        ),
        (
            "{1: 'a'}",
            "claim_mappings.team gave a map with a key that is not a string",
        ),
        (
            "1.0 / 0.0",
            "claim_mappings.team gave a number JSON cannot hold (NaN or infinite)",
        ),
        (
            "claims.motto + claims.motto + claims.motto",
            "claim_mappings.team gave more than 4096 bytes of JSON",
        ),
    ] {
        let p = policy(None, None, &[("ok", "1"), ("team", expr)]);
        let refusal = run(&p).unwrap_err();
        assert_eq!(refusal.step, PolicyStep::ClaimMappings, "{expr}");
        assert_eq!(refusal.detail, detail, "{expr}");
    }
}

#[test]
fn reserved_and_malformed_claim_names_are_refused_when_saved() {
    for name in RESERVED_CLAIMS {
        let mappings = BTreeMap::from([(name.to_string(), "1".to_string())]);
        let error = IssuerPolicy::compile(None, None, &mappings).unwrap_err();
        assert_eq!(error.field, format!("claim_mappings.{name}"));
    }
    let long = "a".repeat(MAX_CLAIM_NAME_CHARS + 1);
    for name in ["", "1st", "with space", "naïve", "-x", long.as_str()] {
        let mappings = BTreeMap::from([(name.to_string(), "1".to_string())]);
        let error = IssuerPolicy::compile(None, None, &mappings).unwrap_err();
        assert_eq!(error.field, "claim_mappings", "{name:?}");
        assert!(
            error.message.contains("is not a claim name"),
            "{}",
            error.message
        );
    }
    let many: BTreeMap<String, String> = (0..=MAX_MAPPINGS)
        .map(|i| (format!("c{i}"), "1".to_string()))
        .collect();
    let error = IssuerPolicy::compile(None, None, &many).unwrap_err();
    assert_eq!(error.field, "claim_mappings");
}

#[test]
fn a_syntax_error_names_the_field_and_the_position() {
    let error = compile_error("claims.a == ");
    assert_eq!(error.field, "condition");
    assert!(
        error.message.starts_with("syntax error at 1:13: "),
        "{}",
        error.message
    );
    let error = compile_error("claims.a\n  && claims.b ==== 1");
    assert!(
        error.message.starts_with("syntax error at 2:"),
        "{}",
        error.message
    );
    let mappings = BTreeMap::from([("team".to_string(), "claims.(".to_string())]);
    let error = IssuerPolicy::compile(Some("true"), Some("claims.sub"), &mappings).unwrap_err();
    assert_eq!(error.field, "claim_mappings.team");
    let error = IssuerPolicy::compile(None, Some("'a' +"), &BTreeMap::new()).unwrap_err();
    assert_eq!(error.field, "subject");
}

#[test]
fn an_empty_policy_evaluates_nothing() {
    let p = IssuerPolicy::compile(None, None, &BTreeMap::new()).unwrap();
    assert!(p.is_empty());
    // Not even the claims are read.
    let decision = p.evaluate(b"not json", "abc").unwrap();
    assert_eq!(
        decision,
        Decision {
            sub: "abc".into(),
            claims: serde_json::Map::new()
        }
    );
    assert!(!condition("true").is_empty());
}

#[test]
fn step_names_are_the_admin_fields() {
    assert_eq!(PolicyStep::Condition.as_str(), "condition");
    assert_eq!(PolicyStep::Subject.as_str(), "subject");
    assert_eq!(PolicyStep::ClaimMappings.as_str(), "claim_mappings");
}
