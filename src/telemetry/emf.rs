//! CloudWatch metrics in Embedded Metric Format, from the lines the functions write anyway: no
//! `PutMetricData` call, no agent. CloudWatch Logs turns a JSON line carrying an `_aws` member
//! into metrics (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>):
//! each metric it names must be a top-level number of the line, each dimension a top-level
//! string.
//!
//! Only events of target [`TARGET`] (the token function's "handled" line, one per request) get
//! the member, and only in the Lambda JSON style. The handler logs the metrics as fields
//! ([`METRICS`]) and the dimensions `route`, `outcome`, `error`; this adds `function` (the
//! Lambda function's name), `requests` (1: a request count CloudWatch can sum) and `_aws`,
//! whose text but the timestamp is built once per execution environment: a line costs a
//! timestamp and two copies.
//!
//! Dimension sets, bounded by design (no organization, client or path: those stay in the line,
//! for Logs Insights): `function`; `function, route, outcome` (route: one of six names,
//! outcome: `success`, `client_error`, `server_error`); `function, route, error` for the
//! request count only (error: an RFC 6749 §5.2 code or `none`).

use std::time::{SystemTime, UNIX_EPOCH};

/// The target of the events that carry metrics.
pub const TARGET: &str = "trustgate::handled";

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "Trustgate";

/// The metrics of a "handled" line: (member name = metric name, CloudWatch unit). `requests` is
/// added here; the handler logs the others as fields of its line.
pub const METRICS: [(&str, &str); 7] = [
    ("requests", "Count"),
    ("latency_ms", "Milliseconds"),
    ("dynamodb_reads", "Count"),
    ("dynamodb_writes", "Count"),
    ("kms_calls", "Count"),
    ("jwks_fetch_failures", "Count"),
    ("lockouts", "Count"),
];

/// The dimension sets of [`METRICS`].
pub const DIMENSIONS: [&[&str]; 2] = [&["function"], &["function", "route", "outcome"]];

/// The dimension set of the request count by error code.
pub const ERROR_DIMENSIONS: &[&str] = &["function", "route", "error"];

/// The `function` dimension outside Lambda (tests, the benchmark).
const NO_FUNCTION: &str = "local";

/// The members this adds to a line, split around its timestamp.
pub struct Emf {
    /// `,"function":"…","requests":1,"_aws":{"Timestamp":`
    before_time: Vec<u8>,
    /// `,"CloudWatchMetrics":[…]}`
    after_time: Vec<u8>,
}

impl Emf {
    /// For the function Lambda names in `AWS_LAMBDA_FUNCTION_NAME`.
    pub fn from_env() -> Emf {
        let name = std::env::var("AWS_LAMBDA_FUNCTION_NAME");
        Emf::new(name.as_deref().unwrap_or(NO_FUNCTION))
    }

    pub fn new(function: &str) -> Emf {
        let mut before_time = b",\"function\":".to_vec();
        serde_json::to_writer(&mut before_time, function).expect("writing into a Vec");
        before_time.extend_from_slice(b",\"requests\":1,\"_aws\":{\"Timestamp\":");
        let metrics = |names: &mut dyn Iterator<Item = &(&str, &str)>| {
            names
                .map(|(name, unit)| serde_json::json!({"Name": name, "Unit": unit}))
                .collect::<Vec<_>>()
        };
        let directives = serde_json::json!([
            {
                "Namespace": NAMESPACE,
                "Dimensions": DIMENSIONS,
                "Metrics": metrics(&mut METRICS.iter()),
            },
            {
                "Namespace": NAMESPACE,
                "Dimensions": [ERROR_DIMENSIONS],
                "Metrics": metrics(&mut METRICS[..1].iter()),
            },
        ]);
        let mut after_time = b",\"CloudWatchMetrics\":".to_vec();
        serde_json::to_writer(&mut after_time, &directives).expect("writing into a Vec");
        after_time.push(b'}');
        Emf {
            before_time,
            after_time,
        }
    }

