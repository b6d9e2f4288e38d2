//! `tf put --streams N` and `tf put --resume` through tfd's staged uploads
//! ([`tfp_client::staged`]): the target is replaced only by a complete,
//! verified file, and an interrupted upload continues where the server's
//! journal says it stopped. Against a server without the extension, tf says
//! what it cannot guarantee and writes in place as before.

use super::exit::Exit;
use super::xfer_error::XferError;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use tfp_client::escape::shown_str;
use tfp_client::staged::{self, Request};
use tfp_client::{Client, ClientConfig, Error};
use tfp_wire::Status;

/// The put's settings that matter here.
pub struct Put<'a> {
    /// The local file.
    pub local: &'a str,
    /// The target on the server.
    pub remote: &'a str,
    /// Connections for the data.
    pub streams: usize,
    /// HPF buffer per connection.
    pub bufsz: i64,
    /// Continue what the server's stage holds.
    pub resume: bool,
    /// Nobody asked whether `remote` is a directory (into_dir.rs
    /// `Dest::Deferred`): TFDSTAGE's FAILED 8 says so, and the upload goes
    /// into it under the local file's name, as `put FILE DIR` does.
    pub deferred: bool,
}

/// Runs the upload; `Ok(None)` when the server has no staged uploads (the
/// caller then writes in place, after the warning printed here).
pub fn upload(
    c: &mut Client,
    cfg: &ClientConfig,
    p: &Put<'_>,
    counter: &Arc<AtomicU64>,
) -> Result<Option<ExitCode>, XferError> {
    let req = Request {
        local: Path::new(p.local),
        remote: p.remote.as_bytes(),
        streams: p.streams.max(1),
        bufsz: p.bufsz,
        resume: p.resume,
        overwrite: true,
        attrs: None,
    };
    let r = match staged::put(c, cfg, &req, counter) {
        Ok(r) => r,
        Err(Error::Refused(r)) if p.deferred && is_directory(&r) => {
            if let Some(inside) = super::into_dir::into_refused_dir(p.local, p.remote) {
                let p = Put {
                    remote: &inside,
                    deferred: false,
                    ..*p
                };
                return upload(c, cfg, &p, counter);
            }
            return Err(Error::Refused(r).into());
        }
        Err(e) if staged::unsupported(&e) => {
            eprintln!(
                "tf: put: the server has no staged uploads (a tfd extension): {} is written in place, \
                 so an interruption leaves it neither the old nor the new file",
                shown_str(p.remote)
            );
            return Ok(None);
        }
        Err(Error::Refused(r)) => {
            if let Status::Failed(n, why) = &r.reply {
                let why = shown_str(why);
                eprintln!("FAILED {n} : {why}");
                // the server's sentence ends with its own full stop
                eprintln!(
                    "tf: put: {}: {}; the file on the server is as it was",
                    shown_str(p.remote),
                    tfp_client::tree::listing::clause(&why)
                );
                return Ok(Some(ExitCode::from(Exit::Refused)));
            }
            return Ok(Some(super::reply::report(
                c,
                "put",
                &[(p.remote, super::explain::Access::Create)],
                &r.reply,
            )));
        }
        Err(e @ Error::Unsettled { .. }) => {
            return Err(XferError::Said(format!(
                "put: {}: {} (`tf put --resume` sends nothing if it is the new one)",
                shown_str(p.remote),
                tfp_client::tree::listing::clause(&e.to_string()),
            )))
        }
        Err(e) => {
            return Err(XferError::Said(format!(
                "put: {}: {}; the file on the server is as it was{}",
                shown_str(p.remote),
                tfp_client::tree::listing::clause(&e.to_string()),
                if p.resume || p.streams > 1 {
                    " (run again with --resume to continue)"
                } else {
                    ""
                }
            )))
        }
    };
    if r.unchanged {
        eprintln!(
            "tf: put: {} is already this file on the server (same size and SHA-256): nothing sent",
            shown_str(p.remote)
        );
    } else if p.resume {
        if r.kept > 0 {
            eprintln!(
                "tf: put: resumed: {} bytes were already on the server, {} sent",
                r.kept, r.sent
            );
        } else {
            eprintln!(
                "tf: put: nothing to resume for this file: sent it whole ({} bytes)",
                r.sent
            );
        }
    }
    if r.moved_again {
        eprintln!("tf: put: the first copy did not match its SHA-256 and was moved again");
    }
    eprintln!("verified: SHA-256 {}", r.sha256);
    Ok(Some(ExitCode::SUCCESS))
}

/// TFDSTAGE's refusal of a directory target.
fn is_directory(r: &tfp_client::error::Refusal) -> bool {
    r.command == tfp_wire::stage::OPEN && r.code == tfp_wire::Code::Known(tfp_wire::Failed::IsDirectory)
}
