//! The panic probe: served like `src/bin/token.rs` (`lambda_http::run_concurrent`, so
//! `AWS_LAMBDA_MAX_CONCURRENCY` > 1 serves requests concurrently in one process), with a
//! handler that panics on `/panic` and answers anything else after a pause. tests/panics.rs
//! (`make panic-check`) runs it, built by `cargo lambda build --release`, to show that with the
//! profile's `panic = "unwind"` a panic fails its own request only. The functions that ship
//! have no such route.

use std::convert::Infallible;
use std::time::Duration;

use lambda_http::{Body, Error, Request, Response, service_fn};

/// `/panic` panics after 50 ms; anything else answers 200 after 300 ms, so the others are in
/// flight when it panics.
async fn handler(request: Request) -> Result<Response<Body>, Infallible> {
    if request.uri().path() == "/panic" {
        tokio::time::sleep(Duration::from_millis(50)).await;
        panic!("the panic probe's deliberate panic");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(Response::new(Body::Text("served".into())))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run_concurrent(service_fn(handler)).await
}
