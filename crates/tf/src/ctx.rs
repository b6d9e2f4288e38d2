//! What one tf invocation knows beyond the command line it runs: the session,
//! how it was opened, and what earlier commands of a shell or batch left for
//! later ones. Commands get it from the dispatcher (table.rs) instead of
//! process-wide statics, so a test or a second session cannot see another's.

use super::reply::fail;
use std::process::ExitCode;
use tfp_client::{Client, ClientConfig};

/// The context every command of the table runs in.
pub struct Ctx<'a> {
    /// The session.
    pub c: &'a mut Client,
    /// How it was opened (and how more sessions like it are: `--jobs`).
    pub cfg: &'a ClientConfig,
    /// The session entered with Fast Access (`--fai`): the pool's sessions do
    /// too, one after the other.
    pub fai: bool,
    /// What stdin carries.
    pub stdin: Stdin,
    /// The NETLOCK ids this session holds, oldest first (`netunlock` without
    /// an id releases the last).
    pub held: Vec<String>,
}

impl<'a> Ctx<'a> {
    /// A fresh context for the session `c` opened from `cfg`.
    pub fn new(c: &'a mut Client, cfg: &'a ClientConfig, fai: bool) -> Ctx<'a> {
        Ctx {
            c,
            cfg,
            fai,
            stdin: Stdin { commands: false },
            held: Vec::new(),
        }
    }
}

/// Whether stdin carries the commands (`tf -b -`, or `tf shell` fed by a
/// pipe): then no command may read it as data.
#[derive(Clone, Copy)]
pub struct Stdin {
    pub commands: bool,
}

impl Stdin {
    /// The error for a command that would read `-` (stdin) while stdin
    /// carries the commands; None when it may.
    pub fn taken(self, cmd: &str) -> Option<ExitCode> {
        self.commands
            .then(|| fail(format!("{cmd}: - (stdin) holds the commands here; give a file instead")))
    }
}
