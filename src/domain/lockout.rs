//! Brute-force defence for client secrets (RFC 6749 §10.10, RFC 9700 §4.x): after
//! [`MAX_FAILURES`] failed authentications of one client from one source address within a
//! [`WINDOW_SECONDS`] window, that client is refused from that source with 429 until the window
//! ends. Counting per source keeps an attacker from locking a legitimate client out, and the
//! window keeps any lock short. Secrets have 256 bits, so this is defence in depth.

use std::collections::HashMap;
use std::sync::Mutex;

/// Failed authentications per client and source allowed in one window.
pub const MAX_FAILURES: u64 = 10;
/// Length of a counting window.
pub const WINDOW_SECONDS: i64 = 300;
/// Locks remembered by one warm function.
const CAPACITY: usize = 10_000;

/// The window `now` falls in: its start and end, in epoch seconds.
pub fn window(now: i64) -> (i64, i64) {
    let start = now - now.rem_euclid(WINDOW_SECONDS);
    (start, start + WINDOW_SECONDS)
}

/// What a lock is about: one client of one organization, seen from one source address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject {
    pub org: String,
    pub client_id: String,
    pub source: String,
}

/// Locks known to this warm function. Other functions learn of a lock at their next failure,
/// from the shared failure count.
#[derive(Debug, Default)]
pub struct Lockouts {
    locked: Mutex<HashMap<Subject, i64>>,
}

impl Lockouts {
    /// When `subject` is locked at `now`, the seconds until the lock ends.
    pub fn retry_after(&self, subject: &Subject, now: i64) -> Option<u64> {
        let locked = self.locked.lock().unwrap_or_else(|e| e.into_inner());
        locked
            .get(subject)
            .filter(|until| **until > now)
            .map(|until| (until - now) as u64)
    }

    /// Locks `subject` until `until` (epoch seconds).
    pub fn lock(&self, subject: Subject, until: i64, now: i64) {
        let mut locked = self.locked.lock().unwrap_or_else(|e| e.into_inner());
        if locked.len() >= CAPACITY {
            locked.retain(|_, end| *end > now);
            if locked.len() >= CAPACITY {
                locked.clear();
            }
        }
        locked.insert(subject, until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(source: &str) -> Subject {
        Subject {
            org: "acme".into(),
            client_id: "c".into(),
            source: source.into(),
        }
    }

    #[test]
    fn windows_are_aligned_and_cover_now() {
        assert_eq!(window(600), (600, 900));
        assert_eq!(window(899), (600, 900));
    }

    #[test]
    fn a_lock_holds_for_its_source_only_and_ends() {
        let lockouts = Lockouts::default();
        lockouts.lock(subject("198.51.100.7"), 1_000, 900);
        assert_eq!(
            lockouts.retry_after(&subject("198.51.100.7"), 900),
            Some(100)
        );
        assert_eq!(lockouts.retry_after(&subject("203.0.113.9"), 900), None);
        assert_eq!(lockouts.retry_after(&subject("198.51.100.7"), 1_000), None);
    }
}
