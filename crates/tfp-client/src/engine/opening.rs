//! The more sessions of a tree run, opened while the caller's own session
//! is, each asking the batch probe the run will need.

use super::pool;
use crate::remote::probe::{self, Which};
use crate::{Client, ClientConfig};
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
    /// Starts opening the `jobs - 1` more sessions of an upload (`put -r`)
    /// or a download (`get -r`, `resume` when it continues partials), each
    /// asking the batch probe as [`start_pool`]'s do. Not for Fast Access,
    /// whose sessions enter one after the other with the key the last one
    /// was handed.
    pub fn start(cfg: &ClientConfig, jobs: usize, upload: bool, resume: bool) -> Opening {
        if jobs <= 1 {
            return Opening::default();
        }
        let prime: fn(&mut Client) = match (upload, resume) {
            (true, _) => put_prime(cfg.compress),
            (false, false) => |c| probe::prime(c, probe::Which::Get),
            (false, true) => |_| {},
        };
        let early = pool::Early::start(jobs - 1, true, super::pool::connector(cfg, false), prime);
        Opening(Arc::new(Mutex::new(Some(early))))
    }
}

/// The prime of a tree upload's pool sessions under `compress`: with
/// compression possible, on a slow link the compression questions
/// (TFDZSTD, the framed batch's probe) ride the batch probe's write, so a
/// batch finds their answers known and asking costs it nothing
/// ([`super::zpays`]); on loopback or a LAN, or with
/// `--no-compress`, only the batch probe.
pub(crate) fn put_prime(compress: tfp_wire::compress::Choice) -> fn(&mut Client) {
    match compress {
        tfp_wire::compress::Choice::Off => |c| probe::prime(c, Which::Put),
        _ => |c| prime_z(c, Which::Put),
    }
}

/// [`probe::prime`] with the compression questions in the same write where the
/// session's link is slow.
fn prime_z(c: &mut Client, which: Which) {
    if !super::route::Link::of(c).slow {
        return probe::prime(c, which);
    }
    let line = which.probe_line();
    let before: &[&[u8]] = if which.unasked(c) { &[line] } else { &[] };
    if let Ok(answers) = crate::compress::ask(c, before) {
        for st in &answers {
            let _ = which.answered(c, st);
        }
    }
}
