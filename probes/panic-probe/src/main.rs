//! The panic probe: served like `src/bin/token.rs` (`lambda_http::run_concurrent`, so
//! `AWS_LAMBDA_MAX_CONCURRENCY` > 1 serves requests concurrently in one process), with a
//! handler that panics on `/panic` and answers anything else after a pause. tests/panics.rs
//! (`make panic-check`) runs it, built by `cargo lambda build --release`, to show that with the
//! profile's `panic = "unwind"` a panic fails its own request only. The functions that ship
//! have no such route.

mod handler;

use lambda_http::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run_concurrent(service_fn(handler::handler)).await
}
