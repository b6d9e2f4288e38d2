//! TFDENTRIES' lines: what a faithful copy must know of one entry, read by
//! lstat and readlinkat from its parent's descriptor (never following a
//! link: a link is listed as what it is, its target as stored), written as
//! tfp-wire's [`Entry`].

use std::ffi::CStr;
use std::os::fd::BorrowedFd;
use tfd_sys as sys;
use tfp_wire::entry::{Entry, Extra, Mtime, MAX_NAME, MAX_TARGET};
use tfp_wire::fstat::FileType;

/// Appends the line of `name` in `dir`, listed as `rel`. Returns its kind,
/// or `None` with nothing appended when it cannot be described whole: gone
/// since readdir, replaced between the lstat and the readlink, or a path
/// longer than a line carries.
pub(crate) fn line_at(dir: BorrowedFd<'_>, name: &CStr, rel: &[u8], out: &mut Vec<u8>) -> Option<FileType> {
    let st = sys::fstatat(dir, name, false).ok()?;
    let kind = FileType::from_mode(st.st_mode);
    let target = if kind == FileType::Symlink {
        Some(sys::readlinkat(dir, name).ok()?)
    } else {
        None
    };
    line_of(&st, rel, target.as_deref(), out).then_some(kind)
}

/// Whether a line says which file `st` is (`h=`): a regular file with more
/// than one name, whose other names a copy keeping hard links looks for, and
/// the listed directory itself, so a reader knows this listing says them.
fn says_inode(st: &libc::stat, rel: &[u8]) -> bool {
    rel == b"." || (FileType::from_mode(st.st_mode) == FileType::Regular && st.st_nlink > 1)
}

/// Appends the line of the listed directory itself, `.`, from its
/// descriptor; false when it cannot be stat'ed.
pub(crate) fn line_of_dir(dir: BorrowedFd<'_>, out: &mut Vec<u8>) -> bool {
    sys::fstat(dir).is_ok_and(|st| line_of(&st, b".", None, out))
}

/// Appends the line `st` describes; false (nothing appended) for a name or
/// target longer than a line carries.
fn line_of(st: &libc::stat, rel: &[u8], target: Option<&[u8]>, out: &mut Vec<u8>) -> bool {
    if rel.len() > MAX_NAME || target.is_some_and(|t| t.len() > MAX_TARGET) {
        return false;
    }
    let kind = FileType::from_mode(st.st_mode);
    let device = matches!(kind, FileType::CharDevice | FileType::BlockDevice);
    let entry = Entry {
        kind,
        size: u64::try_from(st.st_size).unwrap_or(0),
        mode: st.st_mode & 0o7777,
        // the kernel's nanoseconds are always in range; a whole second else
        mtime: Mtime::of(st.st_mtime, st.st_mtime_nsec).unwrap_or(Mtime::secs(st.st_mtime)),
        extra: Extra {
            owner: Some((st.st_uid, st.st_gid)),
            rdev: device.then_some(st.st_rdev),
            changed: Some(st.st_ctime),
            inode: says_inode(st, rel).then_some((st.st_dev, st.st_ino)),
        },
        name: rel,
        target,
    };
    entry.encode_into(out);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn lines_say_what_lstat_says_and_never_follow() {
        let tmp = std::env::temp_dir().join(format!("tfd-entries-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::write(tmp.join("f"), b"12345").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", tmp.join("l")).unwrap();
        let dir = std::fs::File::open(&tmp).unwrap();
        let mut out = Vec::new();
        assert_eq!(line_at(dir.as_fd(), c"f", b"f", &mut out), Some(FileType::Regular));
        assert_eq!(line_at(dir.as_fd(), c"l", b"sub/l", &mut out), Some(FileType::Symlink));
        assert_eq!(line_at(dir.as_fd(), c"gone", b"gone", &mut out), None);
        assert!(line_of_dir(dir.as_fd(), &mut out));
        let (f, rest) = Entry::parse_next(&out).unwrap();
        assert_eq!(
            (f.kind, f.size, f.name, f.target),
            (FileType::Regular, 5, &b"f"[..], None)
        );
        let (l, rest) = Entry::parse_next(rest).unwrap();
        assert_eq!((l.kind, l.size, l.name), (FileType::Symlink, 11, &b"sub/l"[..]));
        assert_eq!(l.target, Some(&b"/etc/passwd"[..]));
        let (d, rest) = Entry::parse_next(rest).unwrap();
        assert_eq!((d.kind, d.name), (FileType::Dir, &b"."[..]));
        assert!(d.extra.owner.is_some() && d.extra.rdev.is_none());
        // the directory says the listing carries inodes; a lone name has none
        assert!(d.extra.inode.is_some() && f.extra.inode.is_none());
        assert!(rest.is_empty());
        // a path past what a line carries is left out whole
        let long = vec![b'x'; MAX_NAME + 1];
        let before = out.len();
        assert_eq!(line_at(dir.as_fd(), c"f", &long, &mut out), None);
        assert_eq!(out.len(), before);
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
