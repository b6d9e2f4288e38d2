//! The more sessions of a tree run, opened while the caller's own session
//! is.

use super::pool;
use crate::ClientConfig;
use std::sync::{Arc, Mutex};

/// The `jobs - 1` more sessions of a tree run, opening while the caller's
/// own session is: `tf` starts them beside its first handshake, so they are
/// ready when that session is instead of a handshake's five round trips
/// later (0.3 s at 50 ms, on the path of every `put -r` and `get -r`). A
/// run takes them at its [`start_pool`]; those no run takes are ended when
/// the last clone is dropped.
#[derive(Clone, Default)]
pub struct Opening(Arc<Mutex<Option<pool::Early>>>);

impl std::fmt::Debug for Opening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Opening")
    }
}

impl Opening {
    /// The sessions started, once (a second run opens its own).
    pub(crate) fn take(&self) -> Option<pool::Early> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl Opening {
    /// Starts opening the `jobs - 1` more sessions of a tree run (`put -r`,
    /// `get -r`), each told its features as it enters. Not for Fast Access,
    /// whose sessions enter one after the other with the key the last one
    /// was handed.
    pub fn start(cfg: &ClientConfig, jobs: usize) -> Opening {
        if jobs <= 1 {
            return Opening::default();
        }
        let early = pool::Early::start(jobs - 1, true, super::pool::connector(cfg, false));
        Opening(Arc::new(Mutex::new(Some(early))))
    }
}
