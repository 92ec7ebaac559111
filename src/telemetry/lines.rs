//! The log lines, written straight into one buffer per event: JSON in Lambda, text elsewhere.
//!
//! JSON (`Style::Json`):
//! `{"level":"INFO","message":"handled","status":200,…,"span":{"requestId":"…","name":"…"}}`,
//! the event's fields flattened, then the current span's fields and name, no timestamp and no
//! target (CloudWatch stamps every line). tracing-subscriber's JSON formatter gives the same
//! lines, but checks every piece serde_json writes for UTF-8 on its way to the buffer; at two
//! lines per token exchange that was a tenth of the exchange's own work (BENCHMARKS.md).
//!
//! Text (`Style::Text`, `cargo lambda watch` and tests): `INFO handled status=200 … [Lambda
//! runtime invoke requestId=…]`. Its own few lines rather than tracing-subscriber's `fmt`
//! layer, which only this used, for the binaries' size.
//!
//! With [`LogLines::with_metrics`], JSON lines of target [`super::emf::TARGET`] also carry
//! CloudWatch metrics ([`super::emf`]), after the event's fields.

use std::fmt;
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::emf::{self, Emf};

/// How a line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Json,
    Text,
}

/// The layer; see the module documentation.
pub struct LogLines<W> {
    writer: W,
    style: Style,
    metrics: Option<Emf>,
}

impl<W> LogLines<W> {
    pub fn new(writer: W, style: Style) -> LogLines<W> {
        LogLines {
            writer,
            style,
            metrics: None,
        }
    }

    /// Metrics on the JSON lines of target [`emf::TARGET`] (none on text lines).
    pub fn with_metrics(self, metrics: Emf) -> LogLines<W> {
        LogLines {
            metrics: Some(metrics),
            ..self
        }
    }
}

/// A span's fields as written in the layer's style (`"name":value,…` or `name=value …`),
/// kept in its extensions.
struct SpanFields(Vec<u8>);

impl<S, W> Layer<S> for LogLines<W>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::new(Vec::new(), self.style);
        attrs.record(&mut fields);
        span.extensions_mut().insert(SpanFields(fields.out));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(out)) = extensions.get_mut::<SpanFields>() {
            let mut fields = Fields::new(std::mem::take(out), self.style);
            values.record(&mut fields);
            *out = fields.out;
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let level = event.metadata().level().as_str();
        let mut line = Vec::with_capacity(256);
        match self.style {
            Style::Json => {
                line.extend_from_slice(b"{\"level\":\"");
                line.extend_from_slice(level.as_bytes());
                line.push(b'"');
            }
            Style::Text => line.extend_from_slice(level.as_bytes()),
        }
        let mut fields = Fields::new(line, self.style);
        event.record(&mut fields);
        let mut line = fields.out;
        if let (Style::Json, Some(metrics)) = (self.style, &self.metrics)
            && event.metadata().target() == emf::TARGET
        {
            metrics.append(&mut line);
        }
        let span = ctx.event_span(event);
        let extensions = span.as_ref().map(|span| span.extensions());
        let span_fields = extensions
            .as_ref()
            .and_then(|e| e.get::<SpanFields>())
            .map_or(&[][..], |SpanFields(out)| out);
        match (self.style, &span) {
            (Style::Json, Some(span)) => {
                line.extend_from_slice(b",\"span\":{");
                if !span_fields.is_empty() {
                    line.extend_from_slice(span_fields);
                    line.push(b',');
                }
                line.extend_from_slice(b"\"name\":");
                push_json_str(&mut line, span.name());
                line.extend_from_slice(b"}}\n");
            }
            (Style::Json, None) => line.extend_from_slice(b"}\n"),
            (Style::Text, Some(span)) => {
                line.extend_from_slice(b" [");
                line.extend_from_slice(span.name().as_bytes());
                line.extend_from_slice(span_fields);
                line.extend_from_slice(b"]\n");
            }
            (Style::Text, None) => line.push(b'\n'),
        }
        // A line that cannot be written is dropped, as tracing-subscriber's writers do.
        let _ = self
            .writer
            .make_writer_for(event.metadata())
            .write_all(&line);
    }
}

/// Appends fields to a line: JSON members, a comma before each but the first of an empty
/// buffer; or ` name=value`, the message without its name.
struct Fields {
    out: Vec<u8>,
    style: Style,
}

impl Fields {
    fn new(out: Vec<u8>, style: Style) -> Fields {
        Fields { out, style }
    }

    fn name(&mut self, field: &Field) {
        match self.style {
            Style::Json => {
                if self.out.last().is_some_and(|&last| last != b'{') {
                    self.out.push(b',');
                }
                push_json_str(&mut self.out, field.name());
                self.out.push(b':');
            }
            Style::Text if field.name() == "message" => self.out.push(b' '),
            Style::Text => {
                self.out.push(b' ');
                self.out.extend_from_slice(field.name().as_bytes());
                self.out.push(b'=');
            }
        }
    }

    fn text(&mut self, text: &str) {
        match self.style {
            Style::Json => push_json_str(&mut self.out, text),
            Style::Text => self.out.extend_from_slice(text.as_bytes()),
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.name(field);
        self.text(value);
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
        match (self.style, serde_json::Number::from_f64(value)) {
            (Style::Json, Some(number)) => {
                let _ = write!(self.out, "{number}");
            }
            (Style::Json, None) => self.out.extend_from_slice(b"null"),
            (Style::Text, _) => {
                let _ = write!(self.out, "{value}");
            }
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.name(field);
        // The message (`format_args!`) and `%`/`?` fields: their text.
        self.text(&format!("{value:?}"));
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
            tracing_subscriber::registry().with(LogLines::new(move || writer.clone(), Style::Json));
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

    #[test]
    fn text_lines_name_level_message_fields_and_span() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let layer = LogLines::new(move || writer.clone(), Style::Text);
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            tracing::info!("alone");
            let span = tracing::info_span!("invoke", requestId = "req-1");
            let _entered = span.enter();
            tracing::warn!(
                path = "/t/acme/oauth2/token",
                status = 200u16,
                ok = true,
                "handled"
            );
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "INFO alone\nWARN handled path=/t/acme/oauth2/token status=200 ok=true [invoke requestId=req-1]\n"
        );
    }
}
