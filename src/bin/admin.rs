//! The `admin` Lambda function: wiring only.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{Error, Request, service_fn};
use trustgate::aws::table::Table;
use trustgate::config::{AdminAuth, Config, Function};
use trustgate::http::admin::AdminApp;
use trustgate::{aws, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env(Function::Admin).inspect_err(|e| tracing::error!("{e}"))?;
    if config.admin_auth == AdminAuth::None {
        tracing::warn!(
            "TRUSTGATE_ADMIN_AUTH=none: the admin API serves unauthenticated callers (local development only)"
        );
    }
    let sdk = aws::sdk_config();
    let table = Table::new(aws::dynamodb_client(&sdk), config.table.clone());
    let app = Arc::new(AdminApp::new(config, table));
    lambda_http::run_concurrent(service_fn(move |request: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(app.handle(request).await) }
    }))
    .await
}
