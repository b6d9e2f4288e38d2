//! The single-file downloads tf moves itself, outside the engine's
//! resumable partials: to standard output or a device, in place with
//! `--offset`, and `rcvfile`/`sdown` into a temporary beside the target.
//! Each keeps only the size the server announced, and each is checked to
//! have read one version of the file: the server's state of it before and
//! after the data must agree, as the engine's downloads are checked.

use super::{local_cause, transfer_bar, Opts};
use crate::xfer_error::XferError;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tfd_sys::direct::ChunkWriter;
use tfp_client::engine::capped::Capped;
use tfp_client::remote::same;
use tfp_client::replies::{AsStatus as _, Split as _};
use tfp_client::{escape, Client, ClientConfig, Error, DIRECT_WRITE_MIN};
use tfp_wire::Status;

/// Where one download writes.
pub(super) enum Out<'a> {
    /// A file of its own (a fresh temporary, or the target itself with
    /// `--offset`), written from `offset` on.
    File(File, u64),
    /// Standard output or a device.
    Stream(&'a mut dyn Write),
}

/// Moves the remote file's bytes into `out`: `get` from `--offset` (or 0),
/// `rcvfile`/`sdown` whole, keeping only the size the server announced. A
/// file that changed on the server while it was read (its state before and
/// after differ: a rewrite of the same size included) is
/// [`Error::Mismatch`], saying what that `leaves`; `rcvfile -d` removes it,
/// so it has no state after.
pub(super) fn fetch(
    c: &mut Client,
    cfg: &ClientConfig,
    cmd: &str,
    o: &Opts,
    out: Out<'_>,
    leaves: &str,
) -> Result<Result<(), Status>, XferError> {
    let remote = o.positional[0].as_str();
    let before = match cmd == "rcvfile" && o.delete {
        true => None,
        false => same::state(c, remote.as_bytes())?,
    };
    let st = fetch_data(c, cfg, cmd, o, out, before.as_ref().map(same::State::size))?;
    if let (Ok(()), Some(was)) = (&st, before) {
        if same::state_as(c, remote.as_bytes(), &was)? != Some(was) {
            return Err(Error::Mismatch(format!(
                "{}: it changed on the server while it was read; {leaves}",
                escape::shown_str(remote)
            ))
            .into());
        }
    }
    Ok(st)
}

/// [`fetch`]'s transfer; `known`: the file's size where its state before the
/// data told it (no second question for it).
fn fetch_data(
    c: &mut Client,
    cfg: &ClientConfig,
    cmd: &str,
    o: &Opts,
    out: Out<'_>,
    known: Option<u64>,
) -> Result<Result<(), Status>, XferError> {
    let _ = cfg;
    let remote = o.positional[0].as_str();
    let counter = Arc::new(AtomicU64::new(0));
    let local_err = |e: Error| match e {
        Error::Local(io) => XferError::Said(local_cause(Path::new(&o.positional[1]), &io)),
        e => e.into(),
    };
    Ok(match cmd {
        "get" => {
            // the size the state before the data told, else FSIZE's (which
            // says why a file that has no state is not there)
            let total = match known {
                Some(n) => n,
                None => declined_zero(c.fsize(remote.as_bytes()))?,
            };
            let bar = transfer_bar(total, counter.clone());
            let ctr = counter.clone();
            let mut progress = |n| ctr.store(n, Ordering::Relaxed);
            let r = match out {
                Out::File(f, offset) => {
                    // full chunks go to disk past the page cache, behind the cipher
                    let w = ChunkWriter::new(f, offset, DIRECT_WRITE_MIN);
                    c.get_to_file(remote.as_bytes(), offset, o.bufsz, w, &mut progress)
                        .split()
                        .map_err(local_err)?
                }
                Out::Stream(w) => c
                    .get(remote.as_bytes(), 0, o.bufsz, w, &mut progress)
                    .split()
                    .map_err(local_err)?,
            };
            bar.finish();
            r.map(drop)
        }
        "rcvfile" | "sdown" => {
            // the size announced before the transfer is all that is kept
            let size = match known {
                Some(n) => Some(n),
                None => match tfp_client::remote::listing::fstat(c, remote.as_bytes()).split()? {
                    Ok(st) => Some(st.size),
                    Err(_) => None,
                },
            };
            let mut file;
            let w: &mut dyn Write = match out {
                Out::File(f, _) => {
                    file = f;
                    &mut file
                }
                Out::Stream(w) => w,
            };
            let run = |c: &mut Client, w: &mut dyn Write| -> Result<Result<(), Status>, XferError> {
                Ok(if cmd == "rcvfile" {
                    match c.rcvfile(remote.as_bytes(), o.delete, w).status().map_err(local_err)? {
                        Status::Ok(_) => Ok(()),
                        other => Err(other),
                    }
                } else {
                    match c.sdown(remote.as_bytes(), w) {
                        Ok(()) => Ok(()),
                        Err(e) if e.is_declined() => Err(Status::Failed(-1, "SDOWN failed on the server".into())),
                        Err(e) => return Err(local_err(e)),
                    }
                })
            };
            match size {
                Some(n) => {
                    let moved = AtomicU64::new(0);
                    let mut cw = Capped::new(w, n, &moved);
                    let st = run(c, &mut cw)?;
                    if st.is_ok() {
                        if let Err(why) = cw.verdict() {
                            return Err(XferError::Said(format!("{cmd} {remote}: {why}")));
                        }
                    }
                    st
                }
                // refused FSTAT: the transfer's own answer says why
                None => run(c, w)?,
            }
        }
        _ => return Err(XferError::Said(format!("unknown transfer {cmd}"))),
    })
}

/// FSIZE's size, 0 when the server declined (−1, −2): what an offset or a
/// progress bar starts from.
fn declined_zero(r: Result<u64, Error>) -> Result<u64, Error> {
    match r {
        Err(e) if e.is_declined() => Ok(0),
        r => r,
    }
}
