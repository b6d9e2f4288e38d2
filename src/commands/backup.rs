//! `TFDBACKUP`, tfd's own (doc/compatibility.md "Backups"): the session's
//! setting for rsync's `--backup`, `--backup-dir` and `--suffix`
//! ([`tfp_wire::backup`]). Once set, every upload that replaces a file
//! keeps the old one at its backup name ([`crate::fsys::backup`]), and DEL
//! moves the file there instead of removing it. A backup that cannot be
//! made fails the upload or the DEL, which then changes nothing.

use super::{CmdResult, Reply};
use crate::fsys::backup::{Keep, Setting};
use crate::fsys::upload::Upload;
use crate::fsys::{FsError, RelPath};
use crate::session::Session;
use log::info;
use tfp_wire::backup::Backup;
use tfp_wire::Failed;

/// The session's backup setting (None: off, the session's start).
#[derive(Default)]
pub(crate) struct Backups(Option<Setting>);

/// `TFDBACKUP off | <suffix> | <suffix> <base> | <dir>`: `FAILED 16` for
/// an argument the grammar does not hold, `FAILED 1` for a path that
/// leaves the root (or names what no command may reach).
pub fn tfdbackup(s: &mut Session, arg: &[u8]) -> CmdResult {
    let b = Backup::parse(arg).ok_or(Failed::MissingParameter)?;
    let setting = match Setting::new(b) {
        Ok(x) => x,
        Err(e) => {
            info!("{} TFDBACKUP refused: {e:?}", s.peer());
            return Err(Failed::AccessDenied.into());
        }
    };
    info!("{} TFDBACKUP {}", s.peer(), String::from_utf8_lossy(arg));
    s.family_mut::<Backups>().0 = setting;
    Ok(Reply::Ok)
}

/// Whether the session keeps what it replaces (the quota then gives no
/// replaced file's size back: the backup still holds it).
pub(crate) fn on(s: &Session) -> bool {
    s.family::<Backups>().is_some_and(|b| b.0.is_some())
}

/// [`Upload::begin`] for `p`, the file it replaces to be kept as the
/// session's setting says.
pub(crate) fn begin(s: &Session, p: &RelPath, direct_min: usize) -> Result<Upload, FsError> {
    let keep = keep_for(s, p)?;
    let mut up = Upload::begin(s.root(), p, direct_min, s.ctx().cfg.sync_uploads)?;
    up.keep_replaced(keep);
    Ok(up)
}

/// Where the file at `p` is to be kept when it is replaced or removed
/// (None: the session keeps nothing).
pub(crate) fn keep_for(s: &Session, p: &RelPath) -> Result<Option<Keep>, FsError> {
    match s.family::<Backups>().and_then(|b| b.0.as_ref()) {
        Some(setting) => setting.keep_for(Box::new(s.confined()?), p).map(Some),
        None => Ok(None),
    }
}
