use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;

use super::limits::*;
use super::*;

fn policy(
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

fn condition(expr: &str) -> IssuerPolicy {
    policy(Some(expr), None, &[])
}

fn compile_error(condition: &str) -> PolicyError {
    IssuerPolicy::compile(Some(condition), None, &BTreeMap::new()).unwrap_err()
}

fn github_claims() -> Vec<u8> {
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

fn run(policy: &IssuerPolicy) -> Result<Decision, Refusal> {
    policy.evaluate(&github_claims(), "repo:acme/app:ref:refs/heads/main")
}

const GITHUB_MAIN: &str = r#"claims.repository_owner == "acme" && claims.ref == "refs/heads/main""#;

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
fn an_expression_over_4096_characters_is_refused_before_parsing() {
    let fits = format!("'{}' != ''", "x".repeat(MAX_EXPRESSION_CHARS - 8));
    assert_eq!(fits.chars().count(), MAX_EXPRESSION_CHARS);
    assert!(IssuerPolicy::compile(Some(&fits), None, &BTreeMap::new()).is_ok());
    let error = compile_error(&format!("{fits} "));
    assert_eq!(error.field, "condition");
    assert_eq!(
        error.message,
        "is 4097 characters long; at most 4096 are allowed"
    );
}

/// Within the length limit, every way to nest deeply is refused with a message, in
/// milliseconds, and the process lives on.
#[test]
fn deep_nesting_under_the_length_limit_is_refused_without_a_crash() {
    let n = 2_000;
    let hostile = [
        format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        format!("{}1{}", "[".repeat(n), "]".repeat(n)),
        format!("{}1{}", "{'a':".repeat(n / 5), "}".repeat(n / 5)),
        format!("{}true", "true ? true : ".repeat(n / 14)),
        format!("{}1{}", "size(".repeat(n / 6), ")".repeat(n / 6)),
        format!("claims{}", ".a".repeat(n)),
        format!("claims{}", "[0]".repeat(n * 2 / 3)),
        format!("1{}", "+1".repeat(n)),
        format!("1{}", "==1".repeat(n * 2 / 3)),
        format!("{}true", "!".repeat(n)),
        format!("{}1", "-".repeat(n)),
        "(".repeat(4_000),
        format!("{}x{}", "[1].map(x, ".repeat(n / 11), ")".repeat(n / 11)),
    ];
    for source in &hostile {
        assert!(source.chars().count() <= MAX_EXPRESSION_CHARS);
        let started = Instant::now();
        let error = compile_error(source);
        assert_eq!(error.field, "condition");
        assert!(
            error
                .message
                .starts_with("nests more than 5 levels deep at 1:")
                || error.message.starts_with("chains more than 32"),
            "{}: {}",
            &source[..20],
            error.message
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{}",
            &source[..20]
        );
    }
    // Within the scan's bounds but too deep a tree once parsed: refused after parsing.
    let error = compile_error(&format!("claims.run_number{} > 0", " + 1".repeat(24)));
    assert!(
        error.message.contains("levels deep once parsed"),
        "{}",
        error.message
    );
}

#[test]
fn the_scan_counts_neither_strings_comments_nor_decimal_points() {
    for source in [
        "'((((((((((((' == \"[[[[[[[[[[[\"",
        "r'\\(((((((' != '''(((((((\n((('''",
        "1.5 + 2.25e-3 + 0x1F > 0.0 // ((((((((((",
        "[1, 2, 3].exists(x, x > 1) && [4, 5].all(y, y > 3) && {'a': 1}.a == 1",
    ] {
        assert!(check_source(source).is_ok(), "{source}");
        assert!(
            IssuerPolicy::compile(Some(source), None, &BTreeMap::new()).is_ok(),
            "{source}"
        );
    }
    let error = check_source("size([1,\n [(((2)))]]) > 0").unwrap_err();
    assert_eq!(
        error,
        "nests more than 5 levels deep at 2:5 (each bracket, call and ?: counts one level)"
    );
}

#[test]
fn comprehensions_nest_at_most_two_deep() {
    let two = "claims.groups.exists(a, claims.groups.exists(b, a == b))";
    assert!(run(&condition(two)).is_ok());
    let three = "claims.groups.exists(a, claims.groups.exists(b, claims.groups.exists(c, a == c)))";
    let error = compile_error(three);
    assert_eq!(
        error.message,
        "nests comprehensions (all, exists, exists_one, map, filter) 3 deep; at most 2 are allowed"
    );
    // One after another is not nesting.
    let chained = "claims.groups.filter(a, a != '').map(b, b + '!').exists(c, c == 'admins!')";
    assert!(run(&condition(chained)).is_ok());
}

#[test]
fn a_huge_nested_comprehension_is_stopped_by_the_iteration_budget() {
    let list: Vec<u32> = (0..1_000).collect();
    let claims = json!({"sub": "s", "l": list}).to_string();
    let started = Instant::now();
    let p = condition("claims.l.exists(x, claims.l.exists(y, x == y + 5000))");
    let refusal = p.evaluate(claims.as_bytes(), "s").unwrap_err();
    assert_eq!(refusal.step, PolicyStep::Condition);
    assert_eq!(
        refusal.detail,
        "the condition failed: the comprehensions iterate over more than 10000 elements"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The budget is per evaluation: the next one starts afresh.
    let small = condition("claims.l.exists(x, x == 999)");
    assert!(small.evaluate(claims.as_bytes(), "s").is_ok());
    assert!(small.evaluate(claims.as_bytes(), "s").is_ok());
}

#[test]
fn claims_of_a_refused_shape_are_refused_before_evaluation() {
    let p = policy(None, Some("claims.sub"), &[]);
    let long = json!({"sub": "s", "l": vec![0; MAX_CLAIMS_LIST + 1]}).to_string();
    let refusal = p.evaluate(long.as_bytes(), "s").unwrap_err();
    assert_eq!(refusal.step, PolicyStep::Subject);
    assert_eq!(
        refusal.detail,
        "a list in the token's claims has more than 1000 elements"
    );
    let mut deep = json!(1);
    for _ in 0..MAX_CLAIMS_DEPTH {
        deep = json!({ "a": deep });
    }
    let refusal = p.evaluate(deep.to_string().as_bytes(), "s").unwrap_err();
    assert_eq!(
        refusal.detail,
        "the token's claims nest more than 16 levels deep"
    );
    for bad in [&b"[1]"[..], b"not json", b"\"s\""] {
        let refusal = p.evaluate(bad, "s").unwrap_err();
        assert_eq!(refusal.detail, "the token's claims are not a JSON object");
    }
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

/// Runs `work` on a thread with `stack` bytes of stack: an overflow would abort the test run.
fn on_stack<T: Send>(stack: usize, work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(stack)
            .spawn_scoped(s, work)
            .unwrap()
            .join()
            .unwrap()
    })
}

/// `level(inner)` wrapped `MAX_NESTING` times around a chain of `MAX_CHAIN` links.
fn nested(level: impl Fn(&str) -> String, leaf: &str) -> String {
    (0..MAX_NESTING).fold(leaf.to_string(), |inner, _| level(&inner))
}

/// The worst shapes the scan accepts, by what the parser found most stack-hungry.
fn deepest_accepted() -> Vec<String> {
    let chain = ".a".repeat(MAX_CHAIN - 1);
    let plus = "+1".repeat(MAX_CHAIN - 1);
    let shapes = vec![
        nested(|i| format!("({i}){chain}"), &format!("claims{chain}")),
        nested(
            |i| format!("[{i}]{}", "[0]".repeat(MAX_CHAIN - 1)),
            &format!("1{plus}"),
        ),
        nested(|i| format!("{{'a': {i}}}"), &format!("1{plus}")),
        nested(|i| format!("size({i}){plus}"), &format!("claims{chain}")),
        nested(|i| format!("!({i})"), "true"),
        nested(|i| format!("[1].exists(x, {i})"), "true"),
        nested(|i| format!("true ? {i} : 1"), &format!("1{plus}")),
    ];
    for shape in &shapes {
        assert_eq!(check_source(shape), Ok(()), "{shape}");
    }
    shapes
}

/// The parser overflows 2 MiB at 11 nested levels in a debug build; what the scan accepts
/// parses on 1.25 MiB, leaving the rest of a tokio worker's 2 MiB to its callers.
#[test]
fn the_deepest_accepted_expressions_parse_on_a_small_stack() {
    for shape in deepest_accepted() {
        // Accepted or refused for the tree's depth: either way parsed without overflowing.
        let _ = on_stack(1_280 << 10, || compile_one(&shape).map(|_| ()));
    }
}

/// Evaluation runs on the caller's thread; the deepest trees compile allows evaluate on
/// 768 KiB, well within a tokio worker's 2 MiB (see `MAX_TREE_DEPTH`).
#[test]
fn the_deepest_accepted_expressions_evaluate_on_a_small_stack() {
    let depth_limited = |make: &dyn Fn(usize) -> String| -> String {
        (1..200)
            .map(make)
            .take_while(|e| IssuerPolicy::compile(Some(e), None, &BTreeMap::new()).is_ok())
            .last()
            .unwrap_or_else(|| panic!("{} compiles", make(1)))
    };
    let shapes = [
        depth_limited(&|n| format!("claims.run_number{} > 0", " + 1".repeat(n))),
        depth_limited(&|n| format!("size([[[claims.groups[0]{}]]]) > 0", " + 'x'".repeat(n))),
        depth_limited(&|n| {
            format!(
                "claims.groups.exists(a, claims.groups.exists(b, a + b{} != ''))",
                " + a".repeat(n)
            )
        }),
        depth_limited(&|n| format!("{}true", "claims.run_number > 0 && ".repeat(n))),
        depth_limited(&|n| {
            format!(
                "int(string(int(string(claims.run_number{})))) > 0",
                " * 1".repeat(n)
            )
        }),
        depth_limited(&|n| format!("(true ? (true ? 1{} : 0) : 0) > 0", " + 1".repeat(n))),
    ];
    for shape in shapes {
        let p = condition(&shape);
        let decision = on_stack(768 << 10, || run(&p));
        assert!(decision.is_ok(), "{shape}: {decision:?}");
    }
}
