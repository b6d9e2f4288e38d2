//! A batch's header frames as TFDPUTMANY reads them ([`header`]): a plain
//! batch's [`FileHead`] or [`DirHead`], an archive batch's [`Head`], a
//! file's with the sets an attributes frame gives it, each judged by what
//! the session may give.

use super::putmany_archive::{self as archive, Refusal};
use crate::fsys::land::Landing;
use crate::fsys::place::Attrs;
use crate::session::Session;
use tfp_wire::batch::put::{DirHead, FileHead};
use tfp_wire::entry::{Head, Mtime};
use tfp_wire::fstat::FileType;
use tfp_wire::xattr::Land;
use tfp_wire::Failed;

/// A file of the batch: where it goes, its size, and the attributes to give
/// it, or why the session may not give them (its data is read all the same).
pub(super) struct FileEntry<'a> {
    pub(super) path: &'a [u8],
    pub(super) size: u64,
    pub(super) attrs: Result<Attrs, Refusal>,
    /// The sets it lands with (an attributes frame before its header), as
    /// the session may give them (what it may not refuses the file).
    pub(super) land: Option<Landing>,
    /// The source's permission bits, which the file takes less the umask
    /// if it is new ([`FileHead::NEW_MODE`]).
    pub(super) new_mode: Option<u32>,
}

/// A header as the batch reads it.
pub(super) enum Header<'a> {
    File(FileEntry<'a>),
    /// A plain batch's directory, and the source's mode for it when new.
    Dir(&'a [u8], Option<u32>),
    /// An archive batch's entry other than a file.
    Other(Head<'a>),
}

/// Reads a header frame: a plain batch's [`FileHead`] or [`DirHead`], an
/// archive batch's [`Head`]; a file's with the sets `land` gives it, as the
/// session may give them. None: it does not parse, or `land` comes before
/// an entry that is no file.
pub(super) fn header<'a>(s: &Session, frame: &'a [u8], archive: bool, land: Option<Land>) -> Option<Header<'a>> {
    let Some(land) = land else {
        return entry_header(s, frame, archive);
    };
    let Some(Header::File(mut h)) = entry_header(s, frame, archive) else {
        return None;
    };
    let judged = Landing::of(land, super::land::scope(s));
    if let (Ok(_), Err(why)) = (&h.attrs, &judged) {
        h.attrs = Err(Refusal(Failed::AccessDenied, why.to_string()));
    }
    h.land = judged.ok();
    Some(Header::File(h))
}

/// [`header`] without an attributes frame.
fn entry_header<'a>(s: &Session, frame: &'a [u8], archive: bool) -> Option<Header<'a>> {
    if !archive {
        if let Some(d) = DirHead::parse(frame) {
            return Some(Header::Dir(d.path, d.mode));
        }
        let h = FileHead::parse(frame)?;
        return Some(Header::File(FileEntry {
            path: h.path,
            size: h.size,
            attrs: Ok(Attrs {
                mode: h.mode_to_set().map(|m| m & 0o777),
                mtime: h.mtime_to_set().map(Mtime::secs),
                owner: None,
            }),
            land: None,
            new_mode: h.mode_if_new(),
        }));
    }
    let h = Head::parse(frame)?;
    if h.kind != Some(FileType::Regular) {
        return Some(Header::Other(h));
    }
    let attrs = archive::no_link_on_way(s, h.path).and_then(|()| archive::attrs_of(s, &h));
    Some(Header::File(FileEntry {
        path: h.path,
        size: h.size,
        attrs,
        land: None,
        new_mode: None,
    }))
}
