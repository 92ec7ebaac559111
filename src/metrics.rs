//! AWS calls per request: an SDK interceptor on the DynamoDB and KMS clients counts every
//! operation into the counters of the request that made it. A request opens its counters with
//! [`counted`]; they live in a tokio task-local, so concurrent requests served by one execution
//! environment never mix their counts. Calls made outside any request count nowhere.
//!
//! An operation is counted once however many attempts its retries take.
//!
//! The same scope counts the request's failed JWKS fetches ([`jwks_fetch_failed`]): with the
//! AWS calls they are the per-request numbers the "handled" line carries as CloudWatch metrics
//! ([`crate::telemetry::emf`]).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemInput;
use aws_sdk_dynamodb::operation::get_item::GetItemInput;
use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::scan::ScanInput;
use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsInput;

/// The AWS operations one request made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AwsCalls {
    /// `GetItem`, `BatchGetItem`, `Query`, `Scan`, `TransactGetItems`.
    pub dynamodb_reads: u32,
    /// Every other DynamoDB operation (`PutItem`, `UpdateItem`, `TransactWriteItems`, …).
    pub dynamodb_writes: u32,
    /// Every KMS operation (`Sign`, `GetPublicKey`, …).
    pub kms_calls: u32,
}

/// What one request counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub calls: AwsCalls,
    /// Trusted issuers' JWKS fetches that failed (network, status or parse).
    pub jwks_fetch_failures: u32,
}

#[derive(Default)]
struct Counters {
    dynamodb_reads: AtomicU32,
    dynamodb_writes: AtomicU32,
    kms_calls: AtomicU32,
    jwks_fetch_failures: AtomicU32,
}

impl Counters {
    fn snapshot(&self) -> Counts {
        Counts {
            calls: AwsCalls {
                dynamodb_reads: self.dynamodb_reads.load(Ordering::Relaxed),
                dynamodb_writes: self.dynamodb_writes.load(Ordering::Relaxed),
                kms_calls: self.kms_calls.load(Ordering::Relaxed),
            },
            jwks_fetch_failures: self.jwks_fetch_failures.load(Ordering::Relaxed),
        }
    }
}

tokio::task_local! {
    static CURRENT: Arc<Counters>;
}

/// Runs `future` with counters of its own and returns its output with what it counted (in
/// futures it awaits or joins; not in tasks it spawns).
pub async fn counted<F: Future>(future: F) -> (F::Output, Counts) {
    let counters = Arc::new(Counters::default());
    let output = CURRENT.scope(Arc::clone(&counters), future).await;
    (output, counters.snapshot())
}

/// Counts a failed JWKS fetch into the current request's counters (none outside a request).
pub fn jwks_fetch_failed() {
    let _ = CURRENT.try_with(|c| c.jwks_fetch_failures.fetch_add(1, Ordering::Relaxed));
}

#[derive(Debug, Clone, Copy)]
enum Service {
    DynamoDb,
    Kms,
}

/// The interceptor that counts; [`crate::aws`] puts one on each client it builds.
#[derive(Debug, Clone, Copy)]
pub struct AwsCallCounter(Service);

impl AwsCallCounter {
    pub fn dynamodb() -> AwsCallCounter {
        AwsCallCounter(Service::DynamoDb)
    }

    pub fn kms() -> AwsCallCounter {
        AwsCallCounter(Service::Kms)
    }
}

// The DynamoDB and KMS crates re-export the same `Intercept` trait (aws-smithy-runtime-api), so
// one implementation serves both clients.
impl Intercept for AwsCallCounter {
    fn name(&self) -> &'static str {
        "AwsCallCounter"
    }

    /// Called once per operation, before serialization and before any retry.
    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let _ = CURRENT.try_with(|counters| {
            let counter = match self.0 {
                Service::Kms => &counters.kms_calls,
                Service::DynamoDb => {
                    let input = context.input();
                    let read = input.downcast_ref::<GetItemInput>().is_some()
                        || input.downcast_ref::<QueryInput>().is_some()
                        || input.downcast_ref::<BatchGetItemInput>().is_some()
                        || input.downcast_ref::<ScanInput>().is_some()
                        || input.downcast_ref::<TransactGetItemsInput>().is_some();
                    if read {
                        &counters.dynamodb_reads
                    } else {
                        &counters.dynamodb_writes
                    }
                }
            };
            counter.fetch_add(1, Ordering::Relaxed);
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_belong_to_the_scope_that_made_them() {
        let bump = |n: u32| async move {
            for _ in 0..n {
                CURRENT.with(|c| c.kms_calls.fetch_add(1, Ordering::Relaxed));
                tokio::task::yield_now().await;
            }
        };
        let ((), a) = counted(bump(3)).await;
        let (((), b), ((), c)) = tokio::join!(counted(bump(1)), counted(bump(5)));
        assert_eq!(
            (a.calls.kms_calls, b.calls.kms_calls, c.calls.kms_calls),
            (3, 1, 5)
        );
        let ((), failed) = counted(async { jwks_fetch_failed() }).await;
        assert_eq!(failed.jwks_fetch_failures, 1);
        assert_eq!(a.jwks_fetch_failures, 0);
        assert!(
            CURRENT.try_with(|_| ()).is_err(),
            "no scope outside counted"
        );
    }
}
