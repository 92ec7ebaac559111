//! Fault tests: KMS and DynamoDB throttling, the emulator going away mid-run, and a JWKS endpoint
//! that hangs. Each answers 503 `temporarily_unavailable` with `Retry-After` within its time
//! budget, returns no token, and recovers once the fault ends.
//!
//! Faults are injected by [`FaultProxy`], a small HTTP proxy in front of the shared emulator:
//! it forwards requests to moto, or answers them itself with the error real AWS sends when
//! throttling (HTTP 400 with `__type` / `x-amzn-ErrorType`), or stops listening altogether.
//! Only this test's clients go through the proxy, so the shared emulator keeps serving the
//! tests that run in parallel.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::jwks_server::Reply as JwksReply;
use common::keys::RSA_2048;
use common::stack::*;
use lambda_http::http::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use trustgate::aws::kms::KmsSigner;
use trustgate::aws::table::Table;
use trustgate::domain::application::{AppType, GrantType};
use trustgate::domain::issuer::Algorithm;
use trustgate::http::token::TokenApp;
use trustgate::keys::{KeySource, KeySourceSettings};
use trustgate::token::{Ports, TokenService};

/// The SDK's own budget (src/aws/sdk.rs): 5 s per operation, all attempts included; plus margin
/// for a loaded CI machine.
const AWS_BUDGET: Duration = Duration::from_secs(7);

struct ProxyState {
    upstream: String,
    /// `X-Amz-Target` prefix of the requests to throttle (e.g. `TrentService.Sign`).
    target: Mutex<String>,
    /// How many more matching requests to throttle.
    throttle: AtomicUsize,
    /// Matching requests seen (throttled or forwarded).
    matched: AtomicUsize,
}

/// A fault-injecting proxy in front of the emulator.
struct FaultProxy {
    port: u16,
    state: Arc<ProxyState>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl FaultProxy {
    async fn start() -> FaultProxy {
        let upstream = std::env::var("AWS_ENDPOINT_URL")
            .unwrap()
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let state = Arc::new(ProxyState {
            upstream,
            target: Mutex::new(String::new()),
            throttle: AtomicUsize::new(0),
            matched: AtomicUsize::new(0),
        });
        let (port, handle) = listen(0, state.clone()).expect("bind the proxy");
        FaultProxy {
            port,
            state,
            accept: Mutex::new(Some(handle)),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Throttles the next `count` requests whose `X-Amz-Target` starts with `target`.
    fn throttle(&self, target: &str, count: usize) {
        *self.state.target.lock().unwrap() = target.to_owned();
        self.state.matched.store(0, Ordering::SeqCst);
        self.state.throttle.store(count, Ordering::SeqCst);
    }

    fn matched(&self) -> usize {
        self.state.matched.load(Ordering::SeqCst)
    }

    /// Stops listening: connections are refused, as when the emulator is down.
    fn stop(&self) {
        if let Some(handle) = self.accept.lock().unwrap().take() {
            handle.abort();
        }
    }

    /// Listens again on the same port.
    async fn restart(&self) {
        // The aborted accept loop drops its listener asynchronously; give it a moment.
        for _ in 0..50 {
            if let Ok((_, handle)) = listen(self.port, self.state.clone()) {
                *self.accept.lock().unwrap() = Some(handle);
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("could not listen on port {} again", self.port);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop();
    }
}

fn listen(port: u16, state: Arc<ProxyState>) -> std::io::Result<(u16, JoinHandle<()>)> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(([127, 0, 0, 1], port).into())?;
    let listener = socket.listen(64)?;
    let port = listener.local_addr()?.port();
    let handle = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, state.clone()));
        }
    });
    Ok((port, handle))
}

