//! What tf says of `put --streams N` and `put --resume`, which the engine
//! sends through tfd's staged uploads ([`tfp_client::engine::staged`]): the target
//! is replaced only by a complete, verified file, and an interrupted upload
//! continues where the server's journal says it stopped. Against a server
//! without the extension, tf says what it cannot guarantee and the engine
//! writes in place.

use super::exit::Exit;
use super::xfer_error::XferError;
use std::process::ExitCode;
use tfp_client::engine::staged::Report;
use tfp_client::escape::shown_str;
use tfp_client::{Client, Error};
use tfp_wire::Status;

/// What tf says of a staged upload of `remote` that landed (`resume`: it
/// was asked to continue one).
pub fn told(r: &Report, remote: &str, resume: bool) {
    if r.unchanged {
        eprintln!(
            "tf: put: {} is already this file on the server (same size and SHA-256): nothing sent",
            shown_str(remote)
        );
    } else if resume {
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
}

/// What tf says of a staged upload of `remote` that failed with `e`
/// (`again`: the user asked for a resume or several streams, so a run with
/// `--resume` continues it).
pub fn failed(c: &mut Client, remote: &str, e: Error, again: bool) -> Result<ExitCode, XferError> {
    match e {
        Error::Refused(r) => {
            if let Status::Failed(n, why) = &r.reply {
                let why = tfp_client::escape::shown_text(why);
                eprintln!("FAILED {n} : {why}");
                // the server's sentence ends with its own full stop
                eprintln!(
                    "tf: put: {}: {}; the file on the server is as it was",
                    shown_str(remote),
                    tfp_client::remote::listing::clause(&why)
                );
                return Ok(ExitCode::from(Exit::Refused));
            }
            Ok(super::reply::report(
                c,
                "put",
                &[(remote, super::explain::Access::Create)],
                &r.reply,
            ))
        }
        e @ Error::Unsettled { .. } => Err(XferError::Said(format!(
            "put: {}: {} (`tf put --resume` sends nothing if it is the new one)",
            shown_str(remote),
            tfp_client::remote::listing::clause(&e.to_string()),
        ))),
        e => Err(XferError::Said(format!(
            "put: {}: {}; the file on the server is as it was{}",
            shown_str(remote),
            tfp_client::remote::listing::clause(&e.to_string()),
            if again {
                " (run again with --resume to continue)"
            } else {
                ""
            }
        ))),
    }
}

/// The warning for a server without staged uploads, before the file is
/// written in place.
pub fn no_stages(remote: &str) {
    eprintln!(
        "tf: put: the server has no staged uploads (a tfd extension): {} is written in place, \
         so an interruption leaves it neither the old nor the new file",
        shown_str(remote)
    );
}
