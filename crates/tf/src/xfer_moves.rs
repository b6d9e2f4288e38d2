//! `put` and `get` of one file with `--backup` or `--remove-source-files`
//! (rsync's): the server's backups set for the upload's sessions before
//! anything is sent (a server without them refuses, nothing sent), and the
//! source removed only once its copy is proven the same
//! ([`tfp_client::tree::moves`]).

use super::reply::fail;
use super::xfer_error::XferError;
use std::path::Path;
use std::process::ExitCode;
use tfp_client::engine::backup::Wanted;
use tfp_client::remote::listing::Kind;
use tfp_client::tree::moves::Moved;
use tfp_client::tree::{backups, moves};
use tfp_client::{Client, ClientConfig, Error};

/// Where `put LOCAL REMOTE` lands: REMOTE, or inside it when it is a
/// directory on the server.
fn placed(c: &mut Client, local: &str, remote: &str) -> Vec<u8> {
    let name = Path::new(local).file_name().map(|n| n.to_string_lossy().into_owned());
    match (c.fstat(remote.as_bytes()), name) {
        (Ok(st), Some(name)) if st.kind == Kind::Dir => format!("{}/{name}", remote.trim_end_matches('/')).into_bytes(),
        _ => remote.as_bytes().to_vec(),
    }
}

/// The directory a remote path is in (`.`: the root).
fn parent(remote: &[u8]) -> &[u8] {
    match remote.iter().rposition(|&b| b == b'/') {
        Some(0) | None => b".",
        Some(i) => &remote[..i],
    }
}

/// `put` of one file by `send`, the server keeping what it replaces as
/// `backup` asks, then the local file removed when `remove_source` and its
/// copy is proven the same.
pub fn put(
    c: &mut Client,
    cfg: &ClientConfig,
    positional: &[String],
    backup: Option<&Wanted>,
    remove_source: bool,
    send: impl FnOnce(&mut Client, &ClientConfig) -> Result<ExitCode, XferError>,
) -> ExitCode {
    let [local, remote] = positional else {
        return fail("put: needs a source and a destination");
    };
    let target = placed(c, local, remote);
    let own = match backups::remote_start(c, cfg, backup, parent(&target)) {
        Ok(own) => own,
        Err(Error::Usage(m)) => return fail(format!("put: {m}")),
        Err(e) => return fail(format!("put: {e}")),
    };
    let code = send(c, &own).unwrap_or_else(fail);
    backups::remote_end(c, backup);
    if code != ExitCode::SUCCESS || !remove_source {
        return code;
    }
    match moves::remove_local_one(c, Path::new(local), &target) {
        Ok(Moved::Removed) => ExitCode::SUCCESS,
        Ok(Moved::Unproven) => fail(format!(
            "put: {local}: kept: its copy {} is not proven the same",
            String::from_utf8_lossy(&target)
        )),
        Ok(Moved::Changed) => fail(format!(
            "put: {local}: kept: it changed after its copy {} was proven",
            String::from_utf8_lossy(&target)
        )),
        Err(e) => fail(format!("put: {local}: {e}")),
    }
}

/// After `get` of `remote` into `target`: the server's file removed
/// (`--remove-source-files`) once the copy here is proven the same.
pub fn got(c: &mut Client, target: &Path, remote: &str) -> ExitCode {
    match moves::remove_remote_one(c, target, remote.as_bytes()) {
        Ok(Moved::Removed) => ExitCode::SUCCESS,
        Ok(Moved::Unproven) => fail(format!(
            "get: {remote}: kept: its copy {} is not proven the same",
            target.display()
        )),
        Ok(Moved::Changed) => fail(format!(
            "get: {remote}: kept: it changed on the server after its copy was proven"
        )),
        Err(e) => fail(format!("get: {remote}: {e}")),
    }
}
