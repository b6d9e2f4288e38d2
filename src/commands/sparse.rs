//! Sparse files (`tf -S`, doc/compatibility.md "Sparse files"): the holes
//! of a file told so a download fetches only its data (`TFDHOLES`), and a
//! range of a stage made a hole so an upload sends only its data
//! (`TFDSTAGEHOLE`). A hole is found with `SEEK_DATA`/`SEEK_HOLE` on the
//! descriptor the command opened and made with `FALLOC_FL_PUNCH_HOLE`:
//! nothing is looked up by name twice.

use super::stage::{failed, stage_failed, target, write_reason};
use super::{CmdResult, Reply};
use crate::fsys::stage::Stage;
use crate::fsys::FsError;
use crate::session::{denied_or, Session};
use std::os::fd::AsFd;
use tfp_wire::sparse::{self as wire, Holes, StageHole};
use tfp_wire::Failed;

/// `TFDHOLES <path>`: `OK <size> <n> <a-b>…`, the holes of the regular file
/// `path` (its largest [`wire::MAX_HOLES`]), as its file system tells them.
pub fn holes(s: &mut Session, arg: &[u8]) -> CmdResult {
    let p = s.path(arg)?;
    if p.is_root() {
        return Err(Failed::IsDirectory.into());
    }
    s.check_lock_parent(&p)?;
    let (file, st) = match s.open_file(&p, libc::O_RDONLY, 0) {
        Ok(f) => f,
        Err(FsError::NotFound) | Err(FsError::NotDir) => return Err(Failed::NoSuchFile.into()),
        Err(FsError::IsDir) => return Err(Failed::IsDirectory.into()),
        Err(e) => return Err(denied_or(e, Failed::TransferApi).into()),
    };
    let size = st.st_size.max(0) as u64;
    let list = match tfd_sys::holes::holes(file.as_fd(), size) {
        Ok(h) => wire::bounded(&h),
        // a file system that cannot tell: all data
        Err(_) => Vec::new(),
    };
    Ok(Reply::Data(Holes { size, list }.encode()))
}

/// `TFDSTAGEHOLE <a> <b> <path>`: `[a, b)` of the stage of `path` is a
/// hole: punched (whatever an earlier run wrote there), the stage made at
/// least `b` long, and the range recorded as written, so the commit counts
/// it and a resume keeps it. The commit's SHA-256 still covers it.
pub fn stage_hole(s: &mut Session, arg: &[u8]) -> CmdResult {
    let want = StageHole::parse(arg).ok_or(Failed::MissingParameter)?;
    let p = target(s, want.path)?;
    let stage = match Stage::open_existing(s.root(), &p) {
        Ok(st) => st,
        Err(e) => return stage_failed(s, wire::STAGE_HOLE, e),
    };
    if want.end > stage.size {
        return failed(Failed::TransferApi, "the hole ends past the staged file's size");
    }
    let f = stage.file();
    let made = tfd_sys::holes::punch_hole(f.as_fd(), want.start, want.end).and_then(|()| match f.metadata()?.len() {
        len if len < want.end => f.set_len(want.end),
        _ => Ok(()),
    });
    if let Err(e) = made {
        let (code, why) = write_reason(&e);
        return failed(code, &why);
    }
    stage.record(want.start, want.end);
    Ok(Reply::Ok)
}
