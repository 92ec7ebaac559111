//! The `admin` Lambda function: wiring only.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{Error, Request, service_fn};
use trustgate::aws::kms::KmsSigner;
use trustgate::aws::table::Table;
use trustgate::config::{AdminAuth, Config, Function, SigningMode};
use trustgate::envelope::EnvelopeSigner;
use trustgate::http::admin::AdminApp;
use trustgate::ports::{Signer, SystemClock};
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
    // Only the published keys, for explain to verify the organization's own tokens: the KMS
    // keys' public keys (GetPublicKey), or the envelope key set from the table (never
    // decrypted: no KMS call).
    let own_keys: Arc<dyn Signer> = match &config.signing_mode {
        SigningMode::Kms => Arc::new(KmsSigner::new(
            aws::kms_client(&sdk),
            config
                .signing_key
                .clone()
                .expect("required in kms signing mode"),
            config.previous_signing_keys.clone(),
            config.signing_alg,
        )),
        SigningMode::Envelope { .. } => Arc::new(EnvelopeSigner::publish_only(
            Arc::new(table.clone()),
            Arc::new(SystemClock),
        )),
    };
    let app = Arc::new(AdminApp::new(config, table, own_keys));
    lambda_http::run_concurrent(service_fn(move |request: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(app.handle(request).await) }
    }))
    .await
}
