//! The `admin` Lambda function: wiring only.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{Error, Request, service_fn};
use trustgate::aws::kms::KmsSigner;
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
    // Only the public keys (GetPublicKey), for explain to verify the organization's own tokens.
    let own_keys = KmsSigner::new(
        aws::kms_client(&sdk),
        config
            .signing_key
            .clone()
            .expect("required in kms signing mode"),
        config.previous_signing_keys.clone(),
        config.signing_alg,
    );
    let app = Arc::new(AdminApp::new(config, table, Arc::new(own_keys)));
    lambda_http::run_concurrent(service_fn(move |request: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(app.handle(request).await) }
    }))
    .await
}