/// One request per connection: read it, answer a throttling error or forward it to the
/// emulator, and close (`Connection: close` both ways keeps the framing trivial).
async fn serve(mut client: TcpStream, state: Arc<ProxyState>) {
    let Some((head, body)) = read_request(&mut client).await else {
        return;
    };
    let head_text = String::from_utf8_lossy(&head).to_string();
    let target = header(&head_text, "x-amz-target").unwrap_or_default();
    let wanted = state.target.lock().unwrap().clone();
    if !wanted.is_empty() && target.starts_with(&wanted) {
        state.matched.fetch_add(1, Ordering::SeqCst);
        let throttle = state
            .throttle
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if throttle {
            let kind = if target.starts_with("DynamoDB") {
                "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
            } else {
                "ThrottlingException"
            };
            let short = kind.rsplit('#').next().unwrap();
            let body = json!({"__type": kind, "message": "Rate exceeded"}).to_string();
            let response = format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\n\
                 x-amzn-errortype: {short}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = client.write_all(response.as_bytes()).await;
            return;
        }
    }
    let Ok(mut upstream) = TcpStream::connect(&state.upstream).await else {
        return;
    };
    let head = with_connection_close(&head_text);
    if upstream.write_all(head.as_bytes()).await.is_err()
        || upstream.write_all(&body).await.is_err()
    {
        return;
    }
    let mut response = Vec::new();
    if upstream.read_to_end(&mut response).await.is_err() {
        return;
    }
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(response.len(), |p| p + 4);
    let response_head = with_connection_close(&String::from_utf8_lossy(&response[..split]));
    let _ = client.write_all(response_head.as_bytes()).await;
    let _ = client.write_all(&response[split..]).await;
}

async fn read_request(stream: &mut TcpStream) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = data[..head_end].to_vec();
    let length: usize = header(&String::from_utf8_lossy(&head), "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = data[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Some((head, body))
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// The head with any `Connection` header replaced by `Connection: close`.
fn with_connection_close(head: &str) -> String {
    let mut lines: Vec<&str> = head
        .trim_end_matches("\r\n")
        .split("\r\n")
        .filter(|l| {
            !l.split_once(':')
                .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case("connection"))
        })
        .collect();
    lines.push("connection: close");
    format!("{}\r\n\r\n", lines.join("\r\n"))
}

// ---------------------------------------------------------------------------------------------

/// A token function whose DynamoDB and/or KMS clients go through `proxy`.
async fn app_through(
    stack: &Stack,
    proxy: &FaultProxy,
    dynamodb: bool,
    kms: bool,
    keys: KeySource,
) -> TokenApp {
    let config = config(&stack.app, &[]);
    let (proxied_dynamodb, proxied_kms) = dead_clients(&proxy.url()).await;
    let table = if dynamodb {
        Table::new(proxied_dynamodb, stack.app.table_name.clone())
    } else {
        stack.app.table.clone()
    };
    let kms_client = if kms {
        proxied_kms
    } else {
        stack.app.kms.clone()
    };
    let signer = KmsSigner::new(
        kms_client,
        config.signing_key.clone().unwrap(),
        vec![],
        config.signing_alg,
    );
    let table = Arc::new(table);
    TokenApp {
        service: TokenService::new(
            config,
            Ports {
                config_store: table.clone(),
                replay_log: table.clone(),
                refresh_store: table.clone(),
                revocations: table.clone(),
                lineage: table.clone(),
                refresh_reads: table.clone(),
                failure_log: table,
                signer: Arc::new(signer),
                keys: Arc::new(keys),
                clock: Arc::new(trustgate::ports::SystemClock),
            },
        ),
    }
}

fn subject_token(stack: &Stack) -> String {
    RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &stack.claims())
}

