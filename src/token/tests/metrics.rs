//! The "handled" line as Lambda writes it: valid CloudWatch EMF with the request's outcome,
//! error code, latency and counts, and no organization or client among the dimensions.

use std::io;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt;

use super::*;
use crate::telemetry::{emf, lambda_json};

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

/// The "handled" lines written while the requests of `run` were served.
async fn handled_lines<F: std::future::Future<Output = ()>>(run: F) -> Vec<Value> {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::registry().with(lambda_json(move || writer.clone()));
    {
        let _guard = tracing::subscriber::set_default(subscriber);
        run.await;
    }
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    text.lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("one JSON object a line"))
        .filter(|line| line["message"] == "handled")
        .collect()
}

#[tokio::test]
async fn every_handled_line_is_valid_emf_naming_outcome_and_error() {
    let h = Harness::new();
    let subject = h.subject();
    let lines = handled_lines(async {
        assert_eq!(h.exchange(WEB, &subject).await.status, StatusCode::OK);
        let bad = h.exchange(WEB, "not-a-jwt").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        for _ in 0..=crate::domain::lockout::MAX_FAILURES {
            h.exchange(("web", Some("wrong")), &subject).await;
        }
        let unknown = lambda_http::http::Request::builder()
            .uri("/t/acme/elsewhere")
            .body(Body::Empty)
            .unwrap();
        assert_eq!(h.call(unknown).await.status, StatusCode::NOT_FOUND);
    })
    .await;
    assert_eq!(
        lines.len(),
        4 + crate::domain::lockout::MAX_FAILURES as usize
    );
    for line in &lines {
        assert_eq!(emf::problems(line), Vec::<String>::new(), "{line}");
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "Trustgate"
        );
        assert_eq!(line["function"], "local", "outside Lambda");
        assert!(line["latency_ms"].as_f64().unwrap() >= 0.0);
        assert!(line.get("client_id").is_none() && line.get("org").is_none());
        let dimensions = line["_aws"]["CloudWatchMetrics"].to_string();
        assert!(!dimensions.contains("path") && !dimensions.contains("client"));
    }
    let (ok, bad, last) = (&lines[0], &lines[1], &lines[lines.len() - 2]);
    assert_eq!(
        (&ok["route"], &ok["outcome"], &ok["error"]),
        (&"token".into(), &"success".into(), &"none".into())
    );
    assert_eq!(ok["status"], 200, "the existing fields stay");
    assert_eq!(ok["path"], TOKEN_PATH);
    assert_eq!(ok["requests"], 1);
    assert_eq!(ok["lockouts"], 0);
    assert_eq!(
        (&bad["outcome"], &bad["error"]),
        (&"client_error".into(), &"invalid_request".into())
    );
    assert_eq!(
        (&last["status"], &last["error"], &last["lockouts"]),
        (&429.into(), &"invalid_client".into(), &1.into())
    );
    let unknown = &lines[lines.len() - 1];
    assert_eq!(
        (&unknown["route"], &unknown["error"]),
        (&"unknown".into(), &"none".into())
    );
}

#[tokio::test]
async fn a_server_error_is_its_own_outcome() {
    let h = Harness::new();
    h.memory
        .config_store
        .fail_with(Some(crate::ports::PortError::Unavailable(
            "throttled".into(),
        )));
    let subject = h.subject();
    let lines = handled_lines(async {
        h.exchange(WEB, &subject).await;
    })
    .await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["outcome"], "server_error");
    assert_eq!(lines[0]["error"], "temporarily_unavailable");
    assert_eq!(emf::problems(&lines[0]), Vec::<String>::new());
}
