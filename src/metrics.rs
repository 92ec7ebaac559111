//! AWS calls per request: an SDK interceptor on the DynamoDB and KMS clients counts every
//! operation into the counters of the request that made it. A request opens its counters with
//! [`counted`]; they live in a tokio task-local, so concurrent requests served by one execution
//! environment never mix their counts. Calls made outside any request count nowhere.
//!
//! An operation is counted once however many attempts its retries take.

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

#[derive(Default)]
struct Counters {
    dynamodb_reads: AtomicU32,
    dynamodb_writes: AtomicU32,
    kms_calls: AtomicU32,
}

impl Counters {
    fn snapshot(&self) -> AwsCalls {
        AwsCalls {
            dynamodb_reads: self.dynamodb_reads.load(Ordering::Relaxed),
            dynamodb_writes: self.dynamodb_writes.load(Ordering::Relaxed),
            kms_calls: self.kms_calls.load(Ordering::Relaxed),
        }
    }
}

tokio::task_local! {
    static CURRENT: Arc<Counters>;
}

/// Runs `future` with counters of its own and returns its output with the AWS operations it
/// made (those of futures it awaits or joins; not those of tasks it spawns).
pub async fn counted<F: Future>(future: F) -> (F::Output, AwsCalls) {
    let counters = Arc::new(Counters::default());
    let output = CURRENT.scope(Arc::clone(&counters), future).await;
    (output, counters.snapshot())
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
        assert_eq!((a.kms_calls, b.kms_calls, c.kms_calls), (3, 1, 5));
        assert!(
            CURRENT.try_with(|_| ()).is_err(),
            "no scope outside counted"
        );
    }
}
