//! Logging. JSON lines in Lambda (CloudWatch-friendly), readable text elsewhere. The Lambda
//! runtime opens a span carrying `requestId` around every invocation, and both formats print
//! the current span's fields on every line, so every line names its request.
//!
//! Nothing secret is ever passed to a log macro: tokens, secrets and refresh tokens are wrapped
//! in types whose `Debug` is redacted (see [`crate::secret`]).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Level from `RUST_LOG` (default `info`).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Set by AWS in a real execution environment, not by `cargo lambda watch`.
    let in_lambda = std::env::var_os("AWS_EXECUTION_ENV").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let result = if in_lambda {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .without_time() // CloudWatch stamps every line
            .with_ansi(false)
            .try_init()
    } else {
        builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}
