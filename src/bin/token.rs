//! The `token` Lambda function: wiring only.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{Error, Request, service_fn};
use trustgate::aws::key_wrapping::KmsKeyWrapping;
use trustgate::aws::kms::KmsSigner;
use trustgate::aws::table::Table;
use trustgate::config::{Config, Function, SigningMode};
use trustgate::envelope::EnvelopeSigner;
use trustgate::http::token::TokenApp;
use trustgate::keys::KeySource;
use trustgate::ports::{Signer, SystemClock};
use trustgate::token::{Ports, TokenService};
use trustgate::{aws, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env(Function::Token).inspect_err(|e| tracing::error!("{e}"))?;
    let sdk = aws::sdk_config();
    let table = Table::new(aws::dynamodb_client(&sdk), config.table.clone());
    let signer: Arc<dyn Signer> = match &config.signing_mode {
        SigningMode::Kms => Arc::new(KmsSigner::new(
            aws::kms_client(&sdk),
            config
                .signing_key
                .clone()
                .expect("required for the token function in kms mode"),
            config.previous_signing_keys.clone(),
            config.signing_alg,
        )),
        SigningMode::Envelope { wrapping_key } => {
            let wrapping = KmsKeyWrapping::new(
                aws::kms_client(&sdk),
                wrapping_key.clone(),
                config.table.clone(),
            );
            let signer = EnvelopeSigner::new(
                Arc::new(table.clone()),
                Arc::new(wrapping),
                Arc::new(SystemClock),
            );
            signer.check_at_start().await?;
            Arc::new(signer)
        }
    };
    let ports = Ports {
        config_store: Arc::new(table.clone()),
        replay_log: Arc::new(table.clone()),
        refresh_store: Arc::new(table.clone()),
        revocations: Arc::new(table.clone()),
        lineage: Arc::new(table.clone()),
        refresh_reads: Arc::new(table.clone()),
        failure_log: Arc::new(table),
        signer,
        keys: Arc::new(KeySource::new(config.allow_insecure_jwks)),
        clock: Arc::new(SystemClock),
    };
    let service = TokenService::new(config, ports);
    let app = Arc::new(TokenApp { service });
    lambda_http::run_concurrent(service_fn(move |request: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(app.handle(request).await) }
    }))
    .await
}
