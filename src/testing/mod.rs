//! In-memory implementations of every port, for in-process tests of the use cases and for
//! benchmarks (feature `test-util`; always built for the library's own tests). They keep the
//! same promises as the AWS implementations, which [`contract`] checks of both: expired records
//! read as absent, rotation is a compare-and-swap, the signer really signs.

mod composed;
pub mod contract;
mod envelope;
mod memory;
mod signer;

pub use composed::ComposedRefreshReads;
pub use envelope::{MemorySigningKeys, MemoryWrapping};
pub use memory::{
    FixedClock, MemoryConfigStore, MemoryFailureLog, MemoryKeySource, MemoryLineage,
    MemoryRefreshStore, MemoryReplayLog, MemoryRevocations,
};
pub use signer::{MemorySigner, TestIdp};

use std::sync::Arc;

use crate::token::Ports;

/// Every port in memory, sharing one clock, with handles to seed and inspect each.
#[derive(Clone)]
pub struct InMemory {
    pub clock: Arc<FixedClock>,
    pub config_store: Arc<MemoryConfigStore>,
    pub replay_log: Arc<MemoryReplayLog>,
    pub refresh_store: Arc<MemoryRefreshStore>,
    pub revocations: Arc<MemoryRevocations>,
    pub lineage: Arc<MemoryLineage>,
    pub failure_log: Arc<MemoryFailureLog>,
    pub signer: Arc<MemorySigner>,
    pub keys: Arc<MemoryKeySource>,
}

impl InMemory {
    /// Empty stores, a fresh ES256 signing key, the clock at `now` (epoch seconds).
    pub fn new(now: i64) -> InMemory {
        let clock = Arc::new(FixedClock::new(now));
        let revocations = Arc::new(MemoryRevocations::new(clock.clone()));
        InMemory {
            config_store: Arc::new(MemoryConfigStore::default()),
            replay_log: Arc::new(MemoryReplayLog::new(clock.clone())),
            refresh_store: Arc::new(MemoryRefreshStore::new(clock.clone(), revocations.clone())),
            revocations,
            lineage: Arc::new(MemoryLineage::new(clock.clone())),
            failure_log: Arc::new(MemoryFailureLog::default()),
            signer: Arc::new(MemorySigner::generate()),
            keys: Arc::new(MemoryKeySource::default()),
            clock,
        }
    }

    pub fn ports(&self) -> Ports {
        Ports {
            config_store: self.config_store.clone(),
            replay_log: self.replay_log.clone(),
            refresh_store: self.refresh_store.clone(),
            revocations: self.revocations.clone(),
            lineage: self.lineage.clone(),
            refresh_reads: Arc::new(ComposedRefreshReads {
                config_store: self.config_store.clone(),
                refresh_store: self.refresh_store.clone(),
                revocations: self.revocations.clone(),
            }),
            failure_log: self.failure_log.clone(),
            signer: self.signer.clone(),
            keys: self.keys.clone(),
            clock: self.clock.clone(),
        }
    }
}
