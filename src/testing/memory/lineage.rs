//! [`Lineage`] in memory: children by parent, dropped once expired, as the table's TTL does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::organization::OrgName;
use crate::domain::revocation::AccessTokenRef;
use crate::ports::{BoxFuture, Clock, Lineage, PortError};

pub struct MemoryLineage {
    clock: Arc<dyn Clock>,
    children: Mutex<HashMap<(String, String), Vec<AccessTokenRef>>>,
}

impl MemoryLineage {
    pub fn new(clock: Arc<dyn Clock>) -> MemoryLineage {
        MemoryLineage {
            clock,
            children: Mutex::default(),
        }
    }

    /// Children recorded (expired or not).
    pub fn recorded(&self) -> usize {
        let children = self.children.lock().unwrap_or_else(|e| e.into_inner());
        children.values().map(Vec::len).sum()
    }
}

impl Lineage for MemoryLineage {
    fn record_child<'a>(
        &'a self,
        org: &'a OrgName,
        parent_jti: &'a str,
        child: &'a AccessTokenRef,
    ) -> BoxFuture<'a, Result<(), PortError>> {
        let mut children = self.children.lock().unwrap_or_else(|e| e.into_inner());
        let key = (org.to_string(), parent_jti.to_owned());
        let siblings = children.entry(key).or_default();
        siblings.retain(|c| c.jti != child.jti);
        siblings.push(child.clone());
        Box::pin(std::future::ready(Ok(())))
    }

    fn children<'a>(
        &'a self,
        org: &'a OrgName,
        parent_jti: &'a str,
    ) -> BoxFuture<'a, Result<Vec<AccessTokenRef>, PortError>> {
        let children = self.children.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.now();
        let key = (org.to_string(), parent_jti.to_owned());
        let live = (children.get(&key).into_iter().flatten())
            .filter(|c| c.exp > now)
            .cloned()
            .collect();
        Box::pin(std::future::ready(Ok(live)))
    }
}
