//! LS and LSR: the listing is generated lazily and streamed as RCVFILE-style
//! chunks; nothing is written inside the served tree (the reference's temporary
//! file was visible to other clients).

use super::{CmdResult, Reply};
use crate::fsys::secfs;
use crate::fsys::walk::Lister;
use crate::fsys::FsError;
use crate::session::Session;
use crate::wire::secfs as bits;
use crate::wire::Failed;
use log::warn;

fn list(s: &mut Session, arg: &[u8], recursive: bool) -> CmdResult {
    let p = s.path(arg)?;
    let fd = match s.root.open_dir(&p) {
        Ok(fd) => fd,
        Err(e) if e.is_denied() => return Err(Failed::AccessDenied.into()),
        Err(FsError::NotFound) | Err(FsError::NotDir) => return Err(Failed::NoSuchDir.into()),
        Err(_) => return Err(Failed::NoSuchDir.into()),
    };
    s.check_lock_dir(&p)?;
    let id = s.secfs.id().map(<[u8]>::to_vec);
    let mut lister = Lister::new(fd, recursive, s.ctx.cfg.walk_limit)
        .map_err(|_| Failed::NoSuchDir)?
        .enter_secure_if(move |d| secfs::permits(d, id.as_deref(), Some(bits::LRDIR)));
    s.send_chunks(|buf, want| Ok(lister.fill(buf, want)))?;
    if lister.truncated {
        warn!("{} listing truncated at walk_limit {}", s.peer, s.ctx.cfg.walk_limit);
    }
    Ok(Reply::Ok)
}

/// `LS [dir]`.
pub fn ls(s: &mut Session, arg: &[u8]) -> CmdResult {
    list(s, arg, false)
}

/// `LSR [dir]`.
pub fn lsr(s: &mut Session, arg: &[u8]) -> CmdResult {
    list(s, arg, true)
}
