//! The Lambda log format: one JSON object per event, written straight into one buffer.
//!
//! `{"level":"INFO","message":"handled","status":200,…,"span":{"requestId":"…","name":"…"}}`:
//! the event's fields flattened, then the current span's fields and name, no timestamp and no
//! target (CloudWatch stamps every line). tracing-subscriber's JSON formatter gives the same
//! lines, but checks every piece serde_json writes for UTF-8 on its way to the buffer; at two
//! lines per token exchange that was a tenth of the exchange's own work (BENCHMARKS.md).

use std::fmt;
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// The layer; see the module documentation.
pub struct JsonLines<W> {
    writer: W,
}

impl<W> JsonLines<W> {
    pub fn new(writer: W) -> JsonLines<W> {
        JsonLines { writer }
    }
}

/// A span's fields as JSON members (`"name":value,…`, no braces), kept in its extensions.
struct SpanMembers(Vec<u8>);

impl<S, W> Layer<S> for JsonLines<W>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut members = Members::new(Vec::new());
        attrs.record(&mut members);
        span.extensions_mut().insert(SpanMembers(members.out));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanMembers(fields)) = extensions.get_mut::<SpanMembers>() {
            let mut members = Members::new(std::mem::take(fields));
            values.record(&mut members);
            *fields = members.out;
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut line = Vec::with_capacity(256);
        line.extend_from_slice(b"{\"level\":\"");
        line.extend_from_slice(event.metadata().level().as_str().as_bytes());
        line.push(b'"');
        let mut members = Members::new(line);
        event.record(&mut members);
        let mut line = members.out;
        if let Some(span) = ctx.event_span(event) {
            line.extend_from_slice(b",\"span\":{");
            if let Some(SpanMembers(fields)) = span.extensions().get::<SpanMembers>()
                && !fields.is_empty()
            {
                line.extend_from_slice(fields);
                line.push(b',');
            }
            line.extend_from_slice(b"\"name\":");
            push_json_str(&mut line, span.name());
            line.push(b'}');
        }
        line.extend_from_slice(b"}\n");
        // A line that cannot be written is dropped, as tracing-subscriber's writers do.
        let _ = self
            .writer
            .make_writer_for(event.metadata())
            .write_all(&line);
    }
}

/// Appends fields as JSON members, a comma before each but the first of an empty buffer.
struct Members {
    out: Vec<u8>,
}

impl Members {
    fn new(out: Vec<u8>) -> Members {
        Members { out }
    }

    fn name(&mut self, field: &Field) {
        if self.out.last().is_some_and(|&last| last != b'{') {
            self.out.push(b',');
        }
        push_json_str(&mut self.out, field.name());
        self.out.push(b':');
    }
}

impl Visit for Members {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.name(field);
        push_json_str(&mut self.out, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.name(field);
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.name(field);
        let _ = write!(self.out, "{value}");
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.name(field);
        let _ = write!(self.out, "{value}");
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.name(field);
        let _ = write!(self.out, "{value}");
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.name(field);
        let _ = write!(self.out, "{value}");
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.name(field);
        // JSON has no NaN or infinity; serde_json writes them as null too.
        match serde_json::Number::from_f64(value) {
            Some(number) => {
                let _ = write!(self.out, "{number}");
            }
            None => self.out.extend_from_slice(b"null"),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.name(field);
        // The message (`format_args!`) and `%`/`?` fields: their text, as a JSON string.
        push_json_str(&mut self.out, &format!("{value:?}"));
    }
}

/// `text` as a JSON string literal, quoted and escaped by serde_json.
fn push_json_str(out: &mut Vec<u8>, text: &str) {
    serde_json::to_writer(out, text).expect("writing into a Vec cannot fail");
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use serde_json::Value;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn lines(&self) -> Vec<Value> {
            let bytes = self.0.lock().unwrap().clone();
            let text = String::from_utf8(bytes).expect("log lines are UTF-8");
            assert!(text.ends_with('\n'), "every line ends with a newline");
            text.lines()
                .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
                .collect()
        }
    }

    /// Events of every field type, with and without spans, escapes included.
    fn log_everything() {
        tracing::info!("no span, no fields");
        let error = io::Error::other("disk \"full\"");
        let span = tracing::info_span!(
            "Lambda runtime invoke",
            requestId = "req-1",
            xrayTraceId = tracing::field::Empty
        );
        let _entered = span.enter();
        span.record("xrayTraceId", "Root=1-abc");
        tracing::warn!(
            text = "quote \" backslash \\ newline \n tab \t control \u{1} é ☃",
            negative = -7i64,
            big = u64::MAX,
            yes = true,
            ratio = 0.25f64,
            not_a_number = f64::NAN,
            shown = %"display",
            debugged = ?vec!["a", "b"],
            error = &error as &dyn std::error::Error,
            "message with {} argument",
            1
        );
        let inner = tracing::info_span!("inner");
        let _inner = inner.enter();
        tracing::info!(status = 200u16, "handled");
    }

    #[test]
    fn lines_equal_tracing_subscribers_json_format() {
        let ours = Buffer::default();
        let writer = ours.clone();
        let subscriber =
            tracing_subscriber::registry().with(JsonLines::new(move || writer.clone()));
        tracing::subscriber::with_default(subscriber, log_everything);

        let theirs = Buffer::default();
        let writer = theirs.clone();
        let reference = tracing_subscriber::fmt::layer()
            .with_target(false)
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .without_time()
            .with_ansi(false)
            .with_writer(move || writer.clone());
        let subscriber = tracing_subscriber::registry().with(reference);
        tracing::subscriber::with_default(subscriber, log_everything);

        let (ours, theirs) = (ours.lines(), theirs.lines());
        assert_eq!(ours.len(), 3);
        assert_eq!(ours, theirs);
        assert_eq!(
            ours[1]["span"]["xrayTraceId"], "Root=1-abc",
            "a field recorded later"
        );
        assert_eq!(ours[1]["not_a_number"], Value::Null);
        assert_eq!(ours[2]["span"], serde_json::json!({"name": "inner"}));
    }
}
