//! What a `Session` holds (its connection, its config, what closed it, the
//! long call running, the file open for writing): below every file that
//! works on a session (`running`, `tree`, `pyio`, `upload`, `whole`, `can`)
//! and the class's methods (`session`), so none of them needs another's.

use crate::queue::Shared;
use pyo3::prelude::*;
use std::sync::{Arc, Mutex};
use tfp_client::notify::Notifications;
use tfp_client::{Client, ClientConfig};

/// One TF Protocol session (a connected tfp_client::Client).
#[pyclass(module = "tfd_client._native")]
pub(crate) struct Session {
    pub(crate) client: Mutex<Option<Conn>>,
    pub(crate) cfg: ClientConfig,
    /// What closed the session (when `client` is None and nothing holds it
    /// on loan): SessionClosed's message.
    pub(crate) why: Mutex<&'static str>,
    /// A file opened for writing (`crate::upload`) holds the connection.
    pub(crate) lent: std::sync::atomic::AtomicBool,
    /// The cancel of the long operation running now (`run_long`), which
    /// `interrupt` fires.
    pub(crate) running: Mutex<Option<tfp_client::interrupt::Cancel>>,
    /// The queue of the file of this session open for writing, which
    /// `interrupt` gives up.
    pub(crate) uploading: Mutex<Option<Arc<Shared>>>,
}

/// The session taking commands, or in notification mode (for good).
pub(crate) enum Conn {
    /// Taking commands.
    Commands(Client),
    /// In notification mode.
    Notify(Notifications<Client>),
}

impl Conn {
    pub(crate) fn client(&self) -> &Client {
        match self {
            Conn::Commands(c) => c,
            Conn::Notify(n) => n.client(),
        }
    }

    pub(crate) fn client_mut(&mut self) -> &mut Client {
        match self {
            Conn::Commands(c) => c,
            Conn::Notify(n) => n.client_mut(),
        }
    }
}
