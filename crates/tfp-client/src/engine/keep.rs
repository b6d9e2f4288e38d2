//! What a copy keeps of an entry on this machine's side, by one rule for
//! every route (`rsync -a`'s where asked, `cp`'s otherwise): the mode a
//! landed file gets, and times to the nanosecond.

use super::beside::Beside;
use std::ffi::CString;
use std::io;
use std::os::fd::AsFd;
use tfd_sys as sys;
use tfp_wire::entry::Mtime;

/// An entry made here that holds no data.
#[derive(Debug, Clone, Copy)]
pub enum Node<'a> {
    /// A symlink with this target, kept as text (never resolved here).
    Link(&'a [u8]),
    /// A named pipe.
    Fifo,
    /// A Unix socket's name (nothing listens on it).
    Socket,
    /// A character (`block` false) or block device of this number (root
    /// alone may make one).
    Device {
        /// A block device, else a character one.
        block: bool,
        /// Its number (major and minor).
        rdev: u64,
    },
}

/// Makes `node` at `b`'s target in place of whatever is there but a
/// directory, in one rename: made under a name of its own beside it first,
/// so the target is at every moment the old entry or the new one. Nothing
/// is opened (a FIFO is never read, a link never followed).
pub fn make_node(b: &Beside, node: Node<'_>) -> io::Result<()> {
    let tmp = b.sibling(".tf-node")?;
    let _ = sys::unlinkat(b.dir(), &tmp, false);
    match node {
        Node::Link(target) => {
            let t = CString::new(target).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in a link"))?;
            sys::symlinkat(&t, b.dir(), &tmp)?;
        }
        Node::Fifo => sys::mknodat(b.dir(), &tmp, libc::S_IFIFO | 0o600, 0)?,
        Node::Socket => sys::mknodat(b.dir(), &tmp, libc::S_IFSOCK | 0o600, 0)?,
        Node::Device { block, rdev } => {
            let kind = if block { libc::S_IFBLK } else { libc::S_IFCHR };
            sys::mknodat(b.dir(), &tmp, kind | 0o600, rdev)?
        }
    }
    sys::renameat2(b.dir(), &tmp, b.dir(), b.name(), false).inspect_err(|_| {
        let _ = sys::unlinkat(b.dir(), &tmp, false);
    })
}

/// What [`set_attrs`] gives an entry, each where given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attrs {
    /// Mode bits (never given to a link).
    pub mode: Option<u32>,
    /// Modification time, to the nanosecond.
    pub mtime: Option<Mtime>,
    /// Owner and group, numeric.
    pub owner: Option<(u32, u32)>,
}

/// Gives `b`'s target (whatever it is, reached with no link followed) the
/// attributes given: the owner first (a chown clears set-id bits), then the
/// mode (a link keeps its own: Linux gives it none), then the mtime, a
/// link's as its own.
pub fn set_attrs(b: &Beside, a: Attrs) -> io::Result<()> {
    let held = sys::open_path_nofollow(b.dir(), b.name())?;
    let st = sys::fstat(held.as_fd())?;
    let link = st.st_mode & libc::S_IFMT == libc::S_IFLNK;
    let mut chowned = false;
    if let Some((u, g)) = a.owner.filter(|o| *o != (st.st_uid, st.st_gid)) {
        sys::fchown_path_fd(held.as_fd(), u, g)?;
        chowned = true;
    }
    // after a chown the set-id bits are gone: the mode is given again
    let now = if chowned { u32::MAX } else { st.st_mode & 0o7777 };
    if let Some(m) = a.mode.filter(|m| !link && *m != now) {
        sys::chmod_held(held.as_fd(), m)?;
    }
    // what already holds them is left alone: a second run of a copy changes
    // nothing, not even a ctime
    let same = |t: &Mtime| st.st_mtime == t.sec && st.st_mtime_nsec == i64::from(t.nsec);
    if let Some(t) = a.mtime.filter(|t| !same(t)) {
        sys::set_mtime_ns_path_fd(held.as_fd(), t.sec, t.nsec)?;
    }
    Ok(())
}

/// The mode a file fetched from a source of mode `src` lands with: the
/// source's permission bits less the umask, as `cp` keeps them; with
/// `archive` (`-p`, `-a`, `mirror`) the bits themselves and the sticky bit.
/// Never the set-id bits: they come back only with the source's owner
/// ([`owned_mode`]), as rsync keeps them only where it keeps the owner, so
/// a hostile server's set-uid file never lands owned by whoever runs tf.
pub fn landing_mode(src: u32, archive: bool) -> u32 {
    if !archive {
        return src & 0o777 & !crate::temporaries::umask();
    }
    src & 0o1777
}

/// The mode given together with the source's owner: [`landing_mode`]'s,
/// and the set-id bits where tf runs as root (as `rsync -a` run by root).
pub fn owned_mode(src: u32) -> u32 {
    let setid = if tfd_sys::geteuid() == 0 { 0o6000 } else { 0 };
    src & (0o1777 | setid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_landing_keeps_the_bits_less_the_umask_never_set_id() {
        let um = crate::temporaries::umask();
        assert_eq!(landing_mode(0o4755, false), 0o755 & !um);
        assert_eq!(landing_mode(0o600, false), 0o600 & !um);
        assert_eq!(landing_mode(0o1777, true) & 0o1777, 0o1777);
        assert_eq!(landing_mode(0o6755, true), 0o755);
        let root = tfd_sys::geteuid() == 0;
        assert_eq!(owned_mode(0o4755) & 0o4000 != 0, root);
    }
}