    /// Appends the members to a JSON line whose object is still open after its last member.
    pub fn append(&self, line: &mut Vec<u8>) {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        line.reserve(self.before_time.len() + self.after_time.len() + 16);
        line.extend_from_slice(&self.before_time);
        let _ = std::io::Write::write_fmt(line, format_args!("{millis}"));
        line.extend_from_slice(&self.after_time);
    }
}

/// The problems of a line as EMF, none when valid: `_aws` with a millisecond `Timestamp` and
/// `CloudWatchMetrics` directives, each naming the namespace, dimension sets of top-level
/// strings (at most 30 per set) and metrics of top-level numbers with a unit.
#[cfg(test)]
pub(crate) fn problems(line: &serde_json::Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |ok: bool, problem: String| {
        if !ok {
            problems.push(problem);
        }
    };
    let aws = &line["_aws"];
    check(
        aws["Timestamp"].is_u64(),
        "no integer _aws.Timestamp".into(),
    );
    let directives = aws["CloudWatchMetrics"].as_array();
    check(
        directives.is_some_and(|d| !d.is_empty()),
        "no _aws.CloudWatchMetrics".into(),
    );
    for directive in directives.into_iter().flatten() {
        check(
            directive["Namespace"]
                .as_str()
                .is_some_and(|n| !n.is_empty()),
            format!("no Namespace in {directive}"),
        );
        for set in directive["Dimensions"].as_array().into_iter().flatten() {
            let set = set.as_array().cloned().unwrap_or_default();
            check(set.len() <= 30, format!("over 30 dimensions: {set:?}"));
            for name in &set {
                let member = name.as_str().map(|n| &line[n]);
                check(
                    member.is_some_and(|m| m.as_str().is_some_and(|v| !v.is_empty())),
                    format!("dimension {name} is not a top-level non-empty string"),
                );
            }
        }
        let metrics = directive["Metrics"].as_array();
        check(
            metrics.is_some_and(|m| !m.is_empty()),
            format!("no Metrics in {directive}"),
        );
        for metric in metrics.into_iter().flatten() {
            let name = metric["Name"].as_str().unwrap_or_default();
            check(
                line[name].is_number(),
                format!("metric {name:?} is not a top-level number"),
            );
            check(
                metric["Unit"].is_string(),
                format!("metric {name:?} has no Unit"),
            );
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_with(function: &str, fields: &str) -> serde_json::Value {
        let mut line = format!("{{\"message\":\"handled\"{fields}").into_bytes();
        Emf::new(function).append(&mut line);
        line.push(b'}');
        serde_json::from_slice(&line).expect("one JSON object")
    }

    const ALL: &str = r#","route":"token","outcome":"success","error":"none","latency_ms":1.5,"dynamodb_reads":2,"dynamodb_writes":1,"kms_calls":0,"jwks_fetch_failures":0,"lockouts":0"#;

    #[test]
    fn a_line_with_every_metric_and_dimension_is_valid_emf() {
        let line = line_with("trustgate-TokenFunction-1", ALL);
        assert_eq!(problems(&line), Vec::<String>::new());
        assert_eq!(line["function"], "trustgate-TokenFunction-1");
        assert_eq!(line["requests"], 1);
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(
            directive["Metrics"].as_array().unwrap().len(),
            METRICS.len()
        );
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][1]["Dimensions"],
            serde_json::json!([["function", "route", "error"]])
        );
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let stamped = line["_aws"]["Timestamp"].as_u64().unwrap();
        assert!(
            now.as_millis().abs_diff(u128::from(stamped)) < 60_000,
            "milliseconds"
        );
    }

    #[test]
    fn the_check_finds_a_missing_metric_or_dimension() {
        let without_latency = ALL.replace(r#","latency_ms":1.5"#, "");
        let problems = problems(&line_with("f", &without_latency));
        assert_eq!(
            problems,
            ["metric \"latency_ms\" is not a top-level number"]
        );
        let numeric_route = ALL.replace(r#""route":"token""#, r#""route":7"#);
        let found = super::problems(&line_with("f", &numeric_route));
        assert!(found.iter().any(|p| p.contains("route")), "{found:?}");
    }

    #[test]
    fn a_function_name_is_escaped() {
        let line = line_with("odd \"name\"", ALL);
        assert_eq!(line["function"], "odd \"name\"");
    }
}
