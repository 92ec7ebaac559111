//! The bounds of policy/src/limits.rs, each refused with a message in bounded time,
//! and the stack measurements behind them, in the debug build the tests run in.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;

use super::*;
use crate::tests::{compile_error, condition, policy, run};
use crate::{IssuerPolicy, PolicyStep, compile_one};

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
    // The bounds apply to the claims the expressions read (only those are converted).
    let p = policy(
        None,
        Some("claims.sub"),
        &[("list", "claims.l"), ("deep", "claims.a")],
    );
    let long = json!({"sub": "s", "l": vec![0; MAX_CLAIMS_LIST + 1]}).to_string();
    let refusal = p.evaluate(long.as_bytes(), "s").unwrap_err();
    assert_eq!(refusal.step, PolicyStep::Subject);
    assert_eq!(
        refusal.detail,
        "a list in the token's claims has more than 1000 elements"
    );
    let mut deep = json!(1);
    for _ in 0..=MAX_CLAIMS_DEPTH {
        deep = json!({ "a": deep });
    }
    let refusal = p.evaluate(deep.to_string().as_bytes(), "s").unwrap_err();
    assert_eq!(
        refusal.detail,
        "the token's claims nest more than 16 levels deep"
    );
    for bad in [
        &b"[1]"[..],
        b"not json",
        b"\"s\"",
        b"{\"sub\": \"s\"} trailing",
    ] {
        let refusal = p.evaluate(bad, "s").unwrap_err();
        assert_eq!(refusal.detail, "the token's claims are not a JSON object");
    }
    let unread = policy(None, Some("claims.sub"), &[]);
    assert_eq!(unread.evaluate(long.as_bytes(), "s").unwrap().sub, "s");
    assert_eq!(
        unread
            .evaluate(deep.to_string().as_bytes(), "s")
            .unwrap_err()
            .detail,
        "the subject expression failed: no such key 'sub'"
    );
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

/// The deepest claims accepted are compared and converted back to JSON on the same small
/// stack as the deepest expressions.
#[test]
fn the_deepest_accepted_claims_evaluate_on_a_small_stack() {
    let mut deep = json!(["leaf"]);
    for _ in 0..MAX_CLAIMS_DEPTH - 2 {
        deep = json!({ "a": deep });
    }
    let claims = json!({ "sub": "s", "a": deep }).to_string();
    let p = policy(Some("claims == claims"), None, &[("copy", "claims.a")]);
    let decision = on_stack(768 << 10, || p.evaluate(claims.as_bytes(), "s"));
    assert_eq!(decision.unwrap().claims["copy"], deep);
}
