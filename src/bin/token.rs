//! The `token` Lambda function: wiring only.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{Error, Request, service_fn};
use trustgate::config::{Config, Function};
use trustgate::http::token::TokenApp;
use trustgate::store::Table;
use trustgate::{aws, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env(Function::Token).inspect_err(|e| tracing::error!("{e}"))?;
    let sdk = aws::sdk_config().await;
    let app = Arc::new(TokenApp {
        table: Table::new(aws_sdk_dynamodb::Client::new(&sdk), config.table.clone()),
        kms: aws_sdk_kms::Client::new(&sdk),
        config,
    });
    lambda_http::run_concurrent(service_fn(move |request: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(app.handle(request).await) }
    }))
    .await
}
