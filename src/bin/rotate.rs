//! The `rotate` Lambda function (envelope signing): wiring only. Run by an EventBridge schedule
//! (the event's content is not read), and by hand once after the first deploy in envelope mode:
//! with no key yet it makes the first one, which signs at once. Answers what it did.

use std::sync::Arc;

use lambda_http::Error;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use serde_json::Value;
use trustgate::aws::key_wrapping::KmsKeyWrapping;
use trustgate::aws::table::Table;
use trustgate::config::RotationConfig;
use trustgate::envelope::rotate;
use trustgate::ports::{Clock, SystemClock};
use trustgate::{aws, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = RotationConfig::from_env().inspect_err(|e| tracing::error!("{e}"))?;
    let sdk = aws::sdk_config();
    let table = Arc::new(Table::new(aws::dynamodb_client(&sdk), config.table.clone()));
    let wrapping = Arc::new(KmsKeyWrapping::new(
        aws::kms_client(&sdk),
        config.wrapping_key.clone(),
        config.table.clone(),
    ));
    let alg = config.signing_alg;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| {
        let (table, wrapping) = (Arc::clone(&table), Arc::clone(&wrapping));
        async move {
            let rotated = rotate(&*table, &*table, &*wrapping, alg, SystemClock.now())
                .await
                .inspect_err(
                    |e| tracing::error!(detail = %e, "rotation failed; the current key signs on"),
                )?;
            rotated.log();
            Ok::<_, Error>(serde_json::to_value(&rotated)?)
        }
    }))
    .await
}