#[track_caller]
fn assert_unavailable(reply: &Reply, started: Instant, budget: Duration) {
    let elapsed = started.elapsed();
    assert_error(
        reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
    assert!(reply.headers.get("retry-after").is_some());
    assert!(reply.body.get("access_token").is_none());
    assert!(elapsed < budget, "took {elapsed:?}, budget {budget:?}");
}

#[tokio::test]
async fn kms_throttling_is_retried_a_bounded_number_of_times_then_503_and_recovers() {
    let stack = Stack::new().await;
    let proxy = FaultProxy::start().await;
    let app = app_through(&stack, &proxy, false, true, KeySource::new(true)).await;
    let token = subject_token(&stack);
    // Warm: the public key is read once.
    assert_eq!(
        call(&app, stack.exchange_request(&token)).await.status,
        StatusCode::OK
    );

    // Two throttled Sign calls: the SDK's retries absorb them.
    proxy.throttle("TrentService.Sign", 2);
    let reply = call(&app, stack.exchange_request(&token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(proxy.matched(), 3);

    // Throttled throughout: exactly MAX_ATTEMPTS tries, then 503 within the budget.
    proxy.throttle("TrentService.Sign", usize::MAX);
    let started = Instant::now();
    let reply = call(&app, stack.exchange_request(&token)).await;
    assert_unavailable(&reply, started, AWS_BUDGET);
    assert_eq!(proxy.matched(), trustgate::aws::MAX_ATTEMPTS as usize);

    // The fault ends: served again at once.
    proxy.throttle("TrentService.Sign", 0);
    assert_eq!(
        call(&app, stack.exchange_request(&token)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn dynamodb_throttling_is_a_503_and_recovers() {
    let stack = Stack::new().await;
    let proxy = FaultProxy::start().await;
    // A cold function: the first exchange must read the issuers and the application.
    proxy.throttle("DynamoDB_20120810", usize::MAX);
    let app = app_through(&stack, &proxy, true, false, KeySource::new(true)).await;
    let token = subject_token(&stack);
    let started = Instant::now();
    let reply = call(&app, stack.exchange_request(&token)).await;
    assert_unavailable(&reply, started, AWS_BUDGET);
    assert!(proxy.matched() >= trustgate::aws::MAX_ATTEMPTS as usize);

    proxy.throttle("DynamoDB_20120810", 0);
    let reply = call(&app, stack.exchange_request(&token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

/// The emulator stops mid-run (connections refused) and comes back. A refresh-enabled client,
/// so a token and a refresh record would be made: none is returned while it is down.
#[tokio::test]
async fn the_emulator_stopping_mid_run_is_a_503_and_the_service_recovers() {
    let stack = Stack::new().await;
    let secret = trustgate::domain::random_hex(32);
    let refreshing = application(
        AppType::Web,
        &[GrantType::TokenExchange, GrantType::RefreshToken],
        Some(&secret),
    );
    stack.add_application(&refreshing).await;
    let proxy = FaultProxy::start().await;
    let app = app_through(&stack, &proxy, true, true, KeySource::new(true)).await;
    let request = |token: &str| {
        form_request(
            &stack.token_path(),
            &[
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token", token),
                ("subject_token_type", JWT_TYPE),
            ],
            Some((&refreshing.client_id, &secret)),
        )
    };
    let token = subject_token(&stack);
    let reply = call(&app, request(&token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    proxy.stop();
    let started = Instant::now();
    let reply = call(&app, request(&token)).await;
    assert_unavailable(&reply, started, AWS_BUDGET);
    assert!(reply.body.get("refresh_token").is_none());
    // A cold function (a new execution environment) while it is down.
    let cold = app_through(&stack, &proxy, true, true, KeySource::new(true)).await;
    let started = Instant::now();
    assert_unavailable(&call(&cold, request(&token)).await, started, AWS_BUDGET);

    proxy.restart().await;
    for app in [&app, &cold] {
        let reply = call(app, request(&token)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert!(reply.body["refresh_token"].is_string());
    }
}

/// A JWKS endpoint that accepts the connection and never answers: 503 within the fetch timeout,
/// and keys again once it answers (after the refetch cooldown, shortened here).
#[tokio::test]
async fn a_hanging_jwks_endpoint_is_a_503_within_its_timeout_and_recovers() {
    let stack = Stack::new().await;
    stack.jwks.set(JwksReply::Hang);
    let proxy = FaultProxy::start().await;
    let mut settings = KeySourceSettings::new(true);
    settings.refetch_cooldown = Duration::from_millis(200);
    let timeout = settings.timeout;
    let app = app_through(
        &stack,
        &proxy,
        false,
        false,
        KeySource::with_settings(settings),
    )
    .await;
    let token = subject_token(&stack);
    let started = Instant::now();
    let reply = call(&app, stack.exchange_request(&token)).await;
    assert_unavailable(&reply, started, timeout + Duration::from_secs(2));
    assert!(started.elapsed() >= timeout - Duration::from_millis(100));

    stack.jwks.set(JwksReply::json(common::keys::jwks(
        &[RSA_2048.jwk("rsa-1")],
    )));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reply = call(&app, stack.exchange_request(&token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

/// A request that fails after its subject token's `jti` was recorded (here: KMS throttled)
/// must not burn the `jti`: the 503 tells the client to retry, so the retry with the same
/// token is served once the fault ends — and only then is the token used up.
#[tokio::test]
async fn a_failed_exchange_does_not_use_up_the_subject_tokens_jti() {
    let stack = Stack::new().await;
    let mut issuer = issuer_record("jti", &format!("https://jti.example.com/{}", stack.org));
    issuer.jwks_uri = Some(stack.jwks.url());
    issuer.require_jti = true;
    stack.add_issuer(&issuer).await;
    let proxy = FaultProxy::start().await;
    let app = app_through(&stack, &proxy, false, true, KeySource::new(true)).await;
    let mut claims = stack.claims();
    claims["iss"] = json!(issuer.issuer);
    claims["jti"] = json!(trustgate::domain::random_hex(8));
    let token = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims);

    proxy.throttle("TrentService", usize::MAX);
    let started = Instant::now();
    assert_unavailable(
        &call(&app, stack.exchange_request(&token)).await,
        started,
        AWS_BUDGET,
    );

    proxy.throttle("TrentService", 0);
    let retried = call(&app, stack.exchange_request(&token)).await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
    let replay = call(&app, stack.exchange_request(&token)).await;
    assert_error(&replay, StatusCode::BAD_REQUEST, "invalid_request");
}

/// The same for refresh: KMS throttled during a refresh is a 503 that leaves the presented
/// refresh token active, so the retry is served (and is not taken for reuse, which would
/// revoke the family).
#[tokio::test]
async fn a_failed_refresh_leaves_the_presented_refresh_token_active() {
    let stack = Stack::new().await;
    let secret = trustgate::domain::random_hex(32);
    let app_record = application(
        AppType::Web,
        &[GrantType::TokenExchange, GrantType::RefreshToken],
        Some(&secret),
    );
    stack.add_application(&app_record).await;
    let proxy = FaultProxy::start().await;
    let app = app_through(&stack, &proxy, false, true, KeySource::new(true)).await;
    let client = Some((app_record.client_id.as_str(), secret.as_str()));
    let exchanged = call(
        &app,
        form_request(
            &stack.token_path(),
            &[
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token", &subject_token(&stack)),
                ("subject_token_type", JWT_TYPE),
            ],
            client,
        ),
    )
    .await;
    let refresh_token = exchanged.body["refresh_token"].as_str().unwrap().to_owned();
    let refresh = || {
        form_request(
            &stack.token_path(),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token),
            ],
            client,
        )
    };

    proxy.throttle("TrentService.Sign", usize::MAX);
    let started = Instant::now();
    assert_unavailable(&call(&app, refresh()).await, started, AWS_BUDGET);

    proxy.throttle("TrentService.Sign", 0);
    let retried = call(&app, refresh()).await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
    assert!(retried.body["refresh_token"].is_string());
}
