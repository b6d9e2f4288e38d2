//! The replay cache: the handshake has no server nonce (the client alone picks the
//! session key and sends it under the server's RSA key), so the recorded bytes of a
//! whole session, sent again on a new connection, would be accepted and every
//! recorded command run again. RSA-OAEP ciphertexts are randomised, so an honest
//! client never sends the same one twice: the key process remembers the
//! ciphertexts it has accepted and refuses one it has seen before.
//!
//! Memory is bounded: at most `capacity` fingerprints (64 bits of SHA-256 of the
//! ciphertext; a false match between two honest handshakes has odds of about
//! capacity / 2^64) and none older than `window`. The oldest is forgotten first.
//! What is left (written down in doc/reliability.md): a session replayed after its
//! entry has left the cache (older than the window, or pushed out by `capacity`
//! newer handshakes), to another node (each node has its own cache), or after the
//! key process restarted (it only restarts when it crashed) is not recognised.

use sha2::{Digest, Sha256};
use std::collections::{HashSet, VecDeque};

/// The cache's limits (tfd.conf `replay_cache`, `replay_window`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayPolicy {
    /// Most fingerprints kept; 0 turns the check off.
    pub capacity: usize,
    /// Seconds a fingerprint is kept.
    pub window: u64,
}

impl ReplayPolicy {
    /// The key process's replay cache limits as configured.
    pub(crate) fn from_config(cfg: &crate::config::Config) -> ReplayPolicy {
        ReplayPolicy {
            capacity: cfg.replay_cache,
            window: cfg.replay_window.as_secs(),
        }
    }
}

/// Accepted ciphertexts' fingerprints, oldest first.
pub struct ReplayCache {
    policy: ReplayPolicy,
    seen: HashSet<u64>,
    order: VecDeque<(u64, u64)>,
}

fn fingerprint(ciphertext: &[u8]) -> u64 {
    let d = Sha256::digest(ciphertext);
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_le_bytes(b)
}

impl ReplayCache {
    /// An empty cache; it grows as handshakes come, up to the policy's capacity.
    pub fn new(policy: ReplayPolicy) -> ReplayCache {
        ReplayCache {
            policy,
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// Records `ciphertext` as accepted at `now` (seconds on a monotonic clock).
    /// False when it was accepted before within the window: a replay.
    pub fn accept(&mut self, ciphertext: &[u8], now: u64) -> bool {
        if self.policy.capacity == 0 {
            return true;
        }
        while let Some(&(fp, t)) = self.order.front() {
            if now.saturating_sub(t) < self.policy.window && self.order.len() < self.policy.capacity {
                break;
            }
            self.order.pop_front();
            self.seen.remove(&fp);
        }
        let fp = fingerprint(ciphertext);
        if !self.seen.insert(fp) {
            return false;
        }
        self.order.push_back((fp, now));
        true
    }

    /// Fingerprints held now.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: ReplayPolicy = ReplayPolicy {
        capacity: 4,
        window: 100,
    };

    #[test]
    fn a_second_sight_is_a_replay() {
        let mut c = ReplayCache::new(P);
        assert!(c.accept(b"one", 0));
        assert!(c.accept(b"two", 1));
        assert!(!c.accept(b"one", 2));
        assert!(!c.accept(b"two", 50));
        // a refused replay does not refresh or duplicate the entry
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn bounded_by_capacity_and_window() {
        let mut c = ReplayCache::new(P);
        for i in 0..10u8 {
            assert!(c.accept(&[i], 0));
            assert!(c.len() <= 4);
        }
        // the oldest were pushed out: recognised no more (the documented residual)
        assert!(c.accept(&[0], 0));
        assert!(!c.accept(&[9], 0));
        // past the window every entry is forgotten
        assert!(c.accept(&[9], 100));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn capacity_zero_is_off() {
        let mut c = ReplayCache::new(ReplayPolicy {
            capacity: 0,
            window: 100,
        });
        assert!(c.accept(b"x", 0));
        assert!(c.accept(b"x", 0));
        assert!(c.is_empty());
    }
}
