//! The queue between Python's writes to a remote file open for writing
//! and the worker sending it (`crate::upload`): below the session's state,
//! which holds the queue of its open file so that `interrupt` can give it up.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};

#[derive(Default)]
pub(crate) struct State {
    pub(crate) queue: VecDeque<Vec<u8>>,
    pub(crate) queued: usize,
    /// `close`: the data is complete.
    pub(crate) ended: bool,
    /// Why the upload was given up (BREAK), if it was.
    pub(crate) abandoned: Option<String>,
    /// The worker returned (the flow is over).
    pub(crate) finished: bool,
}

#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) moved: Condvar,
}

impl Shared {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}
