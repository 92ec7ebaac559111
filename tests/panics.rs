//! One panicking request fails alone (BENCHMARKS.md, `panic = "unwind"`; Cargo.toml):
//! lambda_runtime serving requests concurrently, as `src/bin/token.rs` runs it
//! (`lambda_http::run_concurrent`, `AWS_LAMBDA_MAX_CONCURRENCY` > 1), catches a handler's
//! panic, reports that invocation as failed, and goes on serving the others.
//!
//! Three tests. The runtime's behaviour with `panic = "unwind"`, in this test process (built by
//! `cargo test`, which always unwinds), against the fake Runtime API of
//! tests/common/lambda_runtime.rs. That Cargo.toml sets `panic = "unwind"` itself, since cargo
//! lambda adds `panic = "abort"` whenever the profile leaves it unset. And, ignored by `cargo
//! test` (an LTO release build takes minutes), the same with a process built the way the
//! deployment builds it: `make panic-check` (scripts/panic_check.sh, also run by `make bench`)
//! builds probes/panic-probe with `cargo lambda build --release` and runs the ignored test.

mod common;
/// The probe's own handler (`/panic` panics, the rest answer after a pause).
#[path = "../probes/panic-probe/src/handler.rs"]
mod probe;

use std::time::{Duration, Instant};

use common::lambda_runtime::{Function, event};
use lambda_http::service_fn;
use serde_json::json;

/// Four requests at once to a runtime serving at least four concurrently, `/panic` among them:
/// the three others succeed, the panicking one is reported failed with the probe's panic
/// message, and the next request is served.
async fn one_panic_among_concurrent_requests(function: &Function) {
    let get = |path: &str| event("GET", path, json!({}), None);
    let events = [get("/a"), get("/b"), get("/panic"), get("/c")];
    let started = Instant::now();
    let (a, b, panicked, c) = tokio::join!(
        function.invoke(&events[0]),
        function.invoke(&events[1]),
        function.invoke(&events[2]),
        function.invoke(&events[3]),
    );
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "served concurrently, not one after another: {:?}",
        started.elapsed()
    );
    for (_, reply) in [&a, &b, &c] {
        assert_eq!(reply["statusCode"], 200, "{reply}");
        assert_eq!(reply["body"], "served");
    }
    let (_, failed) = panicked;
    assert_eq!(
        failed["statusCode"], "error",
        "reported as failed: {failed}"
    );
    assert!(failed["path"].as_str().unwrap().ends_with("/error"));
    assert!(
        failed["error"].to_string().contains(probe::PANIC_MESSAGE),
        "{failed}"
    );

    // The environment lives on: the next request is served.
    let (_, after) = function.invoke(&get("/after")).await;
    assert_eq!(after["statusCode"], 200, "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_request_fails_alone_while_concurrent_ones_succeed() {
    let (function, api) = Function::in_this_process().await;
    // SAFETY: set before the runtime starts; the other tests of this binary read no variable,
    // and nothing else in the process reads or writes the environment meanwhile.
    unsafe {
        for (name, value) in [
            ("AWS_LAMBDA_RUNTIME_API", api.as_str()),
            ("AWS_LAMBDA_FUNCTION_NAME", "token"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/token"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "panics"),
            ("AWS_LAMBDA_MAX_CONCURRENCY", "4"),
        ] {
            std::env::set_var(name, value);
        }
    }
    // Not Send (its handler's response is borrowed across an await): driven beside the
    // requests rather than spawned.
    let runtime = lambda_http::run_concurrent(service_fn(probe::handler));
    tokio::select! {
        ended = runtime => panic!("the runtime stopped: {ended:?}"),
        () = one_panic_among_concurrent_requests(&function) => {}
    }
    function.stop().await;
}

/// The probe binary of `make panic-check`: `cargo lambda build --release` of probes/panic-probe.
const PANIC_PROBE: &str = "TRUSTGATE_PANIC_PROBE";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the probe built by cargo lambda build --release: make panic-check"]
async fn a_panic_in_the_release_lambda_build_fails_one_request_and_the_process_lives_on() {
    let binary = std::env::var(PANIC_PROBE)
        .unwrap_or_else(|_| panic!("{PANIC_PROBE}: the probe's bootstrap (make panic-check)"));
    let mut function = Function::start(
        &binary,
        &[("AWS_LAMBDA_MAX_CONCURRENCY", "4".to_owned())],
        "target/panic-probe.log",
    )
    .await;
    one_panic_among_concurrent_requests(&function).await;
    // Still the same process: an abort would have ended it (and the requests above with it).
    assert!(function.is_running(), "the probe process exited");
    function.stop().await;
}

#[test]
fn the_release_profile_unwinds_explicitly() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .expect("Cargo.toml");
    let release = manifest
        .split("\n[profile.release]\n")
        .nth(1)
        .expect("a [profile.release] section");
    let section = release.split("\n[").next().unwrap();
    let settings: Vec<&str> = section
        .lines()
        .map(|line| line.split('#').next().unwrap().trim())
        .filter(|line| line.starts_with("panic"))
        .collect();
    assert_eq!(
        settings,
        ["panic = \"unwind\""],
        "cargo lambda build adds panic = \"abort\" unless the profile says otherwise"
    );
}
