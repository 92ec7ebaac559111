//! A fake Lambda Runtime API and the function process that polls it: a function binary runs
//! as in Lambda (its own process, `lambda_runtime` polling `next`), each event answered through
//! [`Function::invoke`]. Used by `make bench` (benches/load.rs: cold start, memory) and by the
//! tests that need separate function processes (tests/admin_changes.rs); without a process
//! ([`Function::in_this_process`]), by a runtime the test runs itself (tests/panics.rs).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use trustgate::domain::random_hex;

/// API Gateway v2 (function URL) event, as `cargo lambda` and Lambda send it.
pub fn event(method: &str, path: &str, headers: Value, body: Option<&str>) -> String {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "bench", "domainName": "127.0.0.1",
            "domainPrefix": "127",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1",
                      "sourceIp": "127.0.0.1", "userAgent": "bench" },
            "requestId": random_hex(8), "routeKey": "$default", "stage": "$default",
            "time": "26/Nov/2026:02:20:29 +0000", "timeEpoch": 1795659629000u64,
        },
        "isBase64Encoded": false,
        "body": body,
    })
    .to_string()
}

pub fn not_found_event() -> String {
    event("GET", "/bench/no-such-route", json!({}), None)
}

pub fn exchange_event(org: &str, form: &str, basic: &str) -> String {
    event(
        "POST",
        &format!("/t/{org}/oauth2/token"),
        json!({ "content-type": "application/x-www-form-urlencoded", "authorization": basic }),
        Some(form),
    )
}

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<(Instant, Value)>>>>;

/// One function process and the Runtime API it polls.
pub struct Function {
    /// std, not tokio, process: tokio's `process` feature in the dev-dependencies would make
    /// `cargo test` and `cargo build` build tokio (and all above it) twice.
    process: Option<std::process::Child>,
    started: Instant,
    events: mpsc::Sender<(String, String)>,
    waiters: Waiters,
    server: tokio::task::JoinHandle<()>,
}

impl Function {
    /// Starts `binary` with `env` added to this process's environment, its output in `log`.
    pub async fn start(binary: &str, env: &[(&str, String)], log: &str) -> Function {
        let (mut function, api) = Function::in_this_process().await;
        let log = std::fs::File::create(log).unwrap();
        function.started = Instant::now();
        let process = std::process::Command::new(binary)
            .env("AWS_LAMBDA_RUNTIME_API", &api)
            .env("AWS_LAMBDA_FUNCTION_NAME", "token")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/token")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            // JSON log lines, as in Lambda.
            .env("AWS_EXECUTION_ENV", "AWS_Lambda_rust")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("the function binary starts");
        function.process = Some(process);
        function
    }

    /// The Runtime API alone, and its address (`AWS_LAMBDA_RUNTIME_API`) for a runtime the
    /// caller runs in this process.
    pub async fn in_this_process() -> (Function, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = listener.local_addr().unwrap().to_string();
        let (events, queue) = mpsc::channel::<(String, String)>(1);
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        let waiters: Waiters = Arc::default();
        let server = tokio::spawn({
            let waiters = Arc::clone(&waiters);
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(serve_runtime_api(
                        stream,
                        Arc::clone(&queue),
                        Arc::clone(&waiters),
                    ));
                }
            }
        });
        let function = Function {
            process: None,
            started: Instant::now(),
            events,
            waiters,
            server,
        };
        (function, api)
    }

    /// Sends one event; returns the time from process start to its response, and the response.
    pub async fn invoke(&self, event: &str) -> (Duration, Value) {
        let id = random_hex(8);
        let (done, reply) = oneshot::channel();
        self.waiters.lock().unwrap().insert(id.clone(), done);
        self.events.send((id, event.to_owned())).await.unwrap();
        let (at, body) = tokio::time::timeout(Duration::from_secs(30), reply)
            .await
            .expect("the function answers within 30 s")
            .unwrap();
        (at - self.started, body)
    }

    /// Peak and current resident set size, MB (`VmHWM`, `VmRSS`).
    pub fn memory(&self) -> (f64, f64) {
        let id = self.process.as_ref().expect("a function process").id();
        let status = std::fs::read_to_string(format!("/proc/{id}/status")).unwrap();
        let kb = |name: &str| -> f64 {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN)
        };
        (kb("VmHWM:") / 1024.0, kb("VmRSS:") / 1024.0)
    }

    /// Whether the function process is still running (has not exited).
    pub fn is_running(&mut self) -> bool {
        let process = self.process.as_mut().expect("a function process");
        matches!(process.try_wait(), Ok(None))
    }

    pub async fn stop(mut self) {
        if let Some(process) = &mut self.process {
            let _ = process.kill();
            let _ = process.wait();
        }
        self.server.abort();
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        if let Some(process) = &mut self.process {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

/// The few Runtime API calls the function makes: `next`, `response`, `error`. HTTP/1.1 with
/// keep-alive; request bodies framed by `Content-Length` or chunked.
async fn serve_runtime_api(
    stream: TcpStream,
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<(String, String)>>>,
    waiters: Waiters,
) {
    let mut stream = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if stream.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut content_length = 0usize;
        let mut chunked = false;
        loop {
            let mut line = String::new();
            if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                content_length = v.trim().parse().unwrap_or(0);
            } else if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            }
        }
        let body = if chunked {
            let mut body = Vec::new();
            loop {
                let mut size = String::new();
                stream.read_line(&mut size).await.unwrap();
                let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0; size + 2];
                stream.read_exact(&mut chunk).await.unwrap();
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
            body
        } else {
            let mut body = vec![0; content_length];
            stream.read_exact(&mut body).await.unwrap();
            body
        };
        let at = Instant::now();
        let path = request_line.split_whitespace().nth(1).unwrap_or("");
        let reply = if path.ends_with("/invocation/next") {
            let Some((id, event)) = queue.lock().await.recv().await else {
                return;
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 30_000;
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                 Lambda-Runtime-Aws-Request-Id: {id}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:token\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n\
                 Content-Length: {}\r\n\r\n{event}",
                event.len()
            )
        } else {
            // …/invocation/{id}/response, …/invocation/{id}/error, …/init/error
            let parts: Vec<&str> = path.split('/').collect();
            let id = parts.iter().rev().nth(1).copied().unwrap_or("");
            let body: Value = serde_json::from_slice(&body)
                .unwrap_or_else(|_| json!({ "raw": String::from_utf8_lossy(&body) }));
            let body = if path.ends_with("/response") {
                body
            } else {
                json!({ "statusCode": "error", "path": path, "error": body })
            };
            if let Some(waiter) = waiters.lock().unwrap().remove(id) {
                let _ = waiter.send((at, body));
            } else if path.ends_with("/init/error") {
                panic!("the function failed to start: {body}; see its log");
            }
            "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                .to_owned()
        };
        if stream.get_mut().write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}
