//! Logging. JSON lines in Lambda (CloudWatch-friendly), readable text elsewhere. The Lambda
//! runtime opens a span carrying `requestId` around every invocation, and both formats print
//! the current span's fields on every line, so every line names its request.
//!
//! Nothing secret is ever passed to a log macro: tokens, secrets and refresh tokens are wrapped
//! in types whose `Debug` is redacted (see [`crate::secret`]).

pub mod emf;
mod lines;

use tracing::{Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Target prefixes (as [`Targets`] matches them: `aws_smithy` covers `aws_smithy_runtime`, …)
/// whose `trace` output holds request and response bodies and credentials: never above `debug`.
const CAPPED_AT_DEBUG: [&str; 4] = ["lambda_runtime", "aws_smithy", "hyper", "reqwest"];

/// Installs the global subscriber, filtered by [`filter`] over `RUST_LOG`.
pub fn init() {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref());
    // Set by AWS in a real execution environment, not by `cargo lambda watch`.
    let in_lambda = std::env::var_os("AWS_EXECUTION_ENV").is_some();
    let result = if in_lambda {
        tracing_subscriber::registry()
            .with(lambda_json(std::io::stdout))
            .with(filter)
            .try_init()
    } else {
        tracing_subscriber::registry()
            .with(lines::LogLines::new(std::io::stdout, lines::Style::Text))
            .with(filter)
            .try_init()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}

/// The filter of `RUST_LOG`: a level (`debug`) and `target=level` directives
/// (`info,aws_smithy_runtime=debug`); default and fallback `info`. Whatever it says, the
/// [`CAPPED_AT_DEBUG`] targets log at most `debug`, and [`emf::TARGET`] at least `info`
/// unless named. (A `Targets` filter rather than
/// `EnvFilter`: the same directives without a regex engine in the binary.)
pub fn filter(rust_log: Option<&str>) -> Targets {
    let asked = rust_log
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(Level::INFO));
    let capped = |target: &str| CAPPED_AT_DEBUG.iter().any(|p| target.starts_with(p));
    let at_most_debug = |level: LevelFilter| level.min(LevelFilter::DEBUG);
    let mut directives: Vec<(String, LevelFilter)> = asked
        .iter()
        .map(|(target, level)| {
            let level = if capped(target) {
                at_most_debug(level)
            } else {
                level
            };
            (target.to_owned(), level)
        })
        .collect();
    for prefix in CAPPED_AT_DEBUG {
        if directives.iter().any(|(target, _)| target == prefix) {
            continue;
        }
        // What `RUST_LOG` gives the prefix: its most specific directive, else the default.
        let level = asked
            .iter()
            .filter(|(target, _)| prefix.starts_with(target))
            .max_by_key(|(target, _)| target.len())
            .map(|(_, level)| level)
            .or(asked.default_level())
            .unwrap_or(LevelFilter::OFF);
        directives.push((prefix.to_owned(), at_most_debug(level)));
    }
    // The metrics ride on the "handled" lines: a quieter `RUST_LOG` must not switch them off
    // (an explicit directive for the target itself still does).
    if !directives.iter().any(|(target, _)| target == emf::TARGET) {
        directives.push((emf::TARGET.to_owned(), LevelFilter::INFO));
    }
    let targets: Targets = directives.into_iter().collect();
    match asked.default_level() {
        Some(default) => targets.with_default(default),
        None => targets,
    }
}

/// The Lambda log format, writing to `writer`: one JSON object per line with the current span's
/// fields (the runtime's `requestId`) and no timestamp (CloudWatch stamps every line); the
/// "handled" lines carry CloudWatch metrics ([`emf`]). The in-process benchmark logs through
/// it too, so it measures what Lambda runs.
pub fn lambda_json<S, W>(writer: W) -> impl Layer<S> + Send + Sync
where
    S: Subscriber + for<'span> LookupSpan<'span>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    lines::LogLines::new(writer, lines::Style::Json).with_metrics(emf::Emf::from_env())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_lines_are_json_with_the_request_id_and_no_time_or_target() {
        use std::io::Write;
        use std::sync::{Arc, Mutex};

        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry().with(lambda_json(move || writer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("Lambda runtime invoke", requestId = "req-1");
            let _entered = span.enter();
            tracing::info!(status = 200u16, "handled");
        });
        let output = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(output.trim_end()).unwrap();
        assert_eq!(line["message"], "handled");
        assert_eq!(line["status"], 200, "event fields are flattened");
        assert_eq!(line["span"]["requestId"], "req-1");
        assert_eq!(line["level"], "INFO");
        assert!(line.get("timestamp").is_none() && line.get("target").is_none());
        assert_eq!(output.lines().count(), 1);
    }

    #[test]
    fn rust_log_never_raises_the_http_and_sdk_targets_above_debug() {
        let targets = [
            "lambda_runtime",
            "lambda_runtime_api_client::body",
            "aws_smithy_runtime::client::orchestrator",
            "aws_smithy_http_client",
            "hyper",
            "hyper_util::client::legacy::pool",
            "reqwest::connect",
        ];
        for rust_log in [
            "trace",
            "aws_smithy_runtime=trace",
            "info,aws_smithy_runtime=trace,hyper_util=trace,reqwest=trace,lambda_runtime=trace",
            "aws=trace,h=trace,l=trace,r=trace",
            "debug,hyper=trace",
        ] {
            let filter = filter(Some(rust_log));
            for target in targets {
                assert!(
                    !filter.would_enable(target, &Level::TRACE),
                    "{rust_log}: {target} at trace"
                );
            }
        }
        // Up to debug is still honoured, and nothing else is capped.
        let debug = filter(Some("trace"));
        assert!(debug.would_enable("aws_smithy_runtime::client", &Level::DEBUG));
        assert!(debug.would_enable("hyper_util", &Level::DEBUG));
        assert!(debug.would_enable("trustgate::token", &Level::TRACE));
        let only_smithy = filter(Some("warn,aws_smithy_runtime=trace"));
        assert!(only_smithy.would_enable("aws_smithy_runtime", &Level::DEBUG));
        assert!(
            !only_smithy.would_enable("hyper", &Level::INFO),
            "not raised"
        );
        assert!(!only_smithy.would_enable("trustgate", &Level::INFO));
    }

    #[test]
    fn a_quieter_rust_log_keeps_the_metrics_lines() {
        for rust_log in ["warn", "error,trustgate=off", "off"] {
            let filter = filter(Some(rust_log));
            assert!(filter.would_enable(emf::TARGET, &Level::INFO), "{rust_log}");
            assert!(!filter.would_enable("trustgate::token", &Level::INFO));
        }
        let asked_off = filter(Some("info,trustgate::handled=off"));
        assert!(!asked_off.would_enable(emf::TARGET, &Level::INFO));
    }

    #[test]
    fn without_rust_log_the_default_is_info() {
        for rust_log in [None, Some("trustgate=loud")] {
            let filter = filter(rust_log);
            assert!(filter.would_enable("trustgate", &Level::INFO));
            assert!(!filter.would_enable("trustgate", &Level::DEBUG));
            assert!(!filter.would_enable("aws_smithy_runtime", &Level::DEBUG));
        }
    }

    #[test]
    fn rust_log_directives_parse_as_targets() {
        let targets: Targets = "warn,trustgate=debug".parse().unwrap();
        assert!(targets.would_enable("trustgate::token_service", &Level::DEBUG));
        assert!(!targets.would_enable("aws_smithy_runtime", &Level::INFO));
    }
}
