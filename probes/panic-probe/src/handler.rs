//! The probe's handler, also run in process by tests/panics.rs (included there by path), so
//! that the test and the `cargo lambda build` of the probe exercise the same code.

use std::convert::Infallible;
use std::time::Duration;

use lambda_http::{Body, Request, Response};

/// What the panicking request panics with (the runtime reports it as the invocation's error).
pub const PANIC_MESSAGE: &str = "the panic probe's deliberate panic";

/// `/panic` panics after 50 ms; anything else answers 200 after 300 ms, so the others are in
/// flight when it panics.
pub async fn handler(request: Request) -> Result<Response<Body>, Infallible> {
    if request.uri().path() == "/panic" {
        tokio::time::sleep(Duration::from_millis(50)).await;
        panic!("{PANIC_MESSAGE}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(Response::new(Body::Text("served".into())))
}
