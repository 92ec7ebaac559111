//! Logging. JSON lines in Lambda (CloudWatch-friendly), readable text elsewhere. The Lambda
//! runtime opens a span carrying `requestId` around every invocation, and both formats print
//! the current span's fields on every line, so every line names its request.
//!
//! Nothing secret is ever passed to a log macro: tokens, secrets and refresh tokens are wrapped
//! in types whose `Debug` is redacted (see [`crate::secret`]).

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber. `RUST_LOG` takes a level (`debug`) and `target=level`
/// directives (`info,aws_smithy_runtime=debug`); default and fallback `info`. (A `Targets`
/// filter rather than `EnvFilter`: the same directives without a regex engine in the binary.)
pub fn init() {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(Level::INFO));
    // Set by AWS in a real execution environment, not by `cargo lambda watch`.
    let in_lambda = std::env::var_os("AWS_EXECUTION_ENV").is_some();
    let layer = tracing_subscriber::fmt::layer().with_target(false);
    let result = if in_lambda {
        tracing_subscriber::registry()
            .with(
                layer
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .flatten_event(true)
                    .without_time() // CloudWatch stamps every line
                    .with_ansi(false),
            )
            .with(filter)
            .try_init()
    } else {
        tracing_subscriber::registry()
            .with(layer.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())))
            .with(filter)
            .try_init()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_directives_parse_as_targets() {
        let targets: Targets = "warn,trustgate=debug".parse().unwrap();
        assert!(targets.would_enable("trustgate::token_service", &Level::DEBUG));
        assert!(!targets.would_enable("aws_smithy_runtime", &Level::INFO));
    }
}
