//! Logging. JSON lines in Lambda (CloudWatch-friendly), readable text elsewhere. The Lambda
//! runtime opens a span carrying `requestId` around every invocation, and both formats print
//! the current span's fields on every line, so every line names its request.
//!
//! Nothing secret is ever passed to a log macro: tokens, secrets and refresh tokens are wrapped
//! in types whose `Debug` is redacted (see [`crate::secret`]).

use tracing::{Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
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
    let result = if in_lambda {
        tracing_subscriber::registry()
            .with(lambda_json(std::io::stdout))
            .with(filter)
            .try_init()
    } else {
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
            )
            .with(filter)
            .try_init()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}

/// The Lambda log format, writing to `writer`: one JSON object per line with the current span's
/// fields (the runtime's `requestId`) and no timestamp (CloudWatch stamps every line). The
/// in-process benchmark logs through it too, so it measures what Lambda runs.
pub fn lambda_json<S, W>(writer: W) -> impl Layer<S> + Send + Sync
where
    S: Subscriber + for<'span> LookupSpan<'span>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .with_target(false)
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .without_time()
        .with_ansi(false)
        .with_writer(writer)
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
    fn rust_log_directives_parse_as_targets() {
        let targets: Targets = "warn,trustgate=debug".parse().unwrap();
        assert!(targets.would_enable("trustgate::token_service", &Level::DEBUG));
        assert!(!targets.would_enable("aws_smithy_runtime", &Level::INFO));
    }
}
