//! What a copy that keeps what `rsync -a` keeps could not keep on a server
//! without tfd's archive copies (the reference server, an older tfd): said
//! once for the run, in one line, rather than once per entry.

use super::super::sync::{Keeps, Plan};
use crate::engine::events::Tally;

/// Tells in one line what `keeps` asked and the server could not keep,
/// the plan's entries left out (links, FIFOs, sockets: neither file nor
/// directory) counted in it rather than each told.
pub(super) fn tell(p: &mut Plan, keeps: Keeps, t: &mut Tally<'_>) {
    let left_out = std::mem::take(&mut p.skipped).len();
    t.report.skipped += left_out;
    let mut lost: Vec<String> = Vec::new();
    if left_out > 0 {
        lost.push(format!(
            "{left_out} symlink(s), FIFO(s) or other special entries (left out)"
        ));
    }
    if keeps.attrs {
        lost.push("mtimes' nanoseconds, directories' modes and mtimes, set-id bits".into());
    }
    if keeps.owners {
        lost.push("owners and groups".into());
    }
    if lost.is_empty() {
        return;
    }
    t.note(format!(
        "{}: the server has no tfd archive copies (TFDENTRIES): files and directories are copied with their modes and mtimes as far as its older commands allow; not kept: {}", t.verb,
        lost.join("; ")
    ));
}

/// Tells once, at the run's end, that `-S` met a server that could not
/// keep or tell holes (an older tfd, the reference server): those files'
/// zeros crossed the link, and up they landed allocated.
pub(super) fn holes(cfg: &crate::ClientConfig, t: &mut Tally<'_>) {
    if cfg.sparse && crate::sparse::unkept_taken() {
        t.note(format!(
            "{}: the server has no tfd sparse files: holes crossed the link as zeros; not kept: the holes of the files it received",
            t.verb
        ));
    }
}

/// Tells once, at the run's end, that `-X` (`-A`) met a server without
/// tfd's attribute (ACL) commands: the copy went on, they were not kept.
pub(super) fn xattrs(cfg: &crate::ClientConfig, t: &mut Tally<'_>) {
    use super::xattrs::Kind;
    if cfg.xattrs && Kind::Xattrs.unkept_taken() {
        t.note(format!(
            "{}: the server has no tfd extended attributes: not kept: the files' extended attributes (-X)",
            t.verb
        ));
    }
    if cfg.acls && Kind::Acls.unkept_taken() {
        t.note(format!(
            "{}: the server has no tfd ACLs: not kept: the files' and directories' POSIX ACLs (-A)",
            t.verb
        ));
    }
}
